#include "geometry.hpp"

#include "geometry_handlers.hpp"
#include "geometry_kernel.hpp"
#include "parallel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace archbound {
namespace {

using geometry_kernel::AlignedVector;
using geometry_kernel::Kernel;
using geometry_kernel::micro_kernel;
using geometry_kernel::add_squared_differences;
using geometry_kernel::min_and_index;
using geometry_kernel::ObjectiveTop1;
using geometry_kernel::SquaredTop1;

/// Up to this many dimensions, squared distances are summed directly (exact, no GEMM).
constexpr Index kDirectMaxDim = 8;
constexpr Index kDefaultTestBlock = 256;
/// Training samples per block of the direct path.
constexpr Index kDirectBlock = 1024;
/// Largest run of the inner dimension per micro-kernel call (its test panel stays in L1).
constexpr Index kMaxDepth = 512;
/// Work per item (one test tile against a run of training blocks).
constexpr double kItemFlops = 2.0e9;
/// Problems below this many multiply-adds run serially.
constexpr double kSerialFlops = 1 << 22;
/// Arrays of more elements than this are scanned or packed on all threads.
constexpr Index kParallelScan = 1 << 16;
/// Coordinates per run of the training packing's transposition.
constexpr Index kPackRun = 16;

/// A GEMM squared distance below guard * (|f|^2 + |g|^2) is recomputed directly. Above it the
/// relative error of the distance is below about 1e-5 (float) and 1e-12 (double): measured
/// GEMM errors are a few eps * (|f|^2 + |g|^2).
template <class S> constexpr S kGuard = sizeof(S) == 4 ? S(1) / 32 : S(1) / 1024;

/// Samples sorted stably by class, as ranges of positions; one range when there are no classes.
struct ClassGroups {
    std::vector<Index> order;  // position -> original sample index
    std::vector<std::int64_t> label;
    std::vector<Index> begin, end;
};

ClassGroups group_by_class(const Eigen::Ref<const IndexVector>& classes, Index n) {
    ClassGroups g;
    g.order.resize(size_t(n));
    std::iota(g.order.begin(), g.order.end(), Index(0));
    if (classes.size() == 0) {
        if (n > 0) g.label.push_back(0), g.begin.push_back(0), g.end.push_back(n);
        return g;
    }
    std::stable_sort(g.order.begin(), g.order.end(),
                     [&](Index a, Index b) { return classes[a] < classes[b]; });
    for (Index p = 0; p < n;) {
        const std::int64_t c = classes[g.order[size_t(p)]];
        Index q = p;
        while (q < n && classes[g.order[size_t(q)]] == c) ++q;
        g.label.push_back(c), g.begin.push_back(p), g.end.push_back(q);
        p = q;
    }
    return g;
}

/// One test tile (positions [first, first + count) of the test order) against the training
/// positions [begin, end). Training blocks lie on a global grid of multiples of bn, so every
/// computed pair is the same however the work is split.
struct Item {
    Index first, count, begin, end;
};

template <class S> struct Problem {
    const ConstMatrixRef<S>& test;
    const ConstMatrixRef<S>& train;
    const ConstMatrixRef<S>& test_labels;
    std::vector<S> alphas;                          // one per objective
    bool features, gemm, labels, offsets, squared;  // squared: values are |f - g|^2 until the end
    Index bn, depth;  // training block; inner-dimension run of the micro-kernel
    std::vector<Index> test_order, train_order;
    // The training side, in class order, prepared once.
    Vector<S> center;      // d: the training mean (GEMM path)
    Vector<S> packed;      // panels of MR centred samples, coordinate-major (GEMM path)
    Vector<S> norms;       // N: |G_i - center|^2 (GEMM path)
    Matrix<S> coords;      // N x d: coordinate q of every sample contiguous (direct path)
    Matrix<S> label_rows;  // N x Q
    Matrix<S> offset;      // N x K
    Index objectives() const { return Index(alphas.size()); }
};

template <class S> struct Workspace {
    AlignedVector<S> tile;  // d x bt (padded to a multiple of NR): centred test samples
    Vector<S> tile_norms;   // bt
    Matrix<S> products;     // (bn + MR) x bt: <G_i - c, F_j - c>
    Eigen::Array<S, Eigen::Dynamic, 1> values, label_values, objective;  // one training block
};

/// Squared differences of coordinates up to this size, summed over `dims`, stay finite.
/// Large arrays are scanned in column chunks on `threads` threads (a maximum is exact).
template <class S>
void require_representable(const ConstMatrixRef<S>& a, const char* what, int threads) {
    const double limit =
        std::sqrt(double(std::numeric_limits<S>::max()) / (8.0 * double(a.rows())));
    const Index cols = a.cols();
    const Index parts = a.size() > kParallelScan ? std::min<Index>(threads, cols) : 1;
    std::vector<S> largest(size_t(parts), S(0));
    parallel_for(
        0, parts, int(parts),
        [&](Index c) {
            const Index begin = cols * c / parts, count = cols * (c + 1) / parts - begin;
            if (count == 0) return;
            // One flat pass when the columns are contiguous (as the bindings pass them).
            largest[size_t(c)] = a.outerStride() == a.rows()
                                     ? Eigen::Map<const Eigen::Array<S, Eigen::Dynamic, 1>>(
                                           a.data() + begin * a.rows(), count * a.rows())
                                           .abs()
                                           .maxCoeff()
                                     : a.middleCols(begin, count).cwiseAbs().maxCoeff();
        });
    require(double(*std::max_element(largest.begin(), largest.end())) <= limit,
            std::string(what) + " are too large: squared distances would overflow " +
                (sizeof(S) == 4 ? "float32; pass float64 data" : "float64"));
}

/// Centres the tile's test samples into ws.tile, a contiguous column each; the columns past
/// the tile, up to a multiple of NR, stay zero.
template <class S> void pack_tile(const Problem<S>& p, const Item& item, Workspace<S>& ws) {
    constexpr int NR = Kernel<S>::NR;
    const Index d = p.test.rows(), count = item.count;
    const Index padded = (count + NR - 1) / NR * NR;
    std::fill(ws.tile.begin() + count * d, ws.tile.begin() + padded * d, S(0));
    for (Index c = 0; c < count; ++c) {
        Eigen::Map<Vector<S>> column(ws.tile.data() + c * d, d);
        column = p.test.col(p.test_order[size_t(item.first + c)]) - p.center;
        ws.tile_norms[c] = column.squaredNorm();
    }
}

/// products(r, c) = <G_{a0 + r} - center, F_c - center> for the training panels that cover
/// positions [a, stop), where a0 = a rounded down to a multiple of MR.
template <class S>
void block_products(const Problem<S>& p, Workspace<S>& ws, Index count, Index a, Index stop) {
    constexpr int L = Kernel<S>::kLanes, MR = Kernel<S>::MR, NR = Kernel<S>::NR;
    const Index d = p.test.rows(), ld = ws.products.rows();
    const Index first_panel = a / MR, end_panel = (stop + MR - 1) / MR;
    const Index test_panels = (count + NR - 1) / NR;
    for (Index k = 0; k < d; k += p.depth) {
        const Index depth = std::min(p.depth, d - k);
        for (Index t = 0; t < test_panels; ++t)
            for (Index g = first_panel; g < end_panel; ++g) {
                const S* panel = p.packed.data() + g * MR * d + k * MR;
                const S* tile = ws.tile.data() + t * NR * d + k;
                S* out = ws.products.data() + (g - first_panel) * MR + t * NR * ld;
                // Only the packets that hold rows before `stop` (the last panel may be short).
                const Index rows = std::min(stop - g * MR, Index(MR));
                if (rows > 2 * L)
                    micro_kernel<S, 3>(panel, tile, d, depth, out, ld, k > 0);
                else if (rows > L)
                    micro_kernel<S, 2>(panel, tile, d, depth, out, ld, k > 0);
                else
                    micro_kernel<S, 1>(panel, tile, d, depth, out, ld, k > 0);
            }
    }
}

/// The tile loop: one test tile against the training blocks of `item`. For each block it
/// forms the squared feature distances of every test sample of the tile (by the GEMM path,
/// with the cancellation guard, or summed directly; zeros without features) and hands them to
/// the handler.
template <class S, class Handler>
void process(const Problem<S>& p, const Item& item, Workspace<S>& ws, Handler& handler) {
    constexpr int MR = Kernel<S>::MR;
    const Index d = p.test.rows(), count = item.count;
    const S guard = kGuard<S>;
    if (p.gemm) pack_tile(p, item, ws);
    for (Index a = item.begin, stop; a < item.end; a = stop) {
        stop = std::min(item.end, (a / p.bn + 1) * p.bn);
        const Index len = stop - a, row = a % MR;
        S largest_norm = 0;
        if (p.gemm) {
            block_products(p, ws, count, a, stop);
            largest_norm = p.norms.segment(a, len).maxCoeff();
        }
        auto values = ws.values.head(len);
        for (Index c = 0; c < count; ++c) {
            const Index j = p.test_order[size_t(item.first + c)];
            S low = 0;
            Index at = 0;
            if (p.features && p.gemm) {
                const S fn = ws.tile_norms[c];
                values = (fn + p.norms.segment(a, len).array()) -
                         S(2) * ws.products.col(c).segment(row, len).array();
                std::tie(low, at) = min_and_index(values.data(), len);
                if (low < guard * (fn + largest_norm)) {
                    // Cancellation guard: near-zero (or negative) entries, recomputed exactly.
                    for (Index i = 0; i < len; ++i)
                        if (values[i] < guard * (fn + p.norms[a + i]))
                            values[i] = (p.test.col(j) - p.train.col(p.train_order[size_t(a + i)]))
                                            .squaredNorm();
                    if (Handler::wants_minimum) std::tie(low, at) = min_and_index(values.data(), len);
                }
            } else if (p.features) {
                values.setZero();
                add_squared_differences(p.coords, a, len, p.test.col(j).data(), d, values);
                if (Handler::wants_minimum) std::tie(low, at) = min_and_index(values.data(), len);
            }
            handler.add(c, j, a, values, low, at);
        }
    }
}

/// Minimum and argmin (training position) of every objective for the `count` test samples of
/// `item`: best[k * count + c], where[k * count + c].
template <class S>
void process(const Problem<S>& p, const Item& item, Workspace<S>& ws, S* best, Index* where) {
    const Index count = item.count;
    std::fill(best, best + p.objectives() * count, std::numeric_limits<S>::infinity());
    std::fill(where, where + p.objectives() * count, item.begin);  // if every value is +inf
    if (p.squared) {
        SquaredTop1<S> handler{best, where};
        process(p, item, ws, handler);
    } else {
        ObjectiveTop1<S> handler{p.alphas,     p.features,       p.labels ? &p.label_rows : nullptr,
                                 p.test_labels, p.offsets ? &p.offset : nullptr, ws.label_values,
                                 ws.objective, count,            best,
                                 where};
        process(p, item, ws, handler);
    }
}

/// Splits every tile's training range into runs of whole grid blocks: a bounded amount of work
/// per item (interrupt latency) and enough items for every thread.
std::vector<Item> make_items(const std::vector<Item>& tiles, Index bt, Index bn, Index d,
                             int nthreads) {
    const double block_flops = 2.0 * double(bt) * double(bn) * double(std::max<Index>(d, 1));
    const Index max_blocks = std::max<Index>(1, Index(kItemFlops / block_flops));
    const Index tiles_count = std::max<Index>(1, Index(tiles.size()));
    const Index wanted = (4 * nthreads + tiles_count - 1) / tiles_count;
    std::vector<Item> items;
    for (const Item& t : tiles) {
        const Index first_block = t.begin / bn, blocks = (t.end - 1) / bn - first_block + 1;
        const Index runs =
            std::min(blocks, std::max((blocks + max_blocks - 1) / max_blocks, wanted));
        const Index per_run = (blocks + runs - 1) / runs;
        for (Index b = 0; b < blocks; b += per_run)
            items.push_back({t.first, t.count, std::max(t.begin, (first_block + b) * bn),
                             std::min(t.end, (first_block + b + per_run) * bn)});
    }
    return items;
}

/// The training side, once per call: centred and packed into MR-sample panels (GEMM path) or
/// transposed (direct path), labels and offsets, all in class order.
template <class S> void prepare_training(Problem<S>& p, const ConstMatrixRef<S>& train_labels,
                                         const ConstMatrixRef<S>& offsets, int nthreads) {
    constexpr int MR = Kernel<S>::MR;
    const Index d = p.train.rows(), N = p.train.cols(), Q = train_labels.rows();
    const bool parallel = nthreads > 1 && double(N) * double(d) > double(kParallelScan);
    if (p.gemm) {
        Eigen::VectorXd sum = Eigen::VectorXd::Zero(d);
        for (Index i = 0; i < N; ++i) sum += p.train.col(i).template cast<double>();
        p.center = (sum / double(N)).template cast<S>();
        const Index panels = (N + MR - 1) / MR;
        p.packed.resize(panels * MR * d);
        p.norms.resize(N);
        parallel_for(
            0, panels, parallel ? nthreads : 1,
            [&](Index g) {
                S* panel = p.packed.data() + g * MR * d;
                const Index lanes = std::min<Index>(MR, N - g * MR);
                const S* source[MR];
                Vector<S> column(d);
                for (Index lane = 0; lane < lanes; ++lane) {
                    source[lane] = p.train.col(p.train_order[size_t(g * MR + lane)]).data();
                    column = Eigen::Map<const Vector<S>>(source[lane], d) - p.center;
                    p.norms[g * MR + lane] = column.squaredNorm();
                }
                // Coordinate k of lane l at k MR + l, written in runs of kPackRun coordinates
                // so that the strided stores stay within a few KB of L1; lanes past N are zero.
                for (Index k0 = 0; k0 < d; k0 += kPackRun) {
                    const Index run = std::min(kPackRun, d - k0);
                    for (Index lane = 0; lane < MR; ++lane) {
                        S* out = panel + k0 * MR + lane;
                        if (lane < lanes)
                            for (Index k = 0; k < run; ++k)
                                out[k * MR] = source[lane][k0 + k] - p.center[k0 + k];
                        else
                            for (Index k = 0; k < run; ++k) out[k * MR] = S(0);
                    }
                }
            });
    } else if (p.features) {
        p.coords.resize(N, d);
        for (Index i = 0; i < N; ++i)
            p.coords.row(i) = p.train.col(p.train_order[size_t(i)]).transpose();
    }
    if (p.labels) {
        p.label_rows.resize(N, Q);
        for (Index i = 0; i < N; ++i)
            p.label_rows.row(i) = train_labels.col(p.train_order[size_t(i)]).transpose();
    }
    if (p.offsets) {
        p.offset.resize(N, offsets.cols());
        for (Index i = 0; i < N; ++i) p.offset.row(i) = offsets.row(p.train_order[size_t(i)]);
    }
}

}  // namespace

template <class S>
NearestResult<S> nearest(const ConstMatrixRef<S>& test, const ConstMatrixRef<S>& train,
                         const Eigen::Ref<const Vector<S>>& alphas,
                         const ConstMatrixRef<S>& test_labels,
                         const ConstMatrixRef<S>& train_labels, const ConstMatrixRef<S>& offsets,
                         const Eigen::Ref<const IndexVector>& test_classes,
                         const Eigen::Ref<const IndexVector>& train_classes, Index block_size,
                         int threads, const InterruptCheck& check, bool with_distances) {
    using K = Kernel<S>;
    const Index d = test.rows(), m = test.cols(), N = train.cols(), objectives = alphas.size();
    require(train.rows() == d, "train: features have " + std::to_string(train.rows()) +
                                   " dimensions, test features have " + std::to_string(d));
    require(objectives >= 1, "alphas: need at least one objective");
    for (Index k = 0; k < objectives; ++k)
        require(std::isfinite(double(alphas[k])) && alphas[k] >= 0,
                "alpha must be finite and >= 0");
    const bool labels = test_labels.size() > 0 || train_labels.size() > 0;
    if (labels)
        require(test_labels.cols() == m && train_labels.cols() == N &&
                    test_labels.rows() == train_labels.rows(),
                "labels: need Q x m test labels and Q x N training labels");
    require(offsets.size() == 0 || (offsets.rows() == N && offsets.cols() == objectives),
            "offsets: need one per training sample and objective");
    const bool classes = test_classes.size() > 0 || train_classes.size() > 0;
    if (classes)
        require(test_classes.size() == m && train_classes.size() == N,
                "classes: need one class per test sample and per training sample");
    require(block_size >= 0, "block_size must be >= 0 (0 = automatic)");

    NearestResult<S> result;
    result.values.setConstant(m, objectives, std::numeric_limits<S>::infinity());
    result.indices.setConstant(m, objectives, -1);
    if (with_distances)
        result.distances.setConstant(m, objectives, std::numeric_limits<S>::infinity());
    if (m == 0) return result;
    require(N > 0, "train: no training samples");

    const double flops = double(m) * double(N) * double(std::max<Index>(d, 1));
    const int nthreads = flops < kSerialFlops ? 1 : resolve_threads(threads);
    const bool features = alphas.maxCoeff() > 0;
    if (features)
        require_representable(test, "features", nthreads),
            require_representable(train, "features", nthreads);
    if (labels)
        require_representable(test_labels, "labels", nthreads),
            require_representable(train_labels, "labels", nthreads);

    Problem<S> p{test,        train,
                 test_labels, std::vector<S>(alphas.data(), alphas.data() + objectives),
                 features,    features && d > kDirectMaxDim,
                 labels,      offsets.size() > 0,
                 false,       kDirectBlock,
                 0,           {},
                 {}};
    p.squared = features && !p.labels && !p.offsets && objectives == 1;
    if (p.gemm) {
        p.bn = K::kBlock;
        const Index runs = (d + kMaxDepth - 1) / kMaxDepth;
        p.depth = (d + runs - 1) / runs;
    }
    const ClassGroups test_groups = group_by_class(test_classes, m);
    const ClassGroups train_groups = group_by_class(train_classes, N);
    p.test_order = test_groups.order;
    p.train_order = train_groups.order;
    prepare_training(p, train_labels, offsets, nthreads);

    // Tiles: runs of at most bt test samples of one class, against that class's training range.
    const Index bt = block_size > 0 ? block_size : kDefaultTestBlock;
    std::vector<Item> tiles;
    for (size_t g = 0; g < test_groups.label.size(); ++g) {
        const auto found = std::lower_bound(train_groups.label.begin(), train_groups.label.end(),
                                            test_groups.label[g]);
        if (found == train_groups.label.end() || *found != test_groups.label[g]) continue;
        const size_t t = size_t(found - train_groups.label.begin());
        for (Index first = test_groups.begin[g]; first < test_groups.end[g]; first += bt)
            tiles.push_back({first, std::min(bt, test_groups.end[g] - first), train_groups.begin[t],
                             train_groups.end[t]});
    }
    const std::vector<Item> items = make_items(tiles, bt, p.bn, d, nthreads);

    std::vector<Workspace<S>> workspaces(static_cast<size_t>(nthreads));
    const Index tile_width = std::min(bt, m);
    for (auto& ws : workspaces) {
        if (p.gemm) {
            const Index panels = (tile_width + K::NR - 1) / K::NR;
            ws.tile.resize(size_t(panels * K::NR * d));
            ws.tile_norms.resize(tile_width);
            ws.products.resize(p.bn + K::MR, panels * K::NR);
        }
        ws.values.resize(p.bn), ws.label_values.resize(p.bn), ws.objective.resize(p.bn);
    }
    // By objective, then test position.
    std::vector<S> best(size_t(objectives * m), std::numeric_limits<S>::infinity());
    std::vector<Index> where(size_t(objectives * m), -1);
    const Index step = 4 * Index(nthreads), part = objectives * tile_width;
    std::vector<S> part_best(size_t(step * part));
    std::vector<Index> part_where(size_t(step * part));
    for (Index s = 0; s < Index(items.size()); s += step) {
        const Index e = std::min(Index(items.size()), s + step);
        parallel_for(s, e, nthreads, [&](Index k) {
            process(p, items[size_t(k)], workspaces[size_t(worker_index())],
                    &part_best[size_t((k - s) * part)], &part_where[size_t((k - s) * part)]);
        });
        // Merge by (value, position): the lowest training index wins ties, whatever the split.
        for (Index k = s; k < e; ++k) {
            const Item& it = items[size_t(k)];
            for (Index o = 0; o < objectives; ++o)
                for (Index c = 0; c < it.count; ++c) {
                    const size_t from = size_t((k - s) * part + o * it.count + c);
                    const S v = part_best[from];
                    const Index w = part_where[from];
                    S& b = best[size_t(o * m + it.first + c)];
                    Index& bw = where[size_t(o * m + it.first + c)];
                    if (w >= 0 && (v < b || (v == b && (bw < 0 || w < bw)))) b = v, bw = w;
                }
        }
        poll(check);
    }
    for (Index o = 0; o < objectives; ++o)
        for (Index pos = 0; pos < m; ++pos) {
            const Index j = p.test_order[size_t(pos)];
            const Index w = where[size_t(o * m + pos)];
            if (w < 0) continue;  // no training sample of this class: +inf, -1
            const S v = best[size_t(o * m + pos)];
            result.values(j, o) = p.squared ? alphas[o] * std::sqrt(std::max(v, S(0))) : v;
            result.indices(j, o) = p.train_order[size_t(w)];
        }
    if (!with_distances) return result;
    // The feature distance |F_j - G_i| at each minimizer, computed directly.
    const bool parallel = double(m) * double(objectives) * double(d) > 1e6;
    const Index rows = 1024;
    parallel_for(
        0, (m + rows - 1) / rows, parallel ? nthreads : 1,
        [&](Index b) {
            for (Index j = b * rows; j < std::min(m, (b + 1) * rows); ++j)
                for (Index o = 0; o < objectives; ++o) {
                    const Index i = result.indices(j, o);
                    if (i >= 0) result.distances(j, o) = (test.col(j) - train.col(i)).norm();
                }
        });
    return result;
}

template <class S>
double nearest_workspace_bytes(Index m, Index N, Index d, Index Q, Index objectives,
                               Index block_size, int threads) {
    using K = Kernel<S>;
    const double flops = double(m) * double(N) * double(std::max<Index>(d, 1));
    const double workers = flops < kSerialFlops ? 1.0 : double(resolve_threads(threads));
    const double tile =
        double(std::min(block_size > 0 ? block_size : kDefaultTestBlock, std::max<Index>(m, 1)));
    const double bn = double(std::max<Index>(K::kBlock, kDirectBlock)), s = sizeof(S);
    // Per thread: the packed tile, its products with a training block, three value rows.
    const double per_worker =
        (tile + K::NR) * double(d) * s + (bn + K::MR) * (tile + K::NR) * s + 3.0 * bn * s;
    // Per call: the packed (or transposed) training side, labels, offsets, orders.
    const double training = (double(N) + K::MR) * double(d) * s +
                            double(N) * double(Q + objectives) * s + 16.0 * double(m + N);
    // Minima by objective and test sample, and the per-step partial results.
    const double merge = double(objectives) * (double(m) + 4.0 * workers * tile) * (s + 8.0);
    return workers * per_worker + training + merge;
}

template double nearest_workspace_bytes<float>(Index, Index, Index, Index, Index, Index, int);
template double nearest_workspace_bytes<double>(Index, Index, Index, Index, Index, Index, int);

#define ARCHBOUND_DEFINE_NEAREST(S)                                                             \
    template NearestResult<S> nearest<S>(                                                       \
        const ConstMatrixRef<S>&, const ConstMatrixRef<S>&, const Eigen::Ref<const Vector<S>>&, \
        const ConstMatrixRef<S>&, const ConstMatrixRef<S>&, const ConstMatrixRef<S>&,           \
        const Eigen::Ref<const IndexVector>&, const Eigen::Ref<const IndexVector>&, Index, int, \
        const InterruptCheck&, bool);
ARCHBOUND_DEFINE_NEAREST(float)
ARCHBOUND_DEFINE_NEAREST(double)
#undef ARCHBOUND_DEFINE_NEAREST

}  // namespace archbound
