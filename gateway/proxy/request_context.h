// Per-request state handed to every pipeline phase. It lives inside the
// client connection and is reset between requests; everything a later phase
// needs about the request (classification, the authenticated origin, the
// policy decision) is added here as plain fields.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "gateway/common/endpoint_class.h"
#include "gateway/http/error_response.h"
#include "gateway/http/message.h"
#include "gateway/inbound/inbound_request.h"
#include "gateway/keystore/server_key_store.h"
#include "gateway/keystore/worker_queue.h"
#include "gateway/proxy/runtime.h"

namespace bordergate {

struct RequestContext {
  std::shared_ptr<const Runtime> runtime;  // the snapshot this request runs under
  HttpRequest* request = nullptr;          // owned by the connection's parser
  const std::string* client_ip = nullptr;  // owned by the connection
  Direction direction = Direction::inbound;
  EndpointClass endpoint = EndpointClass::other;
  std::chrono::steady_clock::time_point started{};
  int status = 0;                     // final status sent to the client
  std::uint64_t response_bytes = 0;   // body bytes sent to the client
  const char* outcome = "forwarded";  // forwarded | denied | gateway_error | upstream_error | client_gone
  bool retried = false;
  std::size_t next_phase = 0;  // the phase to run (again) when a suspended request resumes
  inbound::InboundRequest inbound;

  // Set once by the connection: the key store, where its answers arrive, and how a suspended
  // request resumes.
  keystore::ServerKeyStore* keys = nullptr;
  std::shared_ptr<keystore::Mailbox> mailbox;
  std::function<void()> resume;
  std::function<void(std::function<void()>, std::function<void()>)> offload;

  void reset() {
    next_phase = 0;
    inbound.reset();
    runtime.reset();
    request = nullptr;
    endpoint = EndpointClass::other;
    status = 0;
    response_bytes = 0;
    outcome = "forwarded";
    retried = false;
  }
};

}  // namespace bordergate
