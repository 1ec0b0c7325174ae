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
        const Index k = steps;
        if (k == 1) return alpha[0];
        Vector<double> diagonal = Eigen::Map<const Vector<double>>(alpha.data(), k);
        Vector<double> off = Eigen::Map<const Vector<double>>(beta.data(), k - 1);
        Eigen::SelfAdjointEigenSolver<Matrix<double>> solver;
        solver.computeFromTridiagonal(diagonal, off, Eigen::EigenvaluesOnly);
        return solver.eigenvalues()(k - 1);
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
