// Matrix products of the hot paths (forward, pinv): Eigen's GEMM, or an OpenBLAS loaded at
// run time when one is available.
//
// Eigen 3.4's GEMM kernel reaches about 75-80% of OpenBLAS's on AVX-512 and AVX2 machines, and
// falls back to SSE2 when the module is built without -march=native (redistributable wheels).
// OpenBLAS selects its kernel for the CPU at run time. pip installs one as the
// scipy-openblas32 wheel (symbols prefixed `scipy_`), which the Python package hands to
// load_blas() by path; nothing is linked at build time, so the build needs no BLAS and the
// core works, with Eigen's kernels, without one.
//
// OpenBLAS is always called with one thread, from the core's own OpenMP threads: the callers
// split the work (blocks of samples, column chunks of a block reflector), so there is no
// nested parallelism and no synchronisation inside a product.
#pragma once

#include "common.hpp"

#include <string>

namespace archbound {

/// Loads the CBLAS of the OpenBLAS shared library at `path` (prefixed `scipy_` or not) and
/// routes gemm() to it. Returns an empty string on success, else the reason it failed (the
/// Eigen kernels stay in use). Call it once, before any computation.
std::string load_blas(const std::string& path);

/// Turns the loaded OpenBLAS on or off (Eigen's kernels when off or when none is loaded).
void use_loaded_blas(bool on);

/// "openblas <config> (<core>)" when gemm() goes to OpenBLAS, else "eigen".
std::string blas_backend();

/// C <- alpha op(A) op(B) + beta C on column-major storage, computed by the calling thread
/// only. op(A) is m x k, op(B) is k x n, C is m x n; `transpose_a` means op(A) = A^T.
/// With beta == 0, C need not be initialised.
template <class S>
void gemm(bool transpose_a, bool transpose_b, Index m, Index n, Index k, S alpha, const S* a,
          Index lda, const S* b, Index ldb, S beta, S* c, Index ldc);

extern template void gemm<float>(bool, bool, Index, Index, Index, float, const float*, Index,
                                 const float*, Index, float, float*, Index);
extern template void gemm<double>(bool, bool, Index, Index, Index, double, const double*, Index,
                                  const double*, Index, double, double*, Index);

}  // namespace archbound
