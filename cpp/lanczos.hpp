// Lanczos with full reorthogonalization on a symmetric positive semidefinite operator: the
// core's one Lanczos, used by opnorm (certified norms) and pinv (condition estimates).
//
// An operator is any object with `Index size() const` and
// `void apply(const Eigen::Ref<const Vector<double>>& x, Vector<double>& y)` (y = A x), as
// Spectra separates DenseSymMatProd from its solvers.
#pragma once

#include "common.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

namespace archbound {

/// The k[p]-th smallest eigenvalues (each k[p] = 0 .. n-1) of the symmetric tridiagonal
/// matrix with diagonal d (n) and off-diagonal e (n - 1), by bisection on Sturm counts (as
/// LAPACK's dstebz): accurate to a few eps ||T||, and O(n) per step instead of a full QR
/// iteration. The P bisections run in lockstep, their Sturm recurrences in one loop, so that
/// the latency of one recurrence's division hides behind the others'; each gives what it
/// gives alone. A bisection stops once its interval is below `tolerance` relative (the
/// default: to the last bits).
template <int P>
std::array<double, P> tridiagonal_eigenvalues(
    const double* d, const double* e, Index n, const std::array<Index, P>& k,
    double tolerance = 2.0 * std::numeric_limits<double>::epsilon()) {
    constexpr double kEps = std::numeric_limits<double>::epsilon();
    double bottom = d[0], top = d[0], scale = 0;
    for (Index i = 0; i < n; ++i) {  // Gershgorin bounds
        const double radius =
            (i > 0 ? std::abs(e[i - 1]) : 0.0) + (i + 1 < n ? std::abs(e[i]) : 0.0);
        bottom = std::min(bottom, d[i] - radius);
        top = std::max(top, d[i] + radius);
        scale = std::max(scale, std::abs(d[i]) + radius);
    }
    std::array<double, P> low, high;
    if (!(std::isfinite(bottom) && std::isfinite(top))) {
        low.fill(std::numeric_limits<double>::quiet_NaN());
        return low;
    }
    low.fill(bottom), high.fill(top);
    const double pivot = std::max(std::numeric_limits<double>::min(), kEps * kEps * scale * scale);
    for (int step = 0; step < 200; ++step) {
        std::array<bool, P> open;
        std::array<double, P> middle, q;
        std::array<Index, P> below{};  // the number of eigenvalues < middle
        bool any = false;
        for (int p = 0; p < P; ++p) {
            open[p] = high[p] - low[p] >
                      tolerance * std::max(std::abs(low[p]), std::abs(high[p])) + pivot;
            any = any || open[p];
            middle[p] = 0.5 * (low[p] + high[p]);
            q[p] = d[0] - middle[p];
        }
        if (!any) break;
        for (Index i = 0;;) {
            for (int p = 0; p < P; ++p) {
                if (std::abs(q[p]) < pivot) q[p] = -pivot;
                if (q[p] < 0) ++below[p];
            }
            if (++i == n) break;
            const double square = e[i - 1] * e[i - 1];
            for (int p = 0; p < P; ++p) q[p] = d[i] - middle[p] - square / q[p];
        }
        for (int p = 0; p < P; ++p)
            if (open[p]) (below[p] > k[p] ? high[p] : low[p]) = middle[p];
    }
    for (int p = 0; p < P; ++p) low[p] = 0.5 * (low[p] + high[p]);
    return low;
}

/// The k-th smallest eigenvalue (k = 0 .. n-1) of that tridiagonal matrix.
inline double tridiagonal_eigenvalue(const double* d, const double* e, Index n, Index k) {
    return tridiagonal_eigenvalues<1>(d, e, n, {k})[0];
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
