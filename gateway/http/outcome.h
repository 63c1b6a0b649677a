// The one outcome vocabulary of the request pipeline, both directions: every phase answers
// proceed, respond (the gateway answers itself with a GatewayError) or suspend (the phase waits
// for keys, a quarantine put, discovery or an answer check and the request resumes at that phase
// later). Every error knows where it came from, and the failures whose answer used to be chosen
// case by case (the Core or a remote server failing, an answer the gateway refuses) map to their
// Matrix answer in one table (outcome.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace bordergate {

// Who caused an answer the gateway gives itself.
enum class ErrorSource : unsigned char {
  peer,     // the requesting side sent something the gateway refuses (framing, JSON, X-Matrix)
  policy,   // the policy (or a check it asks for) refused the request or its answer
  core,     // the Core homeserver failed (refused, timed out, reset, malformed answer)
  remote,   // the external server of an outbound request failed or answered malformed
  gateway,  // the gateway itself cannot serve it now (no quarantine store, no keys in time)
};

struct GatewayError {
  GatewayError() = default;
  GatewayError(int s, const char* code, std::string why, ErrorSource from = ErrorSource::peer)
      : status(s), errcode(code), reason(std::move(why)), source(from) {}

  int status = 500;
  const char* errcode = "M_UNKNOWN";
  std::string reason;  // shown to the peer: no secrets, no internals
  ErrorSource source = ErrorSource::peer;
  // 429 and 503: sent as "retry_after_ms" in the body and as a Retry-After header (whole
  // seconds).
  std::optional<std::int64_t> retry_after_ms;
  // Non-empty: the gateway answers the request itself with this JSON body and `status`
  // (a withheld /send transaction gets 200 with per-PDU errors) instead of an error object.
  std::string json_body;
};

struct Outcome {
  enum class Kind : unsigned char { proceed, respond, suspend };
  Kind kind = Kind::proceed;
  GatewayError error;
  // respond only: the connection closes after this answer (Connection: close), e.g. an outbound
  // tunnel whose binding failed serves nothing more.
  bool close_connection = false;

  static Outcome proceed() { return {}; }
  static Outcome suspend() { return {Kind::suspend, {}}; }
  static Outcome respond(GatewayError error) { return {Kind::respond, std::move(error)}; }
  static Outcome respond(int status, const char* errcode, std::string reason,
                         ErrorSource source = ErrorSource::peer) {
    return {Kind::respond, GatewayError{status, errcode, std::move(reason), source}};
  }
  // The gateway cannot carry the request out now (an audit log or a quarantine that cannot
  // write): 503 M_UNAVAILABLE with Retry-After, which Synapse retries. Nothing was forwarded.
  static Outcome unavailable(std::string reason) {
    Outcome o = respond(503, "M_UNAVAILABLE", std::move(reason), ErrorSource::gateway);
    o.error.retry_after_ms = kUnavailableRetryMs;
    return o;
  }
  static constexpr std::int64_t kUnavailableRetryMs = 5000;
};

// What failed on the way to an answer, in the words of the table in outcome.cc.
enum class Failure : unsigned char {
  core_refused,           // the Core refused the connection
  core_connect_timeout,   // connecting to the Core timed out
  core_response_timeout,  // the Core did not answer in time
  core_reset,             // the Core closed the connection
  core_tls,               // TLS with the Core failed
  core_protocol,          // the Core's answer is not HTTP
  core_unreachable,       // anything else on the way to the Core
  remote_unreachable,     // no address of the external server answered (or TLS failed)
  remote_timeout,         // the external server did not answer in time
  remote_too_large,       // the external server's answer exceeds outbound.max_response_bytes
  remote_malformed,       // the external server's answer is not what its endpoint answers
  answer_budget,          // an answer to be held does not fit limits.max_buffered_bytes (503)
};

// The gateway's answer for `failure`; `text`, when given, replaces the table's words.
GatewayError failure_answer(Failure failure, std::string text = {});
// The access log's outcome of a request the gateway answered with `error`: denied (peer,
// policy), upstream_error (core, remote) or gateway_error.
const char* outcome_label(ErrorSource source);

}  // namespace bordergate
