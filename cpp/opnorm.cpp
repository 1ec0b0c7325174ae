#include "opnorm.hpp"
#include "parallel.hpp"

#include "lanczos.hpp"
#include "random.hpp"
#include "svd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace archbound {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr double kInf = std::numeric_limits<double>::infinity();
/// Elements of W per block of rows (256 KiB): a block is read from memory once and reused
/// from cache for the second product.
constexpr Index kBlockElements = Index(1) << 15;
/// Elements of W per chunk; chunks carry their own accumulator and run in parallel.
constexpr Index kChunkElements = Index(1) << 18;
constexpr Index kMaxChunks = 64;
/// Default step limit of the power method.
constexpr Index kPowerMaxIter = 10000;

using RowBlock = Eigen::Map<const RowMatrix<double>, 0, Eigen::OuterStride<>>;

/// Relative rounding allowance, on lambda = sigma^2, of a Ritz value or Rayleigh quotient of
/// W^T W or W W^T computed in floating point (sums of up to rows + cols terms).
double rounding_allowance(Index rows, Index cols) { return 16.0 * double(rows + cols) * kEps; }

/// Contiguous ranges [begin(c), begin(c + 1)) of `count` items split into `parts` pieces.
struct Split {
    Index count = 0, parts = 1;
    Index begin(Index c) const { return count * c / parts; }
};

/// The partition of W into chunks depends on its shape only, so results do not depend on
/// the thread count.
Index chunk_count(Index rows, Index cols, Index blocks) {
    const Index elements = rows * cols;
    return std::clamp<Index>(elements / kChunkElements, 1, std::min(kMaxChunks, blocks));
}

/// The largest |w_ij| and sum of w_ij^2 of W (rows split in chunks, combined in order).
/// Throws if W holds NaN or inf.
struct Scan {
    double max_abs = 0, sum_squares = 0;
};

Scan scan(const NormOperand& w, int threads) {
    const Index rows = w.rows();
    const Split split{rows, chunk_count(rows, w.cols(), rows)};
    std::vector<Scan> parts(size_t(split.parts));
    std::vector<char> finite(size_t(split.parts), 1);
    auto body = [&](Index c) {
        Scan s;
        bool ok = true;
        for (Index i = split.begin(c); i < split.begin(c + 1); ++i) {
            const auto row = w.row(i);
            const double squares = row.squaredNorm();
            const double largest = row.cwiseAbs().maxCoeff();
            ok = ok && !std::isnan(squares) && std::isfinite(largest);
            s.sum_squares += squares;
            s.max_abs = std::max(s.max_abs, largest);
        }
        parts[size_t(c)] = s;
        finite[size_t(c)] = ok;
    };
    const int nthreads = int(std::min<Index>(resolve_threads(threads), split.parts));
    parallel_for(0, split.parts, nthreads, body);
    Scan total;
    for (Index c = 0; c < split.parts; ++c) {
        require(finite[size_t(c)], "W contains NaN or inf; every value must be finite");
        total.max_abs = std::max(total.max_abs, parts[size_t(c)].max_abs);
        total.sum_squares += parts[size_t(c)].sum_squares;
    }
    return total;
}

/// A deterministic upper bound on ||W||_F >= ||W||, or +inf where the squares could have
/// overflowed or underflowed. Positive terms: summation error <= (rows + cols + chunks) eps.
double frobenius_upper(const Scan& s, Index rows, Index cols) {
    if (!(s.max_abs >= 0x1p-450 && s.max_abs <= 0x1p450)) return kInf;
    const double slack = 1.0 + double(rows + cols + kMaxChunks + 4) * kEps;
    return std::sqrt(s.sum_squares * slack) * (1.0 + 2.0 * kEps);
}

/// The symmetric positive semidefinite operator A = s^2 W^T W (n x n, when W is tall or
/// square) or A = s^2 W W^T (m x m, when W is wide), where s = 2^-e scales W's largest
/// entry into [1/2, 1) exactly, so that nothing overflows or underflows.
///
/// y = A x takes ONE pass over W: for tall W, each block B of rows gives t = B x and
/// acc += B^T t while B is in cache; for wide W, each block C of columns gives t = C^T x and
/// acc += C t. Chunks of blocks run in parallel, each with its own accumulator; the
/// accumulators are summed in a fixed order.
class GramOperator {
  public:
    GramOperator(const NormOperand& w, double scale, int threads)
        : w_(w), scale_(scale), tall_(w.cols() <= w.rows()) {
        const Index rows = w.rows(), cols = w.cols();
        size_ = tall_ ? cols : rows;
        // Tall: blocks of whole rows (contiguous). Wide: blocks of at least 64 columns, so
        // that each row contributes a run of >= 512 bytes that the prefetcher can follow.
        const Index lines = tall_ ? rows : cols;
        block_ = tall_ ? std::clamp<Index>(kBlockElements / cols, 1, rows)
                       : std::clamp<Index>(8 * kBlockElements / rows / 8 * 8, 64, 512);
        block_ = std::min(block_, lines);
        const Index blocks = (lines + block_ - 1) / block_;
        split_ = Split{blocks, chunk_count(rows, cols, blocks)};
        threads_ = int(std::min<Index>(resolve_threads(threads), split_.parts));
        partial_.resize(size_, split_.parts);
        // Padded to whole cache lines, so that chunks never write to a shared line.
        scratch_.resize((block_ + 7) / 8 * 8 + 8, split_.parts);
        scaled_.resize(size_);
    }

    Index size() const { return size_; }
    double allowance() const { return rounding_allowance(w_.rows(), w_.cols()); }

    /// y = A x. Chunks are claimed by whichever thread is free, but each has its own
    /// accumulator, so the sum does not depend on the thread count.
    void apply(const Eigen::Ref<const Vector<double>>& x, Vector<double>& y) {
        scaled_ = scale_ * x;
        parallel_for(0, split_.parts, threads_, [this](Index c) { chunk(c); });
        y = partial_.col(0);
        for (Index c = 1; c < split_.parts; ++c) y += partial_.col(c);
        y *= scale_;
    }

  private:
    void chunk(Index c) {
        auto acc = partial_.col(c);
        acc.setZero();
        const Index rows = w_.rows(), cols = w_.cols(), lines = tall_ ? rows : cols;
        for (Index b = split_.begin(c); b < split_.begin(c + 1); ++b) {
            const Index start = b * block_, len = std::min(block_, lines - start);
            auto t = scratch_.col(c).head(len);
            if (tall_) {
                // Rows B = W[start:start+len, :]: acc += B^T (B x), B read once from memory.
                RowBlock block(w_.data() + start * cols, len, cols, Eigen::OuterStride<>(cols));
                t.noalias() = block * scaled_;
                acc.noalias() += block.transpose() * t;
            } else {
                // Columns C = W[:, start:start+len]: acc += C (C^T x), C read once.
                RowBlock block(w_.data() + start, rows, len, Eigen::OuterStride<>(cols));
                t.noalias() = block.transpose() * scaled_;
                acc.noalias() += block * t;
            }
        }
    }

    const NormOperand& w_;
    double scale_;
    bool tall_;
    Index size_ = 0, block_ = 1;
    Split split_;
    int threads_ = 1;
    Matrix<double> partial_, scratch_;
    Vector<double> scaled_;
};

struct Certified {
    double lambda = 0;  // estimate of lambda_max(A)
    double lambda_upper = kInf;
    Index iterations = 0;
    bool exact = false;  // invariant subspace, or the whole space: deterministic bound
    bool stopped_by_rtol = false;
};

/// Lanczos (lanczos.hpp) from a uniform random start, stopped once the Kuczynski-Wozniakowski
/// certificate is within rtol, with that certificate; a deterministic bound when the Krylov
/// space becomes invariant.
Certified lanczos_norm(GramOperator& op, const NormOptions& o, Index max_iter,
                       const InterruptCheck& check) {
    const Index n = op.size();
    const double allowance = op.allowance();
    auto ratio = [&](Index k) {
        return (1.0 + allowance) / (1.0 - lanczos_epsilon(n, k, o.delta));
    };
    const LanczosState state = lanczos(
        op, random_unit_vector(n, o.seed), max_iter,
        [&](const LanczosState& s) { return std::sqrt(ratio(s.steps)) <= 1.0 + o.rtol; }, check);
    Certified out;
    out.iterations = state.steps;
    if (!state.finite) {  // cannot happen for a finite, scaled W; no certificate if it does
        out.lambda_upper = kInf;
        return out;
    }
    out.lambda = std::max(0.0, state.largest_ritz_value());
    if (state.invariant) {
        // K_k is invariant (or all of R^n): theta_k is an eigenvalue of A + E with
        // ||E|| <= b, and the largest one since b has a component along every
        // eigenvector (almost surely).
        out.lambda_upper = (out.lambda + state.beta.back()) * (1.0 + allowance);
        out.exact = true;
        // A != 0 here, so theta = 0 would mean a start vector orthogonal to the range
        // of A, an event of probability 0: keep only the deterministic bound then.
        if (out.lambda == 0.0) out.lambda_upper = kInf, out.exact = false;
        return out;
    }
    const Index k = state.steps;
    out.lambda_upper = lanczos_epsilon(n, k, o.delta) < 1.0 ? out.lambda * ratio(k) : kInf;
    out.stopped_by_rtol = std::sqrt(ratio(k)) <= 1.0 + o.rtol;
    return out;
}

/// The power method: rho_k is the Rayleigh quotient of x = A^(k-1) b / |A^(k-1) b|.
Certified power(GramOperator& op, const NormOptions& o, Index max_iter, double frobenius_lambda,
                const InterruptCheck& check) {
    const Index n = op.size();
    const double allowance = op.allowance();
    const double log_factor = std::log(0.824 * std::sqrt(double(n)) / o.delta);
    Vector<double> x = random_unit_vector(n, o.seed), y(n);
    Certified out;
    for (Index k = 1;; ++k) {
        op.apply(x, y);
        const double rho = std::max(0.0, x.dot(y)), length = y.norm();
        out.iterations = k;
        out.lambda = rho;
        if (n == 1) {  // A is 1 x 1: rho is A itself
            out.lambda_upper = rho * (1.0 + allowance);
            out.exact = true;
            return out;
        }
        // 1 / (1 - eps_k) = (0.824 sqrt(n) / delta)^(1 / (k - 1/2)).
        const double inflation = std::exp(log_factor / (double(k) - 0.5));
        out.lambda_upper = rho * (1.0 + allowance) * inflation;
        const double clamped = std::min(out.lambda_upper, frobenius_lambda);
        out.stopped_by_rtol = clamped <= (1.0 + o.rtol) * (1.0 + o.rtol) * rho;
        if (length == 0.0) out.lambda_upper = kInf;  // x in ker A (probability 0, A != 0)
        if (out.stopped_by_rtol || k >= max_iter || length == 0.0) return out;
        poll(check);
        x = y / length;
    }
}

NormResult exact_norm(const NormOperand& w, int threads) {
    ThreadScope scope(threads);
    // W^T is the column-major view of the same memory, with the same singular values.
    Eigen::Map<const Matrix<double>> transposed(w.data(), w.cols(), w.rows());
    NormResult r;
    r.method = NormMethod::exact;
    r.estimate = svd(transposed, false).values(0);
    r.upper = r.estimate * (1.0 + 8.0 * kEps * double(std::min(w.rows(), w.cols())));
    return r;
}

}  // namespace

NormMethod norm_method_from_name(const std::string& name) {
    if (name == "exact") return NormMethod::exact;
    if (name == "lanczos") return NormMethod::lanczos;
    if (name == "power") return NormMethod::power;
    throw std::invalid_argument("method must be 'exact', 'lanczos' or 'power', got '" + name + "'");
}

const char* norm_method_name(NormMethod method) {
    switch (method) {
        case NormMethod::exact:
            return "exact";
        case NormMethod::lanczos:
            return "lanczos";
        case NormMethod::power:
            return "power";
    }
    return "unknown";
}

double lanczos_epsilon(Index n, Index k, double delta) {
    const double root = std::log(1.648 * std::sqrt(double(n)) / delta) / double(2 * k - 1);
    return std::clamp(root * root, 0.0, 1.0);
}

NormResult opnorm(const NormOperand& w, const NormOptions& o, int threads,
                  const InterruptCheck& check) {
    require(w.rows() > 0 && w.cols() > 0, "W must be non-empty");
    require(o.delta > 0.0 && o.delta < 1.0, "delta must lie strictly between 0 and 1");
    require(o.rtol > 0.0 && std::isfinite(o.rtol), "rtol must be positive and finite");
    require(o.max_iter >= 0, "max_iter must be >= 1 (or 0 for the default)");
    const Scan s = scan(w, threads);
    poll(check);
    NormResult r;
    r.method = o.method;
    if (s.max_abs == 0.0) return r;  // the zero matrix: ||W|| = 0 exactly
    if (o.method == NormMethod::exact) return exact_norm(w, threads);

    int exponent = 0;
    std::frexp(s.max_abs, &exponent);
    const double scale = std::ldexp(1.0, std::clamp(-exponent, -1000, 1000));
    const double frobenius = frobenius_upper(s, w.rows(), w.cols());
    GramOperator op(w, scale, threads);
    const bool lanczos_method = o.method == NormMethod::lanczos;
    const Index max_iter = o.max_iter > 0 ? o.max_iter : lanczos_method ? op.size() : kPowerMaxIter;
    const double frobenius_lambda = frobenius * scale * frobenius * scale;
    const Certified c = lanczos_method ? lanczos_norm(op, o, max_iter, check)
                                       : power(op, o, max_iter, frobenius_lambda, check);
    r.estimate = std::sqrt(c.lambda) / scale;
    r.upper = std::min(std::sqrt(c.lambda_upper) / scale, frobenius);
    r.iterations = c.iterations;
    r.converged = c.exact || c.stopped_by_rtol || r.upper <= (1.0 + o.rtol) * r.estimate;
    return r;
}

std::vector<NormResult> opnorms(const std::vector<NormOperand>& weights,
                                const std::vector<NormOptions>& options, int threads,
                                const InterruptCheck& check) {
    require(weights.size() == options.size(), "opnorms: need one set of options per matrix");
    const size_t layers = weights.size();
    std::vector<NormResult> results(layers);
    std::vector<size_t> small;
    for (size_t l = 0; l < layers; ++l) {
        const Index elements = weights[l].rows() * weights[l].cols();
        // Exact norms are LAPACK calls, made from this thread only.
        if (elements < 2 * kChunkElements && options[l].method != NormMethod::exact)
            small.push_back(l);
        else
            results[l] = opnorm(weights[l], options[l], threads, check);
    }
    // Small matrices: in parallel, one thread each, in groups between interrupt polls.
    const int nthreads = resolve_threads(threads);
    const size_t group = size_t(4 * nthreads);
    for (size_t first = 0; first < small.size(); first += group) {
        const size_t last = std::min(small.size(), first + group);
        parallel_for(Index(first), Index(last), nthreads, [&](Index i) {
            const size_t l = small[size_t(i)];
            results[l] = opnorm(weights[l], options[l], 1);
        });
        poll(check);
    }
    return results;
}

}  // namespace archbound
