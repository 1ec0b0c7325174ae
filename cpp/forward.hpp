// Batched forward pass of a ReLU network (docs/design.md §2).
#pragma once

#include "common.hpp"

#include <vector>

namespace archbound {

template <class S> using WeightMap = Eigen::Map<const RowMatrix<S>>;
template <class S> using BiasMap = Eigen::Map<const Vector<S>>;

/// f(X_0) for the network x^(l) = relu(W_l x^(l-1) + b_l), l = 1..L, and
/// f(x) = W_{L+1} x^(L) + b_{L+1}. X_0 is M0 x n (a column per sample); the result is Q x n.
///
/// Samples are processed in column blocks (at most 256), in parallel over blocks; each block
/// runs one serial GEMM per layer, accumulated onto the bias, then the ReLU in place. The
/// blocks depend on the number of samples only, so results do not depend on `threads`.
template <class S>
Matrix<S> forward(const Eigen::Ref<const Matrix<S>>& x0, const std::vector<WeightMap<S>>& weights,
                  const std::vector<BiasMap<S>>& biases, int threads,
                  const InterruptCheck& check = {});

extern template Matrix<float> forward<float>(const Eigen::Ref<const Matrix<float>>&,
                                             const std::vector<WeightMap<float>>&,
                                             const std::vector<BiasMap<float>>&, int,
                                             const InterruptCheck&);
extern template Matrix<double> forward<double>(const Eigen::Ref<const Matrix<double>>&,
                                               const std::vector<WeightMap<double>>&,
                                               const std::vector<BiasMap<double>>&, int,
                                               const InterruptCheck&);

}  // namespace archbound
