#include "gateway/common/secret_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace bordergate {

Status check_secret_file(const std::string& path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error("secret_file_unreadable",
                      std::string(what) + " " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error("secret_file_permissions",
                      std::string(what) + " " + path + " is accessible to group or others (mode " +
                          mode + "): make it readable by its owner only (chmod 600)");
  }
  return {};
}

}  // namespace bordergate
