// Metrics: per-worker shards add up at scrape time, label values stay in
// their fixed sets, and the output is Prometheus text format.
#include "gateway/admin/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <set>
#include <string>

namespace bordergate {
namespace {

using std::chrono::milliseconds;

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(Metrics, ShardsAreSummedAtScrape) {
  Metrics m(2);
  m.worker(0).request_done(Direction::inbound, PathClass::federation, 200, milliseconds(3), 10, 20);
  m.worker(1).request_done(Direction::inbound, PathClass::federation, 200, milliseconds(30), 1, 2);
  m.worker(1).request_done(Direction::inbound, PathClass::key, 502, milliseconds(2000), 0, 5);
  m.worker(0).upstream_error(UpstreamErrorKind::connect_refused);
  m.worker(0).connection_opened();
  m.worker(1).connection_opened();
  m.worker(1).connection_closed();
  m.config_reload(false);
  std::string text = m.serialize();
  EXPECT_TRUE(has_line(text,
                       "bordergate_requests_total{direction=\"inbound\",endpoint=\"federation\","
                       "status_class=\"2xx\",code=\"200\"} 2"))
      << text;
  EXPECT_TRUE(has_line(text,
                       "bordergate_requests_total{direction=\"inbound\",endpoint=\"key\","
                       "status_class=\"5xx\",code=\"502\"} 1"))
      << text;
  EXPECT_TRUE(has_line(text,
                       "bordergate_request_duration_seconds_count{direction=\"inbound\","
                       "endpoint=\"federation\"} 2"))
      << text;
  EXPECT_TRUE(has_line(text,
                       "bordergate_request_duration_seconds_bucket{direction=\"inbound\","
                       "endpoint=\"federation\",le=\"0.005\"} 1"))
      << text;
  EXPECT_TRUE(has_line(text,
                       "bordergate_request_duration_seconds_bucket{direction=\"inbound\","
                       "endpoint=\"federation\",le=\"0.05\"} 2"))
      << text;
  EXPECT_TRUE(has_line(text, "bordergate_request_body_bytes_total{direction=\"inbound\"} 11"))
      << text;
  EXPECT_TRUE(has_line(text, "bordergate_response_body_bytes_total{direction=\"inbound\"} 27"))
      << text;
  EXPECT_TRUE(has_line(text, "bordergate_upstream_errors_total{kind=\"connect_refused\"} 1"))
      << text;
  EXPECT_TRUE(has_line(text, "bordergate_open_connections{direction=\"inbound\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "bordergate_config_reloads_total{result=\"failure\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "bordergate_config_reloads_total{result=\"success\"} 0")) << text;
  EXPECT_NE(text.find("# TYPE bordergate_request_duration_seconds histogram"), std::string::npos);
}

TEST(Metrics, LabelValuesAreBounded) {
  Metrics m(1);
  // Out-of-range statuses are folded, never turned into new label values.
  for (int status : {0, 42, 99, 600, 1000, -5}) {
    m.worker(0).request_done(Direction::inbound, PathClass::other, status, milliseconds(1), 0, 0);
  }
  std::string text = m.serialize();
  std::regex code_re("code=\"([^\"]*)\"");
  std::set<std::string> codes;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), code_re);
       it != std::sregex_iterator(); ++it) {
    codes.insert((*it)[1]);
  }
  EXPECT_EQ(codes, std::set<std::string>{"599"});
  std::regex endpoint_re("endpoint=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), endpoint_re);
       it != std::sregex_iterator(); ++it) {
    std::string v = (*it)[1];
    EXPECT_TRUE(v == "federation" || v == "key" || v == "media" || v == "well_known" ||
                v == "other")
        << v;
  }
}

}  // namespace
}  // namespace bordergate
