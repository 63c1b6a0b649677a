// Test-only helper (never installed, not part of the bordergate binary): puts
// one raw HTTP request into a quarantine store through the real library, the
// way the gateway's inbound pipeline will, so the integration test can drive
// `bordergate quarantine list|show|release|drop` against it.
//
//   quarantine_seed STORE ORIGIN TXN_ID REMOTE_ADDR REQUEST_FILE
//
// REQUEST_FILE holds the request as received: request line, header lines,
// an empty line, the body. Prints the quarantine id.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "gateway/quarantine/quarantine_store.h"

int main(int argc, char** argv) {
  using namespace bordergate::quarantine;
  if (argc != 6 && argc != 8) {
    std::fprintf(stderr,
                 "usage: %s STORE ORIGIN TXN_ID REMOTE_ADDR REQUEST_FILE [DIRECTION DESTINATION]\n",
                 argv[0]);
    return 2;
  }
  std::ifstream in(argv[5], std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  const std::string raw = s.str();
  const size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) {
    std::fprintf(stderr, "no end of head in %s\n", argv[5]);
    return 2;
  }
  HeldRequest r;
  r.origin = argv[2];
  r.txn_id = argv[3];
  r.remote_addr = argv[4];
  r.destination = "core.bordergate.test";
  if (argc == 8) {  // an outbound entry: the Core's transaction to an external server
    r.direction = argv[6];
    r.destination = argv[7];
  }
  r.rule_id = "content.test-rule";
  r.reason = "event_type_denied";
  r.findings = "1 PDU: m.room.message denied";
  r.answer_body = "{\"pdus\":{\"$x\":{\"error\":\"held for review\"}}}";
  size_t pos = raw.find("\r\n");
  const std::string line = raw.substr(0, pos);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  pos += 2;
  while (pos < end) {
    size_t eol = raw.find("\r\n", pos);
    const std::string field = raw.substr(pos, eol - pos);
    const size_t colon = field.find(':');
    size_t v = colon + 1;
    while (v < field.size() && field[v] == ' ') ++v;
    r.headers.push_back({field.substr(0, colon), field.substr(v)});
    pos = eol + 2;
  }
  r.body = raw.substr(end + 4);
  auto store = QuarantineStore::open(argv[1]);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return 1;
  }
  auto put = (*store)->put(r);
  if (!put) {
    std::fprintf(stderr, "%s\n", put.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", put->id.c_str());
  return 0;
}
