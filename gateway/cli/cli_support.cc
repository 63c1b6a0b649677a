#include "gateway/cli/cli_support.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "gateway/cli/commands.h"

namespace bordergate::cli {

Result<std::string> read_input(const std::string& path) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    if (std::cin.bad()) return make_error("unreadable", "cannot read standard input");
    return text.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("unreadable", "cannot open " + path);
  text << in.rdbuf();
  return text.str();
}

int fail(const std::string& what, const Error& e, int status) {
  std::fflush(stdout);
  std::fprintf(stderr, "bordergate: %s: %s: %s\n", what.c_str(), e.code.c_str(), e.message.c_str());
  exit_status() = status;
  return status;
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string utc(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  char buf[32] = "?";
  if (gmtime_r(&t, &tm)) std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace bordergate::cli
