// The bytes of a request head as the gateway reads them before llhttp does: what llhttp, even
// strict, lets through and other HTTP implementations read differently (bare CR or LF, NUL,
// obsolete line folding, runs of whitespace in the request line), and the head's size. Shared by
// the federation listener's request parser and the proxy listener's CONNECT head parser, so both
// refuse the same heads.
#pragma once

#include <cstddef>

namespace bordergate {

class HeadScanner {
 public:
  enum class Verdict {
    ok,         // every byte so far is acceptable (done() says whether the head is complete)
    too_large,  // more than max_bytes before the end of the head
    bare_cr,
    bare_lf,
    nul,
    obs_fold,                 // a header line starting with whitespace
    request_line_whitespace,  // not exactly "method SP target SP version"
  };
  static const char* describe(Verdict v);

  // Scans `len` more bytes, stopping at the end of the head (bytes after it are not looked at).
  Verdict scan(const char* data, std::size_t len, std::size_t max_bytes);
  bool done() const { return done_; }
  void reset() { *this = HeadScanner{}; }

 private:
  bool done_ = false;
  bool prev_cr_ = false;
  bool prev_space_ = false;
  std::size_t bytes_ = 0;
  std::size_t line_len_ = 0;
  std::size_t lines_ = 0;
};

}  // namespace bordergate
