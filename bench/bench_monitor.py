"""Cost of one NormMonitor record against one training epoch (issue: monitoring, Speed).

Target: recording a 784-[256, 256]-10 network every epoch costs at most 10% of one epoch of
scikit-learn's MLPRegressor on N = 1,000 samples. Synthetic data of MNIST's shape (the cost
depends on the shapes only). Prints the median times and their ratio.

    PYTHONPATH=python python bench/bench_monitor.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from sklearn.neural_network import MLPRegressor

import archbound


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument(
        "--n-test", type=int, default=1000, help="test samples for the bound records (bound_every)"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.random((args.n_train, 784))
    Y = np.eye(10)[rng.integers(0, 10, args.n_train)]
    T = rng.random((args.n_test, 784))
    TY = np.eye(10)[rng.integers(0, 10, args.n_test)]
    model = MLPRegressor(hidden_layer_sizes=(256, 256), alpha=0.0, random_state=0)
    model.partial_fit(X, Y)  # initialise (not timed)

    epochs, records, bounds = [], [], []
    plain = archbound.NormMonitor(X, Y, seed=0)
    with_bound = archbound.NormMonitor(X, Y, T, TY, bound_every=1, seed=0)
    for step in range(args.repeats):
        start = time.perf_counter()
        model.partial_fit(X, Y)
        epochs.append(time.perf_counter() - start)
        start = time.perf_counter()
        plain.record(step, model)
        records.append(time.perf_counter() - start)
        start = time.perf_counter()
        with_bound.record(step, model)
        bounds.append(time.perf_counter() - start)
    epoch, record, bound = (statistics.median(v) for v in (epochs, records, bounds))
    methods = [n.method for n in plain.history[-1].norms]
    print(f"784-[256, 256]-10, N = {args.n_train}, median of {args.repeats}")
    print(f"  norms of the three layers by: {', '.join(methods)}")
    print(f"  one MLPRegressor epoch (partial_fit)  {1e3 * epoch:8.1f} ms")
    print(
        f"  one record                            {1e3 * record:8.1f} ms  "
        f"ratio {record / epoch:.3f} (target <= 0.10)"
    )
    print(
        f"  one record with the bound (m = {args.n_test})  {1e3 * bound:8.1f} ms  "
        f"ratio {bound / epoch:.3f}"
    )


if __name__ == "__main__":
    main()
