// Durations as written in the configuration.
#include "gateway/config/units.h"

#include <gtest/gtest.h>

namespace bordergate {
namespace {

TEST(ParseDuration, AcceptsEveryUnit) {
  struct Case {
    const char* text;
    long long ms;
  } cases[] = {{"0ms", 0},      {"250ms", 250}, {"5s", 5000},  {"2m", 120000},
               {"1h", 3600000}, {"60s", 60000}, {"007s", 7000}};
  for (const Case& c : cases) {
    auto d = parse_duration(c.text);
    ASSERT_TRUE(d.has_value()) << c.text;
    EXPECT_EQ(d->count(), c.ms) << c.text;
  }
}

TEST(ParseDuration, RejectsEverythingElse) {
  for (const char* text : {"", "5", "s", "-5s", "+5s", "1.5s", "5 s", " 5s", "5s ", "5S", "5sec",
                           "5d", "1e3ms", "99999999999999999999s", "5ms5"}) {
    EXPECT_FALSE(parse_duration(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace bordergate
