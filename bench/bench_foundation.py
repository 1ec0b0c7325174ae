"""Speed of archbound's foundation against NumPy and SciPy, as ratios from one run.

    python bench/bench_foundation.py            # the sizes of issue 2 (a few minutes)
    python bench/bench_foundation.py --quick    # small sizes, seconds

pinv: X of shape (4096, 2000) with full column rank; archbound.pinv against
numpy.linalg.pinv (SVD) and SciPy's economic QR plus a triangular solve, R^-1 Q^T. Accuracy
is the relative Frobenius difference from numpy.linalg.pinv, also at condition number 1e6.

forward: a batch of 10,000 through layers 784-[1024]x10-10, archbound's Network.forward
against the NumPy loop (h @ W.T + b, then ReLU), in float64 and float32.

Competitors run alternately, in a rotating order, after a warm-up; the best of `--repeats`
rounds is reported. Timings on a shared machine are noisy: compare the ratios of one run.
The BLAS behind NumPy (threadpoolctl) and the OpenBLAS environment variables are printed,
since OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE change NumPy's speed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import time

import archbound
import numpy as np
import scipy
import scipy.linalg
from archbound import _core


def environment(threads) -> dict:
    info = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "archbound": archbound.__version__,
        "cpu_count": os.cpu_count(),
        "archbound_simd": _core.simd_instruction_sets(),
        "archbound_blas": _core.blas_backend(),
        "archbound_threads": threads or "OpenMP default",
        "env": {
            key: os.environ.get(key)
            for key in [
                "OMP_NUM_THREADS",
                "OPENBLAS_NUM_THREADS",
                "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE",
                "ARCHBOUND_BLAS",
            ]
            if key in os.environ
        },
    }
    try:
        info["load_average"] = os.getloadavg()
    except OSError:  # pragma: no cover
        pass
    try:
        from threadpoolctl import threadpool_info

        np.ones((2, 2)) @ np.ones((2, 2))  # make sure NumPy's BLAS is loaded
        info["blas"] = [
            {
                key: pool.get(key)
                for key in ["internal_api", "version", "architecture", "num_threads", "filepath"]
            }
            for pool in threadpool_info()
            if pool.get("user_api") == "blas"
        ]
    except ImportError:
        info["blas"] = "threadpoolctl is not installed"
    return info


def race(competitors: dict, repeats: int) -> dict:
    """Best time of each competitor over `repeats` rounds, alternating in a rotating order."""
    names = list(competitors)
    for name in names:  # warm-up
        competitors[name]()
    best = dict.fromkeys(names, float("inf"))
    for round_ in range(repeats):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in order:
            start = time.perf_counter()
            competitors[name]()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def rel_diff(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def scipy_qr_pinv(x):
    q, r = scipy.linalg.qr(x, mode="economic", check_finite=False)
    return scipy.linalg.solve_triangular(r, q.T, check_finite=False)


def with_condition_number(rng, m, n, condition):
    """U diag(s) V^T with log-spaced singular values from 1 down to 1/condition."""
    u, _ = np.linalg.qr(rng.standard_normal((m, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (u * np.logspace(0, -np.log10(condition), n)) @ v.T


def bench_pinv(shape, repeats, threads, rng) -> dict:
    x = rng.standard_normal(shape)
    times = race(
        {
            "archbound.pinv": lambda: archbound.pinv(x, threads=threads),
            "numpy.linalg.pinv": lambda: np.linalg.pinv(x),
            "scipy qr+solve_triangular": lambda: scipy_qr_pinv(x),
        },
        repeats,
    )
    info = archbound.pinv_info(x, threads=threads)
    reference = np.linalg.pinv(x, rtol=None)
    result = {
        "shape": list(shape),
        "times_s": times,
        "numpy/archbound": times["numpy.linalg.pinv"] / times["archbound.pinv"],
        "scipy_qr/archbound": times["scipy qr+solve_triangular"] / times["archbound.pinv"],
        "fast_path": info.fast_path,
        "rel_diff_vs_numpy": rel_diff(info.pinv, reference),
        "scipy_rel_diff_vs_numpy": rel_diff(scipy_qr_pinv(x), reference),
    }
    hard = with_condition_number(rng, *shape, 1e6)
    hard_info = archbound.pinv_info(hard, threads=threads)
    hard_reference = np.linalg.pinv(hard, rtol=None)
    result["cond_1e6"] = {
        "fast_path": hard_info.fast_path,
        "estimated_condition_number": hard_info.condition_number,
        "rel_diff_vs_numpy": rel_diff(hard_info.pinv, hard_reference),
        "scipy_rel_diff_vs_numpy": rel_diff(scipy_qr_pinv(hard), hard_reference),
    }
    return result


def numpy_forward(x, weights, biases):
    h = x
    last = len(weights) - 1
    for index, (w, b) in enumerate(zip(weights, biases)):
        h = h @ w.T + b
        if index < last:
            np.maximum(h, 0, out=h)
    return h


def bench_forward(batch, sizes, repeats, threads, rng) -> dict:
    weights = [
        rng.standard_normal((out, into)) * np.sqrt(2.0 / into)
        for into, out in itertools.pairwise(sizes)
    ]
    biases = [0.1 * rng.standard_normal(out) for out in sizes[1:]]
    network = archbound.Network(weights, biases)
    x64 = rng.standard_normal((batch, sizes[0]))
    results = {"batch": batch, "layers": sizes}
    for dtype in (np.float64, np.float32):
        x = x64.astype(dtype)
        w = [a.astype(dtype) for a in weights]
        b = [a.astype(dtype) for a in biases]
        times = race(
            {
                "archbound": lambda x=x: network.forward(x, threads=threads),
                "numpy": lambda x=x, w=w, b=b: numpy_forward(x, w, b),
            },
            repeats,
        )
        ours, theirs = network.forward(x, threads=threads), numpy_forward(x, w, b)
        flops = 2.0 * batch * sum(a * c for a, c in itertools.pairwise(sizes))
        results[np.dtype(dtype).name] = {
            "times_s": times,
            "numpy/archbound": times["numpy"] / times["archbound"],
            "archbound_gflops": flops / times["archbound"] / 1e9,
            "numpy_gflops": flops / times["numpy"] / 1e9,
            "max_rel_diff": float(np.abs(ours - theirs).max() / np.abs(theirs).max()),
        }
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds (best of)")
    parser.add_argument("--threads", type=int, default=None, help="archbound's threads")
    parser.add_argument("--only", choices=["pinv", "forward"], default=None)
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)

    repeats = args.repeats or (2 if args.quick else 3)
    pinv_shape = (1024, 500) if args.quick else (4096, 2000)
    batch, sizes = (
        (2000, [784, 1024, 1024, 1024, 10]) if args.quick else (10000, [784] + [1024] * 10 + [10])
    )
    rng = np.random.default_rng(0)

    results = {"environment": environment(args.threads), "quick": args.quick, "repeats": repeats}
    env = results["environment"]
    print(
        f"archbound {env['archbound']}  numpy {env['numpy']}  scipy {env['scipy']}  "
        f"python {env['python']}  cpus {env['cpu_count']}"
    )
    print(f"archbound SIMD: {env['archbound_simd']}; threads: {env['archbound_threads']}")
    print(f"archbound products: {env['archbound_blas']} (ARCHBOUND_BLAS=eigen for Eigen's)")
    for pool in env["blas"] if isinstance(env["blas"], list) else [env["blas"]]:
        print(f"BLAS: {pool}")
    print(
        f"environment: {env['env'] or 'no OpenMP/OpenBLAS variables set'}; "
        f"load average {env.get('load_average')}"
    )

    if args.only in (None, "pinv"):
        r = bench_pinv(pinv_shape, repeats, args.threads, rng)
        results["pinv"] = r
        print(f"\npinv of X {tuple(r['shape'])}, best of {repeats}:")
        for name, seconds in r["times_s"].items():
            print(f"  {name:<28} {seconds:8.3f} s")
        print(f"  numpy / archbound     {r['numpy/archbound']:6.2f}x   (goal >= 3.5)")
        print(f"  scipy QR / archbound  {r['scipy_qr/archbound']:6.2f}x   (goal >= 1.0)")
        print(
            f"  fast path {r['fast_path']}; rel. Frobenius diff vs numpy "
            f"{r['rel_diff_vs_numpy']:.2e} (scipy QR {r['scipy_rel_diff_vs_numpy']:.2e})"
        )
        c = r["cond_1e6"]
        print(
            f"  condition 1e6: fast path {c['fast_path']}, estimated condition "
            f"{c['estimated_condition_number']:.3e}, rel. diff vs numpy "
            f"{c['rel_diff_vs_numpy']:.2e} (scipy QR {c['scipy_rel_diff_vs_numpy']:.2e}; "
            f"goal <= 1e-10)"
        )

    if args.only in (None, "forward"):
        r = bench_forward(batch, sizes, repeats, args.threads, rng)
        results["forward"] = r
        layers = f"{sizes[0]}-[{sizes[1]}]x{len(sizes) - 2}-{sizes[-1]}"
        print(f"\nforward of a batch of {batch} through {layers}, best of {repeats}:")
        for dtype in ("float64", "float32"):
            d = r[dtype]
            print(
                f"  {dtype}: archbound {d['times_s']['archbound']:.3f} s "
                f"({d['archbound_gflops']:.0f} GFLOP/s), numpy {d['times_s']['numpy']:.3f} s "
                f"({d['numpy_gflops']:.0f} GFLOP/s), numpy / archbound "
                f"{d['numpy/archbound']:.2f}x (goal >= 1.0); max rel. diff {d['max_rel_diff']:.1e}"
            )

    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
