// Proxy-Authorization Basic against the configured pair.
#include "gateway/outbound/proxy_credentials.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace bordergate::outbound {
namespace {

TEST(ProxyCredentialsTest, Table) {
  auto creds = ProxyCredentials::parse("\ncore:s3cret:with:colons\r\n");
  ASSERT_TRUE(creds.ok()) << creds.error().message;
  EXPECT_EQ("core", creds->username());
  // base64("core:s3cret:with:colons") = Y29yZTpzM2NyZXQ6d2l0aDpjb2xvbnM=
  struct Case {
    const char* header;
    bool ok;
  } cases[] = {
      {"Basic Y29yZTpzM2NyZXQ6d2l0aDpjb2xvbnM=", true},
      {"basic Y29yZTpzM2NyZXQ6d2l0aDpjb2xvbnM=", true},
      {"BASIC  Y29yZTpzM2NyZXQ6d2l0aDpjb2xvbnM= ", true},
      {"Basic Y29yZTpzM2NyZXQ6d2l0aDpjb2xvbnM", false},   // unpadded
      {"Basic Y29yZTpzM2NyZXQ6d2l0aDpjb2xvbnN=", false},  // last char differs
      {"Bearer Y29yZTpzM2NyZXQ6d2l0aDpjb2xvbnM=", false},
      {"Y29yZTpzM2NyZXQ6d2l0aDpjb2xvbnM=", false},
      {"Basic", false},
      {"Basic ", false},
      {"Basic Y29yZTpzM2NyZXQ=", false},                  // core:s3cret
      {"Basic Y29yZTpzM2NyZXQ6d2l0aDpjb2xvbnMx", false},  // one byte more
      {"Basic Y29y ZTpzM2NyZXQ6d2l0aDpjb2xvbnM=", false},
      {"", false},
  };
  for (const auto& c : cases) EXPECT_EQ(c.ok, creds->accepts(c.header)) << c.header;
}

TEST(ProxyCredentialsTest, RejectsBadFiles) {
  for (const char* text : {"", "\n\n", "core", "core:", ":secret", "co\tre:secret"}) {
    auto r = ProxyCredentials::parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ("credentials_invalid", r.error().code);
  }
  auto missing = ProxyCredentials::load("/nonexistent/bordergate-proxy-credentials");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ("credentials_unreadable", missing.error().code);
  // A credentials file others can read is refused before it is read.
  const std::string path = ::testing::TempDir() + "bg-credentials-" + std::to_string(::getpid());
  std::ofstream(path) << "core:secret\n";
  ::chmod(path.c_str(), 0644);
  auto readable = ProxyCredentials::load(path);
  ASSERT_FALSE(readable.ok());
  EXPECT_EQ("secret_file_permissions", readable.error().code);
  ::chmod(path.c_str(), 0600);
  EXPECT_TRUE(ProxyCredentials::load(path).ok());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace bordergate::outbound
