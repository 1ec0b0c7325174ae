#include "qr.hpp"
#include "parallel.hpp"

#include "blas.hpp"

#include <algorithm>

namespace archbound {
namespace {

using MatrixRef = Eigen::Ref<Matrix<double>>;
using VectorRef = Eigen::Ref<Vector<double>>;

// Blocked Householder QR, written for this project because Eigen's HouseholderQR (blocks of 48,
// an unblocked panel) and its householderQ() (which does not exploit the identity it is
// applied to) reach about half of GEMM speed. Layout and conventions are LAPACK's (dgeqrf,
// dorgqr): H_k = I - tau_k v_k v_k^T with v_k(k) = 1, the essential part of v_k stored below
// the diagonal and R on and above it. It is as fast as LAPACK's dgeqrf + dorgqr through the
// same BLAS (bench/RESULTS.md) and, unlike one LAPACK call, polls for interrupts per block.

/// Columns per block of the QR and of the Q formation. 96-256 measured alike on AVX-512;
/// smaller blocks make the trailing-update GEMMs too thin, larger ones the panels too wide.
constexpr Index kBlock = 128;
/// Panels narrower than this are factorised column by column.
constexpr Index kLeaf = 16;
/// Below this many multiply-adds (m n^2), LAPACK's QR where SciPy's is installed: one short
/// call that needs no interrupt polling, and its unblocked code beats block reflectors there
/// (64 x 50: 27 us against 77 us).
constexpr double kLapackMaxWork = double(1 << 21);
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
        parallel_for(
            0, chunks, int(chunks),
            [&](Index j) {
                const Index start = j * width, len = std::min(width, cols - start);
                if (len > 0) apply_serial(c.middleCols(start, len), transposed);
            });
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

bool use_lapack(const MatrixRef& a) {
    return double(a.rows()) * double(a.cols()) * double(a.cols()) < kLapackMaxWork &&
           have_lapack_qr();
}

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

}  // namespace

/// In-place QR of a tall (m >= n) matrix: A = Q R (LAPACK dgeqrf layout).
void householder_qr(MatrixRef a, VectorRef tau, int threads, const InterruptCheck& check) {
    const Index m = a.rows(), n = a.cols();
    if (use_lapack(a)) {
        lapack_qr(m, n, a.data(), a.outerStride(), tau.data());
        return;
    }
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
    if (use_lapack(a)) {
        lapack_thin_q(m, n, a.data(), a.outerStride(), tau.data());
        return;
    }
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

}  // namespace archbound
