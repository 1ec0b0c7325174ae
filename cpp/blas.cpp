#include "blas.hpp"

#if !defined(_WIN32)
#include <dlfcn.h>
#endif

#include <atomic>
#include <climits>
#include <mutex>

namespace archbound {
namespace {

// The CBLAS constants (cblas.h), so that no BLAS header is needed to build.
constexpr int kColMajor = 102, kNoTrans = 111, kTrans = 112;

using DGemm = void (*)(int, int, int, int, int, int, double, const double*, int, const double*,
                       int, double, double*, int);
using SGemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int,
                       float, float*, int);
using SetThreads = void (*)(int);
using Describe = char* (*)();

struct OpenBlas {
    DGemm dgemm = nullptr;
    SGemm sgemm = nullptr;
    std::string description;
};

std::mutex load_mutex;
const OpenBlas* loaded = nullptr;  // never freed: the library stays loaded for the process
std::atomic<bool> enabled{false};

#if !defined(_WIN32)
void* symbol(void* handle, const char* name) {
    for (const char* prefix : {"scipy_", ""}) {
        if (void* found = dlsym(handle, (std::string(prefix) + name).c_str())) return found;
    }
    return nullptr;
}
#endif

const OpenBlas* active() {
    return enabled.load(std::memory_order_relaxed) ? loaded : nullptr;
}

bool fits_int(Index m, Index n, Index k, Index lda, Index ldb, Index ldc) {
    for (Index v : {m, n, k, lda, ldb, ldc})
        if (v > INT_MAX) return false;
    return true;
}

template <class S> void call(const OpenBlas& blas, int ta, int tb, int m, int n, int k, S alpha,
                             const S* a, int lda, const S* b, int ldb, S beta, S* c, int ldc);
template <> void call<double>(const OpenBlas& blas, int ta, int tb, int m, int n, int k,
                              double alpha, const double* a, int lda, const double* b, int ldb,
                              double beta, double* c, int ldc) {
    blas.dgemm(kColMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
template <> void call<float>(const OpenBlas& blas, int ta, int tb, int m, int n, int k,
                             float alpha, const float* a, int lda, const float* b, int ldb,
                             float beta, float* c, int ldc) {
    blas.sgemm(kColMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
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

#if defined(_WIN32)
std::string load_blas(const std::string&) { return "loading a BLAS is not supported on Windows"; }
#else
std::string load_blas(const std::string& path) {
    std::lock_guard<std::mutex> lock(load_mutex);
    if (loaded) {
        enabled = true;
        return "";
    }
    // RTLD_LOCAL: the library's `scipy_*` symbols must not interpose on another copy of
    // OpenBLAS in the process (SciPy vendors one with the same names).
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* why = dlerror();
        return why ? why : "dlopen failed";
    }
    auto dgemm = reinterpret_cast<DGemm>(symbol(handle, "cblas_dgemm"));
    auto sgemm = reinterpret_cast<SGemm>(symbol(handle, "cblas_sgemm"));
    auto set_threads = reinterpret_cast<SetThreads>(symbol(handle, "openblas_set_num_threads"));
    if (!dgemm || !sgemm || !set_threads) {
        dlclose(handle);
        return path + " has no cblas_dgemm, cblas_sgemm and openblas_set_num_threads";
    }
    // One thread per call: the core parallelises around its products.
    set_threads(1);
    auto* blas = new OpenBlas{dgemm, sgemm, "openblas"};
    if (auto config = reinterpret_cast<Describe>(symbol(handle, "openblas_get_config")))
        blas->description += std::string(" ") + config();
    if (auto core = reinterpret_cast<Describe>(symbol(handle, "openblas_get_corename")))
        blas->description += std::string(" (") + core() + ")";
    loaded = blas;
    enabled = true;
    return "";
}
#endif

void use_loaded_blas(bool on) { enabled = on; }

std::string blas_backend() {
    const OpenBlas* blas = active();
    return blas ? blas->description : "eigen";
}

template <class S>
void gemm(bool transpose_a, bool transpose_b, Index m, Index n, Index k, S alpha, const S* a,
          Index lda, const S* b, Index ldb, S beta, S* c, Index ldc) {
    if (m == 0 || n == 0) return;
    const OpenBlas* blas = active();
    if (blas && k > 0 && fits_int(m, n, k, lda, ldb, ldc)) {
        call<S>(*blas, transpose_a ? kTrans : kNoTrans, transpose_b ? kTrans : kNoTrans, int(m),
                int(n), int(k), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
        return;
    }
    Eigen::Map<Matrix<S>, 0, Eigen::OuterStride<>> result(c, m, n, Eigen::OuterStride<>(ldc));
    StridedMap<S> ma(a, transpose_a ? k : m, transpose_a ? m : k, Eigen::OuterStride<>(lda));
    StridedMap<S> mb(b, transpose_b ? n : k, transpose_b ? k : n, Eigen::OuterStride<>(ldb));
    if (transpose_a && transpose_b)
        eigen_product<S>(ma.transpose(), mb.transpose(), alpha, beta, result);
    else if (transpose_a)
        eigen_product<S>(ma.transpose(), mb, alpha, beta, result);
    else if (transpose_b)
        eigen_product<S>(ma, mb.transpose(), alpha, beta, result);
    else
        eigen_product<S>(ma, mb, alpha, beta, result);
}

template void gemm<float>(bool, bool, Index, Index, Index, float, const float*, Index,
                          const float*, Index, float, float*, Index);
template void gemm<double>(bool, bool, Index, Index, Index, double, const double*, Index,
                           const double*, Index, double, double*, Index);

}  // namespace archbound
