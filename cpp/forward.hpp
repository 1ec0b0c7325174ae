// Batched forward pass of a feed-forward network (docs/design.md §2, §2.6).
#pragma once

#include "common.hpp"

#include <vector>

namespace archbound {

/// The activation of the hidden layers; the numbers are archbound.activations' `code`s.
enum class ActivationKind : int {
    relu = 0,
    leaky_relu = 1,  // x > 0 ? x : a x, a = negative_slope
    elu = 2,         // x > 0 ? x : a (exp(x) - 1), a = alpha
    gelu = 3,        // x Phi(x) = x erfc(-x / sqrt 2) / 2
    gelu_tanh = 4,   // x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2
    silu = 5,        // x sigmoid(x)
    softplus = 6,    // log(1 + exp(b x)) / b, b = beta
    tanh = 7,
    sigmoid = 8,   // 1 / (1 + exp(-x))
    hardtanh = 9,  // min(max(x, -1), 1)
    relu6 = 10,    // min(max(x, 0), 6)
    identity = 11,
};

/// sigma and its one parameter (negative_slope, alpha or beta; ignored by the others).
struct Activation {
    ActivationKind kind = ActivationKind::relu;
    double parameter = 0.0;
};

/// The activation of `code`, or std::invalid_argument naming the range.
Activation make_activation(int code, double parameter);

template <class S> using WeightMap = Eigen::Map<const RowMatrix<S>>;
template <class S> using BiasMap = Eigen::Map<const Vector<S>>;

/// f(X_0) for the network x^(l) = sigma(W_l x^(l-1) + b_l), l = 1..L, and
/// f(x) = W_{L+1} x^(L) + b_{L+1}. X_0 is M0 x n (a column per sample); the result is Q x n.
///
/// Samples are processed in column blocks (at most 256), in parallel over blocks; each block
/// runs one serial GEMM per layer, then adds the bias and applies sigma in place. The
/// blocks depend on the number of samples only, so results do not depend on `threads`.
template <class S>
Matrix<S> forward(const Eigen::Ref<const Matrix<S>>& x0, const std::vector<WeightMap<S>>& weights,
                  const std::vector<BiasMap<S>>& biases, int threads,
                  const InterruptCheck& check = {}, const Activation& activation = {});

extern template Matrix<float> forward<float>(const Eigen::Ref<const Matrix<float>>&,
                                             const std::vector<WeightMap<float>>&,
                                             const std::vector<BiasMap<float>>&, int,
                                             const InterruptCheck&, const Activation&);
extern template Matrix<double> forward<double>(const Eigen::Ref<const Matrix<double>>&,
                                               const std::vector<WeightMap<double>>&,
                                               const std::vector<BiasMap<double>>&, int,
                                               const InterruptCheck&, const Activation&);

}  // namespace archbound
