// Secrets on disk (TLS private keys, the interception CA's key, the proxy credentials) are refused
// when their file lets the group or others read or write it, as ssh refuses such keys: a mode
// mistake should stop the start, not leak the key. Checked before the file is read.
#pragma once

#include <string>
#include <string_view>

#include "gateway/common/result.h"

namespace bordergate {

// Ok when `path` exists and its mode grants nothing to group or others (0600, 0400). Errors:
// "secret_file_permissions" (names the file, its mode and the fix), "secret_file_unreadable".
// `what` says what the file is ("TLS private key", "proxy credentials").
Status check_secret_file(const std::string& path, std::string_view what);

}  // namespace bordergate
