// Loads and validates the YAML configuration (deploy/examples/bordergate.yaml
// is the reference shape). Every error names file:line:column; unknown keys are
// errors, so a typo never silently falls back to a default.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gateway/common/result.h"
#include "gateway/config/config.h"

namespace bordergate {

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when the error is not tied to a position
  int column = 0;  // 1-based
  std::string message;

  std::string to_string() const;  // "file:line:col: message"
};

struct ConfigLoadResult {
  std::shared_ptr<const Config> config;  // null when errors is non-empty
  std::vector<ConfigError> errors;
  bool unreadable = false;  // the file itself could not be read (its one error says so)
};

// Reads the file at `path`. Relative paths inside are resolved against
// state_dir, which itself is relative to the file's directory.
ConfigLoadResult load_config_file(const std::string& path);

// Parses YAML text as if it had been read from `path` (used by tests and by
// load_config_file). Files are not touched, except that paths are resolved.
ConfigLoadResult load_config_text(const std::string& text, const std::string& path);

}  // namespace bordergate
