// What becomes of the geometry kernel's distances (docs/design.md §2.4.2), after faiss's
// BlockResultHandler: the tile loop in cpp/geometry.cpp hands every test sample's squared
// feature distances to one block of training samples to a handler, which keeps the running
// minimum and argmin (training position) of its objectives in best[k * count + c] and
// where[k * count + c]. Blocks arrive in training order and a minimum moves only to a
// strictly lower value, so earlier blocks win ties. A new objective is a new handler, not a
// new flag in the tile loop. Internal to cpp/geometry.cpp.
#pragma once

#include "geometry_kernel.hpp"

#include <vector>

namespace archbound {
namespace geometry_kernel {

template <class S> using BlockValues = Eigen::Ref<Eigen::Array<S, Eigen::Dynamic, 1>>;

/// Nearest neighbours (one objective, no labels, no offsets): the minimum of |F_j - G_i|^2,
/// which the tile loop has already found; the square root (times alpha) is taken once, at
/// the end.
template <class S> struct SquaredTop1 {
    S* best;
    Index* where;

    static constexpr bool wants_minimum = true;  // the tile loop's minimum is the result
    void add(Index c, Index /*j*/, Index a, BlockValues<S> /*values*/, S low, Index at) {
        if (low < best[c]) best[c] = low, where[c] = a + at;
    }
};

/// Every objective k: alpha_k |F_j - G_i| + |y~_j - y_i| + r_ik, the label term where
/// `label_rows` (training labels, N x Q in training order) is given and the offset term
/// where `offset` (N x K) is.
template <class S> struct ObjectiveTop1 {
    const std::vector<S>& alphas;
    bool features;
    const Matrix<S>* label_rows;
    const Eigen::Ref<const Matrix<S>>& test_labels;  // Q x m
    const Matrix<S>* offset;
    Eigen::Array<S, Eigen::Dynamic, 1>& label_values;  // scratch: one training block
    Eigen::Array<S, Eigen::Dynamic, 1>& objective;
    Index count;
    S* best;
    Index* where;

    static constexpr bool wants_minimum = false;
    void add(Index c, Index j, Index a, BlockValues<S> values, S /*low*/, Index /*at*/) {
        const Index len = values.size();
        // values becomes |F_j - G_i| (0 without features), labels |y~_j - y_i|.
        if (features)
            values = values.max(S(0)).sqrt();
        else
            values.setZero();
        auto labels = label_values.head(len);
        if (label_rows) {
            labels.setZero();
            add_squared_differences(*label_rows, a, len, test_labels.col(j).data(),
                                    test_labels.rows(), labels);
            labels = labels.sqrt();
        }
        auto sum = objective.head(len);
        for (Index k = 0; k < Index(alphas.size()); ++k) {
            sum = alphas[size_t(k)] * values;
            if (label_rows) sum += labels;
            if (offset) sum += offset->col(k).segment(a, len).array();
            const auto [low, at] = min_and_index(sum.data(), len);
            if (low < best[k * count + c]) best[k * count + c] = low, where[k * count + c] = a + at;
        }
    }
};

}  // namespace geometry_kernel
}  // namespace archbound
