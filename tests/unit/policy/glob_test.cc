// Globs as in m.room.server_acl, server-name helpers and the pattern index.
#include "policy/glob.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "policy/server_index.h"
#include "policy/server_name.h"

namespace bordergate::policy {
namespace {

TEST(Glob, Table) {
  struct Case {
    const char* pattern;
    bool ci;
    const char* subject;
    bool match;
  };
  const Case cases[] = {
      {"*", true, "", true},
      {"*", true, "anything.example", true},
      {"?", true, "a", true},
      {"?", true, "", false},
      {"?", true, "ab", false},
      {"*.example.org", true, "matrix.example.org", true},
      {"*.example.org", true, "a.b.example.org", true},  // `*` crosses dots
      {"*.example.org", true, "example.org", false},
      {"*.example.org", true, "evilexample.org", false},
      {"matrix.example.org", true, "MATRIX.Example.ORG", true},  // DNS: case-insensitive
      {"MATRIX.example.org", true, "matrix.example.org", true},
      {"Alice", false, "alice", false},  // localparts: case-sensitive
      {"a*b*c", true, "aXXbYYc", true},
      {"a*b*c", true, "aXXbYY", false},
      {"srv?.example", true, "srv1.example", true},
      {"srv?.example", true, "srv12.example", false},
      {"**a", true, "bbba", true},
      {"a.b", true, "aXb", false},  // `.` is literal
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Glob(c.pattern, c.ci).matches(c.subject), c.match)
        << c.pattern << " vs " << c.subject;
  }
  EXPECT_TRUE(Glob("**", true).matches_everything());
  EXPECT_FALSE(Glob("*.x", true).matches_everything());
}

TEST(ServerName, Helpers) {
  EXPECT_EQ(strip_port("matrix.org:8448"), "matrix.org");
  EXPECT_EQ(strip_port("[::1]:8448"), "[::1]");
  EXPECT_EQ(strip_port("matrix.org"), "matrix.org");
  EXPECT_TRUE(is_ip_literal("1.2.3.4"));
  EXPECT_TRUE(is_ip_literal("[1234:5678::abcd]"));
  EXPECT_TRUE(is_ip_literal("[::ffff:192.0.2.1]"));
  EXPECT_FALSE(is_ip_literal("256.1.1.1"));
  EXPECT_FALSE(is_ip_literal("1.2.3"));
  EXPECT_FALSE(is_ip_literal("1.2.3.4.example"));
  EXPECT_FALSE(is_ip_literal("[zz::1]"));
  EXPECT_FALSE(is_ip_literal("matrix.org"));
  EXPECT_TRUE(is_valid_server_name("matrix.org:8888"));
  EXPECT_TRUE(is_valid_server_name("[1234:5678::abcd]:5678"));
  EXPECT_FALSE(is_valid_server_name("matrix.org:"));
  EXPECT_FALSE(is_valid_server_name("https://matrix.org"));
  EXPECT_TRUE(is_valid_server_pattern("*.example.org"));
  EXPECT_FALSE(is_valid_server_pattern("example.org:8448"));
  EXPECT_FALSE(is_valid_server_pattern("exa mple.org"));
  EXPECT_EQ(id_domain("!abc:example.org:8448"), "example.org:8448");
  EXPECT_EQ(id_domain("!KaBdEiNpB0x8rM9g6pZ3fQ1sXcVjLt2nWuYoHe4kRdA"), "");
}

std::vector<std::uint32_t> tags(const ServerIndex& index, std::string_view host) {
  std::vector<std::uint32_t> out;
  index.for_each_match(host, is_ip_literal(host),
                       [&](const ServerIndex::Entry& e) { out.push_back(e.tag); });
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ServerIndex, ExactSuffixAndOtherGlobs) {
  ServerIndex index;
  index.add("Matrix.Example.org", 1, false);
  index.add("*.example.org", 2, false);
  index.add("*example.org", 3, false);
  index.add("srv?.example.net", 4, false);
  index.add("10.0.0.1", 5, true);
  index.add("*.0.0.1", 6, false);
  index.add("matrix*", 7, false);  // no dot after the last wildcard: tried in turn
  index.add("10.?.0.1", 8, true);  // indexed under ".0.1"; may match IP literals
  EXPECT_EQ(tags(index, "matrix.example.org"), (std::vector<std::uint32_t>{1, 2, 3, 7}));
  EXPECT_EQ(tags(index, "a.b.example.org"), (std::vector<std::uint32_t>{2, 3}));
  EXPECT_EQ(tags(index, "example.org"), (std::vector<std::uint32_t>{3}));
  EXPECT_EQ(tags(index, "srv7.example.net"), (std::vector<std::uint32_t>{4}));
  EXPECT_EQ(tags(index, "other.net"), (std::vector<std::uint32_t>{}));
  // IP literals only reach entries that allow them: the glob *.0.0.1 does not.
  EXPECT_EQ(tags(index, "10.0.0.1"), (std::vector<std::uint32_t>{5, 8}));
  EXPECT_EQ(tags(index, "10.7.0.1"), (std::vector<std::uint32_t>{8}));
  EXPECT_EQ(index.size(), 8u);
}

}  // namespace
}  // namespace bordergate::policy
