// The smallest configuration the loader accepts but for the enforcement choice, shared by the
// loader's tests, which splice sections and mistakes into it. 15 lines: what is appended starts on
// line 16.
#pragma once

#include <string>

namespace bordergate {

// Without the enforcement choice (a policy, or the pass-through switch).
inline std::string minimal_config(const std::string& state_dir) {
  return "version: 1\n"
         "server_name: example.org\n"
         "state_dir: " +
         state_dir + R"(
listeners:
  federation:
    - address: 127.0.0.1
      port: 8448
      tls:
        certificates:
          - server_names: [example.org]
            certificate: pki/example.crt
            private_key: pki/example.key
upstream:
  host: 127.0.0.1
  port: 8008
)";
}

inline const std::string kNoEnforcement = minimal_config("state");

}  // namespace bordergate
