#include "finite.hpp"
#include "parallel.hpp"

#include <atomic>

namespace archbound {

namespace {

/// Values per chunk: 256 KiB of float64, a serial call below two chunks.
constexpr Index kChunk = Index(1) << 15;

/// x * 0 is 0 for finite x and NaN for NaN and +-inf, so a sum of such products is NaN
/// exactly when some x is not finite. Lanes of independent sums vectorize without
/// reassociating anything.
template <class S> bool finite_run(const S* x, Index n) {
    constexpr int kLanes = 32;
    S lane[kLanes] = {};
    Index i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int k = 0; k < kLanes; ++k) lane[k] += x[i + k] * S(0);
    S total = 0;
    for (; i < n; ++i) total += x[i] * S(0);
    for (int k = 0; k < kLanes; ++k) total += lane[k];
    return total == total;
}

}  // namespace

template <class S> bool all_finite(const S* data, Index n, int threads) {
    const Index chunks = (n + kChunk - 1) / kChunk;
    std::atomic<bool> finite{true};
    parallel_for(0, chunks, chunks > 1 ? resolve_threads(threads) : 1, [&](Index c) {
        if (!finite.load(std::memory_order_relaxed)) return;
        const Index begin = c * kChunk, len = std::min(kChunk, n - begin);
        if (!finite_run(data + begin, len)) finite.store(false, std::memory_order_relaxed);
    });
    return finite.load();
}

template bool all_finite<float>(const float*, Index, int);
template bool all_finite<double>(const double*, Index, int);

}  // namespace archbound
