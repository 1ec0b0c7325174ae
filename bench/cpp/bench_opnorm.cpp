// opnorm of a Gaussian W (4096^2 at the standard size): Lanczos certified within 1% at
// delta = 1e-6. (The exact norm is LAPACK's SVD, which the core gets from SciPy at import:
// bench/compare.py measures it.)
#include "bench_common.hpp"
#include "opnorm.hpp"

namespace archbound::bench {

void register_opnorm(const Config& config) {
    const Sizes s = config.sizes;
    const std::string size = std::to_string(s.norm_rows) + "x" + std::to_string(s.norm_cols);
    for (NormMethod method : {NormMethod::lanczos}) {
        const std::string name = std::string("opnorm_") + norm_method_name(method) + "/" + size;
        register_threads(config, name, [s, method](benchmark::State& state, int threads) {
            const RowMatrix<double> storage = gaussian<double>(s.norm_rows, s.norm_cols, 2);
            const NormOperand w(storage.data(), storage.rows(), storage.cols());
            NormOptions options;
            options.method = method;
            options.delta = 1e-6;
            options.rtol = 1e-2;
            options.seed = 0;
            NormResult r;
            for (auto _ : state) {
                r = opnorm(w, options, threads);
                benchmark::DoNotOptimize(r.upper);
            }
            state.counters["iterations"] = double(r.iterations);
            state.counters["upper/estimate"] = r.upper / r.estimate;
            // Two matrix-vector products with W per step.
            report_flops(state, 4.0 * double(r.iterations) * double(w.size()));
        });
    }
}

}  // namespace archbound::bench
