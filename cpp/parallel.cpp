#include "parallel.hpp"

#include <omp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__) || defined(__APPLE__)
#include <pthread.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace archbound {
namespace {

thread_local int t_worker = 0;
thread_local bool t_in_loop = false;

/// How long an idle worker polls for the next loop before it sleeps, and how long the caller
/// polls for items still running elsewhere before it sleeps. Short, so that
/// idle workers leave the cores to the next NumPy or SciPy call.
constexpr auto kSpin = std::chrono::microseconds(20);

inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

/// One loop: items begin .. begin + count - 1, claimed through `next`, counted in `done`.
struct Job {
    detail::LoopBody body;
    Index begin = 0, count = 0;
    int threads = 1;
    std::atomic<Index> next{0}, done{0};
    ExceptionCatcher catcher;
    std::mutex mutex;  // with `finished`: the caller sleeps until the last item is done
    std::condition_variable finished;
};

/// Claims items of `job` until none is left; runs them as worker `index`.
void work(Job& job, int index) {
    t_worker = index;
    t_in_loop = true;
    Index finished = 0;
    for (Index i; (i = job.next.fetch_add(1, std::memory_order_relaxed)) < job.count;) {
        job.catcher.run([&] { job.body.call(job.body.context, job.begin + i); });
        ++finished;
    }
    t_in_loop = false;
    t_worker = 0;
    if (finished == 0) return;
    // Release: the items' writes are visible to the caller once it sees them done.
    const Index done = job.done.fetch_add(finished, std::memory_order_release) + finished;
    if (index != 0 && done == job.count) {
        { std::lock_guard<std::mutex> lock(job.mutex); }  // the caller waits, or sees `done`
        job.finished.notify_all();
    }
}

/// Worker threads, started on first use and kept for the process's life. One loop runs at a
/// time; a caller that finds the pool busy (another Python thread's call) runs its loop alone.
class Pool {
  public:
    void run(Index begin, Index end, int threads, detail::LoopBody body) {
        std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
        if (!busy.owns_lock()) {
            detail::SerialLoop serial;
            t_in_loop = true;
            ExceptionCatcher catcher;
            for (Index i = begin; i < end; ++i) catcher.run([&] { body.call(body.context, i); });
            t_in_loop = false;
            catcher.rethrow();
            return;
        }
        auto job = std::make_shared<Job>();
        job->body = body;
        job->begin = begin;
        job->count = end - begin;
        job->threads = threads;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            while (int(workers_.size()) < threads - 1) {
                const int index = int(workers_.size()) + 1;
                workers_.emplace_back([this, index] { serve(index); });
                workers_.back().detach();
            }
            current_ = job;
            generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
        const int previous = t_worker;
        work(*job, 0);
        t_worker = previous;
        // Wait only for items that workers claimed and are still running: poll briefly, then
        // sleep, which leaves this core free for a worker that waits for one.
        const auto all_done = [&] {
            return job->done.load(std::memory_order_acquire) == job->count;
        };
        const auto start = std::chrono::steady_clock::now();
        for (unsigned polls = 0; !all_done(); relax()) {
            if (++polls % 64 == 0 && std::chrono::steady_clock::now() - start > kSpin) {
                std::unique_lock<std::mutex> lock(job->mutex);
                job->finished.wait(lock, all_done);
                break;
            }
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            current_.reset();
        }
        job->catcher.rethrow();
    }

  private:
    void serve(int index) {
        std::uint64_t seen = 0;
        for (;;) {
            const auto start = std::chrono::steady_clock::now();
            for (unsigned polls = 0; generation_.load(std::memory_order_acquire) == seen;) {
                if (++polls % 64 == 0 && std::chrono::steady_clock::now() - start > kSpin) {
                    std::unique_lock<std::mutex> lock(mutex_);
                    wake_.wait(lock, [&] { return generation_.load() != seen; });
                    break;
                }
                relax();
            }
            std::shared_ptr<Job> job;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                seen = generation_.load();
                job = current_;
            }
            // A loop that ended before this worker woke has no items left for it.
            if (job && index < job->threads) work(*job, index);
        }
    }

    std::mutex busy_;   // one loop at a time
    std::mutex mutex_;  // guards current_ and workers_, and orders generation_ with wake_
    std::condition_variable wake_;
    std::shared_ptr<Job> current_;
    std::atomic<std::uint64_t> generation_{0};
    std::vector<std::thread> workers_;
};

Pool* g_pool = nullptr;
std::once_flag g_pool_once;

/// The pool, created on first use and never destroyed (its threads may be blocked when the
/// process exits). A child process after fork() has none of the parent's threads: it starts
/// a fresh pool.
Pool& pool() {
    std::call_once(g_pool_once, [] {
        g_pool = new Pool();
#if defined(__linux__) || defined(__APPLE__)
        pthread_atfork(nullptr, nullptr, [] { g_pool = new Pool(); });
#endif
    });
    return *g_pool;
}

}  // namespace

int worker_index() { return t_worker; }

bool in_parallel_region() { return t_in_loop || omp_in_parallel(); }

namespace detail {

SerialLoop::SerialLoop() : previous_(t_worker) { t_worker = 0; }
SerialLoop::~SerialLoop() { t_worker = previous_; }

void run_parallel(Index begin, Index end, int threads, LoopBody body) {
    pool().run(begin, end, threads, body);
}

}  // namespace detail
}  // namespace archbound
