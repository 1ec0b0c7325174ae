// Whether every value of an array is finite: the one pass over each array argument that
// archbound's input validation makes (python/archbound/_validation.py).
#pragma once

#include "common.hpp"

namespace archbound {

/// True when none of the n values at `data` is NaN or +-inf. Chunks of the array are checked
/// in parallel on up to `threads` threads (0: OpenMP's default) when n is large.
template <class S> bool all_finite(const S* data, Index n, int threads);

}  // namespace archbound
