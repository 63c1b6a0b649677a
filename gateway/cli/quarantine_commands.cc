// `bordergate quarantine list|show|release|drop --config FILE`: the security
// team's side of the quarantine. The store, the audit log and the Core
// upstream come from the gateway's configuration; release and drop are
// appended to the same audit chain the gateway writes (see gateway/audit).
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

#include "gateway/audit/audit_file.h"
#include "gateway/audit/audit_record.h"
#include "gateway/cli/commands.h"
#include "gateway/config/config_loader.h"
#include "gateway/config/units.h"
#include "gateway/quarantine/core_release.h"
#include "gateway/quarantine/peer_release.h"
#include "gateway/quarantine/quarantine_store.h"

namespace bordergate::cli {
namespace {

using quarantine::Entry;
using quarantine::EntryStatus;
using quarantine::QuarantineStore;

struct Common {
  std::string config_path;
};

void fail(int status, const std::string& message) {
  std::fprintf(stderr, "bordergate quarantine: %s\n", message.c_str());
  exit_status() = status;
}

std::shared_ptr<const Config> load(const Common& c) {
  ConfigLoadResult r = load_config_file(c.config_path);
  if (!r.config) {
    for (const ConfigError& e : r.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    exit_status() = 2;
  }
  return r.config;
}

std::unique_ptr<QuarantineStore> open_store(const Config& config) {
  Result<std::unique_ptr<QuarantineStore>> s =
      QuarantineStore::open(config.quarantine.path, config.quarantine.max_bytes);
  if (!s) {
    fail(1, s.error().message);
    return nullptr;
  }
  return std::move(*s);
}

std::string actor() {
  if (const char* sudo = std::getenv("SUDO_USER"); sudo && *sudo) return sudo;
  if (passwd* pw = getpwuid(getuid()); pw && pw->pw_name) return pw->pw_name;
  return "uid " + std::to_string(getuid());
}

// Authorization values carry signatures: show who signed, never the sig.
std::string redact(const HeaderField& f) {
  std::string lower = f.name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower != "authorization") return f.value;
  static const std::regex sig(R"re(sig="[^"]*")re", std::regex::icase);
  return std::regex_replace(f.value, sig, "sig=<redacted>");
}

// Printable form of bytes from the outside (control and non-ASCII escaped).
std::string printable(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// Appends the operator action to the audit chain the gateway writes.
bool audit_action(const Config& config, const Entry& e, const char* type, const char* action,
                  std::optional<int> status, const std::string& note) {
  audit::AuditRecord r;
  r.type = type;
  r.direction = e.request.direction;
  r.origin = e.request.origin;
  r.destination = e.request.destination;
  r.method = e.request.method;
  r.txn_id = e.request.txn_id;
  r.action = action;
  r.rule_id = e.request.rule_id;
  r.reason = e.request.reason;
  r.status = status;
  r.request_bytes = e.request.body.size();
  r.quarantine_id = e.id;
  r.actor = actor();
  r.note = note;
  std::string members;
  audit::append_record_members(members, r);
  Result<std::unique_ptr<audit::AuditFile>> file = audit::AuditFile::open(config.audit.path);
  Result<size_t> written = file ? (*file)->append({members}, true) : Result<size_t>(file.error());
  if (!written) {
    fail(1, "the action was done but could not be audited: " + written.error().message);
    return false;
  }
  return true;
}

void register_list(CLI::App& q, const std::shared_ptr<Common>& common) {
  struct Args {
    std::string status;
    std::string origin;
    std::string since;
    std::size_t limit = 100;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = q.add_subcommand("list", "List quarantined requests, newest first");
  cmd->add_option("--status", args->status,
                  "held | denied | evidence | releasing | released | dropped");
  cmd->add_option("--origin", args->origin, "Only this origin server");
  cmd->add_option("--since", args->since, "Only the last DURATION (e.g. 24h, 30m)");
  cmd->add_option("--limit", args->limit, "At most this many (default 100)");
  cmd->callback([common, args] {
    auto config = load(*common);
    if (!config) return;
    quarantine::ListFilter filter;
    if (!args->status.empty()) {
      filter.status = quarantine::parse_status(args->status);
      if (!filter.status) return fail(2, "unknown status '" + args->status + "'");
    }
    if (!args->since.empty()) {
      std::optional<Millis> d = parse_duration(args->since);
      if (!d) return fail(2, "--since takes a duration such as 24h or 30m");
      filter.since = std::chrono::system_clock::now() - *d;
    }
    filter.origin = args->origin;
    filter.limit = args->limit;
    auto store = open_store(*config);
    if (!store) return;
    Result<std::vector<Entry>> entries = store->list(filter);
    if (!entries) return fail(1, entries.error().message);
    // PEER: the origin of an inbound entry, the destination of an outbound one (whose origin is
    // always the Core).
    std::printf("%-18s  %-9s  %-9s  %-24s  %-30s  %-20s  %s\n", "ID", "STATUS", "DIRECTION",
                "RECEIVED", "PEER", "RULE", "REASON");
    for (const Entry& e : *entries) {
      const bool outbound = e.request.direction == "outbound";
      std::printf("%-18s  %-9s  %-9s  %-24s  %-30s  %-20s  %s\n", e.id.c_str(),
                  quarantine::status_name(e.status), printable(e.request.direction).c_str(),
                  audit::format_time(e.request.received).c_str(),
                  printable(outbound ? e.request.destination : e.request.origin).c_str(),
                  printable(e.request.rule_id).c_str(), printable(e.request.reason).c_str());
    }
  });
}

void register_show(CLI::App& q, const std::shared_ptr<Common>& common) {
  struct Args {
    std::string id;
    bool body = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = q.add_subcommand("show", "Show one quarantined request");
  cmd->add_option("id", args->id, "Quarantine id (q-...)")->required();
  cmd->add_flag("--body", args->body, "Write only the stored body, byte for byte, to stdout");
  cmd->callback([common, args] {
    auto config = load(*common);
    if (!config) return;
    auto store = open_store(*config);
    if (!store) return;
    Result<std::optional<Entry>> got = store->get(args->id);
    if (!got) return fail(1, got.error().message);
    if (!got->has_value()) return fail(1, "no quarantined request " + args->id);
    const Entry& e = **got;
    if (args->body) {
      std::fwrite(e.request.body.data(), 1, e.request.body.size(), stdout);
      return;
    }
    const quarantine::HeldRequest& r = e.request;
    std::printf("id:          %s\n", e.id.c_str());
    std::printf("status:      %s", quarantine::status_name(e.status));
    if (!e.outcome.empty()) std::printf(" (%s)", printable(e.outcome).c_str());
    std::printf("\nreceived:    %s\n", audit::format_time(r.received).c_str());
    std::printf("direction:   %s\n", r.direction.c_str());
    std::printf("origin:      %s\n", printable(r.origin).c_str());
    std::printf("destination: %s\n", printable(r.destination).c_str());
    std::printf("remote_addr: %s\n", printable(r.remote_addr).c_str());
    // An evidence entry is one event of an answer, keyed by its event id.
    const bool evidence = r.verdict == quarantine::StoredVerdict::redacted;
    std::printf("%s %s\n", evidence ? "event_id:   " : "txn_id:     ", printable(r.txn_id).c_str());
    std::printf("verdict:     %s\n", quarantine::verdict_name(r.verdict));
    std::printf("rule:        %s\n", printable(r.rule_id).c_str());
    std::printf("reason:      %s\n", printable(r.reason).c_str());
    std::printf("findings:    %s\n", printable(r.findings).c_str());
    if (evidence) {
      std::printf(
          "answered:    delivered redacted in the answer to the request below; the "
          "original is kept as evidence and cannot be released into that answer\n");
    } else {
      std::printf("answered:    %d %s\n", r.answer_status, printable(r.answer_body).c_str());
    }
    if (e.core_status) std::printf("core_status: %d\n", *e.core_status);
    std::printf("size:        %llu bytes (body %zu)\n",
                static_cast<unsigned long long>(e.size_bytes), r.body.size());
    std::printf("\n%s %s\n", printable(r.method).c_str(), printable(r.target).c_str());
    for (const HeaderField& f : r.headers) {
      std::printf("%s: %s\n", printable(f.name).c_str(), printable(redact(f)).c_str());
    }
    std::printf("\n(body: %zu bytes; --body writes it)\n", r.body.size());
  });
}

void register_release(CLI::App& q, const std::shared_ptr<Common>& common) {
  struct Args {
    std::string id;
    bool force = false;
    std::string timeout = "30s";
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd =
      q.add_subcommand("release",
                       "Send the original request to the Core (inbound) or to its destination "
                       "(outbound) and record the outcome");
  cmd->add_option("id", args->id, "Quarantine id (q-...)")->required();
  cmd->add_flag("--force", args->force, "Take over a release a crashed CLI left in progress");
  cmd->add_option("--timeout", args->timeout, "Connect + response timeout (default 30s)");
  cmd->callback([common, args] {
    auto config = load(*common);
    if (!config) return;
    std::optional<Millis> timeout = parse_duration(args->timeout);
    if (!timeout) return fail(2, "--timeout takes a duration such as 30s");
    auto store = open_store(*config);
    if (!store) return;
    Result<Entry> claimed = store->begin_release(args->id, args->force);
    if (!claimed) return fail(1, claimed.error().message);
    const Entry& e = *claimed;
    // Inbound entries go to the Core (upstream:); outbound ones to their destination through
    // the gateway's own discovery, SSRF guard and verified HTTPS client (discovery:).
    const bool outbound = e.request.direction == "outbound";
    Result<quarantine::CoreAnswer> answer = make_error("not_run", "");
    if (outbound) {
      Result<quarantine::PeerAnswer> peer =
          quarantine::send_to_destination(config->discovery, e.request, *timeout);
      answer = peer ? Result<quarantine::CoreAnswer>(
                          quarantine::CoreAnswer{peer->status, std::move(peer->body)})
                    : Result<quarantine::CoreAnswer>(Error{
                          peer.error().code, e.request.destination + ": " + peer.error().message});
    } else {
      const std::string authority =
          config->upstream.host + ":" + std::to_string(config->upstream.port);
      const std::string bytes = quarantine::release_request_bytes(e.request, authority);
      answer = quarantine::send_to_core(config->upstream, bytes, *timeout);
    }
    const bool delivered = answer && answer->status >= 200 && answer->status < 300;
    std::optional<int> core_status;
    std::string outcome;
    const std::string who = outbound ? e.request.destination : std::string("core");
    if (answer) {
      core_status = answer->status;
      outcome = who + " answered " + std::to_string(answer->status) + "; released by " + actor();
    } else {
      outcome = "not delivered: " + answer.error().message + "; attempted by " + actor();
    }
    if (Status s = store->finish_release(e.id, delivered, core_status, outcome); !s) {
      return fail(1, s.error().message);
    }
    if (!audit_action(*config, e, "quarantine_release", delivered ? "release" : "release_failed",
                      core_status, outcome)) {
      return;
    }
    std::printf("%s: %s\n", e.id.c_str(), outcome.c_str());
    if (answer && !answer->body.empty()) {
      std::printf("%s response: %s\n", who.c_str(),
                  printable(answer->body.substr(0, 2000)).c_str());
    }
    exit_status() = delivered ? 0 : 1;
  });
}

void register_drop(CLI::App& q, const std::shared_ptr<Common>& common) {
  struct Args {
    std::string id;
    std::string reason;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = q.add_subcommand(
      "drop", "Discard a held or denied request, or an evidence entry, for good (it stays listed)");
  cmd->add_option("id", args->id, "Quarantine id (q-...)")->required();
  cmd->add_option("--reason", args->reason, "Why (recorded in the store and the audit log)");
  cmd->callback([common, args] {
    auto config = load(*common);
    if (!config) return;
    auto store = open_store(*config);
    if (!store) return;
    std::string outcome = "dropped by " + actor();
    if (!args->reason.empty()) outcome += ": " + args->reason;
    if (Status s = store->drop(args->id, outcome); !s) return fail(1, s.error().message);
    Result<std::optional<Entry>> got = store->get(args->id);
    if (!got || !got->has_value()) return fail(1, "the dropped entry vanished");
    if (!audit_action(*config, **got, "quarantine_drop", "drop", std::nullopt, outcome)) return;
    std::printf("%s: %s\n", args->id.c_str(), outcome.c_str());
  });
}

}  // namespace

void register_quarantine_commands(CLI::App& app) {
  auto common = std::make_shared<Common>();
  CLI::App* q = app.add_subcommand("quarantine", "Review, release or drop quarantined requests");
  q->require_subcommand(1);
  q->add_option("--config,-c", common->config_path, "Gateway configuration file (YAML)")
      ->required();
  register_list(*q, common);
  register_show(*q, common);
  register_release(*q, common);
  register_drop(*q, common);
}

}  // namespace bordergate::cli
