// Fuzzes the YAML configuration loader: any text yields either a config or
// positioned errors, never a crash or an exception escaping.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "gateway/config/config_loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  bordergate::ConfigLoadResult r = bordergate::load_config_text(text, "/fuzz/config.yaml");
  if ((r.config == nullptr) == r.errors.empty()) std::abort();
  return 0;
}
