// The network half of key fetching, as an interface the HTTPS client implements later: a direct
// GET /_matrix/key/v2/server and a notary POST /_matrix/key/v2/query. It returns raw bodies; the
// store verifies them (key_responses.h), so a fetcher never decides what is trusted.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gateway/common/result.h"

namespace bordergate::keystore {

struct NotaryQuery {
  std::string server_name;
  std::vector<std::string> key_ids;        // empty: all keys of the server
  std::int64_t minimum_valid_until_ts = 0;  // always sent (notes §3.2/§3.3)
};

// Threading contract: methods are called on the requesting worker's loop thread; `done` must be
// called exactly once, on that same thread (synchronously inside the call is allowed). Errors are
// transport-level ("connect_failed", "timeout", "http_status", "body_too_large", "ssrf_refused"
// from discovery, ...): the store counts them and backs off.
class KeyFetcher {
 public:
  using Done = std::function<void(Result<std::string> body)>;
  virtual ~KeyFetcher() = default;
  // GET https://<discovered server>/_matrix/key/v2/server (discovery per federation-notes §1.3,
  // TLS name and Host as discovery says). Body limit suggestion: 64 KiB.
  virtual void fetch_server_keys(const std::string& server_name, Done done) = 0;
  // POST https://<notary>/_matrix/key/v2/query with
  // {"server_keys":{"<server>":{"<key_id>":{"minimum_valid_until_ts":N}}}} ({} for all keys).
  virtual void query_notary(const std::string& notary_name, const NotaryQuery& query,
                            Done done) = 0;
};

// The JSON body query_notary must POST (canonical JSON, built here so every fetcher agrees).
std::string notary_request_body(const NotaryQuery& query);

}  // namespace bordergate::keystore
