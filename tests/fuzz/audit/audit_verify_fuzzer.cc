// The audit verifier reads files an attacker may have edited: arbitrary bytes
// split into lines must never crash it, and a report must always be coherent.
// A 0x1e byte starts a new "file", so rotation sequences are explored too.
// `policy replay` reads the same lines: every line's "facts" go through the facts reader too,
// and whatever it accepts must survive being written and read again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/audit/audit_verify.h"
#include "gateway/enforcement/facts_json.h"
#include "gateway/matrix/json.h"

namespace {

void read_facts(std::string_view line) {
  using namespace bordergate;
  auto json = audit::parse_record_line(line);  // bounded as `policy replay` reads it
  const matrix::Json* facts = json ? json->find("facts") : nullptr;
  if (facts == nullptr) return;
  auto read = enforcement::facts_from_json(*facts);
  if (!read) return;
  policy::Decision d;
  d.action = *policy::action_from_name(read->action);
  d.rule_id = read->rule;
  auto again = matrix::parse_json(enforcement::facts_json(read->facts, d));
  if (!again || !enforcement::facts_from_json(*again)) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bordergate::audit;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  VerifyOptions options;
  options.require_genesis = size > 0 && (data[0] & 1);
  ChainVerifier v(options);
  bool ok = true;
  int file = 0;
  while (ok) {
    const size_t sep = input.find('\x1e');
    std::string_view chunk = input.substr(0, sep);
    v.begin_file("f" + std::to_string(file++));
    size_t nl;
    while (ok && (nl = chunk.find('\n')) != std::string_view::npos) {
      read_facts(chunk.substr(0, nl));
      ok = v.add_line(chunk.substr(0, nl));
      chunk.remove_prefix(nl + 1);
    }
    if (ok) ok = v.end_file(chunk);
    if (sep == std::string_view::npos) break;
    input.remove_prefix(sep + 1);
  }
  VerifyReport r = v.finish();
  if (r.intact && (r.records == 0 || r.last_seq < r.first_seq || r.head.size() != 64)) abort();
  if (!r.intact && r.problem.empty()) abort();
  return 0;
}
