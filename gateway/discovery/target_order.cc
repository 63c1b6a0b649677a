#include "gateway/discovery/target_order.h"

#include <algorithm>

namespace bordergate::discovery {

std::vector<IpAddress> interleave_families(std::vector<IpAddress> addresses, AddressOrder order) {
  std::vector<IpAddress> v6, v4, out;
  for (const auto& a : addresses) (a.is_v6() ? v6 : v4).push_back(a);
  auto& first = order == AddressOrder::kIpv6First ? v6 : v4;
  auto& second = order == AddressOrder::kIpv6First ? v4 : v6;
  for (std::size_t i = 0; i < std::max(first.size(), second.size()); ++i) {
    if (i < first.size()) out.push_back(first[i]);
    if (i < second.size()) out.push_back(second[i]);
  }
  return out;
}

std::vector<SrvRecord> order_srv_records(std::vector<SrvRecord> records, std::mt19937_64& random) {
  // RFC 2782: ascending priority; within a priority, weighted random order where zero-weight
  // records come first in the list but are picked only when the draw is exactly 0.
  std::stable_sort(records.begin(), records.end(), [](const SrvRecord& a, const SrvRecord& b) {
    return a.priority < b.priority;
  });
  std::vector<SrvRecord> out;
  out.reserve(records.size());
  auto group_begin = records.begin();
  while (group_begin != records.end()) {
    auto group_end = std::find_if(group_begin, records.end(), [&](const SrvRecord& r) {
      return r.priority != group_begin->priority;
    });
    std::vector<SrvRecord> group(std::make_move_iterator(group_begin),
                                 std::make_move_iterator(group_end));
    std::stable_partition(group.begin(), group.end(), [](const SrvRecord& r) { return r.weight == 0; });
    while (!group.empty()) {
      std::uint32_t total = 0;
      for (const auto& r : group) total += r.weight;
      const std::uint32_t draw = std::uniform_int_distribution<std::uint32_t>(0, total)(random);
      std::uint32_t running = 0;
      std::size_t pick = group.size() - 1;
      for (std::size_t i = 0; i < group.size(); ++i) {
        running += group[i].weight;
        if (running >= draw) {
          pick = i;
          break;
        }
      }
      out.push_back(std::move(group[pick]));
      group.erase(group.begin() + static_cast<std::ptrdiff_t>(pick));
    }
    group_begin = group_end;
  }
  return out;
}

}  // namespace bordergate::discovery
