#include "pinv.hpp"
#include "parallel.hpp"

#include "blas.hpp"
#include "lanczos.hpp"
#include "qr.hpp"
#include "random.hpp"
#include "svd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace archbound {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

using MatrixRef = Eigen::Ref<Matrix<double>>;
using VectorRef = Eigen::Ref<Vector<double>>;

/// Up to this size the extreme singular values of R come from the eigenvalues of R^T R ...
constexpr Index kSmallGram = 64;
/// ... when they show sigma_min > kGramResolved sigma_max, far above their resolution.
constexpr double kGramResolved = 1e-5;
/// Seed of the Lanczos start vector of the condition estimates (fixed: pinv is deterministic).
constexpr std::uint64_t kStartSeed = 20250405;
/// A thin QR of fewer multiply-adds (m n^2 of the tall side) runs on one thread: waking a
/// second costs more than it saves (64 x 50: 159 us on one thread, 198 us on two).
constexpr double kSerialWork = double(1 << 21);
/// Multiply-adds of one BLAS triangular solve between interrupt polls: about 0.05 s.
constexpr double kSolveFlops = 2e9;

/// Z <- Z R^-T for upper-triangular R (n x n), in place. Rows of Z are independent, so they
/// are split among threads, each with Eigen's serial blocked triangular solve.
void solve_transposed_on_the_right(MatrixRef z, const Matrix<double>& r, int threads,
                                   const InterruptCheck& check) {
    const Index m = z.rows(), n = z.cols();
    if (have_blas() && double(m) * double(n) * double(n) >= kSolveFlops / 256) {
        // BLAS dtrsm (threaded by the BLAS) on row blocks of about kSolveFlops each, so that
        // interrupts are polled between them.
        const Index rows =
            std::max<Index>(256, Index(kSolveFlops / std::max(1.0, double(n) * double(n))));
        for (Index start = 0; start < m; start += rows) {
            blas_solve_right_transposed(std::min(rows, m - start), n, r.data(), r.outerStride(),
                                        z.data() + start, z.outerStride());
            poll(check);
        }
        return;
    }
    const Index chunks = std::max<Index>(1, std::min<Index>(threads, m / 64));
    const Index height = (m + chunks - 1) / chunks;
    parallel_for(
        0, chunks, int(chunks),
        [&](Index c) {
            const Index start = c * height, len = std::min(height, m - start);
            if (len <= 0) return;
            auto rows = z.middleRows(start, len);
            r.transpose().triangularView<Eigen::Lower>().solveInPlace<Eigen::OnTheRight>(rows);
        });
}

/// R^T R for an upper-triangular R, as a Lanczos operator (lanczos.hpp).
struct NormalOperator {
    const Matrix<double>& r;
    Index size() const { return r.cols(); }
    void apply(const Eigen::Ref<const Vector<double>>& x, Vector<double>& y) const {
        Vector<double> t = r.triangularView<Eigen::Upper>() * x;
        y.noalias() = r.transpose().triangularView<Eigen::Lower>() * t;
    }
};

/// R^-1 R^-T for a nonsingular upper-triangular R.
struct InverseNormalOperator {
    const Matrix<double>& r;
    Index size() const { return r.cols(); }
    void apply(const Eigen::Ref<const Vector<double>>& x, Vector<double>& y) const {
        y = r.transpose().triangularView<Eigen::Lower>().solve(x);
        r.triangularView<Eigen::Upper>().solveInPlace(y);
    }
};

/// Relative change of a Lanczos estimate over 4 steps at which it counts as converged: to
/// report it (about 1e-10 relative), or only to decide the path, whose threshold has a
/// factor-10 margin (an estimate within a few percent decides as the exact value does
/// except within that distance of the threshold).
double convergence_tolerance(Estimates estimates) {
    return estimates == Estimates::reported ? 1e-13 : 1e-3;
}

/// Relative width at which the bisections of the small path stop: to the last bits, or as
/// above only as close as the path decision needs.
double bisection_tolerance(Estimates estimates) {
    return estimates == Estimates::reported ? 2.0 * kEps : 1e-3;
}

/// The largest eigenvalue of a positive semidefinite operator: the largest Ritz value of at
/// most 64 Lanczos steps from a fixed start (a Ritz value never exceeds the eigenvalue, and
/// Lanczos reaches it even when the top of the spectrum is clustered, where the power method
/// stalls), once it changed by at most `tolerance` (relative) over 4 steps.
template <class Operator>
double largest_eigenvalue(const Operator& op, double tolerance, const InterruptCheck& check) {
    double previous = -1.0;
    Operator copy = op;
    const LanczosState state = lanczos(
        copy, random_unit_vector(op.size(), kStartSeed), 64,
        [&](const LanczosState& s) {
            if (s.steps < 8 || s.steps % 4 != 0) return false;
            const double largest = s.largest_ritz_value();
            const bool converged = std::abs(largest - previous) <= tolerance * largest;
            previous = largest;
            return converged;
        },
        check);
    // An operator that overflowed (R^-1 of a numerically singular R) has no usable estimate:
    // +inf, which sends the matrix to the SVD path.
    if (!state.finite) return std::numeric_limits<double>::infinity();
    return state.largest_ritz_value();
}

/// Largest singular value of the upper-triangular R: sqrt of lambda_max(R^T R).
double estimate_sigma_max(const Matrix<double>& r, double tolerance, const InterruptCheck& check) {
    return std::sqrt(std::max(0.0, largest_eigenvalue(NormalOperator{r}, tolerance, check)));
}

/// Smallest singular value of a nonsingular upper-triangular R: 1 / sqrt(lambda_max of
/// R^-1 R^-T), which never underestimates sigma_min.
double estimate_sigma_min(const Matrix<double>& r, double tolerance, const InterruptCheck& check) {
    const double largest = largest_eigenvalue(InverseNormalOperator{r}, tolerance, check);
    return std::isfinite(largest) && largest > 0 ? 1.0 / std::sqrt(largest) : 0.0;
}

/// Thin-QR path for a tall (m >= n) matrix, given as a copy that it overwrites. On success
/// `work` holds (A^+)^T = Q_1 R^-T (m x n). Returns false, with `work` destroyed, when A is
/// rank deficient or too ill-conditioned for this path.
bool pinv_thin_qr(Matrix<double>& work, double rcond, int threads, PinvResult& out,
                  const InterruptCheck& check, bool form_inverse, Estimates estimates) {
    const Index n = work.cols();
    Vector<double> tau(n);
    householder_qr(work, tau, threads, check);
    Matrix<double> r = work.topRows(n).triangularView<Eigen::Upper>();
    for (Index i = 0; i < n; ++i)
        if (r(i, i) == 0 || !std::isfinite(r(i, i))) return false;
    double smax = 0, smin = 0;
    bool estimated = false;
    if (n <= kSmallGram) {
        // Small R: the extreme eigenvalues of the Gram matrix of R scaled by a power of two
        // (no overflow or underflow), cheaper here than two Lanczos runs. Its sigma_min is
        // accurate to about sqrt(n eps) sigma_max only, so it decides alone just when R is
        // clearly well conditioned; otherwise Lanczos on R^-1 R^-T estimates sigma_min.
        int exponent = 0;
        std::frexp(r.cwiseAbs().maxCoeff(), &exponent);
        const double scale = std::ldexp(1.0, -exponent);
        const Matrix<double> scaled = scale * r;
        const Matrix<double> gram = scaled.transpose() * scaled;
        const Eigen::Tridiagonalization<Matrix<double>> tridiagonal(gram);
        const Vector<double> d = tridiagonal.diagonal(), e = tridiagonal.subDiagonal();
        const auto extremes = tridiagonal_eigenvalues<2>(d.data(), e.data(), n, {n - 1, 0},
                                                         bisection_tolerance(estimates));
        smax = std::sqrt(std::max(0.0, extremes[0]));
        smin = std::sqrt(std::max(0.0, extremes[1]));
        smax /= scale, smin /= scale;
        estimated = smin > kGramResolved * smax;
    }
    if (!estimated) {
        const double tolerance = convergence_tolerance(estimates);
        smax = estimate_sigma_max(r, tolerance, check);
        smin = estimate_sigma_min(r, tolerance, check);
    }
    const double threshold = 10.0 * std::max(rcond, std::sqrt(kEps));
    if (!(smax > 0) || !(smin > threshold * smax)) return false;

    out.rank = n;
    out.sigma_max = smax;
    out.sigma_min = smin;
    out.fast_path = true;
    if (!form_inverse) return true;
    // A^+ = R^-1 Q_1^T, so (A^+)^T = Q_1 R^-T.
    form_thin_q(work, tau, threads, check);
    solve_transposed_on_the_right(work, r, threads, check);
    return true;
}

/// SVD path; works for any shape and rank. Without `form_inverse`, singular values only.
void pinv_svd(const ConstMatrixRef<double>& a, double rcond, PinvResult& out,
              bool form_inverse = true) {
    const Svd d = svd(a, form_inverse);
    const Vector<double>& s = d.values;
    const Index k = s.size();
    const double smax = k ? s(0) : 0.0;
    const double cutoff = rcond * smax;
    Index rank = 0;
    while (rank < k && s(rank) > cutoff) ++rank;
    if (form_inverse)
        out.pinv = d.v.leftCols(rank) * s.head(rank).cwiseInverse().asDiagonal() *
                   d.u.leftCols(rank).transpose();
    out.rank = rank;
    out.sigma_max = smax;
    out.sigma_min = k ? s(k - 1) : 0.0;
    out.fast_path = false;
}

}  // namespace

PinvResult pinv(const ConstMatrixRef<double>& a, double rcond, int threads,
                const InterruptCheck& check, bool form_inverse, Estimates estimates) {
    const Index m = a.rows(), n = a.cols();
    if (rcond < 0) rcond = double(std::max(m, n)) * kEps;
    require(std::isfinite(rcond), "rcond must be finite");
    PinvResult out;
    if (m == 0 || n == 0) {
        out.pinv = Matrix<double>::Zero(n, m);
        return out;
    }
    const double small = double(std::min(m, n)), madds = double(std::max(m, n)) * small * small;
    const int nthreads = madds < kSerialWork ? 1 : resolve_threads(threads);
    ThreadScope scope(nthreads);
    poll(check);
    // The thin QR runs on the tall one of A and A^T, copied once into the workspace that it
    // overwrites. It leaves (B^+)^T for that tall B: A^+ itself when B = A^T.
    const bool tall = m >= n;
    Matrix<double> work;
    if (tall)
        work = a;
    else
        work = a.transpose();
    if (pinv_thin_qr(work, rcond, nthreads, out, check, form_inverse, estimates)) {
        if (!form_inverse)
            out.pinv.resize(0, 0);
        else if (tall)
            out.pinv = work.transpose();
        else
            out.pinv = std::move(work);
    } else {
        work.resize(0, 0);
        pinv_svd(a, rcond, out, form_inverse);
    }
    poll(check);
    return out;
}

}  // namespace archbound
