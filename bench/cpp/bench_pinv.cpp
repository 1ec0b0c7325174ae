// pinv of X with NumPy shape (4096, 2000) (standard size): the 2000 x 4096 column-major matrix
// that archbound.pinv hands the core, full rank and well conditioned, so the thin-QR path.
#include "bench_common.hpp"
#include "pinv.hpp"

namespace archbound::bench {

/// Nominal work of the QR path for an m x n matrix, m >= n: Householder QR (2mn^2 - 2n^3/3),
/// forming the thin Q (the same again) and R^-1 Q^T (mn^2). compare.py uses the same count.
double pinv_flops(double m, double n) { return 5 * m * n * n - 4.0 / 3.0 * n * n * n; }

void register_pinv(const Config& config) {
    const Sizes s = config.sizes;
    const std::string name =
        "pinv/" + std::to_string(s.pinv_rows) + "x" + std::to_string(s.pinv_cols);
    register_threads(config, name, [s](benchmark::State& state, int threads) {
        const Matrix<double> a = gaussian<double>(s.pinv_cols, s.pinv_rows, 1);
        bool fast = false;
        for (auto _ : state) {
            PinvResult r = pinv(a, -1.0, threads);
            fast = r.fast_path;
            benchmark::DoNotOptimize(r.pinv.data());
        }
        state.counters["qr_path"] = fast ? 1 : 0;
        report_flops(state, pinv_flops(double(std::max(s.pinv_rows, s.pinv_cols)),
                                       double(std::min(s.pinv_rows, s.pinv_cols))));
    });
}

}  // namespace archbound::bench
