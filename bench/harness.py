"""The benchmarks' shared harness: timing, the machine, and the peers archbound is raced against.

Every script in bench/ times, describes the machine and builds its NumPy / SciPy /
scikit-learn / faiss / torch peers through this module, so that a method or a peer is
written once. Nothing here asserts on time.

- Timing: `best_of` (a warm-up, then the best of `repeats` runs: the block of the size
  sweep), `block_race` (each contender in blocks of its own, rotated over rounds, with a
  pause between blocks: the size sweep's method), `race` (each round runs every contender
  once, in a rotated order: compare.py's method), `median_time`.
- The machine: `machine_info` (CPU, versions, environment, thread pools) and
  `print_machine`; `gemm_rate`, NumPy's GEMM GFLOP/s, the roofline; `time_experiment`,
  the main job end to end; `markdown_table`, the tables of bench/RESULTS.md.
- Peers: nearest neighbour (`numpy_nearest`, `sklearn_brute_nearest`,
  `sklearn_argmin_min`, `faiss_flat_nearest`), forward pass (`numpy_forward`,
  `torch_forward`), pinv (`scipy_qr_pinv`), spectral norm (`OPNORM_PEERS`), the
  constructions (`numpy_readout_first`, `numpy_readout_last`) and the bounds
  (`numpy_sample_bounds`).

The scripts import it as ``import harness``: Python puts a script's own folder first on
sys.path, so `python bench/compare.py` (from any directory) finds it. To import it from
elsewhere, for example an interactive session, put bench/ on PYTHONPATH.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy
import scipy.linalg
import scipy.sparse.linalg

import archbound
from archbound import _core

# --- timing ---


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """One call of `fn`: (wall seconds, process CPU seconds of all threads, its output)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def best_of(
    fn: Callable[[], object], repeats: int, *, slow_s: float = float("inf")
) -> tuple[float, int]:
    """A warm-up call, then the best wall time of `repeats` calls: (seconds, timed calls).

    When the warm-up takes longer than `slow_s` seconds, one timed call only.
    """
    start = time.perf_counter()
    fn()  # warm-up
    runs = 1 if time.perf_counter() - start > slow_s else repeats
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best, runs


def block_race(
    contenders: dict[str, Callable[[], object]], rounds: int, repeats: int, pause_s: float = 0.2
) -> dict[str, float]:
    """Each contender in a block of its own (`best_of` `repeats`), rotated over `rounds` rounds.

    A pause of `pause_s` seconds before each block lets one library's idle threads go to
    sleep before the next library runs. Returns each contender's best time over all rounds.
    """
    names = list(contenders)
    best = dict.fromkeys(names, float("inf"))
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            time.sleep(pause_s)
            best[name] = min(best[name], best_of(contenders[name], repeats)[0])
    return best


@dataclass
class Contender:
    """One implementation in a `race`."""

    name: str
    fn: Callable[[], object]
    costly: bool = False  # one timed run, no warm-up (full SVDs at the standard size)
    flops: float | None = None  # None: the case's nominal count; 0: not shown
    note: str = ""
    scale: float = 1.0  # reported time = measured time x scale (a run on part of the data)
    roofline: bool = False  # the GEMM row that the case's "% roof" column divides by


def race(
    contenders: list[Contender], repeats: int, quick: bool = False
) -> tuple[dict[str, list[tuple[float, float]]], dict[str, object]]:
    """A warm-up of each contender, then `repeats` rounds that run each once, in a rotated order.

    A costly contender runs once, without warm-up, unless `quick`. Returns the (wall, CPU)
    seconds of every timed run, scaled by the contender's `scale`, and each one's last output.
    """
    outputs: dict[str, object] = {}
    for c in contenders:
        if quick or not c.costly:
            outputs[c.name] = c.fn()
    times: dict[str, list[tuple[float, float]]] = {c.name: [] for c in contenders}
    for round_ in range(repeats):
        k = round_ % len(contenders)
        for c in contenders[k:] + contenders[:k]:
            if c.costly and not quick and times[c.name]:
                continue
            wall, cpu, outputs[c.name] = timed(c.fn)
            times[c.name].append((wall * c.scale, cpu * c.scale))
    return times, outputs


def median_time(fn: Callable[[], object], calls: int) -> float:
    """Median wall time of `calls` calls, no warm-up."""
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


_GEMM_OPERANDS: dict = {}


def gemm_operand(dtype, n: int) -> np.ndarray:
    """A uniform n x n matrix of `dtype`; one is kept alive at a time."""
    key = (np.dtype(dtype).name, n)
    if key not in _GEMM_OPERANDS:
        _GEMM_OPERANDS.clear()
        _GEMM_OPERANDS[key] = np.random.default_rng(1).random((n, n)).astype(dtype)
    return _GEMM_OPERANDS[key]


def gemm_rate(dtype, n: int = 4096, repeats: int = 3) -> float:
    """NumPy's GEMM GFLOP/s on n x n matrices of `dtype` (sgemm, dgemm), best of `repeats`."""
    a = gemm_operand(dtype, n)
    return 2.0 * n**3 / best_of(lambda: a @ a, repeats)[0] / 1e9


def relative(a, b) -> float:
    """Relative Frobenius difference ||a - b|| / ||b||."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


def time_experiment(dataset: str) -> tuple[float, subprocess.CompletedProcess]:
    """`archbound experiment --dataset DATASET` with its defaults, run once in a child
    process that writes to a temporary folder: its wall time and the finished process."""
    command = [sys.executable, "-m", "archbound", "experiment", "--dataset", dataset]
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        done = subprocess.run([*command, "--out", out], capture_output=True, text=True)
        return time.perf_counter() - start, done


def markdown_table(header: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """A Markdown table's lines; `align` has one letter a column, "l" or "r" (default "l")."""
    rules = ["---:" if a == "r" else "---" for a in align.ljust(len(header), "l")]
    return ["| " + " | ".join(cells) + " |" for cells in [header, rules, *rows]]


# --- the machine ---


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine()


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), else all of them."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def versions() -> dict:
    out = {
        "python": platform.python_version(),
        "archbound": archbound.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }
    for name in ("sklearn", "faiss", "torch"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            out[name] = None
    return out


ENVIRONMENT = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OMP_PROC_BIND",
    "OMP_PLACES",
    "ARCHBOUND_BLAS",
)


def machine_info(threads: int | None) -> dict:
    """Date, CPU, load, versions, environment, archbound's SIMD and BLAS, NumPy's thread pools."""
    from threadpoolctl import threadpool_info

    pools = [
        {
            k: p.get(k)
            for k in (
                "internal_api",
                "version",
                "architecture",
                "num_threads",
                "threading_layer",
                "filepath",
            )
        }
        for p in threadpool_info()
    ]
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "threads": threads,
        "load_average_before": os.getloadavg()[0],
        "env": {k: os.environ.get(k) for k in ENVIRONMENT},
        "archbound_simd": _core.simd_instruction_sets(),
        "archbound_blas": archbound._backend.backend(),
        "versions": versions(),
        "threadpools": pools,
    }


def print_machine(info: dict) -> None:
    print(
        f"date {info['date']}, {info['cpu']}, {info['cpus']} CPUs ({info['usable_cpus']} usable)"
        f", threads = {info['threads']}, load average {info['load_average_before']:.1f}"
    )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v))
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items() if v)
    print(f"environment: {env or 'no OpenMP / OpenBLAS / archbound variables set'}")
    print(f"archbound SIMD: {info['archbound_simd']}; BLAS: {info['archbound_blas']}")
    for p in info["threadpools"]:
        lib = os.path.basename(p["filepath"] or "")
        print(
            f"  threadpool {p['internal_api']} {p['version'] or ''} kernel={p['architecture']} "
            f"threads={p['num_threads']} ({lib})"
        )


# --- peers: nearest neighbour ---


def numpy_nearest(F, G, block: int = 1024):
    """Blocked |a|^2 + |b|^2 - 2ab over `block` test rows at a time, then the row minimum.

    What a NumPy user writes. Returns (distances, indices) of shapes (m,), like
    archbound.nearest.
    """
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


def sklearn_brute_nearest(F, G, threads: int | None = None):
    """scikit-learn's NearestNeighbors(algorithm="brute"), k = 1: (distances, indices)."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=1, algorithm="brute", n_jobs=threads).fit(G)
    distances, indices = nn.kneighbors(F)
    return distances[:, 0], indices[:, 0]


def sklearn_argmin_min(F, G):
    """scikit-learn's pairwise_distances_argmin_min: (indices, distances)."""
    from sklearn.metrics import pairwise_distances_argmin_min

    return pairwise_distances_argmin_min(F, G)


def faiss_flat_nearest(threads: int | None = None) -> Callable | None:
    """faiss.IndexFlatL2 search with k = 1, as a function (F, G) -> (distances, indices), or
    None when faiss is not installed (`pip install faiss-cpu`). Float32 only."""
    try:
        import faiss
    except ImportError:
        return None
    if threads:
        faiss.omp_set_num_threads(threads)

    def search(F, G):
        index = faiss.IndexFlatL2(G.shape[1])
        index.add(G)
        distances, indices = index.search(F, 1)
        return np.sqrt(distances[:, 0]), indices[:, 0]

    return search


# --- peers: forward pass, pinv, spectral norm ---


def numpy_forward(weights, biases, X):
    """The forward pass as a NumPy loop, in place: h = h @ W.T; h += b; ReLU but at the end."""
    h = X
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = h @ w.T
        h += b
        if i + 1 < len(weights):
            np.maximum(h, 0, out=h)
    return h


def torch_forward(weights, biases, X, threads: int | None = None) -> Callable | None:
    """torch's addmm + relu_ under inference_mode on the same arrays, as a function of no
    arguments returning a NumPy array, or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    if threads:
        torch.set_num_threads(threads)
    tw = [torch.from_numpy(w) for w in weights]
    tb = [torch.from_numpy(b) for b in biases]
    tx = torch.from_numpy(X)

    def forward():
        with torch.inference_mode():
            h = tx
            for i, (w, b) in enumerate(zip(tw, tb)):
                h = torch.addmm(b, h, w.t())
                if i + 1 < len(tw):
                    h.relu_()
            return h.numpy()

    forward.version = torch.__version__
    return forward


def scipy_qr_pinv(a):
    """pinv of a full-rank matrix by SciPy's economic QR and a triangular solve, R^-1 Q^T
    (of a.T for a wide matrix)."""
    tall = a.shape[0] >= a.shape[1]
    b = a if tall else a.T
    q, r = scipy.linalg.qr(b, mode="economic", check_finite=False)
    p = scipy.linalg.solve_triangular(r, q.T, check_finite=False)  # b^+ = R^-1 Q^T
    return p if tall else p.T


def with_condition_number(rng, m: int, n: int, condition: float):
    """U diag(s) V^T of shape (m, n), m >= n, singular values log-spaced from 1 to 1/condition."""
    u, _ = np.linalg.qr(rng.standard_normal((m, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (u * np.logspace(0, -np.log10(condition), n)) @ v.T


# The certificate archbound's Lanczos is asked for: a probability 1 - DELTA of an upper
# bound within a relative RTOL.
OPNORM_DELTA, OPNORM_RTOL = 1e-6, 1e-2


def scipy_svds_norm(W) -> float:
    """sigma_1 by ARPACK (scipy.sparse.linalg.svds, k = 1): machine precision, no certificate."""
    return float(scipy.sparse.linalg.svds(W, k=1, random_state=0)[1][0])


def numpy_exact_norm(W) -> float:
    """sigma_1 by a full SVD (numpy.linalg.norm(W, 2)): exact."""
    return float(np.linalg.norm(W, 2))


def sklearn_randomized_norm(W) -> float:
    """sigma_1 by scikit-learn's randomized_svd at its defaults: fast, a few % low."""
    from sklearn.utils.extmath import randomized_svd

    return float(randomized_svd(W, 1, random_state=0)[1][0])


OPNORM_PEERS = {
    "scipy.sparse.linalg.svds(k=1)": scipy_svds_norm,
    "sklearn randomized_svd": sklearn_randomized_norm,
    "numpy.linalg.norm(W, 2) (SVD)": numpy_exact_norm,
}


# --- peers: construction and bounds (the size sweep) ---


def numpy_readout_first(X, Y, widths):
    """pinv, the layers and the training check, as a NumPy user would write them."""
    A = Y.T @ np.linalg.pinv(X.T)
    q, beta = Y.shape[1], max(0.0, -Y.min())
    weights, biases, fan_in = [], [], X.shape[1]
    for layer, width in enumerate([*widths, q]):
        W = np.zeros((width, fan_in))
        b = np.zeros(width)
        if layer == 0:
            W[:q] = A
            b[:q] = beta
        else:
            W[:q, :q] = np.eye(q)
        weights.append(W)
        biases.append(b)
        fan_in = width
    biases[-1] = np.full(q, -beta)
    residual = numpy_forward(weights, biases, X) - Y
    return weights, biases, float(np.mean(np.sum(residual**2, axis=1)))


def numpy_readout_last(X, Y, widths, seed=0):
    """Random orthogonal layers with shifting biases, then the least-squares readout."""
    rng = np.random.default_rng(seed)
    h, weights, biases = X.T, [], []
    for width in widths:
        g = rng.standard_normal((width, h.shape[0]))
        W = np.linalg.qr(g)[0] if width >= h.shape[0] else np.linalg.qr(g.T)[0].T
        z = W @ h
        b = np.maximum(-z.min(axis=1), 0)
        h = np.maximum(z + b[:, None], 0)
        weights.append(W)
        biases.append(b)
    weights.append(Y.T @ np.linalg.pinv(h))
    biases.append(np.zeros(Y.shape[1]))
    residual = numpy_forward(weights, biases, X) - Y
    return weights, biases, float(np.mean(np.sum(residual**2, axis=1)))


def numpy_sample_bounds(net, variant, X, Y, Xt, Yt):
    """The same bound in NumPy: exact norms, the full m x N distance matrix, the minimum."""
    A = net.construction.readout if net.construction else None
    if variant == "lipschitz":
        alpha = float(np.prod([np.linalg.norm(W, 2) for W in net.weights]))
        F, G = Xt, X
    elif variant == "projected":
        U = np.linalg.qr(X.T)[0]
        alpha, F, G = np.linalg.norm(A, 2), Xt @ U, X @ U
    elif variant == "coordinates":
        P = np.linalg.pinv(X)  # (M0, N)
        alpha, F, G = np.linalg.norm(Y, 2), Xt @ P, np.eye(X.shape[0])
    else:  # linearized
        alpha, F, G = 1.0, Xt @ A.T, X @ A.T
    r = np.linalg.norm(numpy_forward(net.weights, net.biases, X) - Y, axis=1)
    d2 = (F * F).sum(1)[:, None] + (G * G).sum(1)[None, :] - 2 * F @ G.T
    labels = (Yt * Yt).sum(1)[:, None] + (Y * Y).sum(1)[None, :] - 2 * Yt @ Y.T
    B = alpha * np.sqrt(np.maximum(d2, 0)) + np.sqrt(np.maximum(labels, 0)) + r[None, :]
    truth = np.linalg.norm(numpy_forward(net.weights, net.biases, Xt) - Yt, axis=1)
    return B.min(axis=1), truth
