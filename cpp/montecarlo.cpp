#include "montecarlo.hpp"

#include "parallel.hpp"
#include "random.hpp"

#include <algorithm>
#include <string>

namespace archbound {

Index GaussianNetwork::parameters() const { return offset(layers()); }

Index GaussianNetwork::offset(Index layer) const {
    Index total = 0;
    for (Index l = 0; l < layer; ++l) total += widths[l + 1] * (widths[l] + 1);
    return total;
}

namespace {

/// The first counter of the block indices' words; the normals use those below it.
constexpr std::uint64_t kBlockCounter = std::uint64_t(1) << 62;
/// Points per forward chunk when a draw evaluates all n points.
constexpr Index kChunk = 256;

/// One thread's buffers: a sampled network, the gathered points and the activations.
struct Workspace {
    std::vector<RowMatrix<float>> weights;
    std::vector<Vector<float>> biases;
    Matrix<float> points, h, z;
};

/// W^(d) = mean + sigma z^(d), written by the generator in one pass per layer.
void sample(const GaussianNetwork& net, const CounterStream& stream, Workspace& work) {
    const Index layers = net.layers();
    work.weights.resize(size_t(layers));
    work.biases.resize(size_t(layers));
    for (Index l = 0; l < layers; ++l) {
        const Index rows = net.widths[l + 1], cols = net.widths[l];
        auto& w = work.weights[size_t(l)];
        auto& b = work.biases[size_t(l)];
        w.resize(rows, cols);
        b.resize(rows);
        const std::uint64_t offset = std::uint64_t(net.offset(l));
        stream.normals(offset, rows * cols, w.data(), net.weight_mean[size_t(l)],
                       net.weight_sigma[size_t(l)]);
        stream.normals(offset + std::uint64_t(rows * cols), rows, b.data(),
                       net.bias_mean[size_t(l)], net.bias_sigma[size_t(l)]);
    }
}

/// The misclassified columns of `points` (labels given per column) under the sampled network.
template <class Labels>
std::int64_t count_errors(Workspace& work, const Eigen::Ref<const Matrix<float>>& points,
                          const Labels& label_of) {
    const size_t layers = work.weights.size();
    const Index cols = points.cols();
    work.h = points;
    for (size_t l = 0; l < layers; ++l) {
        work.z.resize(work.weights[l].rows(), cols);
        work.z.noalias() = work.weights[l] * work.h;
        work.z.colwise() += work.biases[l];
        if (l + 1 < layers) work.z = work.z.cwiseMax(0.0f);
        work.h.swap(work.z);
    }
    std::int64_t errors = 0;
    for (Index j = 0; j < cols; ++j) {
        Index best = 0;
        const float* column = work.h.col(j).data();
        for (Index i = 1; i < work.h.rows(); ++i)
            if (column[i] > column[best]) best = i;
        errors += best != label_of(j);
    }
    return errors;
}

}  // namespace

std::vector<std::int64_t> stochastic_errors(const Eigen::Ref<const Matrix<float>>& x0,
                                            const std::int64_t* labels,
                                            const GaussianNetwork& net,
                                            const MonteCarloOptions& options, int threads,
                                            const InterruptCheck& check) {
    require(net.layers() >= 1, "network: needs at least one layer");
    require(net.weight_mean.size() == size_t(net.layers()) &&
                net.weight_sigma.size() == size_t(net.layers()) &&
                net.bias_mean.size() == size_t(net.layers()) &&
                net.bias_sigma.size() == size_t(net.layers()),
            "network: needs a mean and a sigma for every weight and bias");
    require(x0.rows() == net.widths.front(),
            "x has " + std::to_string(x0.rows()) + " features, expected M0 = " +
                std::to_string(net.widths.front()));
    require(options.draws >= 0, "draws must be >= 0");
    require(options.block >= 0, "block must be >= 0");
    const Index n = x0.cols();
    require(n > 0 || options.draws == 0, "x: needs at least one point");
    const Index q = net.widths.back();
    for (Index i = 0; i < n; ++i)
        require(labels[i] >= 0 && labels[i] < q, "labels must lie in [0, Q)");

    std::vector<std::int64_t> errors(size_t(options.draws), 0);
    if (options.draws == 0) return errors;
    const int team = int(std::min<Index>(resolve_threads(threads), options.draws));
    std::vector<Workspace> workspaces(size_t(std::max(team, 1)));

    auto one_draw = [&](Index d) {
        // Eigen's products stay serial on this thread: the same operations, whatever `threads`.
        ThreadScope serial(1);
        Workspace& work = workspaces[size_t(worker_index())];
        const CounterStream stream(options.seed, std::uint64_t(d));
        sample(net, stream, work);
        std::int64_t count = 0;
        if (options.block == 0) {
            for (Index start = 0; start < n; start += kChunk) {
                const Index len = std::min(kChunk, n - start);
                count += count_errors(work, x0.middleCols(start, len),
                                      [&](Index j) { return labels[start + j]; });
            }
        } else {
            std::vector<Index> picks(size_t(options.block));
            std::uint64_t counter = kBlockCounter;
            for (auto& i : picks) i = Index(stream.below(std::uint64_t(n), &counter));
            work.points.resize(x0.rows(), options.block);
            for (Index j = 0; j < options.block; ++j) work.points.col(j) = x0.col(picks[size_t(j)]);
            count = count_errors(work, work.points,
                                 [&](Index j) { return labels[picks[size_t(j)]]; });
        }
        errors[size_t(d)] = count;
    };
    // Groups of draws separate the parallel regions so that interrupts are polled outside them.
    const Index group = Index(std::max(team, 1)) * 4;
    for (Index first = 0; first < options.draws; first += group) {
        parallel_for(first, std::min(options.draws, first + group), team, one_draw);
        poll(check);
    }
    return errors;
}

}  // namespace archbound
