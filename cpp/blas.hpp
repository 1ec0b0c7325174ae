// Dense products of the hot paths (forward, pinv, construct): the BLAS that SciPy ships, or
// Eigen's own kernels.
//
// SciPy exports its BLAS as function pointers (the PyCapsules of scipy.linalg.cython_blas,
// Fortran calling convention), the route that
// scikit-learn takes. The Python package hands those pointers to set_blas() at import, so the
// core links no BLAS, loads no library of its own and adds no third OpenBLAS to the process.
// Without them (the C++ benchmarks, or ARCHBOUND_BLAS=eigen) Eigen's kernels are used.
//
// Threads: SciPy's OpenBLAS runs its own thread pool. It is therefore only ever called from
// outside an OpenMP parallel region (gemm() checks omp_in_parallel() and falls back to Eigen's
// serial kernel inside one), so archbound's threads times the BLAS's threads never exceed the
// cores the BLAS was given.
#pragma once

#include "common.hpp"

#include <string>

namespace archbound {

/// Addresses of the Fortran BLAS/LAPACK routines the core uses; null where unavailable.
struct BlasFunctions {
    void* dgemm = nullptr;
    void* sgemm = nullptr;
    void* dtrsm = nullptr;
    void* dgeqrf = nullptr;  // LAPACK (scipy.linalg.cython_lapack): the QR of small matrices
    void* dorgqr = nullptr;
    void* dgesdd = nullptr;  // LAPACK: the SVD (always, whether or not the BLAS is turned on)
    std::string description;
};

/// Installs the routines (call once, before any computation) and turns them on.
void set_blas(const BlasFunctions& functions);

/// Turns the installed routines on or off (Eigen's kernels when off or when none installed).
void use_blas(bool on);

/// The description given to set_blas() while its routines are on, else "eigen".
std::string blas_backend();

/// True when gemm() goes to the installed BLAS from this thread (outside parallel regions).
bool have_blas();

/// Products smaller than this (multiply-adds) go to Eigen's serial kernel: SciPy's OpenBLAS
/// wakes its threads for them, which costs more than it saves (measured: a 50 x 360 x 64
/// product took 40 us on one thread, far longer with the threads woken).
inline constexpr double kBlasMinWork = double(1 << 21);

/// C <- alpha op(A) op(B) + beta C on column-major storage. op(A) is m x k, op(B) is k x n,
/// C is m x n; `transpose_a` means op(A) = A^T. With beta == 0, C need not be initialised.
/// Outside a parallel region, and from 2^21 multiply-adds up, it goes to the installed BLAS
/// (which may use its own threads); otherwise to Eigen's serial kernel.
template <class S>
void gemm(bool transpose_a, bool transpose_b, Index m, Index n, Index k, S alpha, const S* a,
          Index lda, const S* b, Index ldb, S beta, S* c, Index ldc);

extern template void gemm<float>(bool, bool, Index, Index, Index, float, const float*, Index,
                                 const float*, Index, float, float*, Index);
extern template void gemm<double>(bool, bool, Index, Index, Index, double, const double*, Index,
                                  const double*, Index, double, double*, Index);

/// True when the installed LAPACK's dgeqrf and dorgqr can be called from this thread.
bool have_lapack_qr();

/// LAPACK dgeqrf: in-place QR of the m x n (m >= n)
/// column-major `a` in dgeqrf's layout, with the reflectors' coefficients in `tau` (n).
/// Only when have_lapack_qr(); one uninterruptible call, so for small matrices only.
void lapack_qr(Index m, Index n, double* a, Index lda, double* tau);

/// LAPACK dorgqr: overwrites lapack_qr's output with the thin factor Q_1 (m x n).
void lapack_thin_q(Index m, Index n, double* a, Index lda, const double* tau);

/// True when the installed LAPACK's dgesdd can be called. Unlike the products and the QR, the
/// SVD has no Eigen counterpart in the core (Eigen's BDCSVD took a third of its compile time),
/// so it does not follow use_blas(): it is LAPACK's whenever the routine is installed.
bool have_lapack_svd();

/// LAPACK dgesdd (divide and conquer) of the m x n column-major `a`, which it overwrites:
/// the min(m, n) singular values in decreasing order into `s`, and with `vectors` the thin
/// U (m x k, leading dimension m) into `u` and V^T (k x n, leading dimension k) into `vt`.
/// One uninterruptible call.
void lapack_svd(Index m, Index n, double* a, double* s, bool vectors, double* u, double* vt);

/// BLAS dtrsm: B <- B R^-T for the upper-triangular n x n `r`, B being m x n. Only when
/// have_blas().
void blas_solve_right_transposed(Index m, Index n, const double* r, Index ldr, double* b,
                                 Index ldb);

}  // namespace archbound
