// Shared types and small utilities of the archbound core. No Python here.
//
// Conventions (docs/design.md §1.1): samples are columns. A C-contiguous (N, M0) NumPy array is
// the column-major M0 x N matrix X_0 of the paper, so the core reads it without a copy.
// Weights are the paper's W_l (M_l x M_{l-1}); they arrive row-major from torch-style
// (out, in) arrays.
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

namespace archbound {

using Index = Eigen::Index;
template <class S> using Matrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
template <class S>
using RowMatrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class S> using Vector = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <class S> using ConstMatrixRef = Eigen::Ref<const Matrix<S>>;

/// Polled between blocks of long loops, never inside a parallel region.
/// Returns true when the caller asks the computation to stop.
using InterruptCheck = std::function<bool()>;

/// Thrown by the core when an InterruptCheck returned true.
struct Interrupted : std::runtime_error {
    Interrupted() : std::runtime_error("computation interrupted") {}
};

inline void poll(const InterruptCheck& check) {
    if (check && check()) throw Interrupted();
}

/// Keeps the first exception thrown inside an OpenMP region so that it can be rethrown
/// after the region ends: no exception may cross an OpenMP boundary.
class ExceptionCatcher {
  public:
    template <class F> void run(F&& body) noexcept {
        try {
            body();
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!first_) first_ = std::current_exception();
        }
    }
    void rethrow() const {
        if (first_) std::rethrow_exception(first_);
    }

  private:
    std::exception_ptr first_;
    std::mutex mutex_;
};

/// Number of threads a call should use: `threads` if positive, else OpenMP's default.
int resolve_threads(int threads);

/// Sets OpenMP's thread count for the calling thread (which Eigen's own parallel
/// products follow) and restores it on scope exit.
class ThreadScope {
  public:
    explicit ThreadScope(int threads);
    ~ThreadScope();
    ThreadScope(const ThreadScope&) = delete;
    ThreadScope& operator=(const ThreadScope&) = delete;

  private:
    int previous_;
};

inline void require(bool condition, const std::string& message) {
    if (!condition) throw std::invalid_argument(message);
}

}  // namespace archbound
