// The JSON parser choice (docs/benchmarks.md, "JSON parser choice"): parse a ~2 KiB /send body
// into our Json value and write its canonical form, with each Debian candidate that can enforce
// the strictness rules through a SAX interface; nlohmann's DOM (not strict: duplicate keys are
// silently merged) is shown as a reference point only.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

#include "bench/matrix/core_bench.h"
#include "gateway/matrix/json.h"

namespace bordergate::matrix {
namespace {

// Our parser: RapidJSON 1.1 iterative SAX (gateway/matrix/json.cc).
void BM_RapidJsonSax_ParseAndCanonical(benchmark::State& state) {
  std::string text = bench::transaction_text();
  for (auto _ : state) {
    auto parsed = parse_json(text);
    if (!parsed) std::abort();
    auto canonical = canonical_json(*parsed);
    benchmark::DoNotOptimize(canonical);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  state.counters["bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_RapidJsonSax_ParseAndCanonical);

// Parse only, the same transaction as sent (keys in insertion order) and as canonical JSON
// (keys ascending, as signed): the parser appends ascending keys without a tree search.
void BM_ParseOnly(benchmark::State& state, bool canonical_input) {
  std::string text = bench::transaction_text();
  if (canonical_input) text = *canonical_json(*parse_json(text));
  for (auto _ : state) {
    auto parsed = parse_json(text);
    if (!parsed) std::abort();
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK_CAPTURE(BM_ParseOnly, unsorted_keys, false);
BENCHMARK_CAPTURE(BM_ParseOnly, canonical, true);

// nlohmann 3.11 SAX building the same Json with the same duplicate/depth/number checks. Its lexer
// validates UTF-8 and surrogates itself; it cannot see "-0" (reported as integer 0).
class NlohmannBuilder : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return add(Json(nullptr)); }
  bool boolean(bool b) override { return add(Json(b)); }
  bool number_integer(number_integer_t i) override {
    if (i > kMaxJsonInteger || i < -kMaxJsonInteger) return false;
    return add(Json(static_cast<std::int64_t>(i)));
  }
  bool number_unsigned(number_unsigned_t u) override {
    if (u > static_cast<std::uint64_t>(kMaxJsonInteger)) return false;
    return add(Json(static_cast<std::int64_t>(u)));
  }
  bool number_float(number_float_t, const string_t&) override { return false; }
  bool string(string_t& s) override { return add(Json(std::move(s))); }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override { return open(Json(JsonObject{})); }
  bool key(string_t& k) override {
    auto& o = *stack_.back().object_if();
    if (o.find(k) != o.end()) return false;
    keys_.push_back(std::move(k));
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(Json(JsonArray{})); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
  Json root;

 private:
  bool open(Json j) {
    if (stack_.size() >= 64) return false;
    stack_.push_back(std::move(j));
    return true;
  }
  bool close() {
    Json done = std::move(stack_.back());
    stack_.pop_back();
    return add(std::move(done));
  }
  bool add(Json v) {
    if (stack_.empty()) {
      root = std::move(v);
    } else if (auto* a = stack_.back().array_if()) {
      a->push_back(std::move(v));
    } else {
      stack_.back().object_if()->emplace(std::move(keys_.back()), std::move(v));
      keys_.pop_back();
    }
    return true;
  }
  std::vector<Json> stack_;
  std::vector<std::string> keys_;
};

void BM_NlohmannSax_ParseAndCanonical(benchmark::State& state) {
  std::string text = bench::transaction_text();
  for (auto _ : state) {
    NlohmannBuilder sax;
    if (!nlohmann::json::sax_parse(text, &sax)) std::abort();
    auto canonical = canonical_json(sax.root);
    benchmark::DoNotOptimize(canonical);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_NlohmannSax_ParseAndCanonical);

// Reference only: nlohmann's own DOM + dump (sorted std::map keys, same escaping), not strict.
void BM_NlohmannDom_ParseAndDump_NotStrict(benchmark::State& state) {
  std::string text = bench::transaction_text();
  for (auto _ : state) {
    auto j = nlohmann::json::parse(text);
    auto out = j.dump();
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_NlohmannDom_ParseAndDump_NotStrict);

// The two strict pipelines must agree byte for byte on the benchmark input.
void BM_Check_SameOutput(benchmark::State& state) {
  std::string text = bench::transaction_text();
  NlohmannBuilder sax;
  if (!nlohmann::json::sax_parse(text, &sax)) std::abort();
  if (*canonical_json(sax.root) != *canonical_json(*parse_json(text))) std::abort();
  if (nlohmann::json::parse(text).dump() != *canonical_json(*parse_json(text))) std::abort();
  for (auto _ : state) benchmark::DoNotOptimize(text);
}
BENCHMARK(BM_Check_SameOutput)->Iterations(1);

}  // namespace
}  // namespace bordergate::matrix
