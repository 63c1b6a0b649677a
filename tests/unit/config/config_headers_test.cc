// Every header of the configuration library compiles in a target that links bg_config alone, and
// the plain structs carry their documented defaults. With the link check in
// cmake/BgLinkCheck.cmake this keeps the library free of TLS, crypto, HTTP, DNS and storage code.
#include <gtest/gtest.h>

#include "gateway/config/config.h"
#include "gateway/config/config_loader.h"
#include "gateway/config/config_reader.h"
#include "gateway/config/discovery_config.h"
#include "gateway/config/outbound_config.h"
#include "gateway/config/units.h"
#include "gateway/config/value_syntax.h"

namespace bordergate {
namespace {

TEST(ConfigHeaders, PlainDefaults) {
  const outbound::OutboundConfig o;
  EXPECT_FALSE(o.enabled);
  EXPECT_EQ(o.listen_address, "127.0.0.1");
  EXPECT_EQ(o.listen_port, 8450);
  EXPECT_EQ(o.leaf.lifetime, std::chrono::hours(24));
  EXPECT_EQ(o.max_response_bytes, 64ULL << 20);
  const Config c;
  EXPECT_EQ(c.outbound, nullptr);
  EXPECT_EQ(parse_duration("5s"), Millis(5000));
}

}  // namespace
}  // namespace bordergate
