// Blocked Householder QR of a tall matrix, and its thin Q factor (LAPACK's dgeqrf / dorgqr
// layout and conventions), with the products on the BLAS of blas.hpp. Small matrices (under
// 2^21 multiply-adds) go to LAPACK's own dgeqrf / dorgqr where SciPy's is installed.
#pragma once

#include "common.hpp"

namespace archbound {

/// In place: A (m x n, m >= n) = Q R, with R on and above the diagonal and the Householder
/// vectors below it, H_k = I - tau_k v_k v_k^T. Polls `check` between column blocks.
void householder_qr(Eigen::Ref<Matrix<double>> a, Eigen::Ref<Vector<double>> tau, int threads,
                    const InterruptCheck& check);

/// Overwrites the output of householder_qr with the thin factor Q_1 (m x n).
void form_thin_q(Eigen::Ref<Matrix<double>> a, const Eigen::Ref<const Vector<double>>& tau,
                 int threads, const InterruptCheck& check);

}  // namespace archbound
