"""Peak resident memory of archbound.nearest beyond its inputs.

    python bench/peak_rss_nearest.py [m] [N] [d]      # default 1,000,000 1,000 784, float32

The m x N distance matrix would take 4 GB at the defaults; the goal is a peak of at most
the inputs plus 300 MB. Run it alone: the peak is that of this process, read from
getrusage (ru_maxrss) after the call, against the resident size just before it.
"""

import resource
import sys
import time

import numpy as np
import psutil

import archbound


def main():
    m, n, d = (int(a) for a in (sys.argv[1:] + ["1000000", "1000", "784"][len(sys.argv) - 1 :]))
    rng = np.random.default_rng(0)
    F_test = rng.standard_normal((m, d), dtype=np.float32)  # generated in place: no temporary
    F_train = rng.standard_normal((n, d), dtype=np.float32)
    inputs = F_test.nbytes + F_train.nbytes
    before = psutil.Process().memory_info().rss
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    values, index = archbound.nearest(F_test, F_train)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    mb = 1e6
    print(f"m={m} N={n} d={d} float32: {seconds:.1f} s")
    print(
        f"inputs {inputs / mb:.0f} MB; RSS before the call {before / mb:.0f} MB "
        f"(peak so far {peak_before / mb:.0f} MB); peak RSS {peak / mb:.0f} MB"
    )
    print(
        f"peak - RSS before the call: {(peak - before) / mb:.0f} MB; "
        f"peak - inputs: {(peak - inputs) / mb:.0f} MB (interpreter and libraries included)"
    )
    assert values.shape == (m,) and index.shape == (m,)


if __name__ == "__main__":
    main()
