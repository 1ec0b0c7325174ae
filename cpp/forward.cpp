#include "forward.hpp"

#include <algorithm>
#include <string>

namespace archbound {
namespace {

template <class S>
void check_shapes(Index m0, const std::vector<WeightMap<S>>& weights,
                  const std::vector<BiasMap<S>>& biases) {
    require(!weights.empty(), "weights: a network needs at least one layer");
    require(weights.size() == biases.size(), "biases: need one bias per weight matrix");
    Index in = m0;
    for (size_t l = 0; l < weights.size(); ++l) {
        require(weights[l].cols() == in, "weights[" + std::to_string(l) + "] has " +
                                             std::to_string(weights[l].cols()) +
                                             " columns, expected " + std::to_string(in));
        require(biases[l].size() == weights[l].rows(),
                "biases[" + std::to_string(l) + "] has length " +
                    std::to_string(biases[l].size()) + ", expected " +
                    std::to_string(weights[l].rows()));
        in = weights[l].rows();
    }
}

/// Runs one block of samples through every layer; writes Q x cols into `out`.
template <class S, class In, class Out>
void forward_block(const In& x, const std::vector<WeightMap<S>>& weights,
                   const std::vector<BiasMap<S>>& biases, Out out) {
    const size_t layers = weights.size();
    Matrix<S> h, z;
    for (size_t l = 0; l < layers; ++l) {
        const bool hidden = l + 1 < layers;
        if (l == 0)
            z.noalias() = weights[l] * x;
        else
            z.noalias() = weights[l] * h;
        if (hidden)
            h = (z.colwise() + biases[l]).cwiseMax(S(0));
        else
            out = z.colwise() + biases[l];
    }
}

}  // namespace

template <class S>
Matrix<S> forward(const Eigen::Ref<const Matrix<S>>& x0, const std::vector<WeightMap<S>>& weights,
                  const std::vector<BiasMap<S>>& biases, int threads,
                  const InterruptCheck& check) {
    check_shapes(x0.rows(), weights, biases);
    const Index n = x0.cols();
    const Index q = weights.back().rows();
    Matrix<S> out(q, n);
    if (n == 0) return out;

    const int nthreads = resolve_threads(threads);
    const Index block = 256;
    const Index nblocks = (n + block - 1) / block;
    if (nblocks < 2 * nthreads) {
        // Few samples: one block at a time, with Eigen's own threads inside each GEMM.
        ThreadScope scope(nthreads);
        for (Index b = 0; b < nblocks; ++b) {
            const Index start = b * block, len = std::min(block, n - start);
            forward_block<S>(x0.middleCols(start, len), weights, biases,
                             out.middleCols(start, len));
            poll(check);
        }
        return out;
    }
    // Many samples: blocks in parallel, a serial GEMM in each. Groups of blocks separate the
    // parallel regions so that interrupts are polled outside them.
    const Index group = Index(nthreads) * 8;
    for (Index first = 0; first < nblocks; first += group) {
        const Index last = std::min(nblocks, first + group);
        ExceptionCatcher catcher;
#pragma omp parallel for schedule(dynamic) num_threads(nthreads)
        for (Index b = first; b < last; ++b) {
            catcher.run([&] {
                const Index start = b * block, len = std::min(block, n - start);
                forward_block<S>(x0.middleCols(start, len), weights, biases,
                                 out.middleCols(start, len));
            });
        }
        catcher.rethrow();
        poll(check);
    }
    return out;
}

template Matrix<float> forward<float>(const Eigen::Ref<const Matrix<float>>&,
                                      const std::vector<WeightMap<float>>&,
                                      const std::vector<BiasMap<float>>&, int,
                                      const InterruptCheck&);
template Matrix<double> forward<double>(const Eigen::Ref<const Matrix<double>>&,
                                        const std::vector<WeightMap<double>>&,
                                        const std::vector<BiasMap<double>>&, int,
                                        const InterruptCheck&);

}  // namespace archbound
