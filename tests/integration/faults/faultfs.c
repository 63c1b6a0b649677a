// A failing disk for the chaos tests (tests/integration/test_chaos.py), preloaded into the real
// gateway: LD_PRELOAD=libbg_faultfs.so BG_FAULTFS_CONTROL=<file>.
//
// The control file holds one line, "<path-part> <errno> [delay-ms]", and is read again whenever
// its modification time changes, so a test turns faults on and off while the gateway runs:
//   "audit.log EIO"          every write and fsync of a file whose path contains "audit.log"
//                            fails with EIO
//   "quarantine.db ENOSPC"   the quarantine store's disk is full
//   "audit.log OK 2000"      writes succeed, each after 2 s (a disk that hangs)
//   "audit.log TEAR"         the next write(2) puts half of its bytes on the disk and says so
//                            (a short write; other calls fail with EIO instead); every later
//                            write or fsync of the file hangs until the process dies: kill it
//                            now and the file ends in a torn line
// An empty or missing file, or one that does not parse, injects nothing. Before a call waits
// (a delay, or a hang after TEAR) the shim creates "<control file>.waiting", so a test knows the
// gateway is inside a write.
//
// Only the calls that put bytes on a disk are touched (write, writev, pwrite, pwrite64, pwritev,
// fsync, fdatasync), and only for descriptors whose /proc/self/fd link names the path part:
// sockets, pipes and every other file pass straight through. Reads, opens and ftruncate are left
// alone, so a writer can still cut back a partial write, as on a real full disk.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int, const void*, size_t);
typedef ssize_t (*writev_fn)(int, const struct iovec*, int);
typedef ssize_t (*pwrite_fn)(int, const void*, size_t, off_t);
typedef ssize_t (*pwritev_fn)(int, const struct iovec*, int, off_t);
typedef int (*sync_fn)(int);

enum { kTear = -1 };

struct rule {
  char part[256];
  int err;  // 0: no error (a delay only); kTear: tear the next write, then hang
  long delay_ms;
  int active;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rule current;
static struct timespec seen_mtime;
static off_t seen_size = -1;
static int torn;  // TEAR: the short write is done; whatever follows hangs

static const struct {
  const char* name;
  int value;
} kErrnos[] = {{"OK", 0},         {"EIO", EIO},       {"ENOSPC", ENOSPC},
               {"EDQUOT", EDQUOT}, {"EROFS", EROFS},   {"EFBIG", EFBIG},
               {"TEAR", kTear}};

static void* next(const char* name) { return dlsym(RTLD_NEXT, name); }

// Reads the control file again when it changed. Uses only open/read/close: no stdio, and
// nothing that writes.
static struct rule load_rule(void) {
  struct rule r = {{0}, 0, 0, 0};
  const char* path = getenv("BG_FAULTFS_CONTROL");
  struct stat st;
  if (path == NULL || stat(path, &st) != 0) {
    pthread_mutex_lock(&lock);
    current.active = 0;
    seen_size = -1;
    pthread_mutex_unlock(&lock);
    return r;
  }
  pthread_mutex_lock(&lock);
  if (st.st_mtim.tv_sec == seen_mtime.tv_sec && st.st_mtim.tv_nsec == seen_mtime.tv_nsec &&
      st.st_size == seen_size) {
    r = current;
    pthread_mutex_unlock(&lock);
    return r;
  }
  char text[512];
  ssize_t n = -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    n = read(fd, text, sizeof text - 1);
    close(fd);
  }
  memset(&current, 0, sizeof current);
  torn = 0;
  if (n > 0) {
    text[n] = '\0';
    char* save = NULL;
    const char* part = strtok_r(text, " \t\r\n", &save);
    const char* err = part ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    const char* delay = err ? strtok_r(NULL, " \t\r\n", &save) : NULL;
    if (part != NULL && err != NULL && strlen(part) < sizeof current.part) {
      for (size_t i = 0; i < sizeof kErrnos / sizeof kErrnos[0]; ++i) {
        if (strcmp(err, kErrnos[i].name) == 0) {
          strcpy(current.part, part);
          current.err = kErrnos[i].value;
          current.delay_ms = delay ? strtol(delay, NULL, 10) : 0;
          current.active = 1;
        }
      }
    }
  }
  seen_mtime = st.st_mtim;
  seen_size = st.st_size;
  r = current;
  pthread_mutex_unlock(&lock);
  return r;
}

static void announce_wait(void) {
  const char* path = getenv("BG_FAULTFS_CONTROL");
  char marker[4096];
  if (path == NULL || snprintf(marker, sizeof marker, "%s.waiting", path) >= (int)sizeof marker)
    return;
  int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// What to do with a call on fd: 0 pass it through, an errno to fail it with, or kTear for the
// one short write of TEAR (later calls on a torn file never return).
static int fault_for(int fd) {
  if (fd < 3) return 0;
  struct rule r = load_rule();
  if (!r.active) return 0;
  char link[64];
  char target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return 0;
  target[n] = '\0';
  if (strstr(target, r.part) == NULL) return 0;
  if (r.err == kTear) {
    pthread_mutex_lock(&lock);
    const int already = torn;
    torn = 1;
    pthread_mutex_unlock(&lock);
    if (!already) return kTear;
    announce_wait();
    for (;;) sleep_ms(1000);
  }
  if (r.delay_ms > 0) {
    announce_wait();
    sleep_ms(r.delay_ms);
  }
  return r.err;
}

#define FAIL_OR_PASS(fd)              \
  do {                                \
    int e = fault_for(fd);            \
    if (e == kTear) e = EIO;          \
    if (e != 0) {                     \
      errno = e;                      \
      return -1;                      \
    }                                 \
  } while (0)

ssize_t write(int fd, const void* buf, size_t count) {
  static write_fn real;
  if (!real) real = (write_fn)next("write");
  int e = fault_for(fd);
  if (e == kTear) return real(fd, buf, count > 1 ? count / 2 : count);
  if (e != 0) {
    errno = e;
    return -1;
  }
  return real(fd, buf, count);
}

ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  static writev_fn real;
  if (!real) real = (writev_fn)next("writev");
  FAIL_OR_PASS(fd);
  return real(fd, iov, iovcnt);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  static pwrite_fn real;
  if (!real) real = (pwrite_fn)next("pwrite");
  FAIL_OR_PASS(fd);
  return real(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset) {
  static pwrite_fn real;
  if (!real) real = (pwrite_fn)next("pwrite64");
  FAIL_OR_PASS(fd);
  return real(fd, buf, count, offset);
}

ssize_t pwritev(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  static pwritev_fn real;
  if (!real) real = (pwritev_fn)next("pwritev");
  FAIL_OR_PASS(fd);
  return real(fd, iov, iovcnt, offset);
}

int fsync(int fd) {
  static sync_fn real;
  if (!real) real = (sync_fn)next("fsync");
  FAIL_OR_PASS(fd);
  return real(fd);
}

int fdatasync(int fd) {
  static sync_fn real;
  if (!real) real = (sync_fn)next("fdatasync");
  FAIL_OR_PASS(fd);
  return real(fd);
}
