// Where the source tree is, for tests that read its files (examples, docs, vectors). The path is
// compiled into one small object (source_dir.cc) linked into every test binary, so no other
// object depends on where the tree is checked out: a fresh checkout reuses them from ccache.
#pragma once

namespace bordergate::testing {
extern const char* const kSourceDir;
}  // namespace bordergate::testing

#define BG_SOURCE_DIR ::bordergate::testing::kSourceDir
