// SHA-256 of the sizes the data path hashes: a PDU's content-hash or redacted bytes (~400 B,
// twice per PDU) and a 4 KiB body. The per-call setup is what dominates at these sizes, so this
// is where a change to gateway/matrix/hash.cc shows. Asserts nothing.
#include <benchmark/benchmark.h>

#include <string>

#include "gateway/matrix/hash.h"

namespace bordergate::matrix {
namespace {

void BM_Sha256(benchmark::State& state) {
  const std::string data(static_cast<std::size_t>(state.range(0)), 'x');
  for (auto _ : state) {
    Sha256 h = sha256(data);
    benchmark::DoNotOptimize(h);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(64)->Arg(400)->Arg(4096);

}  // namespace
}  // namespace bordergate::matrix
