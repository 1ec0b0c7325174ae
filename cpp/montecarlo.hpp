// Monte-Carlo 0-1 error of a Gaussian stochastic network (docs/certificates.md §3.4).
#pragma once

#include "common.hpp"

#include <cstdint>
#include <vector>

namespace archbound {

/// Q = N(mean, diag sigma^2) over every weight and bias of a ReLU network, in float32 and in
/// torch.nn.Linear layout: weight l is M_l x M_{l-1} row-major, bias l has M_l entries.
struct GaussianNetwork {
    std::vector<const float*> weight_mean, weight_sigma, bias_mean, bias_sigma;
    std::vector<Index> widths;  // M0, M1, ..., Q

    Index layers() const { return Index(widths.size()) - 1; }
    /// The number of parameters, and the offset of layer l's weights in the draw's normals
    /// (weights of layer 1 row by row, then its bias, then layer 2, ...).
    Index parameters() const;
    Index offset(Index layer) const;
};

/// The options of stochastic_errors.
struct MonteCarloOptions {
    Index draws = 0;       ///< M, the number of weight draws
    Index block = 0;       ///< points per draw, drawn uniformly with replacement; 0: all n
    std::uint64_t seed = 0;
};

/// For draws d = 0..M-1: sample W^(d) = mean + sigma z^(d), z^(d) the counter normals of
/// CounterStream(seed, d) (parameter k is z_k), and count the misclassified points, argmax_j
/// f(x)_j != y (first maximum on ties), among
/// - all n columns of x0 (block == 0), or
/// - `block` indices i_1..i_B drawn uniformly from [0, n) with replacement by
///   CounterStream(seed, d).below(n, counter) from counter 2^62.
/// Draws run in parallel, each with serial products, so the counts do not depend on
/// `threads`. x0 is M0 x n (a column per point), labels has n entries in [0, Q).
std::vector<std::int64_t> stochastic_errors(const Eigen::Ref<const Matrix<float>>& x0,
                                            const std::int64_t* labels,
                                            const GaussianNetwork& network,
                                            const MonteCarloOptions& options, int threads,
                                            const InterruptCheck& check = {});

}  // namespace archbound
