#include "tests/unit/source_dir.h"

const char* const bordergate::testing::kSourceDir = BG_SOURCE_DIR_PATH;
