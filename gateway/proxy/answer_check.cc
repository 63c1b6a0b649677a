#include "gateway/proxy/answer_check.h"

#include <memory>

#include "gateway/enforcement/room_versions.h"
#include "gateway/enforcement/services.h"
#include "gateway/keystore/server_key_store.h"
#include "gateway/quarantine/quarantine_store.h"

namespace bordergate {
namespace {

// Answers at least this large are checked on the thread pool. A 10,000-member send_join costs
// about 0.8 s (release), some 80 us per event, so 16 KiB (some 20 events) is a stall of about
// 2 ms; a job's trip to the pool and back (two wakeups) is far below that. Not benchmarked.
constexpr std::size_t kOffLoopAnswerBytes = 16 * 1024;

// Everything one check reads, owned by the job: the check may run on the thread pool while the
// connection that asked goes away. Only process-wide, thread-safe state is borrowed: the
// enforcement services' room_versions and room_members (mutexes) and the key store's cache
// (sharded mutexes), all alive until the worker loops have finished, which waits for queued work.
struct AnswerJob {
  outbound::AnswerSource source = outbound::AnswerSource::remote;
  policy::FederationEndpoint endpoint = policy::FederationEndpoint::version;
  int api_version = 1;
  bool legacy_media = false;
  std::string room_id, user_id, event_id, destination, core_server_name, queried_server;
  std::optional<matrix::Json> sent_event;
  std::optional<policy::MediaPolicy> media;
  int status = 0;
  std::string content_type;
  std::shared_ptr<const std::string> body;
  enforcement::RoomVersions* room_versions = nullptr;
  enforcement::RoomMembers* room_members = nullptr;
  keystore::ServerKeyStore* keys = nullptr;
  std::shared_ptr<const policy::Policy> policy;  // the request's snapshot: judges the events

  // The check, and the memberships of an answer that is delivered recorded (on the thread that
  // ran it: a send_join's thousands of members are one SQLite transaction off the loop).
  outbound::ResponseCheck run(bool keys_awaited) const {
    outbound::ResponseCheck c = check(keys_awaited);
    const bool delivered = c.action == outbound::ResponseAction::pass ||
                           c.action == outbound::ResponseAction::filtered;
    if (delivered && room_members != nullptr && !c.memberships.empty()) {
      c.joined_servers = room_members->observe(c.memberships);
    }
    return c;
  }

  outbound::ResponseCheck check(bool keys_awaited) const {
    outbound::ResponseCheckInput in;
    in.source = source;
    in.asked.endpoint = endpoint;
    in.asked.api_version = api_version;
    in.asked.legacy_media = legacy_media;
    in.asked.room_id = room_id;
    in.asked.user_id = user_id;
    in.asked.event_id = event_id;
    in.asked.destination = destination;
    in.asked.core_server_name = core_server_name;
    in.asked.queried_server = queried_server;
    if (sent_event) in.asked.sent_event = sent_event->object_if();
    in.answer.status = status;
    in.answer.content_type = content_type;
    in.answer.body = *body;
    enforcement::RoomVersions* versions = room_versions;
    in.room_versions = [versions](std::string_view room) -> const matrix::RoomVersionRules* {
      return versions != nullptr ? versions->find(room) : nullptr;
    };
    in.media = media ? &*media : nullptr;
    in.keys_awaited = keys_awaited;
    in.policy = policy.get();
    if (keys == nullptr) {
      // No key store on this worker (its federation state failed to start): nothing verifies.
      return outbound::check_response(
          in, [](std::string_view, std::string_view, std::int64_t) -> Result<matrix::VerifyKey> {
            return make_error("key_unavailable", "no key store on this worker");
          });
    }
    return outbound::check_response(in, keys->cached_lookup());
  }
};

using Verdict = std::function<void(outbound::ResponseCheck)>;

// Runs the check of `job` inline (small answers) or off the loop; `done` runs on the loop.
void run_job(RequestContext& ctx, std::shared_ptr<const AnswerJob> job, bool keys_awaited,
             Verdict done) {
  if (job->body->size() < kOffLoopAnswerBytes || !ctx.offload) {
    return done(job->run(keys_awaited));
  }
  auto result = std::make_shared<outbound::ResponseCheck>();
  ctx.offload([job, keys_awaited, result] { *result = job->run(keys_awaited); },
              [result, done = std::move(done)] { done(std::move(*result)); });
}

// The originals of the events a content rule redacted in the answer, kept in the quarantine store
// as evidence (status evidence; docs/audit-and-quarantine.md): one entry per event, named by the
// request that was answered. The puts are durable (fsync), so they run on the thread pool; the
// verdict is delivered once they are done, stored or not: the redacted answer leaks nothing,
// and what could not be kept is said in the audit record.
void keep_originals(RequestContext& ctx, outbound::ResponseCheck c, Verdict then) {
  enforcement::JudgedRequest& r = ctx.judged;
  quarantine::QuarantineStore* store = r.services->quarantine.get();
  if (c.originals.empty()) return then(std::move(c));
  if (store == nullptr || !ctx.offload) {
    for (const outbound::RedactedOriginal& o : c.originals) {
      c.evidence_failures.push_back(o.event_id + ": no quarantine store");
    }
    return then(std::move(c));
  }
  // The Core's answer carries events out (outbound); an external answer carries them in.
  const bool core = r.direction == policy::Direction::inbound;
  auto held = std::make_shared<std::vector<quarantine::HeldRequest>>();
  for (const outbound::RedactedOriginal& o : c.originals) {
    quarantine::HeldRequest h;
    h.direction = core ? "outbound" : "inbound";
    h.origin = core ? r.services->server_name : r.destination;
    h.destination = core ? r.origin : r.services->server_name;
    h.txn_id = o.event_id;
    if (ctx.client_ip != nullptr) h.remote_addr = *ctx.client_ip;
    h.method = ctx.request->method;
    h.target = ctx.request->target;
    h.body = o.json;
    h.rule_id = o.rule_id;
    h.reason = "redacted_in_answer";
    h.findings = "event " + o.event_type + " in the " +
                 std::string(policy::endpoint_name(r.route->endpoint)) +
                 " answer, delivered redacted";
    h.verdict = quarantine::StoredVerdict::redacted;
    h.answer_status = 0;
    held->push_back(std::move(h));
  }
  auto results = std::make_shared<std::vector<Result<quarantine::PutResult>>>();
  auto check = std::make_shared<outbound::ResponseCheck>(std::move(c));
  enforcement::EnforcementMetrics* metrics = &r.services->metrics;
  ctx.offload(
      [store, held, results] {
        for (const quarantine::HeldRequest& h : *held) results->push_back(store->put(h));
      },
      [held, results, check, metrics, then = std::move(then)] {
        for (std::size_t i = 0; i < results->size(); ++i) {
          const Result<quarantine::PutResult>& put = (*results)[i];
          metrics->quarantine_put(put.ok());
          if (put.ok()) {
            check->evidence_ids.push_back(put->id);
          } else {
            check->evidence_failures.push_back((*held)[i].txn_id + ": " + put.error().code);
          }
        }
        then(std::move(*check));
      });
}

std::shared_ptr<AnswerJob> make_job(const RequestContext& ctx) {
  const enforcement::JudgedRequest& r = ctx.judged;
  auto job = std::make_shared<AnswerJob>();
  job->endpoint = r.route->endpoint;
  job->api_version = r.route->api_version;
  job->legacy_media = r.route->legacy_media;
  job->room_id = r.route->params.room_id;
  job->user_id = r.route->params.user_id;
  job->event_id = r.route->params.event_id;
  // The external server of the exchange: the tunnel's destination, or the peer that asked the
  // Core (its events are judged for that peer).
  const bool core = r.direction == policy::Direction::inbound;
  job->source = core ? outbound::AnswerSource::core : outbound::AnswerSource::remote;
  job->destination = core ? r.origin : r.destination;
  job->core_server_name = r.services->server_name;
  if (r.route->endpoint == policy::FederationEndpoint::key_query)
    job->queried_server = r.route->params.server_name;
  if (r.route->endpoint == policy::FederationEndpoint::invite && r.body) {
    // v1 sends the event as the body, v2 wraps it as {"event": ...}.
    const matrix::Json* event = r.route->api_version >= 2 ? r.body->find("event") : &*r.body;
    if (event != nullptr) job->sent_event = *event;
  }
  if (r.decision && r.decision->settings.media != nullptr) job->media = *r.decision->settings.media;
  job->status = ctx.held_head.status;
  // The last Content-Type wins, as for every header of an external answer (find_header).
  for (const HeaderField& f : ctx.held_head.headers) {
    if (iequals_lower(f.name, "content-type")) job->content_type = f.value;
  }
  job->body = ctx.answer_body;
  job->room_versions = r.services->room_versions.get();
  job->room_members = r.services->room_members.get();
  job->keys = ctx.keys;
  job->policy = r.policy;
  return job;
}

}  // namespace

bool start_answer_check(RequestContext& ctx) {
  std::shared_ptr<const AnswerJob> job = make_job(ctx);
  // The verdict is delivered to the request while it lives; whether it came back within this
  // call decides between answering now and resuming later.
  auto in_call = std::make_shared<bool>(true);
  std::weak_ptr<int> alive = ctx.judged.alive;
  RequestContext* request = &ctx;
  Verdict deliver = [alive, request, in_call](outbound::ResponseCheck c) {
    if (alive.expired()) return;
    keep_originals(*request, std::move(c), [alive, request, in_call](outbound::ResponseCheck kept) {
      if (alive.expired()) return;
      request->answer_verdict = std::move(kept);
      if (!*in_call) request->resume();
    });
  };
  run_job(ctx, job, false, [alive, request, job, deliver](outbound::ResponseCheck c) mutable {
    if (alive.expired()) return;
    if (c.action != outbound::ResponseAction::need_keys || request->keys == nullptr) {
      if (c.action == outbound::ResponseAction::need_keys) {
        return run_job(*request, job, true, std::move(deliver));
      }
      return deliver(std::move(c));
    }
    // Await every missing key through the key store (answers arrive on this loop), then check
    // again with missing keys counting as failures.
    struct Pending {
      std::size_t left;
      Verdict done;
    };
    auto pending = std::make_shared<Pending>(Pending{c.missing_keys.size(), std::move(deliver)});
    for (const enforcement::KeyNeed& need : c.missing_keys) {
      request->keys->get_key(need.server, need.key_id, need.valid_at_ms, request->mailbox,
                             [alive, request, pending, job](Result<matrix::VerifyKey>) {
                               if (alive.expired() || --pending->left > 0) return;
                               run_job(*request, job, true, std::move(pending->done));
                             });
    }
  });
  *in_call = false;
  return ctx.answer_verdict.has_value();
}

}  // namespace bordergate
