// Shared types and small utilities of the archbound core. No Python here.
//
// Conventions (docs/design.md §1.1): samples are columns. A C-contiguous (N, M0) NumPy array is
// the column-major M0 x N matrix X_0 of the paper, so the core reads it without a copy.
// Weights are the paper's W_l (M_l x M_{l-1}); they arrive row-major from torch-style
// (out, in) arrays.
#pragma once

#include <Eigen/Dense>

#include <algorithm>
#include <chrono>
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

/// How parallel_for hands out its items: contiguous equal shares (static) or one at a time
/// (dynamic: a core that another process slows down takes fewer).
enum class Schedule { fixed_shares, dynamic };

/// body(i) for every i in [begin, end), on `threads` OpenMP threads: the project's one
/// parallel loop. With one thread or one item it runs serially, without a parallel region
/// (no thread wakes up). No exception crosses the OpenMP boundary: the first one thrown by
/// body is rethrown after the region. Results must not depend on which thread runs an item.
template <class F>
void parallel_for(Index begin, Index end, int threads, F&& body,
                  Schedule schedule = Schedule::dynamic) {
    if (threads <= 1 || end - begin <= 1) {
        for (Index i = begin; i < end; ++i) body(i);
        return;
    }
    ExceptionCatcher catcher;
    if (schedule == Schedule::dynamic) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (Index i = begin; i < end; ++i) catcher.run([&] { body(i); });
    } else {
#pragma omp parallel for schedule(static) num_threads(threads)
        for (Index i = begin; i < end; ++i) catcher.run([&] { body(i); });
    }
    catcher.rethrow();
}

/// Threads of other processes that are runnable right now (on Linux, the running count of
/// /proc/loadavg less this process's running threads), or 0 where this cannot be read or
/// does not describe this process's cores (it may use only some of the machine's).
int other_runnable_threads();

/// For a parallel step that an iteration repeats many times (one product of Lanczos), the
/// thread count that runs it faster on this machine now (docs/design.md §3.5). When another
/// process holds a core, every barrier waits for the thread that shares it, and one thread
/// is faster. Each round of kRound steps starts by checking for runnable threads of other
/// processes (then it runs on one thread); otherwise it times a step on one thread and a step
/// on all, twice unless the first pair already favours one thread, and runs the rest of the
/// round on the faster. step(threads) must give the same result for any thread count.
class StepThreads {
  public:
    explicit StepThreads(int threads) : threads_(std::max(1, threads)) {}

    template <class F> void run(F&& step) {
        if (threads_ == 1) return step(1);
        const Index phase = count_++ % kRound;
        if (phase == 0) {
            best_many_ = best_one_ = std::numeric_limits<double>::infinity();
            const int free_cores = omp_cores() - other_runnable_threads();
            probing_ = free_cores >= 2;
            chosen_ = 1;
        }
        if (!probing_) return step(chosen_);
        const int threads = phase % 2 == 0 ? 1 : threads_;  // one, all, one, all
        const auto start = std::chrono::steady_clock::now();
        step(threads);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        double& best = threads == 1 ? best_one_ : best_many_;
        best = std::min(best, seconds);
        if (phase % 2 == 1 && (phase == 3 || best_many_ >= best_one_)) {
            chosen_ = best_many_ < best_one_ ? threads_ : 1;
            probing_ = false;
        }
    }

  private:
    static int omp_cores();
    static constexpr Index kRound = 64;
    int threads_, chosen_ = 1;
    bool probing_ = false;
    Index count_ = 0;
    double best_many_ = 0, best_one_ = 0;
};

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
