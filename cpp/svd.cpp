#include "svd.hpp"

#include "blas.hpp"

namespace archbound {

Svd svd(const ConstMatrixRef<double>& a, bool vectors) {
    const Index m = a.rows(), n = a.cols(), k = std::min(m, n);
    Svd out;
    out.values.resize(k);
    if (k == 0) {
        if (vectors) out.u.resize(m, 0), out.v.resize(n, 0);
        return out;
    }
    Matrix<double> work = a;  // dgesdd overwrites its input
    Matrix<double> vt;
    double unused = 0.0;
    if (vectors) out.u.resize(m, k), vt.resize(k, n);
    lapack_svd(m, n, work.data(), out.values.data(), vectors, vectors ? out.u.data() : &unused,
               vectors ? vt.data() : &unused);
    if (vectors) out.v = vt.transpose();
    return out;
}

}  // namespace archbound
