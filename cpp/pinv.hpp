// Moore-Penrose generalized inverse (docs/design.md §2.1).
#pragma once

#include "common.hpp"

namespace archbound {

/// How far the thin-QR path's estimates of sigma_max and sigma_min converge (see pinv).
enum class Estimates { reported, decision };

struct PinvResult {
    Matrix<double> pinv;     ///< cols x rows
    Index rank = 0;          ///< singular values above rcond * sigma_max
    double sigma_max = 0;    ///< largest singular value (exact, or a Lanczos estimate from below)
    double sigma_min = 0;    ///< smallest singular value (exact, or a Lanczos estimate from above)
    bool fast_path = false;  ///< true when the thin-QR path was taken
};

/// A^+ for a rows x cols matrix A.
///
/// Rank is judged against rcond * sigma_max; rcond < 0 selects max(rows, cols) * eps, as in
/// numpy.linalg.pinv. If A has full column rank (or, for wide A, full row rank) and its
/// estimated condition number is below 1 / (10 * max(rcond, sqrt(eps))), the thin QR
/// A = Q R gives A^+ = R^-1 Q^T. Otherwise the SVD A = U S V^T gives A^+ = V S^+ U^T, with
/// singular values at or below the tolerance treated as zero.
///
/// With `form_inverse` false, only the rank and the singular values (or their estimates) are
/// computed, by the same rule, and `pinv` is left empty. With `estimates` = decision, the
/// thin-QR path's Lanczos estimates stop once they serve the path decision (to about 1e-3
/// relative) instead of converging to about 1e-10: for callers that do not report them.
PinvResult pinv(const ConstMatrixRef<double>& a, double rcond, int threads,
                const InterruptCheck& check = {}, bool form_inverse = true,
                Estimates estimates = Estimates::reported);

}  // namespace archbound
