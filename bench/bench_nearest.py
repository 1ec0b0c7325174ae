"""Nearest-neighbour search: archbound's geometry kernel against NumPy, scikit-learn and faiss.

The issue's targets (10,000 test x 10,000 training x 784 features): float32 no slower than a
blocked NumPy |a|^2 + |b|^2 - 2ab (1024-row blocks, OpenBLAS sgemm underneath) and at least
70% of NumPy's sgemm rate; float64 no slower than blocked NumPy float64. All contenders run in
the same process, alternating, with the same thread count; each time is the best of several
after a warm-up. GFLOP/s counts the GEMM work, 2 m N d, for every contender.

    python bench/bench_nearest.py            # 10k x 10k x 784
    python bench/bench_nearest.py --quick    # 2k x 2k x 256, a few seconds
    python bench/bench_nearest.py --threads 1 --cpu-time   # per-core rates on a busy machine
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import archbound
import numpy as np
from archbound import _core
from threadpoolctl import threadpool_info, threadpool_limits


def numpy_blocked(F, G, block=1024):
    """|a|^2 + |b|^2 - 2ab over 1024-row blocks of the test set, then argmin."""
    g2 = np.einsum("ij,ij->i", G, G)
    values = np.empty(len(F), F.dtype)
    indices = np.empty(len(F), np.int64)
    for s in range(0, len(F), block):
        a = F[s : s + block]
        d2 = a @ G.T
        d2 *= -2
        d2 += g2[None, :]
        d2 += np.einsum("ij,ij->i", a, a)[:, None]
        k = d2.argmin(axis=1)
        indices[s : s + block] = k
        values[s : s + block] = np.sqrt(np.maximum(d2[np.arange(len(a)), k], 0))
    return values, indices


def gemm_rate(dtype, n=4096, repeats=3):
    """NumPy (OpenBLAS) GEMM GFLOP/s on n x n matrices, best of `repeats`."""
    a = np.random.default_rng(1).random((n, n)).astype(dtype)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


_clock = time.perf_counter


def _timed(fn):
    start = _clock()
    fn()
    return _clock() - start


def contenders(F32, G32, F64, G64, threads, with_faiss):
    out = {
        "archbound float32": lambda: archbound.nearest(F32, G32, threads=threads),
        "numpy blocked float32": lambda: numpy_blocked(F32, G32),
        "archbound float64": lambda: archbound.nearest(F64, G64, threads=threads),
        "numpy blocked float64": lambda: numpy_blocked(F64, G64),
        "archbound float32 1 thread": lambda: archbound.nearest(F32, G32, threads=1),
    }
    try:
        from sklearn.neighbors import NearestNeighbors

        def sklearn_brute():
            nn = NearestNeighbors(n_neighbors=1, algorithm="brute", n_jobs=threads).fit(G32)
            distances, indices = nn.kneighbors(F32)
            return distances[:, 0], indices[:, 0]

        out["sklearn brute float32"] = sklearn_brute
    except ImportError:
        print("scikit-learn missing: skipped")
    if with_faiss:
        try:
            import faiss

            faiss.omp_set_num_threads(threads)

            def faiss_flat():
                index = faiss.IndexFlatL2(G32.shape[1])
                index.add(G32)
                distances, indices = index.search(F32, 1)
                return np.sqrt(distances[:, 0]), indices[:, 0]

            out["faiss IndexFlatL2 float32"] = faiss_flat
        except ImportError:
            print("faiss missing (pip install faiss-cpu): skipped")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="2000 x 2000 x 256, GEMM rate at 2048^2"
    )
    parser.add_argument("--m", type=int, default=None)
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--d", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds (best of)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--no-faiss", action="store_true")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time with process CPU time instead of wall time: robust on a busy machine, "
        "meaningful with --threads 1 only",
    )
    args = parser.parse_args()
    if args.cpu_time:
        global _clock
        _clock = time.process_time
    m, n, d = (2000, 2000, 256) if args.quick else (10_000, 10_000, 784)
    m, n, d = args.m or m, args.n or n, args.d or d
    repeats = args.repeats or (3 if args.quick else 5)
    threads = args.threads

    rng = np.random.default_rng(0)
    F64, G64 = rng.random((m, d)), rng.random((n, d))
    F32, G32 = F64.astype(np.float32), G64.astype(np.float32)
    flops = 2.0 * m * n * d
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    print(
        f"m={m} N={n} d={d}, threads={threads}, cpus={os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        "BLAS:",
        ", ".join(f"{b['internal_api']} {b.get('version')} {b.get('architecture')}" for b in blas),
    )
    print("archbound SIMD:", _core.simd_instruction_sets())

    with threadpool_limits(threads):
        size = 2048 if args.quick else 4096
        rates = {"sgemm": gemm_rate(np.float32, size), "dgemm": gemm_rate(np.float64, size)}
        with threadpool_limits(1):
            rates["sgemm 1 thread"] = gemm_rate(np.float32, size)
            rates["dgemm 1 thread"] = gemm_rate(np.float64, size)
        print(
            f"NumPy GEMM at {size}^2: "
            + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in rates.items())
        )
        runs = contenders(F32, G32, F64, G64, threads, not args.no_faiss)
        results = {}
        for name, fn in runs.items():  # warm-up, and the answers to cross-check
            results[name] = fn()
        truth = results["archbound float64"][0]
        for name, (values, _) in results.items():
            error = float(np.max(np.abs(np.asarray(values, np.float64) - truth) / truth))
            if error > 1e-3:
                print(f"WARNING: {name} differs from archbound float64 by {error:.1e} (relative)")
        times = {name: [] for name in runs}
        for _ in range(repeats):
            for name, fn in runs.items():
                times[name].append(_timed(fn))
        sgemm_rate = rates["sgemm"]

    clock = "CPU time" if args.cpu_time else "wall time"
    print(f"load average after: {os.getloadavg()[0]:.1f}; {clock} (noisy on a shared machine)")
    best = {name: min(t) for name, t in times.items()}
    ours = best["archbound float32"]
    print(
        f"\n{'contender':30s} {'best s':>8s} {'median s':>9s} {'GFLOP/s':>8s} "
        f"{'% sgemm':>8s} {'time / archbound f32':>21s}"
    )
    for name, t in times.items():
        rate = flops / best[name] / 1e9
        print(
            f"{name:30s} {best[name]:8.3f} {statistics.median(t):9.3f} {rate:8.1f} "
            f"{100 * rate / sgemm_rate:7.0f}% {best[name] / ours:21.2f}"
        )
    print("\nratios (> 1 means archbound is faster):")
    pairs = [
        ("numpy blocked float32", "archbound float32"),
        ("numpy blocked float64", "archbound float64"),
        ("sklearn brute float32", "archbound float32"),
        ("faiss IndexFlatL2 float32", "archbound float32"),
        ("archbound float32 1 thread", "archbound float32"),
    ]
    for slow, fast in pairs:
        if slow in best:
            label = (
                f"speed-up 1 -> {threads} threads" if "1 thread" in slow else f"{slow} / {fast}"
            )
            print(f"  {label:52s} {best[slow] / best[fast]:6.2f}")
    print(
        f"  {'archbound float32 GFLOP/s / numpy sgemm GFLOP/s':52s} "
        f"{flops / ours / 1e9 / sgemm_rate:6.2f}"
    )


if __name__ == "__main__":
    main()
