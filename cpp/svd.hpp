// The singular value decomposition of the core (Eigen's BDCSVD), in one translation unit:
// its template is by far the costliest code of the core to compile (docs/design.md §3.8).
#pragma once

#include "common.hpp"

namespace archbound {

struct Svd {
    Vector<double> values;  ///< min(rows, cols) singular values, in decreasing order
    Matrix<double> u, v;    ///< thin factors (rows x k and cols x k), or empty when not asked
};

/// Singular values of the rows x cols matrix `a` (with the thin U and V when `vectors`), by
/// divide and conquer (Eigen::BDCSVD). Eigen's products inside follow OpenMP's thread count.
Svd svd(const ConstMatrixRef<double>& a, bool vectors);

}  // namespace archbound
