// The Matrix signing toolbox for operators and auditors: `json canonical|sign|verify`,
// `xmatrix verify`, `keys verify|generate`. Same library code as the gateway's data path.
// Exit status: 0 success, 1 a check failed, 2 the input could not be used; one line on stderr.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/cli/cli_support.h"
#include "gateway/cli/commands.h"
#include "gateway/matrix/ed25519.h"
#include "gateway/matrix/json.h"
#include "gateway/matrix/server_keys.h"
#include "gateway/matrix/signed_json.h"
#include "gateway/matrix/xmatrix.h"

namespace bordergate::cli {
namespace {

namespace m = bordergate::matrix;

void write_line(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fputc('\n', stdout);
}

// A JSON document from FILE or stdin, parsed with the canonical-JSON rules.
Result<m::Json> read_json(const std::string& path) {
  auto text = read_input(path);
  if (!text) return text.error();
  return m::parse_json(*text);
}

Status load_key_files(m::StaticKeyRing& ring, const std::vector<std::string>& files) {
  for (const auto& file : files) {
    auto doc = read_json(file);
    if (!doc) return make_error(doc.error().code, file + ": " + doc.error().message);
    if (Status s = ring.add_json(*doc); !s)
      return make_error(s.error().code, file + ": " + s.error().message);
  }
  return {};
}

// --- json ---------------------------------------------------------------------------------------

void json_canonical(const std::string& input, bool lines) {
  auto text = read_input(input);
  if (!text) return void(fail("json canonical", text.error(), kBadInput));
  if (!lines) {
    auto doc = m::parse_json(*text);
    if (!doc) return void(fail("json canonical", doc.error(), kBadInput));
    write_line(*m::canonical_json(*doc));
    return;
  }
  // One document per line; a line that fails gives an empty output line (canonical JSON is never
  // empty) and one stderr line, so outputs stay aligned with inputs.
  std::string_view rest = *text;
  std::size_t number = 0;
  while (!rest.empty()) {
    ++number;
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    auto doc = m::parse_json(line);
    if (!doc) {
      fail("json canonical: line " + std::to_string(number), doc.error(), kBadInput);
      write_line("");
      continue;
    }
    write_line(*m::canonical_json(*doc));
  }
}

void json_sign(const std::string& input, const std::string& key_file, const std::string& server) {
  auto key_text = read_input(key_file);
  if (!key_text) return void(fail("json sign", key_text.error(), kBadInput));
  auto key = m::SigningKey::from_synapse_file(*key_text);
  if (!key) return void(fail("json sign", key.error(), kBadInput));
  auto doc = read_json(input);
  if (!doc) return void(fail("json sign", doc.error(), kBadInput));
  auto* object = doc->object_if();
  if (!object)
    return void(
        fail("json sign", make_error("not_an_object", "only objects can be signed"), kBadInput));
  if (Status s = m::sign_json(*object, server, *key); !s)
    return void(fail("json sign", s.error(), kBadInput));
  write_line(*m::canonical_json(*doc));
}

void json_verify(const std::string& input, const std::string& server, const std::string& key_arg) {
  // ID:BASE64 where ID itself is "ed25519:<version>": the key follows the last ':'.
  auto colon = key_arg.rfind(':');
  if (colon == std::string::npos || !m::is_ed25519_key_id(key_arg.substr(0, colon))) {
    return void(fail("json verify",
                     make_error("bad_key", "--key must be ed25519:<version>:<base64 key>"),
                     kBadInput));
  }
  std::string key_id = key_arg.substr(0, colon);
  auto key = m::verify_key_from_base64(key_arg.substr(colon + 1));
  if (!key) return void(fail("json verify", key.error(), kBadInput));
  auto doc = read_json(input);
  if (!doc) return void(fail("json verify", doc.error(), kBadInput));
  const auto* object = doc->object_if();
  if (!object)
    return void(fail("json verify", make_error("not_an_object", "only objects carry signatures"),
                     kBadInput));
  if (Status s = m::verify_json_signature(*object, server, key_id, *key); !s) {
    return void(fail("json verify", s.error(), kCheckFailed));
  }
  write_line("ok: signature by " + server + " " + key_id + " verifies");
}

// --- xmatrix ------------------------------------------------------------------------------------

struct XMatrixOptions {
  std::string method, uri, destination, body;
  std::vector<std::string> key_files, headers;
  std::int64_t now = -1;
};

void xmatrix_verify(const XMatrixOptions& o) {
  const std::string what = "xmatrix verify";
  m::StaticKeyRing ring;
  if (Status s = load_key_files(ring, o.key_files); !s)
    return void(fail(what, s.error(), kBadInput));
  std::vector<std::string_view> values;
  for (const auto& h : o.headers) {
    std::string_view v = h;
    if (v.size() > 14 &&
        (v.substr(0, 14) == "Authorization:" || v.substr(0, 14) == "authorization:")) {
      v.remove_prefix(14);  // accept a whole header line as copied from a log
    }
    values.push_back(v);
  }
  auto auths = m::parse_xmatrix_headers(values);
  if (!auths) return void(fail(what, auths.error(), kBadInput));
  std::optional<m::Json> body;
  if (!o.body.empty()) {
    auto doc = read_json(o.body);
    if (!doc)
      return void(
          fail(what, make_error(doc.error().code, "body: " + doc.error().message), kBadInput));
    body = std::move(doc).value();
  }
  std::int64_t now = o.now >= 0 ? o.now : now_ms();
  auto origin = m::verify_xmatrix_all(*auths, o.method, o.uri, o.destination,
                                      body ? &*body : nullptr, ring.lookup(), now);
  if (!origin) return void(fail(what, origin.error(), kCheckFailed));
  std::string keys;
  for (const auto& a : *auths) keys += (keys.empty() ? "" : ",") + a.key_id;
  write_line("ok: request from " + *origin + " (" + keys + ") to " + o.destination + " verifies");
}

// --- keys ---------------------------------------------------------------------------------------

// Prints one server's keys; returns false when a self-signature fails.
bool print_server_keys(const m::Json& response, std::int64_t now) {
  auto keys = m::parse_server_keys_unverified(response);
  if (!keys) {
    fail("keys verify", keys.error(), kBadInput);
    return false;
  }
  std::printf("server %s\n", keys->server_name.c_str());
  std::printf("  valid_until_ts %lld (%s)%s\n", static_cast<long long>(keys->valid_until_ts),
              utc(keys->valid_until_ts).c_str(), keys->valid_until_ts < now ? " EXPIRED" : "");
  bool ok = !keys->verify_keys.empty();
  for (const auto& check : m::check_self_signatures(*keys)) {
    std::printf("  verify_key %s %s self-signature %s\n", check.key_id.c_str(),
                m::to_base64(keys->verify_keys.at(check.key_id)).c_str(),
                check.status
                    ? "ok"
                    : (check.status.error().code + ": " + check.status.error().message).c_str());
    ok = ok && check.status.ok();
  }
  for (const auto& [id, old] : keys->old_verify_keys) {
    std::printf("  old_verify_key %s %s expired_ts %lld (%s)\n", id.c_str(),
                m::to_base64(old.key).c_str(), static_cast<long long>(old.expired_ts),
                utc(old.expired_ts).c_str());
  }
  if (keys->verify_keys.empty())
    std::printf("  no ed25519 verify key: self-signature cannot be checked\n");
  return ok;
}

void keys_verify(const std::string& input, std::int64_t now_arg) {
  auto doc = read_json(input);
  if (!doc) return void(fail("keys verify", doc.error(), kBadInput));
  std::int64_t now = now_arg >= 0 ? now_arg : now_ms();
  bool ok = true;
  if (const m::Json* list = doc->find("server_keys")) {  // a notary answer
    if (!list->array_if()) {
      return void(fail("keys verify",
                       make_error("bad_server_keys", "\"server_keys\" is not an array"),
                       kBadInput));
    }
    for (const m::Json& entry : *list->array_if()) ok = print_server_keys(entry, now) && ok;
  } else {
    ok = print_server_keys(*doc, now);
  }
  std::fflush(stdout);
  if (exit_status() == 0 && !ok) {
    fail("keys verify",
         make_error("bad_signature", "a self-signature is missing or does not verify"),
         kCheckFailed);
  }
}

}  // namespace

void register_matrix_commands(CLI::App& app) {
  auto* json = app.add_subcommand("json", "Canonical JSON and JSON signatures (Matrix appendix)");
  json->require_subcommand(1);

  auto* canonical = json->add_subcommand("canonical", "Print the canonical JSON of a document");
  auto canonical_input = std::make_shared<std::string>("-");
  auto lines = std::make_shared<bool>(false);
  canonical->add_option("FILE", *canonical_input, "JSON file, or - for standard input");
  canonical->add_flag("--lines", *lines,
                      "One document per input line, one canonical line per document");
  canonical->callback([=] { json_canonical(*canonical_input, *lines); });

  auto* sign = json->add_subcommand("sign", "Sign a JSON object with a Synapse signing key file");
  auto sign_input = std::make_shared<std::string>("-");
  auto sign_key = std::make_shared<std::string>();
  auto sign_server = std::make_shared<std::string>();
  sign->add_option("--key", *sign_key, "Synapse signing key file (ed25519 <version> <seed>)")
      ->required();
  sign->add_option("--server", *sign_server, "Server name to sign as")->required();
  sign->add_option("FILE", *sign_input, "JSON file, or - for standard input");
  sign->callback([=] { json_sign(*sign_input, *sign_key, *sign_server); });

  auto* verify = json->add_subcommand("verify", "Verify one server's signature on a JSON object");
  auto verify_input = std::make_shared<std::string>("-");
  auto verify_server = std::make_shared<std::string>();
  auto verify_key = std::make_shared<std::string>();
  verify->add_option("--server", *verify_server, "Server whose signature to check")->required();
  verify->add_option("--key", *verify_key, "ed25519:<version>:<unpadded base64 public key>")
      ->required();
  verify->add_option("FILE", *verify_input, "JSON file, or - for standard input");
  verify->callback([=] { json_verify(*verify_input, *verify_server, *verify_key); });

  auto* xmatrix = app.add_subcommand("xmatrix", "X-Matrix request authentication");
  xmatrix->require_subcommand(1);
  auto* xverify =
      xmatrix->add_subcommand("verify", "Verify the X-Matrix signature(s) of a request");
  auto xo = std::make_shared<XMatrixOptions>();
  xverify->add_option("--method", xo->method, "HTTP method as sent")->required();
  xverify
      ->add_option("--uri", xo->uri,
                   "Raw request target incl. query, e.g. /_matrix/federation/v1/version")
      ->required();
  xverify->add_option("--destination", xo->destination, "Our server name (the signed destination)")
      ->required();
  xverify
      ->add_option("--keys", xo->key_files,
                   "Key file(s): {\"server\":{\"ed25519:k\":\"b64\"}} or a key server response")
      ->required();
  xverify->add_option("--header", xo->headers, "Authorization header value (repeat for several)")
      ->required();
  xverify->add_option("--body", xo->body,
                      "JSON request body file (omit when the request has none)");
  xverify->add_option("--now", xo->now,
                      "Check key validity at this time (ms since epoch; default now)");
  xverify->callback([=] { xmatrix_verify(*xo); });

  auto* keys = app.add_subcommand("keys", "Server signing keys");
  keys->require_subcommand(1);
  auto* kverify =
      keys->add_subcommand("verify", "Check a /_matrix/key/v2/server (or notary) response");
  auto keys_input = std::make_shared<std::string>("-");
  auto keys_now = std::make_shared<std::int64_t>(-1);
  kverify->add_option("FILE", *keys_input, "JSON file, or - for standard input");
  kverify->add_option("--now", *keys_now,
                      "Time for the EXPIRED mark (ms since epoch; default now)");
  kverify->callback([=] { keys_verify(*keys_input, *keys_now); });

  auto* generate = keys->add_subcommand("generate", "Print a new signing key in Synapse's format");
  auto version = std::make_shared<std::string>("a_" + std::to_string(now_ms() / 1000 % 100000));
  generate->add_option("--version", *version, "Key version ([a-zA-Z0-9_]+)");
  generate->callback([=] {
    if (!m::is_valid_key_version(*version)) {
      return void(fail("keys generate",
                       make_error("bad_key_version", "version must be [a-zA-Z0-9_]+"), kBadInput));
    }
    std::fputs(m::SigningKey::generate(*version).to_synapse_file().c_str(), stdout);
  });

  register_event_commands(app);
}

}  // namespace bordergate::cli
