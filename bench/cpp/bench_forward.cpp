// Batched forward pass: batch 10k through 784-[1024]x10-10 at the standard size, in float32 and
// float64.
#include "bench_common.hpp"
#include "forward.hpp"

namespace archbound::bench {

template <class S> void register_forward_dtype(const Config& config, const char* dtype) {
    const Sizes s = config.sizes;
    const std::string name = std::string("forward_") + dtype +
                             "/batch:" + std::to_string(s.fw_batch) + "/" +
                             std::to_string(s.fw_in) + "-[" + std::to_string(s.fw_width) + "]x" +
                             std::to_string(s.fw_depth) + "-" + std::to_string(s.fw_out);
    register_threads(config, name, [s](benchmark::State& state, int threads) {
        std::vector<Index> widths{s.fw_in};
        for (Index l = 0; l < s.fw_depth; ++l) widths.push_back(s.fw_width);
        widths.push_back(s.fw_out);
        std::vector<RowMatrix<S>> w_store;
        std::vector<Vector<S>> b_store;
        double flops = 0;
        for (size_t l = 0; l + 1 < widths.size(); ++l) {
            // He-scaled so that activations neither vanish nor blow up through the layers.
            Matrix<S> w = gaussian<S>(widths[l + 1], widths[l], 10 + unsigned(l));
            w *= S(std::sqrt(2.0 / double(widths[l])));
            w_store.emplace_back(w);
            b_store.push_back(Vector<S>::Constant(widths[l + 1], S(0.01)));
            flops += 2.0 * double(s.fw_batch) * double(widths[l]) * double(widths[l + 1]);
        }
        std::vector<WeightMap<S>> weights;
        std::vector<BiasMap<S>> biases;
        for (size_t l = 0; l < w_store.size(); ++l) {
            weights.emplace_back(w_store[l].data(), w_store[l].rows(), w_store[l].cols());
            biases.emplace_back(b_store[l].data(), b_store[l].size());
        }
        const Matrix<S> x = uniform<S>(s.fw_in, s.fw_batch, 5);
        for (auto _ : state) {
            Matrix<S> out = forward<S>(x, weights, biases, threads);
            benchmark::DoNotOptimize(out.data());
        }
        report_flops(state, flops);
    });
}

void register_forward(const Config& config) {
    register_forward_dtype<float>(config, "float32");
    register_forward_dtype<double>(config, "float64");
}

}  // namespace archbound::bench
