"""OpenMP scaling of archbound's geometry kernel and Lanczos, from 1 to 16 threads.

One short prepared script for a many-core machine: it needs numpy and archbound only. For
each thread count (1, 2, 4, 8, 16, capped at the CPUs this process may use, plus that count
if it is not a power of two) it times

- the geometry kernel: archbound.nearest, 10k test x 10k training x 784 float32 (the goal:
  >= 1.7x on 2 threads, >= 10x on 16), and
- Lanczos: archbound.opnorm(W, method="lanczos"), W 4096 x 4096 float64, delta 1e-6, rtol 1e-2,

best of a few runs after a warm-up, and prints a Markdown table of times, speed-ups, parallel
efficiency and GFLOP/s, ready for bench/RESULTS.md. About a minute on 16 cores; it drops to one
timed run per point when a run is slow, and stops early past --budget seconds. Its timing and
machine description come from harness.py, beside it: run it as a script, from any directory.

    python bench/device_scaling.py                  # the standard sizes
    python bench/device_scaling.py --quick          # small sizes, seconds (a smoke test)
    python bench/device_scaling.py --threads 1,2,4  # other thread counts
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

import archbound
import harness
from archbound import _core


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2000 x 2000 x 256 and 1024^2")
    parser.add_argument("--threads", default=None, help="comma-separated thread counts")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per point (best of)")
    parser.add_argument(
        "--budget",
        type=float,
        default=170.0,
        help="seconds after which the remaining points are skipped",
    )
    args = parser.parse_args(argv)
    cpus = harness.usable_cpus()
    if args.threads:
        counts = sorted({int(t) for t in args.threads.split(",") if t.strip()})
    else:
        counts = sorted({t for t in (1, 2, 4, 8, 16) if t <= cpus} | {min(cpus, 16)})
    m, n, d = (2000, 2000, 256) if args.quick else (10_000, 10_000, 784)
    size = 1024 if args.quick else 4096
    started = time.perf_counter()

    print(
        f"{harness.cpu_model()}, {os.cpu_count()} CPUs ({cpus} usable), python "
        f"{platform.python_version()}, numpy {np.__version__}, archbound "
        f"{archbound.__version__}, SIMD {_core.simd_instruction_sets()}"
    )
    print(
        "environment: "
        + ", ".join(
            f"{k}={os.environ.get(k, 'unset')}"
            for k in ("OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES", "OPENBLAS_CORETYPE")
        )
    )
    print(f"load average {os.getloadavg()[0]:.1f}")

    rng = np.random.default_rng(0)
    F = rng.random((m, d), dtype=np.float32)
    G = rng.random((n, d), dtype=np.float32)
    W = rng.standard_normal((size, size))
    sgemm = harness.gemm_rate(np.float32, size, repeats=1)
    print(f"numpy sgemm {size}^2 with all of OpenBLAS's threads: {sgemm:.0f} GFLOP/s (roofline)")
    steps = archbound.opnorm(W, method="lanczos", seed=0, threads=1).iterations

    kernels = {
        f"geometry float32 {m}x{n}x{d}": (
            lambda t: archbound.nearest(F, G, threads=t),
            2.0 * m * n * d,
        ),
        f"lanczos {size}x{size} float64 ({steps} steps)": (
            lambda t: archbound.opnorm(W, method="lanczos", seed=0, threads=t),
            4.0 * steps * W.size,
        ),
    }
    results = {name: {} for name in kernels}
    for t in counts:
        for name, (call, _) in kernels.items():
            if time.perf_counter() - started > args.budget:
                print(f"  budget of {args.budget:.0f} s spent: {name} on {t} threads skipped")
                continue
            seconds, runs = harness.best_of(
                lambda call=call, t=t: call(t), args.repeats, slow_s=4.0
            )
            results[name][t] = seconds
            print(f"  {name}, {t:2d} threads: {seconds:.4f} s (best of {runs})", flush=True)

    print("\n| kernel | threads | time [s] | speed-up | efficiency | GFLOP/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (_, flops) in kernels.items():
        base = results[name].get(1)
        for t, seconds in results[name].items():
            speedup = base / seconds if base else float("nan")
            print(
                f"| {name} | {t} | {seconds:.4f} | {speedup:.2f} | {speedup / t:.2f} | "
                f"{flops / seconds / 1e9:.1f} |"
            )
    print("\ngoals (geometry kernel): >= 1.7x on 2 threads, >= 10x on 16")
    geometry = results[next(iter(kernels))]
    for t, target in ((2, 1.7), (16, 10.0)):
        if 1 in geometry and t in geometry:
            speedup = geometry[1] / geometry[t]
            print(f"  {t} threads: {speedup:.2f}x: {'met' if speedup >= target else 'NOT MET'}")
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
