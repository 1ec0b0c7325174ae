// The singular value decomposition of the core: LAPACK's dgesdd, from the LAPACK that SciPy
// ships (cpp/blas.hpp). Eigen's BDCSVD, which it replaces, was a third of the core's compile
// time (docs/design.md §3.8).
#pragma once

#include "common.hpp"

namespace archbound {

struct Svd {
    Vector<double> values;  ///< min(rows, cols) singular values, in decreasing order
    Matrix<double> u, v;    ///< thin factors (rows x k and cols x k), or empty when not asked
};

/// Singular values of the rows x cols matrix `a` (with the thin U and V when `vectors`), by
/// divide and conquer (LAPACK dgesdd, on the BLAS's own threads). Throws where no LAPACK is
/// installed (the core outside the Python package).
Svd svd(const ConstMatrixRef<double>& a, bool vectors);

}  // namespace archbound
