// The one table from a failure to its answer, and the access log's outcome from an error's
// source: every row, so that a change of a status is a change of this table.
#include "gateway/http/outcome.h"

#include <gtest/gtest.h>

namespace bordergate {
namespace {

TEST(Outcome, EveryFailureHasItsAnswer) {
  struct Case {
    Failure failure;
    ErrorSource source;
    int status;
    const char* text;
  };
  const Case cases[] = {
      {Failure::core_refused, ErrorSource::core, 502, "The homeserver refused the connection"},
      {Failure::core_connect_timeout, ErrorSource::core, 504,
       "Timed out connecting to the homeserver"},
      {Failure::core_response_timeout, ErrorSource::core, 504,
       "Timed out waiting for the homeserver"},
      {Failure::core_reset, ErrorSource::core, 502, "The homeserver closed the connection"},
      {Failure::core_tls, ErrorSource::core, 502, "TLS with the homeserver failed"},
      {Failure::core_protocol, ErrorSource::core, 502, "The homeserver sent an invalid response"},
      {Failure::core_unreachable, ErrorSource::core, 502, "The homeserver is unreachable"},
      {Failure::remote_unreachable, ErrorSource::remote, 502,
       "The destination server could not be reached"},
      {Failure::remote_timeout, ErrorSource::remote, 504,
       "The destination server could not be reached"},
      {Failure::remote_too_large, ErrorSource::remote, 502,
       "The destination's response exceeds the gateway's limit"},
      {Failure::remote_malformed, ErrorSource::remote, 502,
       "The destination's answer failed the checks"},
  };
  for (const Case& c : cases) {
    const GatewayError e = failure_answer(c.failure);
    EXPECT_EQ(e.status, c.status) << c.text;
    EXPECT_STREQ(e.errcode, "M_UNKNOWN") << c.text;
    EXPECT_EQ(e.reason, c.text);
    EXPECT_EQ(e.source, c.source) << c.text;
    EXPECT_TRUE(e.json_body.empty());
  }
  // The caller's words replace the table's, the status stays.
  const GatewayError named = failure_answer(Failure::remote_malformed, "not JSON");
  EXPECT_EQ(named.reason, "not JSON");
  EXPECT_EQ(named.status, 502);
}

TEST(Outcome, TheLogOutcomeFollowsTheSource) {
  EXPECT_STREQ(outcome_label(ErrorSource::peer), "denied");
  EXPECT_STREQ(outcome_label(ErrorSource::policy), "denied");
  EXPECT_STREQ(outcome_label(ErrorSource::core), "upstream_error");
  EXPECT_STREQ(outcome_label(ErrorSource::remote), "upstream_error");
  EXPECT_STREQ(outcome_label(ErrorSource::gateway), "gateway_error");
}

TEST(Outcome, RespondCarriesAMatrixErrorAndItsSource) {
  const Outcome r = Outcome::respond(403, "M_FORBIDDEN", "denied by policy", ErrorSource::policy);
  EXPECT_EQ(r.kind, Outcome::Kind::respond);
  EXPECT_EQ(r.error.status, 403);
  EXPECT_STREQ(r.error.errcode, "M_FORBIDDEN");
  EXPECT_EQ(r.error.source, ErrorSource::policy);
  EXPECT_FALSE(r.close_connection);
  EXPECT_EQ(Outcome::proceed().kind, Outcome::Kind::proceed);
  EXPECT_EQ(Outcome::suspend().kind, Outcome::Kind::suspend);
  // Built without a source, an error is the peer's (a refused request).
  EXPECT_EQ(GatewayError(400, "M_NOT_JSON", "x").source, ErrorSource::peer);
}

}  // namespace
}  // namespace bordergate
