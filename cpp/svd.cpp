#include "svd.hpp"

#include <Eigen/SVD>

namespace archbound {

Svd svd(const ConstMatrixRef<double>& a, bool vectors) {
    Eigen::BDCSVD<Matrix<double>> d(a, vectors ? Eigen::ComputeThinU | Eigen::ComputeThinV : 0);
    Svd out;
    out.values = d.singularValues();
    if (vectors) out.u = d.matrixU(), out.v = d.matrixV();
    return out;
}

}  // namespace archbound
