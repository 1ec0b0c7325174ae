#include "pinv.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace archbound {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

/// Largest singular value of the upper-triangular R, by the power method on R^T R.
double estimate_sigma_max(const Eigen::TriangularView<const Matrix<double>, Eigen::Upper>& r,
                          Index n) {
    Vector<double> v = Vector<double>::Ones(n) / std::sqrt(double(n));
    double sigma = 0;
    for (int it = 0; it < 30; ++it) {
        Vector<double> w = r * v;
        Vector<double> z = r.transpose() * w;
        double norm = z.norm();
        if (norm == 0) return 0;
        double next = std::sqrt(norm);
        v = z / norm;
        if (it > 3 && std::abs(next - sigma) <= 1e-6 * next) return next;
        sigma = next;
    }
    return sigma;
}

/// Smallest singular value of a nonsingular upper-triangular R, by inverse iteration.
double estimate_sigma_min(const Eigen::TriangularView<const Matrix<double>, Eigen::Upper>& r,
                          Index n) {
    Vector<double> v = Vector<double>::Ones(n) / std::sqrt(double(n));
    double inverse = 0;
    for (int it = 0; it < 30; ++it) {
        Vector<double> w = r.transpose().solve(v);
        Vector<double> z = r.solve(w);
        double norm = z.norm();
        if (!std::isfinite(norm) || norm == 0) return 0;
        double next = std::sqrt(norm);
        v = z / norm;
        if (it > 3 && std::abs(next - inverse) <= 1e-6 * next) return 1.0 / next;
        inverse = next;
    }
    return inverse > 0 ? 1.0 / inverse : 0.0;
}

/// Thin-QR path for a tall (rows >= cols) matrix. Returns false, leaving `out` untouched,
/// when A is rank deficient or too ill-conditioned for it.
bool pinv_thin_qr(const ConstMatrixRef<double>& a, double rcond, PinvResult& out) {
    const Index m = a.rows(), n = a.cols();
    Eigen::HouseholderQR<Matrix<double>> qr(a);
    const Matrix<double>& packed = qr.matrixQR();
    Matrix<double> r = packed.topRows(n).triangularView<Eigen::Upper>();
    for (Index i = 0; i < n; ++i)
        if (r(i, i) == 0 || !std::isfinite(r(i, i))) return false;
    const Matrix<double>& rc = r;
    auto tri = rc.triangularView<Eigen::Upper>();
    const double smax = estimate_sigma_max(tri, n);
    const double smin = estimate_sigma_min(tri, n);
    const double threshold = 10.0 * std::max(rcond, std::sqrt(kEps));
    if (!(smax > 0) || !(smin > threshold * smax)) return false;

    // A^+ = R^-1 Q_1^T, with Q_1 the first n columns of Q.
    Matrix<double> q1 = Matrix<double>::Identity(m, n);
    q1.applyOnTheLeft(qr.householderQ());
    Matrix<double> result = q1.transpose();
    tri.solveInPlace(result);
    out.pinv = std::move(result);
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
    out.pinv = svd.matrixV().leftCols(rank) *
               s.head(rank).cwiseInverse().asDiagonal() *
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
    ThreadScope scope(threads);
    poll(check);
    if (m >= n) {
        if (!pinv_thin_qr(a, rcond, out)) pinv_svd(a, rcond, out);
    } else {
        // A^+ = ((A^T)^+)^T, and A^T is tall.
        Matrix<double> at = a.transpose();
        if (!pinv_thin_qr(at, rcond, out)) pinv_svd(at, rcond, out);
        out.pinv.transposeInPlace();
    }
    poll(check);
    return out;
}

}  // namespace archbound
