// ProxyTunnel's check of what an external server answered a federation request, before the Core
// sees it (docs/outbound.md, "Response check"): the job that owns everything the check reads, the
// choice between the loop and the worker's thread pool, and the key round trip when keys are
// missing.
#include <memory>

#include "gateway/inbound/inbound_services.h"
#include "gateway/inbound/room_versions.h"
#include "gateway/keystore/server_key_store.h"
#include "gateway/proxy/proxy_tunnel.h"
#include "gateway/proxy/worker.h"

namespace bordergate {

// Everything one response check reads, owned by the job: the check may run on the thread pool
// while the connection that asked goes away. Only process-wide, thread-safe state is borrowed:
// the inbound services' room_versions (mutex) and the key store's cache (sharded mutexes),
// both alive until the worker loops have finished, which waits for queued work.
struct ProxyTunnel::AnswerJob {
  policy::FederationEndpoint endpoint = policy::FederationEndpoint::version;
  int api_version = 1;
  bool legacy_media = false;
  std::string room_id, user_id, event_id, destination, core_server_name, queried_server;
  std::optional<matrix::Json> sent_event;
  std::optional<policy::MediaPolicy> media;
  std::shared_ptr<const discovery::OutboundResponse> answer;
  std::string content_type;
  inbound::RoomVersions* room_versions = nullptr;
  keystore::ServerKeyStore* keys = nullptr;

  outbound::ResponseCheck run(bool keys_awaited) const {
    outbound::ResponseCheckInput in;
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
    in.answer.status = answer->status;
    in.answer.content_type = content_type;
    in.answer.body = answer->body;
    inbound::RoomVersions* versions = room_versions;
    in.room_versions = [versions](std::string_view room) -> const matrix::RoomVersionRules* {
      return versions != nullptr ? versions->find(room) : nullptr;
    };
    in.media = media ? &*media : nullptr;
    in.keys_awaited = keys_awaited;
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

namespace {

// Answers at least this large are checked on the thread pool. A 10,000-member send_join costs
// about 0.8 s (release), some 80 us per event, so 16 KiB (some 20 events) is a stall of about
// 2 ms; a job's trip to the pool and back (two wakeups) is far below that. Not benchmarked.
constexpr std::size_t kOffLoopAnswerBytes = 16 * 1024;

}  // namespace

void ProxyTunnel::run_answer_job(std::shared_ptr<const AnswerJob> job, bool keys_awaited,
                                 AnswerDone done) {
  if (job->answer->body.size() < kOffLoopAnswerBytes) return done(job->run(keys_awaited));
  auto result = std::make_shared<outbound::ResponseCheck>();
  std::weak_ptr<ProxyTunnel*> alive = alive_;
  worker_.run_off_loop([job, keys_awaited, result] { *result = job->run(keys_awaited); },
                       [alive, result, done = std::move(done)] {
                         if (alive.expired()) return;
                         done(std::move(*result));
                       });
}

void ProxyTunnel::check_answer(RequestContext& ctx,
                               std::shared_ptr<const discovery::OutboundResponse> answer,
                               AnswerDone done) {
  const inbound::InboundRequest& r = ctx.inbound;
  if (r.services == nullptr || !r.route || !outbound::response_needs_check(r.route->endpoint)) {
    outbound::ResponseCheck unchecked;
    unchecked.reason = "response_unchecked";
    return done(std::move(unchecked));
  }
  auto job = std::make_shared<AnswerJob>();
  job->endpoint = r.route->endpoint;
  job->api_version = r.route->api_version;
  job->legacy_media = r.route->legacy_media;
  job->room_id = r.route->params.room_id;
  job->user_id = r.route->params.user_id;
  job->event_id = r.route->params.event_id;
  job->destination = r.destination;
  job->core_server_name = r.services->server_name;
  if (r.route->endpoint == policy::FederationEndpoint::key_query)
    job->queried_server = r.route->params.server_name;
  if (r.route->endpoint == policy::FederationEndpoint::invite && r.body) {
    // v1 sends the event as the body, v2 wraps it as {"event": ...}.
    const matrix::Json* event = r.route->api_version >= 2 ? r.body->find("event") : &*r.body;
    if (event != nullptr) job->sent_event = *event;
  }
  if (r.decision && r.decision->settings.media != nullptr) job->media = *r.decision->settings.media;
  job->answer = answer;
  if (auto type = discovery::find_header(answer->headers, "content-type")) {
    job->content_type = std::string(*type);
  }
  job->room_versions = r.services->room_versions.get();
  job->keys = ctx.keys;
  std::weak_ptr<ProxyTunnel*> alive = alive_;
  RequestContext* request = &ctx;  // alive while this tunnel is (the connection owns both)
  run_answer_job(
      job, false, [alive, job, request, done = std::move(done)](outbound::ResponseCheck c) mutable {
        auto self = alive.lock();
        if (!self) return;
        if (c.action != outbound::ResponseAction::need_keys) return done(std::move(c));
        if (request->keys == nullptr) return (*self)->run_answer_job(job, true, std::move(done));
        // Await every missing key through the key store (answers arrive on this loop), then check
        // again with missing keys counting as failures.
        struct Pending {
          std::size_t left;
          AnswerDone done;
        };
        auto pending = std::make_shared<Pending>(Pending{c.missing_keys.size(), std::move(done)});
        for (const inbound::KeyNeed& need : c.missing_keys) {
          request->keys->get_key(need.server, need.key_id, need.valid_at_ms, request->mailbox,
                                 [alive, pending, job](Result<matrix::VerifyKey>) {
                                   auto tunnel = alive.lock();
                                   if (!tunnel || --pending->left > 0) return;
                                   (*tunnel)->run_answer_job(job, true, std::move(pending->done));
                                 });
        }
      });
}

}  // namespace bordergate
