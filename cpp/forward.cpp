#include "forward.hpp"
#include "parallel.hpp"

#include "blas.hpp"

#include <algorithm>
#include <cmath>
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

/// 1 / (1 + exp(-x)) without overflow: exp(x) / (1 + exp(x)) for negative x.
template <class S> S sigmoid(S x) {
    if (x >= S(0)) return S(1) / (S(1) + std::exp(-x));
    const S e = std::exp(x);
    return e / (S(1) + e);
}

/// z <- sigma(z + b), column by column; relu is the caller's fast path.
template <class S>
void add_bias_and_apply(Matrix<S>& z, const BiasMap<S>& bias, const Activation& activation) {
    z.colwise() += bias;
    const S a = S(activation.parameter);
    auto apply = [&z](auto sigma) { z = z.unaryExpr(sigma); };
    switch (activation.kind) {
        case ActivationKind::relu:
            z = z.cwiseMax(S(0));
            break;
        case ActivationKind::leaky_relu:
            apply([a](S x) { return x > S(0) ? x : a * x; });
            break;
        case ActivationKind::elu:
            apply([a](S x) { return x > S(0) ? x : a * std::expm1(x); });
            break;
        case ActivationKind::gelu:
            apply([](S x) { return S(0.5) * x * std::erfc(-x * S(0.70710678118654752440)); });
            break;
        case ActivationKind::gelu_tanh:
            apply([](S x) {
                const S u = S(0.79788456080286535588) * (x + S(0.044715) * x * x * x);
                return S(0.5) * x * (S(1) + std::tanh(u));
            });
            break;
        case ActivationKind::silu:
            apply([](S x) { return x * sigmoid(x); });
            break;
        case ActivationKind::softplus:  // max(bx, 0) + log1p(exp(-|bx|)), over b
            apply([a](S x) {
                const S z = a * x;
                return (std::max(z, S(0)) + std::log1p(std::exp(-std::abs(z)))) / a;
            });
            break;
        case ActivationKind::tanh:
            apply([](S x) { return std::tanh(x); });
            break;
        case ActivationKind::sigmoid:
            apply([](S x) { return sigmoid(x); });
            break;
        case ActivationKind::hardtanh:
            z = z.cwiseMax(S(-1)).cwiseMin(S(1));
            break;
        case ActivationKind::relu6:
            z = z.cwiseMax(S(0)).cwiseMin(S(6));
            break;
        case ActivationKind::identity:
            break;
    }
}

/// Runs one block of samples through every layer; writes Q x cols into `out`. Each layer is
/// one GEMM, then one pass that adds the bias and applies sigma in place, over the
/// block's activations, which stay in cache.
template <class S, class In, class Out>
void forward_block(const In& x, const std::vector<WeightMap<S>>& weights,
                   const std::vector<BiasMap<S>>& biases, Out out, const Activation& activation) {
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
            if (activation.kind == ActivationKind::relu)
                z = (z.colwise() + biases[l]).cwiseMax(S(0));
            else
                add_bias_and_apply(z, biases[l], activation);
            h.swap(z);
            input = h.data();
            input_stride = h.rows();
        } else {
            out.colwise() += biases[l];
        }
    }
}

}  // namespace

Activation make_activation(int code, double parameter) {
    require(code >= int(ActivationKind::relu) && code <= int(ActivationKind::identity),
            "activation: a code in 0.." + std::to_string(int(ActivationKind::identity)) + ", got " +
                std::to_string(code));
    const auto kind = ActivationKind(code);
    require(std::isfinite(parameter), "activation: the parameter must be finite");
    require(kind != ActivationKind::softplus || parameter > 0,
            "activation: softplus needs beta > 0");
    return {kind, parameter};
}

template <class S>
Matrix<S> forward(const Eigen::Ref<const Matrix<S>>& x0, const std::vector<WeightMap<S>>& weights,
                  const std::vector<BiasMap<S>>& biases, int threads, const InterruptCheck& check,
                  const Activation& activation) {
    check_shapes(x0.rows(), weights, biases);
    const Index n = x0.cols();
    const Index q = weights.back().rows();
    Matrix<S> out(q, n);
    if (n == 0) return out;

    // One BLAS GEMM per layer over a chunk of samples, threaded by the BLAS itself (as
    // NumPy's matmul is); the chunk bounds the activations' memory and the interrupt
    // latency, and depends on n and the widths only.
    Index widest = x0.rows();
    for (const auto& w : weights) widest = std::max(widest, w.rows());
    const Index chunk = std::max<Index>(256, (Index(1) << 22) / std::max<Index>(widest, 1));
    // When no layer's product over a chunk reaches the BLAS's threshold, the BLAS would not
    // be called: every product would run in Eigen's serial kernel, so the blocks below run
    // them in parallel instead.
    bool blas_takes_a_layer = false;
    for (const auto& w : weights)
        blas_takes_a_layer |=
            double(w.rows()) * double(std::min(n, chunk)) * double(w.cols()) >= kBlasMinWork;
    if (have_blas() && blas_takes_a_layer) {
        for (Index start = 0; start < n; start += chunk) {
            const Index len = std::min(chunk, n - start);
            forward_block<S>(x0.middleCols(start, len), weights, biases, out.middleCols(start, len),
                             activation);
            poll(check);
        }
        return out;
    }
    // Blocks of samples run in parallel, each with a serial GEMM per layer: no
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
            forward_block<S>(x0.middleCols(start, len), weights, biases, out.middleCols(start, len),
                             activation);
        });
        poll(check);
    }
    return out;
}

template Matrix<float> forward<float>(const Eigen::Ref<const Matrix<float>>&,
                                      const std::vector<WeightMap<float>>&,
                                      const std::vector<BiasMap<float>>&, int,
                                      const InterruptCheck&, const Activation&);
template Matrix<double> forward<double>(const Eigen::Ref<const Matrix<double>>&,
                                        const std::vector<WeightMap<double>>&,
                                        const std::vector<BiasMap<double>>&, int,
                                        const InterruptCheck&, const Activation&);

}  // namespace archbound
