#include "common.hpp"

#include <omp.h>

namespace archbound {

int resolve_threads(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }

ThreadScope::ThreadScope(int threads) : previous_(omp_get_max_threads()) {
    omp_set_num_threads(resolve_threads(threads));
}

ThreadScope::~ThreadScope() { omp_set_num_threads(previous_); }

}  // namespace archbound
