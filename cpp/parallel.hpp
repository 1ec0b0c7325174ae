// The core's one parallel loop (docs/design.md §3.5).
//
// parallel_for runs on a pool of worker threads in which the caller never waits for a worker
// that has not started: the caller and the workers claim items one at a time from a shared
// counter, a worker that wakes late finds nothing left, and the loop ends when every item is
// done, not when every thread has checked in (the shape of TBB's and Rayon's work stealing).
// A thread that another process keeps off its core therefore delays a loop by at most the
// item it is running, never by the whole time it waits for the core.
#pragma once

#include "common.hpp"

#include <type_traits>

namespace archbound {

/// The index of the calling thread within the parallel_for running it: 0 for the thread
/// that called parallel_for (and outside any loop), 1 .. threads - 1 for the workers. Two
/// threads running items of the same loop at the same time never share an index, so it can
/// select a per-thread workspace.
int worker_index();

/// True while the calling thread runs an item of a parallel loop (parallel_for or an OpenMP
/// region): a nested parallel_for then runs serially, and BLAS calls stay single-threaded.
bool in_parallel_region();

namespace detail {

/// A type-erased reference to a loop body, valid while the loop runs.
struct LoopBody {
    void (*call)(void* context, Index i);
    void* context;
};

/// Runs body(i) for every i in [begin, end) on `threads` threads (the caller included) and
/// returns when all are done; rethrows the first exception a body threw.
void run_parallel(Index begin, Index end, int threads, LoopBody body);

/// Sets the calling thread's worker index for a serial loop, and restores it after.
class SerialLoop {
  public:
    SerialLoop();
    ~SerialLoop();
    SerialLoop(const SerialLoop&) = delete;
    SerialLoop& operator=(const SerialLoop&) = delete;

  private:
    int previous_;
};

}  // namespace detail

/// body(i) for every i in [begin, end), on `threads` threads: the project's one parallel
/// loop. Items are claimed one at a time, so a core that another process slows down takes
/// fewer; results must not depend on which thread runs an item. With one thread, one item,
/// or inside another loop it runs serially, and no thread wakes up. No exception crosses a
/// thread: the first one thrown by body is rethrown in the caller once the loop is done.
template <class F> void parallel_for(Index begin, Index end, int threads, F&& body) {
    if (threads <= 1 || end - begin <= 1 || in_parallel_region()) {
        detail::SerialLoop serial;
        for (Index i = begin; i < end; ++i) body(i);
        return;
    }
    using Body = std::remove_reference_t<F>;
    detail::run_parallel(begin, end, threads,
                         {[](void* context, Index i) { (*static_cast<Body*>(context))(i); },
                          const_cast<void*>(static_cast<const void*>(&body))});
}

}  // namespace archbound
