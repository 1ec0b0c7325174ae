// Lanczos with full reorthogonalization on a symmetric positive semidefinite operator: the
// core's one Lanczos, used by opnorm (certified norms) and pinv (condition estimates).
//
// An operator is any object with `Index size() const` and
// `void apply(const Eigen::Ref<const Vector<double>>& x, Vector<double>& y)` (y = A x), as
// Spectra separates DenseSymMatProd from its solvers.
#pragma once

#include "common.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace archbound {

/// The k-th smallest eigenvalue (k = 0 .. n-1) of the symmetric tridiagonal matrix with
/// diagonal d (n) and off-diagonal e (n - 1), by bisection on Sturm counts (as LAPACK's
/// dstebz): accurate to a few eps ||T||, and O(n) per step instead of a full QR iteration.
inline double tridiagonal_eigenvalue(const double* d, const double* e, Index n, Index k) {
    constexpr double kEps = std::numeric_limits<double>::epsilon();
    double low = d[0], high = d[0], scale = 0;
    for (Index i = 0; i < n; ++i) {  // Gershgorin bounds
        const double radius =
            (i > 0 ? std::abs(e[i - 1]) : 0.0) + (i + 1 < n ? std::abs(e[i]) : 0.0);
        low = std::min(low, d[i] - radius);
        high = std::max(high, d[i] + radius);
        scale = std::max(scale, std::abs(d[i]) + radius);
    }
    if (!(std::isfinite(low) && std::isfinite(high)))
        return std::numeric_limits<double>::quiet_NaN();
    const double pivot = std::max(std::numeric_limits<double>::min(), kEps * kEps * scale * scale);
    auto below = [&](double x) {  // the number of eigenvalues < x
        Index count = 0;
        double q = d[0] - x;
        for (Index i = 0;;) {
            if (std::abs(q) < pivot) q = -pivot;
            if (q < 0) ++count;
            if (++i == n) return count;
            q = d[i] - x - e[i - 1] * e[i - 1] / q;
        }
    };
    for (int step = 0;
         step < 200 && high - low > 2.0 * kEps * std::max(std::abs(low), std::abs(high)) + pivot;
         ++step) {
        const double middle = 0.5 * (low + high);
        if (below(middle) > k)
            high = middle;
        else
            low = middle;
    }
    return 0.5 * (low + high);
}

/// The Lanczos tridiagonal T_k after k steps: diagonal alpha (k) and off-diagonal beta,
/// where beta[k - 1] is the norm of the last residual (the entry T_{k+1} would add).
struct LanczosState {
    Index steps = 0;
    std::vector<double> alpha, beta;
    double gershgorin = 0;   ///< max_j |alpha_j| + beta_{j-1} + beta_j >= ||T_k||
    bool invariant = false;  ///< the Krylov space is invariant, or all of R^n
    bool finite = true;      ///< false when the operator produced NaN or inf (then stopped)

    /// The largest eigenvalue of T_k (the largest Ritz value, which never exceeds
    /// lambda_max(A) in exact arithmetic).
    double largest_ritz_value() const {
        return steps == 1 ? alpha[0]
                          : tridiagonal_eigenvalue(alpha.data(), beta.data(), steps, steps - 1);
    }
};

/// Runs Lanczos on `op` from `start` (normalised here) until the Krylov space is invariant,
/// `max_steps` steps are done, or `stop(state)` returns true after a step. A q_k is
/// orthogonalized against every Lanczos vector by classical Gram-Schmidt, repeated once when
/// that removed more than 1 - 1/sqrt(2) of its norm (Daniel, Gragg, Kaufman & Stewart 1976:
/// "twice is enough"). Interrupts are polled between steps.
template <class Operator, class Stop>
LanczosState lanczos(Operator& op, const Vector<double>& start, Index max_steps, Stop&& stop,
                     const InterruptCheck& check = {}) {
    constexpr double kEps = std::numeric_limits<double>::epsilon();
    const Index n = op.size();
    const Index cap = std::max<Index>(1, std::min(n, max_steps));
    Matrix<double> q(n, std::min<Index>(cap, 32) + 1);
    q.col(0) = start / start.norm();
    Vector<double> w(n), h;
    LanczosState state;
    for (Index k = 1;; ++k) {
        op.apply(q.col(k - 1), w);
        const auto basis = q.leftCols(k);
        const double before = w.norm();
        h.noalias() = basis.transpose() * w;
        w.noalias() -= basis * h;
        double a = h(k - 1);
        if (w.norm() < 0.7071067811865476 * before) {
            h.noalias() = basis.transpose() * w;
            w.noalias() -= basis * h;
            a += h(k - 1);
        }
        const double b = w.norm();
        state.gershgorin =
            std::max(state.gershgorin, std::abs(a) + (k > 1 ? state.beta.back() : 0.0) + b);
        state.alpha.push_back(a);
        state.beta.push_back(b);
        state.steps = k;
        state.finite = std::isfinite(a) && std::isfinite(b);
        if (!state.finite) return state;
        state.invariant = k == n || b <= 64.0 * std::sqrt(double(n)) * kEps * state.gershgorin;
        if (state.invariant || k >= cap || stop(state)) return state;
        poll(check);
        if (q.cols() == k) q.conservativeResize(Eigen::NoChange, std::min(cap, 2 * k) + 1);
        q.col(k) = w / b;
    }
}

}  // namespace archbound
