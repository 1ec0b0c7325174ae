"""Cost of one NormMonitor record against one training epoch, side by side in one run.

Targets: recording a 784-[256, 256]-10 network every epoch costs at most 0.10 of one epoch on
N = 1,000 samples, and a record with the sample bound (m = 1,000 test samples) at most 0.35.
A plain record certifies the norms and the Lipschitz bound; a bound record adds the training
cost, the sample bound and the true test error. ``--framework sklearn`` (the default) trains
scikit-learn's MLPRegressor (``partial_fit``); ``--framework torch`` trains a custom torch
``nn.Module`` (F.relu) with ``torch.optim.SGD`` in mini-batches of 64 and records the module
itself (its graph traced once, each parameter converted at each record). Synthetic data of
MNIST's shape (the cost depends on the shapes only). Prints the median times, their ratios,
the mean ratio of the records after the first (which alone traces the module, certifies every
layer and computes the distance matrices), how many records ran Lanczos, and the parts of a
record: reading the model, and the forward passes of a bound record over the training and the
test set as the record runs them (in float32 with certified margins for this ReLU network),
beside the same two passes in float64.

    PYTHONPATH=python python bench/bench_monitor.py [--repeats 5] [--framework torch] [--rtol 0.2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import archbound
from archbound.readers import as_network


class _SklearnTrainer:
    """One epoch of MLPRegressor.partial_fit; the model is what the monitor records."""

    name = "MLPRegressor epoch (partial_fit)"

    def __init__(self, X, Y):
        from sklearn.neural_network import MLPRegressor

        self.X, self.Y = X, Y
        self.model = MLPRegressor(hidden_layer_sizes=(256, 256), alpha=0.0, random_state=0)
        self.model.partial_fit(X, Y)  # initialise (not timed)

    def epoch(self):
        self.model.partial_fit(self.X, self.Y)


class _TorchTrainer:
    """One epoch of SGD on a custom nn.Module with F.relu, in mini-batches of 64."""

    name = "torch epoch (SGD, batches of 64)"

    def __init__(self, X, Y):
        import torch

        F = torch.nn.functional

        class MLP(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = torch.nn.Linear(784, 256)
                self.fc2 = torch.nn.Linear(256, 256)
                self.out = torch.nn.Linear(256, 10)

            def forward(self, x):
                return self.out(F.relu(self.fc2(F.relu(self.fc1(x)))))

        torch.manual_seed(0)
        self.torch = torch
        self.model = MLP()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.05)
        self.X = torch.as_tensor(X, dtype=torch.float32)
        self.Y = torch.as_tensor(Y, dtype=torch.float32)
        self.epoch()  # warm up (not timed)

    def epoch(self):
        for batch in self.torch.randperm(len(self.X)).split(64):
            self.optimizer.zero_grad()
            loss = ((self.model(self.X[batch]) - self.Y[batch]) ** 2).sum(dim=1).mean()
            loss.backward()
            self.optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument(
        "--n-test", type=int, default=1000, help="test samples for the bound records (bound_every)"
    )
    parser.add_argument("--framework", choices=("sklearn", "torch"), default="sklearn")
    parser.add_argument(
        "--rtol", type=float, default=0.2, help="NormMonitor's re-anchoring tolerance"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.random((args.n_train, 784))
    Y = np.eye(10)[rng.integers(0, 10, args.n_train)]
    T = rng.random((args.n_test, 784))
    TY = np.eye(10)[rng.integers(0, 10, args.n_test)]
    trainer = (_TorchTrainer if args.framework == "torch" else _SklearnTrainer)(X, Y)

    epochs, records, bounds, readings, forwards, forwards64 = [], [], [], [], [], []
    plain = archbound.NormMonitor(X, Y, rtol=args.rtol, seed=0)
    with_bound = archbound.NormMonitor(X, Y, T, TY, bound_every=1, rtol=args.rtol, seed=0)
    for step in range(args.repeats):
        start = time.perf_counter()
        trainer.epoch()
        epochs.append(time.perf_counter() - start)
        start = time.perf_counter()
        plain.record(step, trainer.model)
        records.append(time.perf_counter() - start)
        start = time.perf_counter()
        with_bound.record(step, trainer.model)
        bounds.append(time.perf_counter() - start)
        start = time.perf_counter()
        network = as_network(trainer.model)  # the part of a record that reads it
        readings.append(time.perf_counter() - start)
        uppers = [n.upper for n in with_bound.history[-1].norms]
        start = time.perf_counter()  # the forward passes of a bound record, as it runs them
        with_bound._inputs.evaluate(network, uppers, train=True, test=True, threads=0)
        forwards.append(time.perf_counter() - start)
        start = time.perf_counter()  # the same two passes in float64
        network.forward(X)
        network.forward(T)
        forwards64.append(time.perf_counter() - start)
    epoch, record, bound = (statistics.median(v) for v in (epochs, records, bounds))
    # The first record of a run also traces the module, certifies every layer and computes
    # the bound's distance matrices: one-time costs, left out of the means.
    record_mean, bound_mean = (statistics.mean(v[1:] or v) for v in (records, bounds))
    methods = [n.method for n in plain.history[-1].norms]
    print(f"784-[256, 256]-10, N = {args.n_train}, median of {args.repeats} (rtol {args.rtol})")
    print(f"  norms of the three layers at the last record by: {', '.join(methods)}")
    print(
        f"  records that ran Lanczos: {plain.anchor_events} of {args.repeats} (plain), "
        f"{with_bound.anchor_events} of {args.repeats} (with the bound)"
    )
    print(f"  one {trainer.name:34s} {1e3 * epoch:8.1f} ms")
    print(
        f"  one record                            {1e3 * record:8.1f} ms  "
        f"ratio {record / epoch:.3f} (target <= 0.10); mean of records 2.. "
        f"{record_mean / epoch:.3f}"
    )
    print(
        f"  one record with the bound (m = {args.n_test})  {1e3 * bound:8.1f} ms  "
        f"ratio {bound / epoch:.3f} (target <= 0.35); mean of records 2.. "
        f"{bound_mean / epoch:.3f}"
    )
    reading, forward = statistics.median(readings), statistics.median(forwards)
    forward64 = statistics.median(forwards64)
    print(
        f"  of a record, reading the model         {1e3 * reading:8.1f} ms  "
        f"ratio {reading / epoch:.3f}"
    )
    precision = with_bound.history[-1].precision
    print(
        f"  of a bound record, its forward passes ({precision})  {1e3 * forward:8.1f} ms  "
        f"ratio {forward / epoch:.3f}; the same in float64 {1e3 * forward64:.1f} ms  "
        f"ratio {forward64 / epoch:.3f}"
    )


if __name__ == "__main__":
    main()
