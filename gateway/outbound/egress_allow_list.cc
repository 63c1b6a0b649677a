#include "gateway/outbound/egress_allow_list.h"

#include <algorithm>

namespace bordergate::outbound {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Result<EgressAllowList> EgressAllowList::compile(const std::vector<EgressEntrySpec>& specs) {
  EgressAllowList list;
  for (const auto& spec : specs) {
    Entry entry;
    entry.rule.pattern = spec.host;
    if (auto st = check_egress_entry(spec); !st) return st.error();
    entry.rule.mode = spec.mode == "tunnel" ? EgressMode::kTunnel : EgressMode::kIntercept;
    std::string_view host = spec.host;
    if (host.starts_with("*.")) {
      entry.wildcard = true;
      host.remove_prefix(2);
    }
    auto parsed = discovery::parse_host(host);  // valid: check_egress_entry parsed it
    entry.is_ip = parsed->is_ip_literal();
    entry.host = entry.is_ip ? parsed->ip->to_string() : lower(parsed->host);
    if (entry.wildcard) entry.host = std::string(1, '.').append(entry.host);
    entry.ports = spec.ports.empty() ? std::vector<std::uint16_t>{443} : spec.ports;
    list.entries_.push_back(std::move(entry));
  }
  return list;
}

std::optional<EgressRule> EgressAllowList::match(const ConnectTarget& target) const {
  const bool target_is_ip = target.name.is_ip_literal();
  const std::string host = target_is_ip ? target.name.ip->to_string() : lower(target.name.host);
  for (const auto& entry : entries_) {
    if (std::find(entry.ports.begin(), entry.ports.end(), target.port()) == entry.ports.end()) {
      continue;
    }
    if (entry.is_ip != target_is_ip) continue;
    const bool hit = entry.wildcard ? ends_with(host, entry.host) : host == entry.host;
    if (hit) return entry.rule;
  }
  return std::nullopt;
}

}  // namespace bordergate::outbound
