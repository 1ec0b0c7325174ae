// Train/test geometry: the blocked nearest-neighbour kernel of every bound (docs/design.md §2.4).
#pragma once

#include "common.hpp"

#include <cstdint>

namespace archbound {

using IndexVector = Eigen::Matrix<std::int64_t, Eigen::Dynamic, 1>;

using IndexMatrix = Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic>;

/// B_jk, its argmin and the feature distance there, for every test sample j and objective k.
template <class S> struct NearestResult {
    Matrix<S> values;     ///< m x K: B_jk; +inf when no training sample shares j's class
    IndexMatrix indices;  ///< m x K: the minimizing training index (lowest on ties); -1 if none
    Matrix<S> distances;  ///< m x K: |F_j - G_i| at that index (+inf where none); 0 x 0
                          ///< when not asked for
};

/// For test features F (d x m) and training features G (d x N), a column per sample, and K
/// objectives given by weights alpha_k and offset columns r_k:
///
///   B_jk = min_i ( alpha_k |F_j - G_i| + |ytilde_j - y_i| + r_ik ),
///
/// with the label term present when `test_labels` (Q x m) and `train_labels` (Q x N) are not
/// empty, the offsets (N x K) when `offsets` is not empty, and, when `test_classes` (m) and
/// `train_classes` (N) are not empty, i restricted to the training samples of j's class.
/// Several objectives share one pass over the data: the distances are computed once and
/// each objective is one more minimum over them (many networks, one training set).
///
/// The m x N distance matrix is never formed. Test samples are taken in tiles of `block_size`
/// columns (0: automatic) against blocks of training samples; for d > 8 each tile-block pair
/// is one GEMM on data centred at the training mean, |f|^2 + |g|^2 - 2<f,g>, whose entries
/// below a relative threshold of |f|^2 + |g|^2 (cancellation) are recomputed as |f - g|^2
/// from the original data. For d <= 8, and for the labels, squared differences are summed
/// directly. Tiles run in parallel (OpenMP, `threads`, 0 = default); interrupts are polled
/// between groups of tiles. The result does not depend on the thread count. The distances at
/// the minimizers are computed only when `with_distances` is true.
template <class S>
NearestResult<S> nearest(const ConstMatrixRef<S>& test, const ConstMatrixRef<S>& train,
                         const Eigen::Ref<const Vector<S>>& alphas,
                         const ConstMatrixRef<S>& test_labels,
                         const ConstMatrixRef<S>& train_labels, const ConstMatrixRef<S>& offsets,
                         const Eigen::Ref<const IndexVector>& test_classes,
                         const Eigen::Ref<const IndexVector>& train_classes, Index block_size,
                         int threads, const InterruptCheck& check = {}, bool with_distances = true);

/// Bytes nearest<S> allocates beyond its inputs and results for these sizes (m test and N
/// training samples, d features, Q label columns, K objectives), with its own block sizes
/// and thread count: what a caller checks against the memory it has before calling.
template <class S>
double nearest_workspace_bytes(Index m, Index N, Index d, Index Q, Index objectives,
                               Index block_size, int threads);

/// Plain nearest neighbour: B_j = min_i |F_j - G_i|.
template <class S> NearestResult<S> nearest_neighbour(const ConstMatrixRef<S>& test,
                                                      const ConstMatrixRef<S>& train,
                                                      Index block_size, int threads,
                                                      const InterruptCheck& check = {}) {
    return nearest<S>(test, train, Vector<S>::Ones(1), Matrix<S>(), Matrix<S>(), Matrix<S>(),
                      IndexVector(), IndexVector(), block_size, threads, check);
}

#define ARCHBOUND_DECLARE_NEAREST(S)                                                            \
    extern template NearestResult<S> nearest<S>(                                                \
        const ConstMatrixRef<S>&, const ConstMatrixRef<S>&, const Eigen::Ref<const Vector<S>>&, \
        const ConstMatrixRef<S>&, const ConstMatrixRef<S>&, const ConstMatrixRef<S>&,           \
        const Eigen::Ref<const IndexVector>&, const Eigen::Ref<const IndexVector>&, Index, int, \
        const InterruptCheck&, bool);
ARCHBOUND_DECLARE_NEAREST(float)
ARCHBOUND_DECLARE_NEAREST(double)
extern template double nearest_workspace_bytes<float>(Index, Index, Index, Index, Index, Index,
                                                      int);
extern template double nearest_workspace_bytes<double>(Index, Index, Index, Index, Index, Index,
                                                       int);
#undef ARCHBOUND_DECLARE_NEAREST

}  // namespace archbound
