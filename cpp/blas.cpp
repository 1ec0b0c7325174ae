#include "blas.hpp"
#include "parallel.hpp"


#include <algorithm>
#include <atomic>
#include <climits>
#include <mutex>
#include <vector>

namespace archbound {
namespace {

// Fortran signatures of scipy.linalg.cython_blas (LP64: int is 32 bits).
using DGemm = void (*)(const char*, const char*, const int*, const int*, const int*, const double*,
                       const double*, const int*, const double*, const int*, const double*, double*,
                       const int*);
using SGemm = void (*)(const char*, const char*, const int*, const int*, const int*, const float*,
                       const float*, const int*, const float*, const int*, const float*, float*,
                       const int*);
using DTrsm = void (*)(const char*, const char*, const char*, const char*, const int*, const int*,
                       const double*, const double*, const int*, double*, const int*);
using DGeqrf = void (*)(const int*, const int*, double*, const int*, double*, double*, const int*,
                        int*);
using DOrgqr = void (*)(const int*, const int*, const int*, double*, const int*, const double*,
                        double*, const int*, int*);
using DGesdd = void (*)(const char*, const int*, const int*, double*, const int*, double*, double*,
                        const int*, double*, const int*, double*, const int*, int*, int*);


std::mutex install_mutex;
const BlasFunctions* installed = nullptr;  // never freed: installed once for the process
std::atomic<bool> enabled{false};

const BlasFunctions* active() {
    return enabled.load(std::memory_order_relaxed) ? installed : nullptr;
}

bool fits_int(std::initializer_list<Index> values) {
    for (Index v : values)
        if (v > INT_MAX) return false;
    return true;
}

template <class S> void call_gemm(const BlasFunctions& blas, char ta, char tb, int m, int n, int k,
                                  S alpha, const S* a, int lda, const S* b, int ldb, S beta, S* c,
                                  int ldc) {
    if constexpr (sizeof(S) == 8)
        reinterpret_cast<DGemm>(blas.dgemm)(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta,
                                            c, &ldc);
    else
        reinterpret_cast<SGemm>(blas.sgemm)(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta,
                                            c, &ldc);
}

template <class S>
using StridedMap = Eigen::Map<const Matrix<S>, 0, Eigen::OuterStride<>>;

template <class S, class A, class B>
void eigen_product(const A& op_a, const B& op_b, S alpha, S beta,
                   Eigen::Map<Matrix<S>, 0, Eigen::OuterStride<>> c) {
    if (beta == S(0))
        c.noalias() = alpha * op_a * op_b;
    else {
        if (beta != S(1)) c *= beta;
        c.noalias() += alpha * op_a * op_b;
    }
}

}  // namespace

void set_blas(const BlasFunctions& functions) {
    std::lock_guard<std::mutex> lock(install_mutex);
    if (!installed) installed = new BlasFunctions(functions);
    enabled = installed->dgemm && installed->sgemm;
}

void use_blas(bool on) { enabled = on && installed && installed->dgemm && installed->sgemm; }

std::string blas_backend() {
    const BlasFunctions* blas = active();
    return blas ? blas->description : "eigen";
}

bool have_blas() { return active() && !in_parallel_region(); }

template <class S>
void gemm(bool transpose_a, bool transpose_b, Index m, Index n, Index k, S alpha, const S* a,
          Index lda, const S* b, Index ldb, S beta, S* c, Index ldc) {
    if (m == 0 || n == 0) return;
    const BlasFunctions* blas = active();
    if (blas && k > 0 && double(m) * double(n) * double(k) >= kBlasMinWork && !in_parallel_region() &&
        fits_int({m, n, k, lda, ldb, ldc})) {
        call_gemm<S>(*blas, transpose_a ? 'T' : 'N', transpose_b ? 'T' : 'N', int(m), int(n),
                     int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
        return;
    }
    Eigen::Map<Matrix<S>, 0, Eigen::OuterStride<>> result(c, m, n, Eigen::OuterStride<>(ldc));
    StridedMap<S> ma(a, transpose_a ? k : m, transpose_a ? m : k, Eigen::OuterStride<>(lda));
    if (transpose_b) {
        // No caller of the core transposes B: a copy keeps Eigen's product kernels (the
        // costliest code of this file to compile) to the two forms the core uses.
        const Matrix<S> copy = StridedMap<S>(b, n, k, Eigen::OuterStride<>(ldb)).transpose();
        gemm<S>(transpose_a, false, m, n, k, alpha, a, lda, copy.data(), k, beta, c, ldc);
        return;
    }
    StridedMap<S> mb(b, k, n, Eigen::OuterStride<>(ldb));
    // Eigen's own products would start OpenMP threads for medium sizes: serial here.
    ThreadScope serial(1);
    if (transpose_a)
        eigen_product<S>(ma.transpose(), mb, alpha, beta, result);
    else
        eigen_product<S>(ma, mb, alpha, beta, result);
}

template void gemm<float>(bool, bool, Index, Index, Index, float, const float*, Index, const float*,
                          Index, float, float*, Index);
template void gemm<double>(bool, bool, Index, Index, Index, double, const double*, Index,
                           const double*, Index, double, double*, Index);

void blas_solve_right_transposed(Index m, Index n, const double* r, Index ldr, double* b,
                                 Index ldb) {
    require(have_blas() && installed->dtrsm && fits_int({m, n, ldr, ldb}),
            "dtrsm: BLAS is not available");
    const int im = int(m), in = int(n), ildr = int(ldr), ildb = int(ldb);
    const double one = 1.0;
    const char side = 'R', uplo = 'U', trans = 'T', diag = 'N';
    reinterpret_cast<DTrsm>(active()->dtrsm)(&side, &uplo, &trans, &diag, &im, &in, &one, r, &ildr,
                                             b, &ildb);
}

bool have_lapack_qr() { return have_blas() && active()->dgeqrf && active()->dorgqr; }

namespace {

/// LAPACK's workspace query (lwork = -1), then the call with that workspace.
template <class Call> void with_workspace(const char* routine, Call&& call) {
    double size = 0;
    int info = 0;
    call(&size, -1, &info);
    require(info == 0, std::string(routine) + ": LAPACK workspace query failed");
    std::vector<double> work(size_t(std::max(1.0, size)));
    call(work.data(), int(work.size()), &info);
    require(info == 0, std::string(routine) + " failed (LAPACK info " + std::to_string(info) + ")");
}

}  // namespace

void lapack_qr(Index m, Index n, double* a, Index lda, double* tau) {
    require(have_lapack_qr() && fits_int({m, n, lda}), "dgeqrf: LAPACK is not available");
    const int im = int(m), in = int(n), ilda = int(lda);
    const auto f = reinterpret_cast<DGeqrf>(active()->dgeqrf);
    with_workspace("dgeqrf", [&](double* work, int lwork, int* info) {
        f(&im, &in, a, &ilda, tau, work, &lwork, info);
    });
}

void lapack_thin_q(Index m, Index n, double* a, Index lda, const double* tau) {
    require(have_lapack_qr() && fits_int({m, n, lda}), "dorgqr: LAPACK is not available");
    const int im = int(m), in = int(n), ilda = int(lda);
    const auto f = reinterpret_cast<DOrgqr>(active()->dorgqr);
    with_workspace("dorgqr", [&](double* work, int lwork, int* info) {
        f(&im, &in, &in, a, &ilda, tau, work, &lwork, info);
    });
}

bool have_lapack_svd() { return installed && installed->dgesdd; }

void lapack_svd(Index m, Index n, double* a, double* s, bool vectors, double* u, double* vt) {
    require(have_lapack_svd(),
            "the SVD needs LAPACK's dgesdd, which the archbound package installs at import");
    const Index k = std::min(m, n);
    require(fits_int({m, n, 8 * k}), "dgesdd: the matrix is too large for 32-bit LAPACK");
    const int im = int(m), in = int(n), lda = int(std::max<Index>(1, m));
    const int ldu = vectors ? lda : 1, ldvt = vectors ? int(std::max<Index>(1, k)) : 1;
    const char job = vectors ? 'S' : 'N';
    std::vector<int> iwork(size_t(8 * k));
    const auto f = reinterpret_cast<DGesdd>(installed->dgesdd);
    with_workspace("dgesdd", [&](double* work, int lwork, int* info) {
        f(&job, &im, &in, a, &lda, s, u, &ldu, vt, &ldvt, work, &lwork, iwork.data(), info);
    });
}

}  // namespace archbound
