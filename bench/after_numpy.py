"""archbound calls right after NumPy or SciPy work (`python bench/compare.py --after-numpy`).

Users interleave libraries. Right after NumPy's BLAS returns, NumPy's OpenBLAS threads keep
spinning for a while, and SciPy's (a separate copy) likewise after `svds`; a parallel region
that waits for a thread sharing a core with such a spinner runs at the spinner's pace.
For each archbound call this prints the median of `calls` calls

- alone (one archbound call after another);
- right after 20 NumPy mat-vecs with a 4096^2 matrix;
- right after one NumPy 1024^2 matmul;
- right after SciPy's `svds(k=1)` of a 1024^2 matrix;

and each median as a ratio to the call alone. Nothing here asserts on time.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import numpy as np

import archbound  # before SciPy's BLAS loads, as the README asks

# isort: split
from scipy.sparse.linalg import svds

import harness

Call = Callable[[], object]


def _calls(quick: bool) -> dict[str, Call]:
    """The archbound calls timed, by name (small sizes when `quick`)."""
    rng = np.random.default_rng(0)
    n = 512 if quick else 4096
    W = rng.standard_normal((n, n))
    calls: dict[str, Call] = {
        f"opnorm {n}^2, certified 1%": lambda: archbound.opnorm(
            W, method="lanczos", rtol=1e-2, delta=1e-6, seed=0
        )
    }
    shapes = [(200, 76, 784)] if quick else [(2000, 760, 784), (10000, 10000, 784)]
    for m, N, d in shapes:
        test = rng.random((m, d), dtype=np.float32)
        train = rng.random((N, d), dtype=np.float32)
        calls[f"nearest f32 {m}x{N}x{d}"] = lambda t=test, g=train: archbound.nearest(t, g)
    batch = 100 if quick else 1000
    widths = [784, 256, 256, 256, 10]
    net = archbound.Network(
        [rng.standard_normal((b, a)) / np.sqrt(a) for a, b in zip(widths[:-1], widths[1:])],
        [np.zeros(b) for b in widths[1:]],
    )
    X = rng.random((batch, 784))
    calls[f"forward {batch}x784-[256]x3-10"] = lambda: net.forward(X)
    A = rng.standard_normal((784, 76 if quick else 760))
    calls[f"pinv {A.shape[0]}x{A.shape[1]}"] = lambda: archbound.pinv(A)
    return calls


def _before(quick: bool) -> dict[str, Call | None]:
    """What runs just before each timed call, by scenario."""
    rng = np.random.default_rng(1)
    n = 1024 if quick else 4096
    big = rng.standard_normal((n, n))
    v = rng.standard_normal(n)
    square = rng.standard_normal((1024, 1024))

    def matvecs():
        for _ in range(20):
            big @ v

    return {
        "alone": None,
        "after NumPy mat-vecs": matvecs,
        "after a NumPy matmul": lambda: square @ square,
        "after SciPy svds": lambda: svds(square, k=1, random_state=0),
    }


def _thread_cpu_ms() -> float:
    """CPU time of all this process's threads so far, in ms (Linux /proc/self/task/*/schedstat:
    nanoseconds on a CPU)."""
    total = 0
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:  # the thread ended meanwhile
            continue
    return total / 1e6


def spin_probe(quick: bool = False, window_s: float = 0.2, step_s: float = 0.02) -> None:
    """The cause, measured: CPU time the process burns after each scenario's work returns.

    The main thread sleeps, so whatever CPU time the process spends meanwhile is spent by
    idle library threads (NumPy's OpenBLAS spinning for its next call). Printed as the
    cumulative milliseconds of CPU after 20, 40, ... ms of sleep.
    """
    if not os.path.exists("/proc/self/schedstat"):
        print("spin probe: needs Linux /proc/self/task/*/schedstat")
        return
    every = f"every {1e3 * step_s:.0f} ms"
    print(f"\n== CPU ms burnt by idle threads while the caller sleeps ({every}) ==")
    for name, before in _before(quick).items():
        if before is None:
            continue
        before()  # warm-up: the library's threads exist
        time.sleep(0.5)
        before()
        start = _thread_cpu_ms()
        burnt = []
        for _ in range(int(window_s / step_s)):
            time.sleep(step_s)
            burnt.append(_thread_cpu_ms() - start)
        print(f"{name:<24}" + " ".join(f"{b:4.0f}" for b in burnt))


def _median(call: Call, before: Call | None, calls: int) -> float:
    """Median wall time of `call` over `calls` calls, each right after `before`."""
    times = []
    for _ in range(calls):
        if before is not None:
            before()
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(quick: bool = False, calls: int = 5, only: tuple[str, ...] = ()) -> list[dict]:
    """Every call (or those whose name starts with one of `only`) under every scenario."""
    scenarios = _before(quick)
    rows = []
    print(f"\n== archbound right after NumPy / SciPy work (median of {calls} calls, ms) ==")
    header = "".join(f"{name:>22}" for name in scenarios)
    print(f"{'call':<34}{header}")
    for name, call in _calls(quick).items():
        if only and not name.startswith(only):
            continue
        call()  # warm-up
        times = {s: _median(call, before, calls) for s, before in scenarios.items()}
        alone = times["alone"]
        cells = "".join(
            f"{1e3 * t:>13.1f} ({t / alone:4.2f}x)" if s != "alone" else f"{1e3 * t:>22.1f}"
            for s, t in times.items()
        )
        print(f"{name:<34}{cells}")
        rows.append({"call": name, **{s: t for s, t in times.items()}})
    return rows


def to_markdown(rows: list[dict]) -> str:
    """The table as Markdown: ms, and each scenario as a ratio to the call alone."""
    scenarios = [k for k in rows[0] if k != "call"]
    cells = [
        [r["call"], f"{1e3 * r['alone']:.1f} ms"]
        + [f"{1e3 * r[s]:.1f} ms ({r[s] / r['alone']:.2f}x)" for s in scenarios[1:]]
        for r in rows
    ]
    return "\n".join(harness.markdown_table(["call", *scenarios], cells))


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: seconds, for CI")
    parser.add_argument("--calls", type=int, default=5, help="calls per median (default 5)")
    parser.add_argument(
        "--only", default="", help="comma-separated kernels: opnorm,nearest,forward,pinv"
    )
    parser.add_argument("--markdown", metavar="PATH", help="write the table as Markdown to PATH")
    parser.add_argument(
        "--spin-probe",
        action="store_true",
        help="first measure the CPU time idle library threads burn after each scenario's work",
    )
    args = parser.parse_args(argv)
    if args.spin_probe:
        spin_probe(quick=args.quick)
    only = tuple(k.strip() for k in args.only.split(",") if k.strip())
    rows = run(quick=args.quick, calls=args.calls, only=only)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(to_markdown(rows) + "\n")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
