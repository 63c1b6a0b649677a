// `bordergate event check`: an auditor's view of one PDU — content hash, event id, and every
// signature the room version requires — with the same code the gateway runs on /send.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/cli/cli_support.h"
#include "gateway/cli/commands.h"
#include "gateway/matrix/event.h"
#include "gateway/matrix/json.h"
#include "gateway/matrix/room_version.h"
#include "gateway/matrix/server_keys.h"

namespace bordergate::cli {
namespace {

namespace m = bordergate::matrix;

struct EventCheckOptions {
  std::string room_version;
  std::vector<std::string> key_files;
  std::string input = "-";
  bool backfill = false;
};

// Server names, key ids and v1/v2 event ids come from the event itself: control characters are
// shown escaped so a crafted event cannot forge report lines (e.g. a sender domain holding
// "\nsignature trusted.example: ok").
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", b);
      out += escaped;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The toolbox's one-line failure format: "bordergate: <command>: <code>: <explanation>", with
// the part of the event (or the input) the failure is about leading the explanation.
void explain(const std::string& what, const Error& error) {
  std::fprintf(stderr, "bordergate: event check: %s: %s: %s\n", error.code.c_str(),
               printable(what).c_str(), printable(error.message).c_str());
}

void print_status(const char* label, const Status& status) {
  std::printf("%s: %s\n", label, status.ok() ? "ok" : status.error().code.c_str());
}

int run_event_check(const EventCheckOptions& options) {
  auto rules = m::room_version(options.room_version);
  if (!rules) {
    explain("--room-version", rules.error());
    return kBadInput;
  }
  m::StaticKeyRing ring;
  for (const std::string& file : options.key_files) {
    auto text = read_input(file);
    if (!text) {
      explain(file, text.error());
      return kBadInput;
    }
    auto document = m::parse_json(*text);
    if (!document) {
      explain(file, document.error());
      return kBadInput;
    }
    if (Status s = ring.add_json(*document); !s) {
      explain(file, s.error());
      return kBadInput;
    }
  }
  const std::string input_name = options.input == "-" ? "stdin" : options.input;
  auto text = read_input(options.input);
  if (!text) {
    explain(input_name, text.error());
    return kBadInput;
  }
  auto event = m::parse_json(*text);
  if (!event) {
    explain(input_name, event.error());
    return kBadInput;
  }
  const m::JsonObject* pdu = event->object_if();
  if (pdu == nullptr) {
    explain(input_name, Error{"bad_event_format", "a PDU is a JSON object"});
    return kBadInput;
  }

  m::PduFormatOptions format_options;
  format_options.enforce_reference_limits = !options.backfill;
  const m::PduCheck check = m::check_pdu(*pdu, **rules, ring.lookup(), format_options);

  std::printf("room version: %s\n", std::string((*rules)->id).c_str());
  print_status("format", check.format);
  print_status("content hash", check.content_hash);
  std::printf("event id: %s\n",
              check.event_id ? printable(*check.event_id).c_str() : "(not computable)");
  if (check.room_id) std::printf("room id: %s\n", check.room_id->c_str());
  if (!check.signers.ok()) {
    print_status("required signers", check.signers);
  } else if (check.signatures.empty()) {
    std::printf("required signers: none%s\n",
                check.third_party_invite ? " (third-party invite: sender's server exempt)" : "");
  }
  for (const m::SignatureCheck& s : check.signatures) {
    std::printf("signature %s: %s%s%s\n", printable(s.server_name).c_str(),
                s.status.ok() ? "ok" : s.status.error().code.c_str(), s.key_id.empty() ? "" : " ",
                printable(s.key_id).c_str());
  }

  // One line per failure on stderr, so scripts can show exactly why. Flushing first keeps the
  // report and its explanations in order on a terminal.
  std::fflush(stdout);
  if (!check.format.ok()) explain("format", check.format.error());
  if (!check.content_hash.ok()) explain("content hash", check.content_hash.error());
  if (!check.event_id) {
    explain("event id", Error{"event_id_unavailable", "the event id could not be computed"});
  }
  if (!check.signers.ok()) explain("required signers", check.signers.error());
  if (check.signers.ok() && check.signatures.empty()) {
    explain("signatures",
            Error{"nothing_verified",
                  check.third_party_invite
                      ? "a third-party invite needs no signature from the sender's server; "
                        "its signed block is checked by the room's auth rules, not here"
                      : "no server is required to sign this event"});
  }
  for (const m::SignatureCheck& s : check.signatures) {
    if (!s.status.ok()) explain("signature " + s.server_name, s.status.error());
  }
  return check.ok() ? 0 : kCheckFailed;
}

}  // namespace

void register_event_commands(CLI::App& app) {
  CLI::App* event = app.add_subcommand("event", "Check Matrix room events (PDUs)");
  event->require_subcommand(1);

  auto options = std::make_shared<EventCheckOptions>();
  CLI::App* check = event->add_subcommand(
      "check",
      "Check one PDU: content hash, event id and the signature of every server the room version "
      "requires, with keys valid at origin_server_ts. Exit 0 only if all pass, 1 if a check "
      "fails, 2 if the input cannot be used.");
  check
      ->add_option("--room-version", options->room_version,
                   "Room version of the event's room (1-12)")
      ->required();
  check
      ->add_option("--keys", options->key_files,
                   "Key file: {\"server\":{\"ed25519:id\":\"base64\"}}, a /_matrix/key/v2/server "
                   "response or a notary {\"server_keys\":[...]} answer (repeatable)")
      ->required()
      ->allow_extra_args(false);  // one file per --keys, so the event path is not swallowed
  check->add_option("event", options->input, "PDU JSON file, or - for standard input")
      ->capture_default_str();
  check->add_flag("--backfill", options->backfill,
                  "Do not enforce the 20 prev_events / 10 auth_events limits (history from "
                  "/backfill or /state may exceed them)");
  check->callback([options] { exit_status() = run_event_check(*options); });
}

}  // namespace bordergate::cli
