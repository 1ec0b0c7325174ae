"""Benchmark: archbound's certified Lanczos norm against SciPy, NumPy and scikit-learn.

For dense Gaussian float64 matrices it times, in the same run and alternating between them:

- ``archbound.opnorm(W, method="lanczos", delta=1e-6, rtol=1e-2)`` (estimate + certified upper),
- ``scipy.sparse.linalg.svds(W, k=1)`` (ARPACK, to machine precision, no certificate),
- ``numpy.linalg.norm(W, 2)`` (a full SVD: exact),
- ``sklearn.utils.extmath.randomized_svd(W, 1)`` (default settings: fast, a few % low,
  no certificate),

and prints the best time of each, the ratios to archbound's time, and whether archbound's
certified upper bound lies within 1% of the true sigma_1 (numpy's value).

Goals (issue 3): lanczos <= 0.5x the time of svds(k=1), and >= 20x faster than numpy.

Usage::

    python bench/bench_opnorm.py            # 4096x4096, 2048x2048, 8192x1024
    python bench/bench_opnorm.py --quick    # small sizes, seconds
    python bench/bench_opnorm.py --sizes 4096x4096 --repeats 5 --threads 4
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import archbound
import numpy as np
import scipy.sparse.linalg
from sklearn.utils.extmath import randomized_svd

DELTA, RTOL = 1e-6, 1e-2


def _parse_size(text: str) -> tuple[int, int]:
    m, n = text.lower().split("x")
    return int(m), int(n)


def _methods(threads):
    def lanczos(W):
        r = archbound.opnorm(W, method="lanczos", delta=DELTA, rtol=RTOL, seed=0, threads=threads)
        return r.estimate, r.upper

    def svds(W):
        s = scipy.sparse.linalg.svds(W, k=1, random_state=0)[1]
        return float(s[0]), None

    def numpy_exact(W):
        return float(np.linalg.norm(W, 2)), None

    def randomized(W):
        s = randomized_svd(W, 1, random_state=0)[1]
        return float(s[0]), None

    return {
        "archbound lanczos": lanczos,
        "scipy svds(k=1)": svds,
        "numpy norm(W, 2)": numpy_exact,
        "sklearn randomized_svd": randomized,
    }


def bench_size(shape, *, repeats, exact_repeats, threads, seed=0):
    W = np.random.default_rng(seed).standard_normal(shape)
    methods = _methods(threads)
    names = list(methods)
    # Warm-up (thread pools, page faults of W, code paths), except the costly exact SVD.
    for name in names:
        if name != "numpy norm(W, 2)":
            methods[name](W)
    times = {name: [] for name in names}
    values = {}
    for round_ in range(repeats):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]  # alternate
        for name in order:
            if name == "numpy norm(W, 2)" and round_ >= exact_repeats:
                continue
            start = time.perf_counter()
            values[name] = methods[name](W)
            times[name].append(time.perf_counter() - start)
    best = {name: min(t) for name, t in times.items()}
    sigma = values["numpy norm(W, 2)"][0]
    base = best["archbound lanczos"]
    upper = values["archbound lanczos"][1]

    print(
        f"\n{shape[0]}x{shape[1]} float64 Gaussian, sigma_1 = {sigma:.10g} "
        f"(best of {repeats}, exact best of {min(repeats, exact_repeats)})"
    )
    print(f"  {'method':<24}{'time [s]':>11}{'x lanczos':>11}{'value':>16}{'rel. error':>12}")
    for name in names:
        value = values[name][0]
        print(
            f"  {name:<24}{best[name]:>11.4f}{best[name] / base:>11.2f}{value:>16.10g}"
            f"{value / sigma - 1:>12.2e}"
        )
    within = sigma <= upper <= sigma * 1.01
    print(
        f"  archbound certified upper = {upper:.10g}: upper/sigma_1 - 1 = "
        f"{upper / sigma - 1:.3e}, holds and within 1%: {within}"
    )
    svds_ratio = best["scipy svds(k=1)"] / base
    numpy_ratio = best["numpy norm(W, 2)"] / base
    goals = "goals (stated for 4096x4096)" if shape == (4096, 4096) else "for reference"
    print(
        f"  {goals}: lanczos/svds = {1 / svds_ratio:.3f} (goal <= 0.5: "
        f"{'met' if svds_ratio >= 2 else 'not met'}), numpy/lanczos = {numpy_ratio:.1f}x "
        f"(goal >= 20x: {'met' if numpy_ratio >= 20 else 'not met'}), "
        f"randomized_svd/lanczos = {best['sklearn randomized_svd'] / base:.2f}"
    )
    return best, within


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (512^2, 1024x256)")
    parser.add_argument("--sizes", nargs="*", type=_parse_size, help="e.g. 4096x4096 8192x1024")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per method")
    parser.add_argument(
        "--exact-repeats", type=int, default=1, help="timed runs of numpy's full SVD (slow)"
    )
    parser.add_argument("--threads", type=int, default=None, help="archbound's OpenMP threads")
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = args.sizes
    elif args.quick:
        sizes = [(512, 512), (1024, 256)]
    else:
        sizes = [(4096, 4096), (2048, 2048), (8192, 1024)]

    print(
        f"archbound {archbound.__version__}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            print(f"  {pool['internal_api']}: {pool['num_threads']} threads")
    except ImportError:
        pass
    print(f"delta = {DELTA:g}, rtol = {RTOL:g}")
    for shape in sizes:
        bench_size(
            shape, repeats=args.repeats, exact_repeats=args.exact_repeats, threads=args.threads
        )


if __name__ == "__main__":
    main()
