// The geometry kernel as a plain nearest-neighbour search (alpha = 1, no labels, no offsets):
// 10k test x 10k training x 784 features at the standard size, in float32 and float64.
#include "bench_common.hpp"
#include "geometry.hpp"

namespace archbound::bench {

template <class S> void register_nearest(const Config& config, const char* dtype) {
    const Sizes s = config.sizes;
    const std::string name = std::string("nearest_") + dtype + "/" + std::to_string(s.nn_test) +
                             "x" + std::to_string(s.nn_train) + "x" + std::to_string(s.nn_dim);
    register_threads(config, name, [s](benchmark::State& state, int threads) {
        const Matrix<S> test = uniform<S>(s.nn_dim, s.nn_test, 3);
        const Matrix<S> train = uniform<S>(s.nn_dim, s.nn_train, 4);
        for (auto _ : state) {
            NearestResult<S> r = nearest_neighbour<S>(test, train, 0, threads);
            benchmark::DoNotOptimize(r.values.data());
        }
        // The GEMM work 2 m N d, as compare.py counts it for every contender.
        report_flops(state, 2.0 * double(s.nn_test) * double(s.nn_train) * double(s.nn_dim));
    });
}

void register_geometry(const Config& config) {
    register_nearest<float>(config, "float32");
    register_nearest<double>(config, "float64");
}

}  // namespace archbound::bench
