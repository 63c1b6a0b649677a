// The request pipeline: phases run in order, a suspended request resumes where the schedule
// says, and admit names bounded endpoint classes.
#include "gateway/proxy/pipeline.h"

#include <gtest/gtest.h>

#include <iterator>

namespace bordergate {
namespace {

TEST(Pipeline, ClassifiesByPathPrefix) {
  struct Case {
    const char* target;
    PathClass expected;
  } cases[] = {
      {"/_matrix/federation/v1/send/123", PathClass::federation},
      {"/_matrix/federation/v2/invite/!r:x/$e", PathClass::federation},
      {"/_matrix/key/v2/server", PathClass::key},
      {"/_matrix/key/v2/query", PathClass::key},
      {"/_matrix/media/v3/download/x/y", PathClass::media},
      {"/.well-known/matrix/server", PathClass::well_known},
      {"/_matrix/client/v3/sync", PathClass::other},
      {"/_matrix/federationX", PathClass::other},
      {"/", PathClass::other},
      {"/%5Fmatrix/federation/v1/send/1", PathClass::other},  // never decoded
  };
  for (const Case& c : cases) {
    HttpRequest req;
    req.method = "GET";
    req.target = c.target;
    RequestContext ctx;
    ctx.request = &req;
    Outcome r = run_request_phases(ctx);
    EXPECT_EQ(r.kind, Outcome::Kind::proceed) << c.target;
    EXPECT_EQ(ctx.path_class, c.expected) << c.target;
  }
}

TEST(Pipeline, PhaseNamesAreStable) {
  EXPECT_STREQ(phase_name(Phase::admit), "admit");
  EXPECT_STREQ(phase_name(Phase::classify), "classify");
  EXPECT_STREQ(phase_name(Phase::authenticate), "authenticate");
  EXPECT_STREQ(phase_name(Phase::verify), "verify");
  EXPECT_STREQ(phase_name(Phase::authorize), "authorize");
  EXPECT_STREQ(phase_name(Phase::recall), "recall");
  EXPECT_STREQ(phase_name(Phase::inspect), "inspect");
  EXPECT_STREQ(phase_name(Phase::verify_events), "verify_events");
  EXPECT_STREQ(phase_name(Phase::decide), "decide");
  EXPECT_STREQ(phase_name(Phase::hold), "hold");
  EXPECT_STREQ(phase_name(Phase::forward), "forward");
  EXPECT_STREQ(phase_name(Phase::check_answer), "check_answer");
  EXPECT_STREQ(phase_name(Phase::record), "record");
}

// Where a suspended request continues: after a wait, at the phase that consumes what arrived;
// admit (discovery of a delegated tunnel) and check_answer (the answer check's verdict) take it
// in themselves and run again. Phases that never suspend name themselves.
TEST(Pipeline, SuspendedPhasesResumeAtTheScheduledPhase) {
  const struct {
    Phase suspended, resumes_at;
  } cases[] = {
      {Phase::admit, Phase::admit},           {Phase::classify, Phase::classify},
      {Phase::authenticate, Phase::verify},   {Phase::verify, Phase::verify},
      {Phase::authorize, Phase::authorize},   {Phase::recall, Phase::inspect},
      {Phase::inspect, Phase::verify_events}, {Phase::verify_events, Phase::verify_events},
      {Phase::decide, Phase::hold},           {Phase::hold, Phase::hold},
      {Phase::forward, Phase::forward},       {Phase::check_answer, Phase::check_answer},
      {Phase::record, Phase::record},
  };
  static_assert(std::size(cases) == kPhaseCount);
  for (const auto& c : cases) {
    EXPECT_EQ(resumes_at(c.suspended), c.resumes_at) << phase_name(c.suspended);
  }
}

// A request resumed at a later phase runs from there to forward (here without enforcement,
// where every phase proceeds).
TEST(Pipeline, ARequestResumedMidwayRunsOnToForward) {
  HttpRequest req;
  req.method = "PUT";
  req.target = "/_matrix/federation/v1/send/1";
  RequestContext ctx;
  ctx.request = &req;
  ctx.phase = Phase::verify_events;
  EXPECT_EQ(run_request_phases(ctx).kind, Outcome::Kind::proceed);
  EXPECT_EQ(ctx.phase, Phase::forward);
  EXPECT_EQ(ctx.path_class, PathClass::other);  // admit, which classifies the path, did not run
}

TEST(Pipeline, RespondCarriesMatrixError) {
  Outcome r = Outcome::respond(403, "M_FORBIDDEN", "denied by policy");
  EXPECT_EQ(r.kind, Outcome::Kind::respond);
  EXPECT_EQ(r.error.status, 403);
  EXPECT_STREQ(r.error.errcode, "M_FORBIDDEN");
}

}  // namespace
}  // namespace bordergate
