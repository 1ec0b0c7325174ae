"""Throughput of the distributed bounds: in-process (OpenMP) vs a Dask LocalCluster.

    python bench/bench_distributed.py                 # m = 200,000, N = 1,000, d = 784 float32
    python bench/bench_distributed.py --quick         # small sizes, seconds
    python bench/bench_distributed.py --workers 16    # e.g. on a 16-core machine

The test set is written once to a .npy file, which both paths read as a memory map (the
workers open it themselves, so nothing but its name is sent). In-process runs with as many
OpenMP threads as there are workers; the cluster has single-threaded worker processes.
Prints test rows per second and the ratio cluster / in-process (the goal: >= 0.8 for two
workers against two threads). Best of --repeat runs, alternating, after a warm-up
(harness.race, from harness.py beside it: run it as a script, from any directory).
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile

import numpy as np

import archbound
import harness
from archbound import distributed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=200_000)
    parser.add_argument("--n-train", type=int, default=1_000)
    parser.add_argument("--dim", type=int, default=784)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.m, args.n_train, args.dim, args.chunk_rows = 20_000, 200, 64, 2_000

    from distributed import Client, LocalCluster

    rng = np.random.default_rng(0)
    q = 10
    X = rng.random((args.n_train, args.dim), dtype=np.float32)
    Y = archbound.one_hot(rng.integers(0, q, args.n_train), q)
    sizes = [args.dim, 256, q]
    net = archbound.Network(
        [rng.standard_normal((b, a)) / np.sqrt(a) for a, b in itertools.pairwise(sizes)],
        [np.zeros(b) for b in sizes[1:]],
    )
    with tempfile.TemporaryDirectory() as tmp:
        x_path, y_path = os.path.join(tmp, "X_test.npy"), os.path.join(tmp, "y_test.npy")
        out = np.lib.format.open_memmap(
            x_path, mode="w+", dtype=np.float32, shape=(args.m, args.dim)
        )
        for start in range(0, args.m, 50_000):
            stop = min(args.m, start + 50_000)
            out[start:stop] = rng.random((stop - start, args.dim), dtype=np.float32)
        out.flush()
        del out
        np.save(y_path, rng.integers(0, q, args.m))

        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=40,
        )
        client = Client(cluster)
        common = dict(chunk_rows=args.chunk_rows, seed=0)
        runs = [
            harness.Contender(
                f"in-process, {args.workers} threads",
                lambda: distributed.sample_bounds(
                    net, X, Y, x_path, y_path, threads=args.workers, **common
                ),
            ),
            harness.Contender(
                f"LocalCluster, {args.workers} workers x 1 thread",
                lambda: distributed.sample_bounds(
                    net, X, Y, x_path, y_path, client=client, **common
                ),
            ),
        ]
        times, results = harness.race(runs, args.repeat)
        best = {name: min(wall for wall, _ in t) for name, t in times.items()}
        client.close()
        cluster.close()

    a, b = (results[name] for name in best)
    assert (
        a.test_cost_bound == b.test_cost_bound
        or abs(a.test_cost_bound - b.test_cost_bound) <= 1e-12 * a.test_cost_bound
    )
    print(
        f"m = {args.m:,} test rows, N = {args.n_train:,}, d = {args.dim}, float32 on disk, "
        f"chunks of {args.chunk_rows:,} rows"
    )
    base = None
    for name in best:
        rate = args.m / best[name]
        base = base or rate
        print(f"  {name:<38} {best[name]:8.2f} s  {rate:12,.0f} rows/s  ratio {rate / base:5.2f}")


if __name__ == "__main__":
    main()
