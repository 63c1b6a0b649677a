// Appends sealed lines to the audit file at a path, safely shared between
// processes: the gateway's writer thread and the `bordergate quarantine` CLI
// append to the same chain. Every append runs under an exclusive flock on the
// sidecar "<path>.head", which also keeps the chain head so that a freshly
// rotated (empty) file continues the chain of the file it replaced.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "gateway/audit/audit_chain.h"
#include "gateway/common/result.h"

namespace bordergate::audit {

class AuditFile {
 public:
  // Opens (creating if needed) the file and its sidecar. Nothing is written
  // until the first append.
  static Result<std::unique_ptr<AuditFile>> open(const std::string& path);
  ~AuditFile();
  AuditFile(const AuditFile&) = delete;
  AuditFile& operator=(const AuditFile&) = delete;

  // Appends one line per entry of `members` (each from append_record_members).
  // Under the lock it first follows a rotation (the path names a different
  // file than the one held open), re-reads the chain head when another process
  // appended, and writes the bookkeeping records the situation needs first:
  // chain_start on an empty chain, file_opened at the top of a rotated file,
  // recovery after a torn last line. `sync` fdatasyncs before unlocking.
  // Returns the number of lines written (bookkeeping included).
  Result<size_t> append(const std::vector<std::string>& members, bool sync);

  // Forces the next append to reopen the path (SIGUSR1 after logrotate). The
  // rotation check in append() finds renames anyway; this also covers a file
  // that was copied and truncated.
  void request_reopen() { reopen_requested_ = true; }

  Status sync();
  // The head after the last append of this process (not re-read).
  const ChainHead& head() const { return head_; }
  const std::string& path() const { return path_; }

 private:
  AuditFile(std::string path, int fd, int head_fd);
  Status reopen_if_rotated();
  Status load_head(std::vector<std::string>& prefix);
  Status write_all(std::string_view bytes);
  void store_head();

  std::string path_;
  int fd_ = -1;
  int head_fd_ = -1;
  ChainHead head_;
  off_t known_size_ = -1;  // size after our last append; -1: head unknown
  bool reopen_requested_ = false;
  bool reopened_ = true;  // the next line is the first this process writes to fd_
};

// Reads the chain head a file ends with: the seq after its last complete line
// and that line's hash. Empty file: the genesis head. torn_bytes is set when
// the file ends without a newline (a crash in the middle of a write).
struct FileTail {
  ChainHead head;
  off_t torn_bytes = 0;
  bool empty = true;
};
Result<FileTail> read_file_tail(int fd);

}  // namespace bordergate::audit
