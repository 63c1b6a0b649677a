#include "gateway/http/head_scanner.h"

namespace bordergate {

const char* HeadScanner::describe(Verdict v) {
  switch (v) {
    case Verdict::ok:
      return "ok";
    case Verdict::too_large:
      return "request head too large";
    case Verdict::bare_cr:
      return "bare CR";
    case Verdict::bare_lf:
      return "bare LF";
    case Verdict::nul:
      return "NUL byte";
    case Verdict::obs_fold:
      return "obsolete line folding or leading whitespace";
    case Verdict::request_line_whitespace:
      return "irregular whitespace in the request line";
  }
  return "malformed";
}

HeadScanner::Verdict HeadScanner::scan(const char* data, std::size_t len, std::size_t max_bytes) {
  for (std::size_t i = 0; i < len && !done_; ++i) {
    const char c = data[i];
    if (++bytes_ > max_bytes) return Verdict::too_large;
    if (prev_cr_) {
      prev_cr_ = false;
      if (c != '\n') return Verdict::bare_cr;
      if (line_len_ == 0) {
        // An empty line: the end of the head once a request line exists.
        if (lines_ > 0) done_ = true;
        continue;
      }
      ++lines_;
      line_len_ = 0;
      continue;
    }
    if (c == '\r') {
      prev_cr_ = true;
      continue;
    }
    if (c == '\n') return Verdict::bare_lf;
    if (c == '\0') return Verdict::nul;
    if (line_len_ == 0 && lines_ > 0 && (c == ' ' || c == '\t')) return Verdict::obs_fold;
    if (lines_ == 0) {
      // The request line is exactly "method SP target SP version": llhttp tolerates runs of
      // spaces there, which other servers split differently.
      if (c == '\t' || (c == ' ' && (line_len_ == 0 || prev_space_))) {
        return Verdict::request_line_whitespace;
      }
      prev_space_ = c == ' ';
    }
    ++line_len_;
  }
  return Verdict::ok;
}

}  // namespace bordergate
