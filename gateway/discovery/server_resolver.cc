#include "gateway/discovery/server_resolver.h"

#include <chrono>

namespace bordergate::discovery {

struct ServerResolver::Job {
  std::string server_name;
  std::unique_ptr<Resolution> resolution;
  std::function<void(Discovery)> done;
  std::chrono::steady_clock::time_point started;
  std::vector<DnsAnswer> answers;
  std::vector<AresResolver::QueryId> queries;
  std::size_t remaining = 0;
};

ServerResolver::ServerResolver(AresResolver& dns, WellKnownFetch fetch,
                               const ResolutionOptions& options, WellKnownCache& cache,
                               std::function<std::int64_t()> now_ms)
    : dns_(dns),
      fetch_(std::move(fetch)),
      options_(options),
      cache_(cache),
      now_ms_(std::move(now_ms)),
      self_(std::make_shared<ServerResolver*>(this)) {}

ServerResolver::~ServerResolver() {
  for (auto& [id, job] : jobs_) {
    for (auto query : job->queries) dns_.cancel(query);
  }
}

void ServerResolver::resolve(std::string_view server_name, std::function<void(Discovery)> done) {
  auto job = std::make_unique<Job>();
  job->server_name = std::string(server_name);
  job->done = std::move(done);
  job->started = std::chrono::steady_clock::now();
  const std::uint64_t seed = (std::uint64_t{random_()} << 32) | random_();
  job->resolution = std::make_unique<Resolution>(server_name, options_, now_ms_(), seed,
                                                 cache_.find(server_name));
  const std::uint64_t id = next_job_++;
  jobs_.emplace(id, std::move(job));
  advance(id);
}

void ServerResolver::advance(std::uint64_t job_id) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  Job& job = *it->second;
  Resolution& resolution = *job.resolution;

  if (resolution.done()) {
    if (const auto& update = resolution.well_known_update()) cache_.store(job.server_name, *update);
    Discovery discovery{resolution.result(), resolution.log(),
                        static_cast<std::uint64_t>(
                            std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - job.started)
                                .count())};
    metrics_.record(discovery.result, resolution.well_known_update().has_value(),
                    resolution.used_cached_well_known(), discovery.elapsed_ms);
    auto done = std::move(job.done);
    jobs_.erase(it);
    if (done) done(std::move(discovery));
    return;
  }

  if (const auto* need = std::get_if<Resolution::NeedDns>(&resolution.next())) {
    const std::vector<DnsQuestion> questions = need->questions;
    job.answers.assign(questions.size(), DnsAnswer{});
    job.queries.clear();
    job.remaining = questions.size();
    for (std::size_t i = 0; i < questions.size(); ++i) {
      // Answers never arrive inside query() (AresResolver promises it), so `job` stays valid here.
      job.queries.push_back(dns_.query(questions[i], [this, job_id, i](DnsAnswer answer) {
        auto found = jobs_.find(job_id);
        if (found == jobs_.end()) return;
        Job& j = *found->second;
        j.answers[i] = std::move(answer);
        if (--j.remaining > 0) return;
        j.queries.clear();
        j.resolution->on_dns(std::move(j.answers));
        advance(job_id);
      }));
    }
    return;
  }

  // A copy: a fetch that answers synchronously changes the state machine under the reference.
  const HttpsRequest request = std::get<Resolution::NeedHttps>(resolution.next()).request;
  std::weak_ptr<ServerResolver*> token = self_;
  fetch_(request, [token, job_id](HttpsReply reply) {
    auto self = token.lock();
    if (!self) return;
    ServerResolver* resolver = *self;
    auto found = resolver->jobs_.find(job_id);
    if (found == resolver->jobs_.end()) return;
    found->second->resolution->on_https(std::move(reply));
    resolver->advance(job_id);
  });
}

}  // namespace bordergate::discovery
