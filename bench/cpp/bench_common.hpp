// Shared set-up of the google-benchmark suite: problem sizes, thread counts, test data.
#pragma once

#include "common.hpp"

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

namespace archbound::bench {

/// Problem sizes of one run. "standard" is the list of bench/README.md; "small" runs in
/// seconds; "tiny" is the CI compile-and-run check.
struct Sizes {
    std::string name;
    Index pinv_rows, pinv_cols;       ///< X as NumPy shapes it: (rows, cols), C-contiguous
    Index norm_rows, norm_cols;       ///< W for opnorm
    Index nn_test, nn_train, nn_dim;  ///< nearest: m test x N training x d
    Index fw_batch, fw_in, fw_width, fw_depth, fw_out;  ///< forward: in-[width]xdepth-out
    Index gemm;                                         ///< Eigen's GEMM roofline: gemm^3
};

Sizes sizes_named(const std::string& name);  // throws std::invalid_argument

struct Config {
    Sizes sizes;
    std::vector<int> threads;  ///< OpenMP thread counts to run each benchmark with
};

/// Registers "<name>/<size>/omp:<t>" for every thread count t of the config; `body` gets t.
template <class F> void register_threads(const Config& config, const std::string& name, F body) {
    for (int t : config.threads) {
        benchmark::RegisterBenchmark((name + "/omp:" + std::to_string(t)).c_str(),
                                     [body, t](benchmark::State& state) { body(state, t); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
    }
}

/// Sets the rate counter "FLOP" (printed as e.g. FLOP=95.3G/s) from the work of one iteration.
inline void report_flops(benchmark::State& state, double flops) {
    state.counters["FLOP"] = benchmark::Counter(
        flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

/// A rows x cols matrix of entries drawn from `distribution` with a fixed seed.
template <class S, class Distribution>
Matrix<S> random_matrix(Index rows, Index cols, unsigned seed, Distribution distribution) {
    std::mt19937_64 engine(seed);
    Matrix<S> a(rows, cols);
    for (Index k = 0; k < a.size(); ++k) a.data()[k] = S(distribution(engine));
    return a;
}

/// A rows x cols matrix of N(0, 1) entries from a fixed seed.
template <class S> Matrix<S> gaussian(Index rows, Index cols, unsigned seed) {
    return random_matrix<S>(rows, cols, seed, std::normal_distribution<double>());
}

/// A rows x cols matrix of U[0, 1) entries (pixel-like features) from a fixed seed.
template <class S> Matrix<S> uniform(Index rows, Index cols, unsigned seed) {
    return random_matrix<S>(rows, cols, seed, std::uniform_real_distribution<double>());
}

void register_pinv(const Config& config);
void register_opnorm(const Config& config);
void register_geometry(const Config& config);
void register_forward(const Config& config);
void register_gemm(const Config& config);

}  // namespace archbound::bench
