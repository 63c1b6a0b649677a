// The report is built as a list of tables first, then rendered: Markdown and HTML show
// exactly the same content.
#include "policy/report.h"

#include <sstream>

#include "policy/capabilities.h"
#include "policy/diff.h"
#include "policy/html.h"

namespace bordergate::policy {
namespace {

struct Table {
  std::string title;
  std::string note;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

std::string cell(const Decision& d) {
  std::string s(action_name(d.action));
  if (d.rule_id != kDefaultRuleId) s += " (" + d.rule_id + ")";
  return s;
}

std::string bytes(std::uint64_t b) {
  if (b % (1024 * 1024) == 0) return std::to_string(b / (1024 * 1024)) + " MiB";
  if (b % 1024 == 0) return std::to_string(b / 1024) + " KiB";
  return std::to_string(b) + " B";
}

std::vector<Table> build(const Policy& p) {
  std::vector<Table> tables;
  const auto probes = peer_probes(p, false);
  const Direction dirs[] = {Direction::inbound, Direction::outbound};

  Table feds{"Federations",
             "Peers are matched case-insensitively; ports are ignored.",
             {"federation", "servers", "IP literals", "description"},
             {}};
  for (const Federation& f : p.federations) {
    std::string servers;
    for (const auto& s : f.servers) servers += (servers.empty() ? "" : ", ") + s;
    feds.rows.push_back(
        {f.name, servers, f.allow_ip_literals ? "allowed" : "refused", f.description});
  }
  tables.push_back(feds);

  std::vector<std::string> peer_header = {"endpoint"};
  for (const auto& peer : probes) {
    for (Direction d : dirs) {
      if (!peer.server && d == Direction::outbound) continue;
      peer_header.push_back(peer.label + (d == Direction::inbound ? " (in)" : " (out)"));
    }
  }
  Table endpoints{
      "Endpoints",
      "Each cell: action (deciding rule). Unauthenticated endpoints "
      "arrive inbound with an unknown origin; \"n/a\" marks requests that cannot occur.",
      peer_header,
      {}};
  for (const EndpointInfo& info : endpoint_catalogue()) {
    std::vector<std::string> row = {std::string(info.name)};
    for (const auto& peer : probes) {
      for (Direction d : dirs) {
        if (!peer.server && d == Direction::outbound) continue;
        row.push_back(probe_applies(peer, d, info.endpoint)
                          ? cell(probe_endpoint(p, peer, d, info.endpoint))
                          : "n/a");
      }
    }
    endpoints.rows.push_back(row);
  }
  tables.push_back(endpoints);

  std::vector<std::string> content_header = {"type"};
  std::vector<const PeerProbe*> known;
  for (const auto& peer : probes) {
    if (!peer.server) continue;
    known.push_back(&peer);
    for (Direction d : dirs) {
      content_header.push_back(peer.label + (d == Direction::inbound ? " (in)" : " (out)"));
    }
  }
  Table events{"PDU event types in /send",
               "A transaction is judged whole: one denied or "
               "quarantined PDU holds back the whole transaction.",
               content_header,
               {}};
  for (const std::string& t : event_types_of_interest(p, nullptr)) {
    std::vector<std::string> row = {t};
    for (const PeerProbe* peer : known) {
      for (Direction d : dirs) row.push_back(cell(probe_event_type(p, *peer, d, t)));
    }
    events.rows.push_back(row);
  }
  {
    std::vector<std::string> row = {std::string(kRelayedProbeLabel)};
    for (const PeerProbe* peer : known) {
      for (Direction d : dirs) row.push_back(cell(probe_relayed_event(p, *peer, d)));
    }
    events.rows.push_back(row);
  }
  tables.push_back(events);
  Table edus{"EDU types in /send", "", content_header, {}};
  for (const std::string& t : edu_types_of_interest(p, nullptr)) {
    std::vector<std::string> row = {t};
    for (const PeerProbe* peer : known) {
      for (Direction d : dirs) row.push_back(cell(probe_edu_type(p, *peer, d, t)));
    }
    edus.rows.push_back(row);
  }
  tables.push_back(edus);

  Table settings{"Media, limits and checks",
                 "",
                 {"peer", "direction", "media", "max body", "PDUs / EDUs per transaction",
                  "rate per origin", "checks"},
                 {}};
  for (const PeerProbe* peer : known) {
    for (Direction d : dirs) {
      Settings s = probe_settings(p, *peer, d);
      std::string media = s.media->allowed ? "allowed" : "not allowed";
      if (s.media->allowed && s.media->max_bytes) media += ", max " + bytes(*s.media->max_bytes);
      if (s.media->allowed && !s.media->content_types.empty()) {
        media += ", only";
        for (const auto& t : s.media->content_types) media += " " + t;
      }
      std::string rate = s.rate.per_second > 0
                             ? std::to_string(static_cast<long>(s.rate.per_second)) + "/s, burst " +
                                   std::to_string(static_cast<long>(s.rate.burst))
                             : "unlimited";
      std::string checks;
      for (int k = 0; k < kCheckCount; ++k) {
        if (!s.checks[k])
          checks += (checks.empty() ? "relaxed: " : ", ") +
                    std::string(check_name(static_cast<Check>(k)));
      }
      settings.rows.push_back({peer->label, std::string(direction_name(d)), media,
                               bytes(s.max_body_bytes),
                               std::to_string(s.max_pdus) + " / " + std::to_string(s.max_edus),
                               rate, checks.empty() ? "all required" : checks});
    }
  }
  tables.push_back(settings);

  Table conditional{"Rules with room, user, invite and server conditions",
                    "These apply only to requests naming the listed rooms, users or invites, or "
                    "to events whose sender's or room creator's server is outside the listed "
                    "federations, or to requests into rooms with a member on such a server.",
                    {"rule", "peer", "direction", "action", "conditions"},
                    {}};
  Table all{"All rules",
            "In file order.",
            {"rule", "line", "peer", "direction", "action", "what it matches"},
            {}};
  for (const Rule& r : p.rules) {
    std::string fp = rule_fingerprint(p, r);
    std::string what = fp.substr(fp.find("| endpoints"));
    all.rows.push_back({r.id, std::to_string(r.location.line), r.peer.text,
                        std::string(direction_mask_name(r.directions)),
                        std::string(action_name(r.action)), what.substr(2)});
    if (r.rooms || r.users || r.invite_senders || r.invite_targets || r.sender_outside ||
        r.room_creator_outside || r.room_members_outside) {
      conditional.rows.push_back({r.id, r.peer.text, std::string(direction_mask_name(r.directions)),
                                  std::string(action_name(r.action)), what.substr(2)});
    }
  }
  tables.push_back(conditional);
  tables.push_back(all);
  return tables;
}

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string css_class(const std::string& cell) {
  for (const char* a : {"deny", "quarantine", "report", "allow"}) {
    if (cell.rfind(a, 0) == 0) return a;
  }
  return "";
}

}  // namespace

std::string capability_report(const Policy& p, ReportFormat format) {
  const auto tables = build(p);
  std::ostringstream o;
  const std::string title = "bordergate policy report: " + p.server_name;
  std::string intro = "Policy file " + p.source;
  if (!p.revision.empty()) intro += ", revision " + p.revision;
  intro += ", version " + std::to_string(p.version) + ", default action " +
           std::string(action_name(p.default_action)) +
           ". Every cell was computed by evaluating the policy.";
  // The digest is what the audit chain names for every decision of this policy.
  const std::string& digest = p.sha256;
  if (format == ReportFormat::markdown) {
    o << "# " << title << "\n\n" << intro << "\n\n";
    if (!digest.empty()) o << "SHA-256 of the file as read: `" << digest << "`\n\n";
    for (const Table& t : tables) {
      o << "## " << t.title << "\n\n";
      if (!t.note.empty()) o << t.note << "\n\n";
      if (t.rows.empty()) {
        o << "(none)\n\n";
        continue;
      }
      o << "|";
      for (const auto& h : t.header) o << ' ' << md_escape(h) << " |";
      o << "\n|";
      for (std::size_t i = 0; i < t.header.size(); ++i) o << " --- |";
      o << "\n";
      for (const auto& row : t.rows) {
        o << "|";
        for (const auto& c : row) o << ' ' << md_escape(c) << " |";
        o << "\n";
      }
      o << "\n";
    }
    return o.str();
  }
  o << html_page_start(title);
  o << "<h1>" << html_escape(title) << "</h1>\n<p>" << html_escape(intro) << "</p>\n";
  if (!digest.empty()) {
    o << "<p>SHA-256 of the file as read: <code>" << html_escape(digest) << "</code></p>\n";
  }
  for (const Table& t : tables) o << html_table(t.title, t.note, t.header, t.rows, &css_class);
  o << kHtmlPageEnd;
  return o.str();
}

}  // namespace bordergate::policy
