// The JSON-lines logger: one valid JSON object per line, typed fields,
// escaping of anything a peer could put into a value, level filtering.
#include "gateway/common/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace bordergate {
namespace {

// Runs `fn` with stderr redirected into a pipe and returns what it wrote.
template <class Fn>
std::string capture_stderr(Fn fn) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  int saved = dup(STDERR_FILENO);
  dup2(fds[1], STDERR_FILENO);
  fn();
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  return out;
}

TEST(Log, OneJsonObjectPerLineWithTypedFields) {
  set_log_level(LogLevel::info);
  std::string out = capture_stderr([] {
    log_event(LogLevel::info, "request",
              {{"path", "/a\"b\\c\n"}, {"status", 200}, {"ok", true}, {"ms", 1.5}});
  });
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1);  // exactly one line
  EXPECT_EQ(out.rfind("{\"ts\":\"", 0), 0u);
  EXPECT_NE(out.find("\"level\":\"info\",\"event\":\"request\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"path\":\"/a\\\"b\\\\c\\n\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"status\":200"), std::string::npos) << out;
  EXPECT_NE(out.find("\"ok\":true"), std::string::npos) << out;
  EXPECT_NE(out.find("\"ms\":1.5"), std::string::npos) << out;
}

TEST(Log, ControlAndNonAsciiBytesAreEscaped) {
  std::string out;
  append_json_escaped(out, std::string("a\x01\x7f\xff\tz", 6));
  EXPECT_EQ(out, "a\\u0001\\u007f\\u00ff\\tz");
}

TEST(Log, LevelsFilter) {
  set_log_level(LogLevel::warn);
  std::string out = capture_stderr([] {
    log_event(LogLevel::info, "hidden");
    log_event(LogLevel::error, "shown");
  });
  set_log_level(LogLevel::info);
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_NE(out.find("\"level\":\"error\",\"event\":\"shown\""), std::string::npos);
}

TEST(Log, ParsesLevelNames) {
  LogLevel l = LogLevel::info;
  EXPECT_TRUE(parse_log_level("debug", l));
  EXPECT_EQ(l, LogLevel::debug);
  EXPECT_TRUE(parse_log_level("error", l));
  EXPECT_EQ(l, LogLevel::error);
  EXPECT_FALSE(parse_log_level("verbose", l));
  EXPECT_FALSE(parse_log_level("INFO", l));
}

}  // namespace
}  // namespace bordergate
