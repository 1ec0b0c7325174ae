#include "forward.hpp"
#include "parallel.hpp"

#include "blas.hpp"

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
                "biases[" + std::to_string(l) + "] has length " + std::to_string(biases[l].size()) +
                    ", expected " + std::to_string(weights[l].rows()));
        in = weights[l].rows();
    }
}

/// Runs one block of samples through every layer; writes Q x cols into `out`. Each layer is
/// one GEMM, then one pass that adds the bias and applies the ReLU in place, over the
/// block's activations, which stay in cache.
template <class S, class In, class Out>
void forward_block(const In& x, const std::vector<WeightMap<S>>& weights,
                   const std::vector<BiasMap<S>>& biases, Out out) {
    const size_t layers = weights.size();
    const Index cols = x.cols();
    Matrix<S> h, z;
    const S* input = x.data();
    Index input_stride = x.outerStride();
    for (size_t l = 0; l < layers; ++l) {
        const WeightMap<S>& w = weights[l];
        const bool hidden = l + 1 < layers;
        if (hidden) z.resize(w.rows(), cols);
        S* target = hidden ? z.data() : out.data();
        const Index target_stride = hidden ? z.rows() : out.outerStride();
        // The row-major W_l is the column-major W_l^T, so z = W_l h is op(A) = A^T.
        gemm<S>(true, false, w.rows(), cols, w.cols(), S(1), w.data(), w.cols(), input,
                input_stride, S(0), target, target_stride);
        if (hidden) {
            z = (z.colwise() + biases[l]).cwiseMax(S(0));
            h.swap(z);
            input = h.data();
            input_stride = h.rows();
        } else {
            out.colwise() += biases[l];
        }
    }
}

}  // namespace

template <class S>
Matrix<S> forward(const Eigen::Ref<const Matrix<S>>& x0, const std::vector<WeightMap<S>>& weights,
                  const std::vector<BiasMap<S>>& biases, int threads, const InterruptCheck& check) {
    check_shapes(x0.rows(), weights, biases);
    const Index n = x0.cols();
    const Index q = weights.back().rows();
    Matrix<S> out(q, n);
    if (n == 0) return out;

    if (have_blas()) {
        // One BLAS GEMM per layer over a chunk of samples, threaded by the BLAS itself (as
        // NumPy's matmul is); the chunk bounds the activations' memory and the interrupt
        // latency, and depends on n and the widths only.
        Index widest = x0.rows();
        for (const auto& w : weights) widest = std::max(widest, w.rows());
        const Index chunk = std::max<Index>(256, (Index(1) << 22) / std::max<Index>(widest, 1));
        for (Index start = 0; start < n; start += chunk) {
            const Index len = std::min(chunk, n - start);
            forward_block<S>(x0.middleCols(start, len), weights, biases,
                             out.middleCols(start, len));
            poll(check);
        }
        return out;
    }
    // Without a BLAS: blocks of samples run in parallel, each with a serial GEMM per layer: no
    // synchronisation inside a layer, and a block's activations stay in cache. The block size
    // depends on n only, never on the thread count, so the result is the same for every thread
    // count.
    const int nthreads = resolve_threads(threads);
    const Index block = std::max<Index>(16, std::min<Index>(256, (n + 7) / 8));
    const Index nblocks = (n + block - 1) / block;
    const int team = int(std::min<Index>(nthreads, nblocks));
    // Groups of blocks separate the parallel regions so that interrupts are polled outside them.
    const Index group = Index(team) * 8;
    for (Index first = 0; first < nblocks; first += group) {
        const Index last = std::min(nblocks, first + group);
        parallel_for(first, last, team, [&](Index b) {
            const Index start = b * block, len = std::min(block, n - start);
            forward_block<S>(x0.middleCols(start, len), weights, biases,
                             out.middleCols(start, len));
        });
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
