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

bool write_output(const std::string& text, const std::string& path) {
  if (path.empty()) {
    std::cout << text << std::flush;
    return true;
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  bool ok = f && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (f && std::fclose(f) != 0) ok = false;
  if (!ok) {
    std::cerr << "error: cannot write " << path << "\n";
    exit_status() = kBadInput;
  }
  return ok;
}

Result<audit::RecordRange> record_range(std::optional<std::uint64_t> from_seq,
                                        std::optional<std::uint64_t> to_seq,
                                        const std::string& since, const std::string& until) {
  audit::RecordRange range;
  range.from_seq = from_seq;
  range.to_seq = to_seq;
  if (!since.empty()) {
    auto t = audit::normalize_time_bound(since, false);
    if (!t) return t.error();
    range.since = *t;
  }
  if (!until.empty()) {
    auto t = audit::normalize_time_bound(until, true);
    if (!t) return t.error();
    range.until = *t;
  }
  return range;
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
