// Operator norms ||W|| = sigma_1(W) with certified upper bounds (docs/design.md §2.3).
//
// Three methods:
// - exact:   the largest singular value from an SVD (LAPACK dgesdd, values only); the upper
//            bound inflates it by 1 + 8 eps min(m, n) for rounding.
// - lanczos: Lanczos with full reorthogonalization on the n x n operator A = W^T W (or the
//            m x m operator A = W W^T when m < n), from a uniform random unit start vector.
//            After k steps (k products with A), Kuczynski & Wozniakowski (1992, Thm 4.2) give
//            for the largest Ritz value theta_k, whatever the spectrum:
//                P(theta_k <= (1 - eps) lambda_max) <= 1.648 sqrt(n) exp(-sqrt(eps) (2k - 1)),
//            so with probability >= 1 - delta, ||W|| <= sqrt(theta_k / (1 - eps_k)) with
//                eps_k = (ln(1.648 sqrt(n) / delta) / (2k - 1))^2.
// - power:   the power method with the Rayleigh quotient rho_k of A^(k-1) b (k products);
//                P(rho_k <= (1 - eps) lambda_max) <= 0.824 sqrt(n) (1 - eps)^(k - 1/2).
//
// The ratio upper / estimate of both randomized methods depends on k, n and delta only, so
// the number of steps needed for a relative tolerance is known in advance. Every upper bound
// is also clamped by the deterministic ||W|| <= ||W||_F, computed in the same pass as the
// scale of W. When the Krylov space becomes invariant (breakdown) or reaches dimension n,
// the Ritz value is exact up to rounding, and the upper bound is deterministic.
#pragma once

#include "common.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace archbound {

/// A row-major view of a weight matrix (a C-contiguous NumPy array), never copied.
using NormOperand = Eigen::Map<const RowMatrix<double>>;

enum class NormMethod { exact, lanczos, power };

/// "exact", "lanczos" or "power"; anything else throws std::invalid_argument.
NormMethod norm_method_from_name(const std::string& name);
const char* norm_method_name(NormMethod method);

struct NormOptions {
    NormMethod method = NormMethod::lanczos;
    double delta = 1e-6;     ///< failure probability of the upper bound, in (0, 1)
    double rtol = 1e-2;      ///< stop once upper <= (1 + rtol) estimate; > 0
    Index max_iter = 0;      ///< products with A at most; 0: lanczos n, power 10000
    std::uint64_t seed = 0;  ///< seeds the start vector (random.hpp)
};

struct NormResult {
    double estimate = 0;    ///< a lower estimate: Ritz value, Rayleigh quotient or sigma_1
    double upper = 0;       ///< >= ||W|| with probability >= 1 - delta (always, for exact)
    Index iterations = 0;   ///< products with A (exact: 0)
    bool converged = true;  ///< upper <= (1 + rtol) estimate, or an exact termination
    NormMethod method = NormMethod::exact;
};

/// Largest singular value of W (m x n) with a certified upper bound. Results depend on the
/// seed only, not on the thread count. W must be finite.
NormResult opnorm(const NormOperand& w, const NormOptions& options, int threads,
                  const InterruptCheck& check = {});

/// opnorm of every matrix in `weights`, with its own options. Small matrices run in parallel
/// (one thread each); large ones one after the other, each with every thread. The results
/// are those of opnorm, whatever the scheduling.
std::vector<NormResult> opnorms(const std::vector<NormOperand>& weights,
                                const std::vector<NormOptions>& options, int threads,
                                const InterruptCheck& check = {});

/// The Kuczynski-Wozniakowski relative error eps at which the failure probability after k
/// steps equals delta, for an operator of dimension n (1 when there is no certificate yet).
double lanczos_epsilon(Index n, Index k, double delta);

}  // namespace archbound
