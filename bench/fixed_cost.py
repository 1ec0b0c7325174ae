"""The fixed cost of a call: each public function on a tiny input against the bare core call.

For `nearest` (2 x 2 x 3), `Network.forward` (a 2-2-1 network on 2 samples), `pinv` (2 x 2)
and `opnorm` (2 x 2, with a seed and without), it times the public call and the
``archbound._core`` function that call ends in, given arguments prepared once, and prints
both and their difference: what the Python layer (validation, thread resolution, result
objects) costs on top of the C++ call. Nothing here asserts on time.

Method: `timeit`, blocks of `--number` calls, the best of `--repeats` blocks; the two calls
of a row alternate block by block, so that they see the same load. On a busy machine,
``--thread-time`` times the calling thread's CPU time instead of wall time (the core runs
these sizes on the calling thread alone).

    python bench/fixed_cost.py [--repeats 201] [--number 200] [--thread-time] [--only nearest,pinv]
"""

from __future__ import annotations

import argparse
import time
import timeit
from collections.abc import Callable

import numpy as np

import archbound
from archbound import _core


def _cases() -> list[tuple[str, Callable[[], object], Callable[[], object]]]:
    """(name, public call, core call) for each function."""
    rng = np.random.default_rng(0)
    F, G = rng.random((2, 3)), rng.random((2, 3))
    alphas = np.ones(1)
    net = archbound.Network(
        [rng.standard_normal((2, 2)), rng.standard_normal((1, 2))],
        [rng.standard_normal(2), rng.standard_normal(1)],
    )
    X = rng.standard_normal((2, 2))
    net.forward(X)  # the network prepares its evaluated layers on the first call
    weights, biases = (list(layers) for layers in net._evaluated())
    code, value = net.activation.code, net.activation._value
    a = rng.standard_normal((2, 2))
    return [
        (
            "nearest 2x2x3",
            lambda: archbound.nearest(F, G),
            lambda: _core.nearest_float64(F, G, alphas, None, None, None, None, None, 2, 0, False),
        ),
        (
            "Network.forward 2-2-1, 2 samples",
            lambda: net.forward(X),
            lambda: _core.forward_float64(X, weights, biases, 0, code, value),
        ),
        ("pinv 2x2", lambda: archbound.pinv(a), lambda: _core.pinv(a, -1.0, 0, False)),
        (
            "opnorm 2x2, seed=0",
            lambda: archbound.opnorm(a, seed=0),
            lambda: _core.opnorm(a, "exact", 1e-6, 1e-2, 0, 0, 0),
        ),
        (
            "opnorm 2x2, seed=None",
            lambda: archbound.opnorm(a),
            lambda: _core.opnorm(a, "exact", 1e-6, 1e-2, 0, 0, 0),
        ),
    ]


def best_pair(
    public: Callable[[], object],
    core: Callable[[], object],
    repeats: int,
    number: int,
    timer: Callable[[], float],
) -> tuple[float, float]:
    """The best seconds per call of `public` and of `core`, timed in alternating blocks."""
    timers = [timeit.Timer(fn, timer=timer) for fn in (public, core)]
    for t in timers:
        t.timeit(number // 10 or 1)  # warm-up
    best = [float("inf"), float("inf")]
    for _ in range(repeats):
        for k, t in enumerate(timers):
            best[k] = min(best[k], t.timeit(number) / number)
    return best[0], best[1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=201, help="blocks per call (best of)")
    parser.add_argument("--number", type=int, default=200, help="calls per block")
    parser.add_argument(
        "--thread-time", action="store_true", help="the calling thread's CPU time, not wall"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated prefixes of the rows to run (nearest,pinv)"
    )
    args = parser.parse_args(argv)
    only = tuple(filter(None, args.only.split(",")))
    timer = time.thread_time if args.thread_time else time.perf_counter
    product = timeit.Timer(
        "F @ G.T", globals={"F": np.ones((2, 3)), "G": np.ones((2, 3))}, timer=timer
    )
    numpy_us = min(product.repeat(args.repeats, args.number)) / args.number * 1e6
    clock = "thread CPU time" if args.thread_time else "wall time"
    print(f"best of {args.repeats} blocks of {args.number} calls, {clock}, in us per call")
    print(f"(NumPy's product of two 2 x 3 arrays: {numpy_us:.2f} us)")
    print(f"{'function':<34}{'core call':>10}{'public':>10}{'overhead':>10}")
    for name, public, core in _cases():
        if only and not name.startswith(only):
            continue
        public_s, core_s = best_pair(public, core, args.repeats, args.number, timer)
        print(
            f"{name:<34}{core_s * 1e6:10.2f}{public_s * 1e6:10.2f}"
            f"{(public_s - core_s) * 1e6:10.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
