#include "construct.hpp"

#include "blas.hpp"
#include "qr.hpp"
#include "random.hpp"

#include <algorithm>
#include <random>  // std::seed_seq: its algorithm is fixed by the standard
#include <string>
#include <string_view>
#include <unordered_map>

namespace archbound {
namespace {

/// From this many multiply-adds up, W_l X^(l-1) goes to the BLAS (blas.hpp).
constexpr double kBlasProductWork = double(1 << 23);

void check_inputs(const ConstMatrixRef<double>& x0, const ConstMatrixRef<double>& y0,
                  const std::vector<Index>& widths, Index min_width, const char* needed) {
    require(x0.cols() > 0 && x0.rows() > 0, "X must be non-empty");
    require(y0.cols() == x0.cols(), "Y must have as many samples as X");
    require(y0.rows() > 0, "Y must have at least one output");
    require(!widths.empty(), "widths must list at least one hidden layer (L >= 1)");
    for (size_t l = 0; l < widths.size(); ++l)
        require(widths[l] >= min_width,
                "widths[" + std::to_string(l) + "] = " + std::to_string(widths[l]) +
                    " is smaller than " + needed + " = " + std::to_string(min_width));
}

/// The distinct columns of x, in order of first appearance; column_of[i] is the position of
/// x's column i among them (columns equal bit for bit count as one).
Matrix<double> distinct_columns(const ConstMatrixRef<double>& x, std::vector<Index>& column_of) {
    const Index rows = x.rows(), n = x.cols();
    std::unordered_map<std::string_view, Index> seen;
    std::vector<Index> first;
    column_of.resize(size_t(n));
    for (Index i = 0; i < n; ++i) {
        const std::string_view bytes(reinterpret_cast<const char*>(x.col(i).data()),
                                     size_t(rows) * sizeof(double));
        const auto [where, inserted] = seen.emplace(bytes, Index(first.size()));
        if (inserted) first.push_back(i);
        column_of[size_t(i)] = where->second;
    }
    Matrix<double> out(rows, Index(first.size()));
    for (size_t c = 0; c < first.size(); ++c) out.col(Index(c)) = x.col(first[c]);
    return out;
}

}  // namespace

RowMatrix<double> random_partial_isometry(Index rows, Index cols, std::uint64_t seed) {
    NormalSource normal(seed);
    const bool orthonormal_rows = rows <= cols;
    // Orthonormalise the columns of a tall Gaussian matrix G; W is G's Q factor or its transpose.
    const Index tall = orthonormal_rows ? cols : rows, thin = orthonormal_rows ? rows : cols;
    Matrix<double> g(tall, thin);
    for (Index j = 0; j < thin; ++j)
        for (Index i = 0; i < tall; ++i) g(i, j) = normal.next();
    Vector<double> tau(thin);
    householder_qr(g, tau, 0, {});
    const Vector<double> diagonal = g.diagonal();  // of R
    form_thin_q(g, tau, 0, {});
    Matrix<double> q = std::move(g);
    // Fix the signs so that the distribution is Haar (R with a positive diagonal).
    for (Index j = 0; j < thin; ++j)
        if (diagonal(j) < 0) q.col(j) = -q.col(j);
    if (orthonormal_rows) return q.transpose();
    return q;
}

ConstructedNetwork readout_first(const ConstMatrixRef<double>& x0, const ConstMatrixRef<double>& y0,
                                 const std::vector<Index>& widths, double rcond, int threads,
                                 const InterruptCheck& check) {
    const Index q = y0.rows();
    check_inputs(x0, y0, widths, q, "Q");
    const Index m0 = x0.rows();
    PinvResult inverse = pinv(x0, rcond, threads, check, true, Estimates::decision);

    ConstructedNetwork net;
    net.input_rank = inverse.rank;
    net.readout = y0 * inverse.pinv;  // Q x M0
    net.beta = std::max(0.0, -y0.minCoeff());

    const Index layers = Index(widths.size());
    Index in = m0;
    for (Index l = 0; l <= layers; ++l) {
        const Index out = l < layers ? widths[size_t(l)] : q;
        RowMatrix<double> w = RowMatrix<double>::Zero(out, in);
        Vector<double> b = Vector<double>::Zero(out);
        if (l == 0) {
            w.topRows(q) = net.readout;
            b.head(q).setConstant(net.beta);
        } else {
            w.topLeftCorner(q, q).setIdentity();
        }
        if (l == layers) b.setConstant(-net.beta);
        net.weights.push_back(std::move(w));
        net.biases.push_back(std::move(b));
        in = out;
    }
    return net;
}

ConstructedNetwork readout_last(const ConstMatrixRef<double>& x0, const ConstMatrixRef<double>& y0,
                                const std::vector<Index>& widths, std::uint64_t seed, double rcond,
                                int threads, const InterruptCheck& check) {
    const Index n = x0.cols();
    check_inputs(x0, y0, widths, n, "N");
    ThreadScope scope(threads);
    std::seed_seq sequence{std::uint32_t(seed), std::uint32_t(seed >> 32)};
    std::vector<std::uint64_t> layer_seeds(widths.size());
    {
        std::vector<std::uint32_t> words(2 * widths.size());
        sequence.generate(words.begin(), words.end());
        for (size_t l = 0; l < widths.size(); ++l)
            layer_seeds[l] = (std::uint64_t(words[2 * l]) << 32) | words[2 * l + 1];
    }

    ConstructedNetwork net;
    net.input_rank = pinv(x0, rcond, threads, check, false, Estimates::decision).rank;
    // The layers run on the distinct training samples only, then are expanded: a product may
    // round identical columns differently, and the bias (a minimum over the samples) would
    // turn those last-bit differences into features that the readout then inverts.
    std::vector<Index> column_of;  // sample -> its column among the distinct samples
    Matrix<double> h = distinct_columns(x0, column_of);  // X^(l) of the distinct samples
    for (size_t l = 0; l < widths.size(); ++l) {
        RowMatrix<double> w = random_partial_isometry(widths[l], h.rows(), layer_seeds[l]);
        Matrix<double> z(w.rows(), h.cols());
        if (double(w.rows()) * double(w.cols()) * double(h.cols()) < kBlasProductWork) {
            z.noalias() = w * h;  // small: Eigen's product
        } else {
            // The row-major W_l is the column-major W_l^T: z = W_l h is op(A) = A^T.
            gemm<double>(true, false, w.rows(), h.cols(), w.cols(), 1.0, w.data(), w.cols(),
                         h.data(), h.rows(), 0.0, z.data(), z.rows());
        }
        Vector<double> b = (-z.rowwise().minCoeff()).cwiseMax(0.0);
        h = (z.colwise() + b).cwiseMax(0.0);  // the ReLU is the identity here
        net.weights.push_back(std::move(w));
        net.biases.push_back(std::move(b));
        poll(check);
    }
    Matrix<double> features(h.rows(), n);  // X^(L), M_L x N
    for (Index i = 0; i < n; ++i) features.col(i) = h.col(column_of[size_t(i)]);
    net.weights.push_back(
        y0 * pinv(features, rcond, threads, check, true, Estimates::decision).pinv);  // Q x M_L
    net.biases.push_back(Vector<double>::Zero(y0.rows()));
    return net;
}

}  // namespace archbound
