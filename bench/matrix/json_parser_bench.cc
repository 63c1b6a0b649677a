// The JSON parser choice (docs/benchmarks.md, "JSON parser choice"): parse a ~2 KiB /send body
// into our Json value and write its canonical form, with each Debian candidate that can enforce
// the strictness rules through a SAX interface; nlohmann's DOM (not strict: duplicate keys are
// silently merged) is shown as a reference point only.
#include <benchmark/benchmark.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

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

// Where the parse of a key-heavy body goes (the shape of bench/inbound's 10-PDU transaction:
// ten small m.room.message PDUs, 4.3 KiB, keys in insertion order): RapidJSON's tokenizer and
// UTF-8 validation alone (same flags, a handler that only counts), the full strict parse into
// the std::map tree and freeing it, freeing alone, and the canonical JSON of the parsed body.
// Parse-and-free minus tokenize-only is what a flat, arena-backed value could save at most.
std::string ten_pdu_transaction_text() {
  std::string pdus;
  for (int i = 0; i < 10; ++i) {
    if (i > 0) pdus += ',';
    const std::string n = std::to_string(i);
    pdus +=
        R"({"type":"m.room.message","room_id":"!bench:remote.example",)"
        R"("sender":"@user:remote.example","content":{"msgtype":"m.text",)"
        R"("body":"message 7.)" +
        n + R"("},"origin_server_ts":170000000000)" + n +
        R"(,"depth":3,"prev_events":[],"auth_events":[],)"
        R"("hashes":{"sha256":"LjanKc4KMQWwNKWKDsoPXtis30ZUHao+MjF6ZfdtNDk"},)"
        R"("signatures":{"remote.example":{"ed25519:bench":)"
        R"("gx0ur/ejNt+z6on7vTJCSN7/BVn5Fl6q5ZrfF3k7lGNcZC6covfZeQtZEEXkTiQL32sdNRXTKQAjnnpwIr5RlA"}}})";
  }
  return R"({"origin":"remote.example","origin_server_ts":1700000000000,"pdus":[)" + pdus +
         R"(],"edus":[]})";
}

class CountingHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, CountingHandler> {
 public:
  bool Default() { return ++events_ > 0; }
  std::size_t events_ = 0;
};

void BM_TenPdus_TokenizeOnly(benchmark::State& state) {
  const std::string text = ten_pdu_transaction_text();
  for (auto _ : state) {
    rapidjson::MemoryStream stream(text.data(), text.size());
    rapidjson::Reader reader;
    CountingHandler counter;
    constexpr unsigned kFlags = rapidjson::kParseIterativeFlag |
                                rapidjson::kParseValidateEncodingFlag |
                                rapidjson::kParseNumbersAsStringsFlag;
    if (!reader.Parse<kFlags>(stream, counter)) std::abort();
    benchmark::DoNotOptimize(counter.events_);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_TenPdus_TokenizeOnly);

void BM_TenPdus_ParseAndFree(benchmark::State& state) {
  const std::string text = ten_pdu_transaction_text();
  for (auto _ : state) {
    auto parsed = parse_json(text);
    if (!parsed) std::abort();
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_TenPdus_ParseAndFree);

// Freeing alone: 64 copies are made outside the timed region and freed inside it; the time
// per tree is 1 / items_per_second.
void BM_TenPdus_FreeTree(benchmark::State& state) {
  const Json parsed = *parse_json(ten_pdu_transaction_text());
  std::vector<Json> trees;
  for (auto _ : state) {
    state.PauseTiming();
    trees.assign(64, parsed);
    state.ResumeTiming();
    trees.clear();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 64));
}
BENCHMARK(BM_TenPdus_FreeTree);

void BM_TenPdus_Canonical(benchmark::State& state) {
  const Json parsed = *parse_json(ten_pdu_transaction_text());
  for (auto _ : state) {
    auto canonical = canonical_json(parsed);
    benchmark::DoNotOptimize(canonical);
  }
}
BENCHMARK(BM_TenPdus_Canonical);

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
