#include "pinv.hpp"

#include "blas.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace archbound {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

using MatrixRef = Eigen::Ref<Matrix<double>>;
using VectorRef = Eigen::Ref<Vector<double>>;

// Blocked Householder QR, written for this file because Eigen's HouseholderQR (blocks of 48,
// an unblocked panel) and its householderQ() (which does not exploit the identity it is
// applied to) reach about half of GEMM speed. Layout and conventions are LAPACK's (dgeqrf,
// dorgqr): H_k = I - tau_k v_k v_k^T with v_k(k) = 1, the essential part of v_k stored below
// the diagonal and R on and above it. Measured in bench/bench_foundation.py.

/// Columns per block of the QR and of the Q formation. 96-256 measured alike on AVX-512;
/// smaller blocks make the trailing-update GEMMs too thin, larger ones the panels too wide.
constexpr Index kBlock = 128;
/// Panels narrower than this are factorised column by column.
constexpr Index kLeaf = 16;
/// Largest LAPACK call (flops) made without polling for interrupts: about 0.1 s.
constexpr double kLapackFlops = 4e9;
/// Fewer columns per thread than this are not worth a parallel region.
constexpr Index kMinColumnsPerThread = 32;

/// b consecutive reflectors in compact WY form, H_0 H_1 ... H_{b-1} = I - V T V^T
/// (Schreiber & Van Loan 1989), with V unit lower trapezoidal (h x b), T upper triangular.
class BlockReflector {
  public:
    /// `packed` holds the reflectors as the QR leaves them (h x b), `tau` their coefficients.
    BlockReflector(const Eigen::Ref<const Matrix<double>>& packed,
                   const Eigen::Ref<const Vector<double>>& tau)
        : v_(packed), t_(Matrix<double>::Zero(tau.size(), tau.size())) {
        const Index b = v_.cols();
        for (Index j = 0; j < b; ++j) {
            v_.col(j).head(j).setZero();
            v_(j, j) = 1.0;
        }
        // T(0:i, i) = -tau_i T(0:i, 0:i) V(:, 0:i)^T v_i  (LAPACK dlarft), from S = V^T V.
        Matrix<double> s = Matrix<double>::Zero(b, b);
        s.selfadjointView<Eigen::Upper>().rankUpdate(v_.transpose());
        for (Index i = 0; i < b; ++i) {
            if (i > 0) {
                Vector<double> column = -tau(i) * s.col(i).head(i);
                t_.col(i).head(i).noalias() =
                    t_.topLeftCorner(i, i).triangularView<Eigen::Upper>() * column;
            }
            t_(i, i) = tau(i);
        }
    }

    /// C <- (I - V T V^T) C, or with `transposed` C <- (I - V T V^T)^T C. Columns of C are
    /// independent, so wide C is split among `threads` threads, each with serial GEMMs.
    void apply(MatrixRef c, bool transposed, int threads) const {
        const Index cols = c.cols();
        if (cols == 0) return;
        // With SciPy's BLAS, one product threaded by the BLAS; with Eigen's kernels, column
        // chunks over OpenMP threads.
        const Index chunks =
            have_blas() ? 1 : std::min<Index>(threads, cols / kMinColumnsPerThread);
        if (chunks <= 1) {
            apply_serial(c, transposed);
            return;
        }
        const Index width = (cols + chunks - 1) / chunks;
        ExceptionCatcher catcher;
#pragma omp parallel for schedule(static) num_threads(int(chunks))
        for (Index j = 0; j < chunks; ++j) {
            catcher.run([&] {
                const Index start = j * width, len = std::min(width, cols - start);
                if (len > 0) apply_serial(c.middleCols(start, len), transposed);
            });
        }
        catcher.rethrow();
    }

  private:
    void apply_serial(MatrixRef c, bool transposed) const {
        const Index h = v_.rows(), b = v_.cols(), cols = c.cols();
        Matrix<double> w(b, cols);
        gemm<double>(true, false, b, cols, h, 1.0, v_.data(), h, c.data(), c.outerStride(), 0.0,
                     w.data(), b);  // W = V^T C
        if (transposed)
            w = t_.transpose().triangularView<Eigen::Lower>() * w;
        else
            w = t_.triangularView<Eigen::Upper>() * w;
        gemm<double>(false, false, h, cols, b, -1.0, v_.data(), h, w.data(), b, 1.0, c.data(),
                     c.outerStride());  // C -= V W
    }

    Matrix<double> v_;
    Matrix<double> t_;
};

/// Column-by-column Householder QR of a narrow panel (LAPACK dgeqr2).
void factor_columns(MatrixRef a, VectorRef tau) {
    const Index h = a.rows(), b = a.cols();
    Vector<double> essential, workspace(b);
    for (Index j = 0; j < b && j < h; ++j) {
        auto column = a.col(j).tail(h - j);
        essential.resize(h - j - 1);
        double beta;
        column.makeHouseholder(essential, tau(j), beta);
        column(0) = beta;
        column.tail(h - j - 1) = essential;
        if (j + 1 < b)
            a.bottomRightCorner(h - j, b - j - 1)
                .applyHouseholderOnTheLeft(column.tail(h - j - 1), tau(j), workspace.data());
    }
}

/// Recursive panel QR (Elmroth & Gustavson 2000): factor the left half, update the right half
/// with one block reflector, factor the right half. Mostly GEMM, unlike dgeqr2.
void factor_panel(MatrixRef a, VectorRef tau, int threads) {
    const Index h = a.rows(), b = a.cols();
    if (b <= kLeaf) {
        factor_columns(a, tau);
        return;
    }
    const Index left = b / 2;
    factor_panel(a.leftCols(left), tau.head(left), threads);
    BlockReflector(a.leftCols(left), tau.head(left)).apply(a.rightCols(b - left), true, threads);
    factor_panel(a.bottomRightCorner(h - left, b - left), tau.tail(b - left), threads);
}

/// In-place QR of a tall (m >= n) matrix: A = Q R (LAPACK dgeqrf layout).
void householder_qr(MatrixRef a, VectorRef tau, int threads, const InterruptCheck& check) {
    const Index m = a.rows(), n = a.cols();
    for (Index k = 0; k < n; k += kBlock) {
        const Index b = std::min(kBlock, n - k);
        auto panel = a.block(k, k, m - k, b);
        factor_panel(panel, tau.segment(k, b), threads);
        if (k + b < n)
            BlockReflector(panel, tau.segment(k, b))
                .apply(a.block(k, k + b, m - k, n - k - b), true, threads);
        poll(check);
    }
}

/// Overwrites the output of householder_qr with the thin factor Q_1 (m x n), as dorgqr does:
/// blocks from last to first, each applied only where Q_1 = H_0 ... H_{n-1} [I_n; 0] is not
/// yet known to be zero or identity, which halves the work of applying Q to [I_n; 0].
void form_thin_q(MatrixRef a, const Eigen::Ref<const Vector<double>>& tau, int threads,
                 const InterruptCheck& check) {
    const Index m = a.rows(), n = a.cols();
    const Index last = ((n - 1) / kBlock) * kBlock;
    for (Index k = last; k >= 0; k -= kBlock) {
        const Index b = std::min(kBlock, n - k);
        BlockReflector reflector(a.block(k, k, m - k, b), tau.segment(k, b));
        auto block_columns = a.middleCols(k, b);
        block_columns.setZero();
        block_columns.middleRows(k, b).setIdentity();
        reflector.apply(a.block(k, k, m - k, n - k), false, threads);
        poll(check);
    }
}

/// Z <- Z R^-T for upper-triangular R (n x n), in place. Rows of Z are independent, so they
/// are split among threads, each with Eigen's serial blocked triangular solve.
void solve_transposed_on_the_right(MatrixRef z, const Matrix<double>& r, int threads,
                                   const InterruptCheck& check) {
    const Index m = z.rows(), n = z.cols();
    if (have_lapack()) {
        // BLAS dtrsm (threaded by the BLAS) on row blocks of about kLapackFlops each.
        const Index rows = std::max<Index>(
            256, Index(kLapackFlops / std::max(1.0, double(n) * double(n))));
        for (Index start = 0; start < m; start += rows) {
            blas_solve_right_transposed(std::min(rows, m - start), n, r.data(), r.outerStride(),
                                        z.data() + start, z.outerStride());
            poll(check);
        }
        return;
    }
    const Index chunks = std::max<Index>(1, std::min<Index>(threads, m / 64));
    const Index height = (m + chunks - 1) / chunks;
    ExceptionCatcher catcher;
#pragma omp parallel for schedule(static) num_threads(int(chunks))
    for (Index c = 0; c < chunks; ++c) {
        catcher.run([&] {
            const Index start = c * height, len = std::min(height, m - start);
            if (len <= 0) return;
            auto rows = z.middleRows(start, len);
            r.transpose().triangularView<Eigen::Lower>().solveInPlace<Eigen::OnTheRight>(rows);
        });
    }
    catcher.rethrow();
}

/// Largest eigenvalue of a symmetric positive semi-definite operator of size n, by Lanczos
/// with full reorthogonalisation from a fixed pseudo-random start. The Ritz value it returns
/// never exceeds the true eigenvalue, and reaches it to ~1e-12 relative in a few dozen steps
/// even when the top of the spectrum is clustered (where the power method stalls).
template <class Operator> double lanczos_largest(const Operator& apply, Index n) {
    const Index steps = std::min<Index>(n, 64);
    Matrix<double> basis(n, steps);
    Vector<double> alpha(steps), beta(steps);
    std::mt19937_64 engine(20250405);
    std::normal_distribution<double> normal;
    Vector<double> v(n);
    for (Index i = 0; i < n; ++i) v(i) = normal(engine);
    v.normalize();
    double previous = 0;
    for (Index k = 0; k < steps; ++k) {
        basis.col(k) = v;
        Vector<double> w = apply(v);
        alpha(k) = v.dot(w);
        // Full reorthogonalisation, twice ("twice is enough").
        for (int pass = 0; pass < 2; ++pass)
            w -= basis.leftCols(k + 1) * (basis.leftCols(k + 1).transpose() * w);
        beta(k) = w.norm();
        Eigen::SelfAdjointEigenSolver<Matrix<double>> ritz;
        ritz.computeFromTridiagonal(alpha.head(k + 1), beta.head(k), Eigen::EigenvaluesOnly);
        const double largest = ritz.eigenvalues()(k);
        const bool invariant = !(beta(k) > 1e-13 * std::abs(largest));
        if (invariant || (k > 4 && std::abs(largest - previous) <= 1e-13 * largest))
            return largest;
        previous = largest;
        v = w / beta(k);
    }
    return previous;
}

/// Largest singular value of the upper-triangular R: sqrt of lambda_max(R^T R).
double estimate_sigma_max(const Matrix<double>& r) {
    auto normal_operator = [&r](const Vector<double>& v) -> Vector<double> {
        Vector<double> w = r.triangularView<Eigen::Upper>() * v;
        return r.transpose().triangularView<Eigen::Lower>() * w;
    };
    return std::sqrt(std::max(0.0, lanczos_largest(normal_operator, r.cols())));
}

/// Smallest singular value of a nonsingular upper-triangular R: 1 / sqrt(lambda_max of
/// R^-1 R^-T), which never underestimates sigma_min.
double estimate_sigma_min(const Matrix<double>& r) {
    auto inverse_operator = [&r](const Vector<double>& v) -> Vector<double> {
        Vector<double> w = r.transpose().triangularView<Eigen::Lower>().solve(v);
        return r.triangularView<Eigen::Upper>().solve(w);
    };
    const double largest = lanczos_largest(inverse_operator, r.cols());
    return std::isfinite(largest) && largest > 0 ? 1.0 / std::sqrt(largest) : 0.0;
}

/// Thin-QR path for a tall (m >= n) matrix, given as a copy that it overwrites. On success
/// `work` holds (A^+)^T = Q_1 R^-T (m x n). Returns false, with `work` destroyed, when A is
/// rank deficient or too ill-conditioned for this path.
bool pinv_thin_qr(Matrix<double>& work, double rcond, int threads, PinvResult& out,
                  const InterruptCheck& check) {
    const Index m = work.rows(), n = work.cols();
    Vector<double> tau(n);
    // LAPACK's dgeqrf/dorgqr are one call each, with no interrupt polling inside: used up to a
    // size that runs in well under a second; beyond it, the blocked QR of this file, whose
    // products go to the same BLAS and which polls between blocks.
    const bool lapack = have_lapack() && 2.0 * double(m) * double(n) * double(n) <= kLapackFlops;
    if (lapack)
        lapack_qr(m, n, work.data(), work.outerStride(), tau.data());
    else
        householder_qr(work, tau, threads, check);
    poll(check);
    Matrix<double> r = work.topRows(n).triangularView<Eigen::Upper>();
    for (Index i = 0; i < n; ++i)
        if (r(i, i) == 0 || !std::isfinite(r(i, i))) return false;
    const double smax = estimate_sigma_max(r);
    const double smin = estimate_sigma_min(r);
    const double threshold = 10.0 * std::max(rcond, std::sqrt(kEps));
    if (!(smax > 0) || !(smin > threshold * smax)) return false;

    // A^+ = R^-1 Q_1^T, so (A^+)^T = Q_1 R^-T.
    if (lapack)
        lapack_thin_q(m, n, work.data(), work.outerStride(), tau.data());
    else
        form_thin_q(work, tau, threads, check);
    poll(check);
    solve_transposed_on_the_right(work, r, threads, check);
    out.rank = n;
    out.sigma_max = smax;
    out.sigma_min = smin;
    out.fast_path = true;
    return true;
}

/// SVD path; works for any shape and rank.
void pinv_svd(const ConstMatrixRef<double>& a, double rcond, PinvResult& out) {
    Eigen::BDCSVD<Matrix<double>> svd(a, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const Vector<double>& s = svd.singularValues();
    const Index k = s.size();
    const double smax = k ? s(0) : 0.0;
    const double cutoff = rcond * smax;
    Index rank = 0;
    while (rank < k && s(rank) > cutoff) ++rank;
    out.pinv = svd.matrixV().leftCols(rank) * s.head(rank).cwiseInverse().asDiagonal() *
               svd.matrixU().leftCols(rank).transpose();
    out.rank = rank;
    out.sigma_max = smax;
    out.sigma_min = k ? s(k - 1) : 0.0;
    out.fast_path = false;
}

}  // namespace

PinvResult pinv(const ConstMatrixRef<double>& a, double rcond, int threads,
                const InterruptCheck& check) {
    const Index m = a.rows(), n = a.cols();
    if (rcond < 0) rcond = double(std::max(m, n)) * kEps;
    require(std::isfinite(rcond), "rcond must be finite");
    PinvResult out;
    if (m == 0 || n == 0) {
        out.pinv = Matrix<double>::Zero(n, m);
        return out;
    }
    const int nthreads = resolve_threads(threads);
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
    if (pinv_thin_qr(work, rcond, nthreads, out, check)) {
        if (tall)
            out.pinv = work.transpose();
        else
            out.pinv = std::move(work);
    } else {
        work.resize(0, 0);
        pinv_svd(a, rcond, out);
    }
    poll(check);
    return out;
}

}  // namespace archbound
