// Eigen's own GEMM: the roofline of the core, to set beside NumPy's OpenBLAS GEMM that
// compare.py measures. Square at the GEMM size (4096 at the standard size), and the per-block
// product of the forward pass (width x width times width x 256 samples).
#include "bench_common.hpp"

namespace archbound::bench {

template <class S>
void register_gemm_shape(const Config& config, const char* dtype, Index m, Index k, Index n) {
    const std::string name = std::string("gemm_eigen_") + dtype + "/" + std::to_string(m) + "x" +
                             std::to_string(k) + "x" + std::to_string(n);
    register_threads(config, name, [m, k, n](benchmark::State& state, int threads) {
        const Matrix<S> a = uniform<S>(m, k, 6), b = uniform<S>(k, n, 7);
        Matrix<S> c(m, n);
        ThreadScope scope(threads);  // Eigen's GEMM follows OpenMP's thread count
        for (auto _ : state) {
            c.noalias() = a * b;
            benchmark::DoNotOptimize(c.data());
            benchmark::ClobberMemory();
        }
        report_flops(state, 2.0 * double(m) * double(k) * double(n));
    });
}

void register_gemm(const Config& config) {
    const Sizes s = config.sizes;
    register_gemm_shape<float>(config, "float32", s.gemm, s.gemm, s.gemm);
    register_gemm_shape<double>(config, "float64", s.gemm, s.gemm, s.gemm);
    register_gemm_shape<float>(config, "float32", s.fw_width, s.fw_width, 256);
    register_gemm_shape<double>(config, "float64", s.fw_width, s.fw_width, 256);
}

}  // namespace archbound::bench
