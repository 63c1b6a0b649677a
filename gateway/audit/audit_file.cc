#include "gateway/audit/audit_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "gateway/audit/audit_record.h"

namespace bordergate::audit {
namespace {

Error sys_error(const char* code, const std::string& what) {
  return make_error(code, what + ": " + std::strerror(errno));
}

// Holds an flock for one scope.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {
    while (flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~FileLock() { flock(fd_, LOCK_UN); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

Result<std::string> pread_exact(int fd, off_t offset, size_t len) {
  std::string buf(len, '\0');
  size_t done = 0;
  while (done < len) {
    ssize_t n = pread(fd, buf.data() + done, len - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("audit_read_failed", "cannot read the audit file");
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  buf.resize(done);
  return buf;
}

// Bookkeeping records the chain writes by itself.
std::string bookkeeping(std::string_view type, std::string_view extra) {
  std::string m = ",\"time\":\"" + format_time(std::chrono::system_clock::now()) +
                  "\",\"type\":\"" + std::string(type) + '"';
  m += extra;
  m += '}';
  return m;
}

std::string random_chain_id() {
  unsigned char bytes[16] = {};
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, bytes, sizeof bytes);
    (void)n;
    close(fd);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 0xf];
  }
  return id;
}

}  // namespace

Result<FileTail> read_file_tail(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return sys_error("audit_stat_failed", "cannot stat the audit file");
  FileTail tail;
  const off_t size = st.st_size;
  if (size == 0) return tail;
  tail.empty = false;
  // Find the end of the last complete line, then the newline before it,
  // reading backwards in growing blocks (lines are small; files may be huge).
  off_t block = 64 * 1024;
  std::string data;
  off_t start = size;
  for (;;) {
    start = size > block ? size - block : 0;
    Result<std::string> chunk = pread_exact(fd, start, static_cast<size_t>(size - start));
    if (!chunk) return chunk.error();
    data = std::move(*chunk);
    if (start == 0) break;
    // Enough when the block holds the last newline and another one before it.
    const size_t last = data.rfind('\n');
    if (last != std::string::npos && last > 0 && data.rfind('\n', last - 1) != std::string::npos) {
      break;
    }
    block *= 4;
  }
  size_t last_nl = data.rfind('\n');
  if (last_nl == std::string::npos) {
    // No complete line at all: everything is a torn first write.
    tail.torn_bytes = size;
    return tail;
  }
  tail.torn_bytes = static_cast<off_t>(data.size() - last_nl - 1);
  size_t begin = last_nl == 0 ? 0 : data.rfind('\n', last_nl - 1);
  begin = begin == std::string::npos ? 0 : begin + 1;
  std::string_view line(data.data() + begin, last_nl - begin);
  Result<ChainFields> fields = parse_chain_fields(line);
  if (!fields) {
    return make_error("audit_tail_corrupt",
                      "the last line of the audit file is not an audit record (" +
                          fields.error().message + "); move the file away and run audit verify");
  }
  tail.head.next_seq = fields->seq + 1;
  tail.head.last_hash = sha256_hex(line);
  return tail;
}

AuditFile::AuditFile(std::string path, int fd, int head_fd)
    : path_(std::move(path)), fd_(fd), head_fd_(head_fd) {}

AuditFile::~AuditFile() {
  if (fd_ >= 0) close(fd_);
  if (head_fd_ >= 0) close(head_fd_);
}

Result<std::unique_ptr<AuditFile>> AuditFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return sys_error("audit_open_failed", "cannot open audit log " + path);
  const std::string head_path = path + ".head";
  int head_fd = ::open(head_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (head_fd < 0) {
    Error e = sys_error("audit_open_failed", "cannot open " + head_path);
    close(fd);
    return e;
  }
  return std::unique_ptr<AuditFile>(new AuditFile(path, fd, head_fd));
}

Status AuditFile::reopen_if_rotated() {
  struct stat held {};
  struct stat named {};
  bool rotated = reopen_requested_ || fstat(fd_, &held) != 0 || stat(path_.c_str(), &named) != 0 ||
                 held.st_ino != named.st_ino || held.st_dev != named.st_dev;
  if (!rotated) return {};
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return sys_error("audit_open_failed", "cannot reopen audit log " + path_);
  close(fd_);
  fd_ = fd;
  reopen_requested_ = false;
  reopened_ = true;
  known_size_ = -1;
  return {};
}

// Decides where the chain stands and which bookkeeping lines go first.
Status AuditFile::load_head(std::vector<std::string>& prefix) {
  struct stat st {};
  if (fstat(fd_, &st) != 0) return sys_error("audit_stat_failed", "cannot stat " + path_);
  if (known_size_ >= 0 && st.st_size == known_size_) return {};  // nobody else wrote
  // The O_APPEND fd is write-only; read through a second descriptor.
  int rfd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) return sys_error("audit_open_failed", "cannot read " + path_);
  Result<FileTail> tail = read_file_tail(rfd);
  close(rfd);
  if (!tail) return tail.error();
  if (!tail->empty && tail->torn_bytes == static_cast<off_t>(st.st_size)) {
    return make_error("audit_tail_corrupt", path_ + " holds no complete audit record");
  }
  if (!tail->empty) {
    head_ = tail->head;
    if (tail->torn_bytes > 0) {
      // Terminate the torn line and say so in the chain; verify accepts the
      // torn line only when a recovery record names its exact length.
      prefix.push_back("\n");
      prefix.push_back(
          bookkeeping("recovery", ",\"torn_bytes\":" + std::to_string(tail->torn_bytes)));
    } else if (reopened_) {
      prefix.push_back(bookkeeping("writer_opened", ",\"pid\":" + std::to_string(getpid())));
    }
    return {};
  }
  // An empty file: continue from the sidecar (the rotated predecessor's head).
  Result<std::string> text = pread_exact(head_fd_, 0, 128);
  if (!text) return text.error();
  std::uint64_t seq = 0;
  std::string hash;
  const std::string& t = *text;
  size_t sp = t.find(' ');
  if (!t.empty() && sp != std::string::npos && t.size() >= sp + 65) {
    auto r = std::from_chars(t.data(), t.data() + sp, seq);
    if (r.ec == std::errc()) hash = t.substr(sp + 1, 64);
  }
  if (hash.empty()) {
    head_ = ChainHead{};
    prefix.push_back(
        bookkeeping("chain_start", ",\"chain_id\":\"" + random_chain_id() + "\",\"format\":1"));
  } else {
    head_.next_seq = seq + 1;
    head_.last_hash = hash;
    prefix.push_back(bookkeeping("file_opened", ",\"pid\":" + std::to_string(getpid())));
  }
  return {};
}

Status AuditFile::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("audit_write_failed", "cannot write " + path_);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

void AuditFile::store_head() {
  if (head_.next_seq == 0) return;
  std::string text = std::to_string(head_.next_seq - 1) + ' ' + head_.last_hash + '\n';
  if (pwrite(head_fd_, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size())) {
    if (ftruncate(head_fd_, static_cast<off_t>(text.size())) != 0) {
      // A longer stale tail is harmless: the reader takes the first line only.
    }
  }
}

Result<size_t> AuditFile::append(const std::vector<std::string>& members, bool sync) {
  FileLock lock(head_fd_);
  if (Status s = reopen_if_rotated(); !s) return s.error();
  std::vector<std::string> prefix;
  ChainHead saved = head_;
  if (Status s = load_head(prefix); !s) return s.error();
  std::string bytes;
  size_t lines = 0;
  for (const std::string& m : prefix) {
    if (m == "\n") {
      bytes += '\n';
      continue;
    }
    bytes += seal_line(head_, m);
    bytes += '\n';
    ++lines;
  }
  for (const std::string& m : members) {
    bytes += seal_line(head_, m);
    bytes += '\n';
    ++lines;
  }
  struct stat before {};
  const bool sized = fstat(fd_, &before) == 0;
  if (Status s = write_all(bytes); !s) {
    head_ = saved;
    // A partial write (disk full in the middle of a batch) would leave complete lines of the
    // batch on disk that the caller retries: cut the file back to where this append began, so
    // that the file ends with the last record of the chain head and a retry writes each record
    // once. When even that fails, the head is re-read from the file next time.
    if (!sized || ftruncate(fd_, before.st_size) != 0) known_size_ = -1;
    return s.error();
  }
  if (sync && fdatasync(fd_) != 0) {
    known_size_ = -1;
    return sys_error("audit_sync_failed", "cannot fsync " + path_);
  }
  store_head();
  struct stat st {};
  known_size_ = fstat(fd_, &st) == 0 ? st.st_size : -1;
  reopened_ = false;
  return lines;
}

Status AuditFile::sync() {
  FileLock lock(head_fd_);
  if (fdatasync(fd_) != 0) return sys_error("audit_sync_failed", "cannot fsync " + path_);
  return {};
}

}  // namespace bordergate::audit
