// Secrets readable or writable by group or others are refused, with the file, its mode and the
// fix named; owner-only modes pass.
#include "gateway/common/secret_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace bordergate {
namespace {

TEST(SecretFile, OwnerOnlyPassesEverythingElseIsRefused) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("bg-secret-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "key.pem").string();
  std::ofstream(path) << "secret\n";
  struct Case {
    mode_t mode;
    bool ok;
  };
  const Case cases[] = {{0600, true},  {0400, true},  {0700, true},  {0640, false},
                        {0644, false}, {0604, false}, {0620, false}, {0602, false}};
  for (const Case& c : cases) {
    ASSERT_EQ(::chmod(path.c_str(), c.mode), 0);
    Status s = check_secret_file(path, "TLS private key");
    EXPECT_EQ(s.ok(), c.ok) << std::oct << c.mode;
    if (!s.ok()) {
      EXPECT_EQ(s.error().code, "secret_file_permissions");
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(c.mode));
      EXPECT_NE(s.error().message.find(std::string("(mode ") + mode + ")"), std::string::npos)
          << s.error().message;
      EXPECT_NE(s.error().message.find("TLS private key " + path), std::string::npos);
      EXPECT_NE(s.error().message.find("chmod 600"), std::string::npos);
    }
  }
  Status missing = check_secret_file((dir / "nope").string(), "proxy credentials");
  EXPECT_EQ(missing.error().code, "secret_file_unreadable");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bordergate
