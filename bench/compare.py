"""archbound against the tools users would pick instead: one run, ratios, GFLOP/s (issue 6).

For each kernel, archbound and its peers run in the same process, alternating (each round
runs every contender once, in a rotated order), each after a warm-up; a contender's time is
the best of its runs. Every time is also shown as a fraction of the machine's GEMM roofline,
NumPy's dgemm and sgemm at 4096^2, with the same thread count.

Kernels and peers:

- pinv, X of shape (4096, 2000): numpy.linalg.pinv, scipy.linalg.pinv, SciPy QR plus a
  triangular solve, archbound.reference.pinv.
- opnorm, W 4096^2, certified within 1% at delta = 1e-6: numpy.linalg.norm(W, 2),
  scipy.sparse.linalg.svds(k=1), sklearn randomized_svd, archbound exact, the reference, and
  a floor: NumPy doing only the matrix-vector products of archbound's Lanczos steps.
- nearest, 10k test x 10k training x 784: blocked NumPy (1024-row blocks), faiss.IndexFlatL2
  (k=1, when installed), sklearn NearestNeighbors(brute), the reference (on a subset of the
  test rows, extrapolated).
- forward, batch 10k through 784-[1024]x10-10: a NumPy loop, torch (when installed), the
  reference.
- omp: archbound's geometry kernel and Lanczos on 1 and 2 threads.
- experiment: `archbound experiment --dataset fashion-mnist`, when the command exists.

The goals of issue 6 are checked at the end (met / not met); nothing here asserts on time.

    python bench/compare.py                   # standard sizes (minutes)
    python bench/compare.py --quick           # small sizes (seconds)
    python bench/compare.py --only nearest,omp --threads 2 --json results.json

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, where the environment sets them, slow NumPy's OpenBLAS;
the header prints them and the kernel OpenBLAS runs (threadpoolctl). To benchmark without
them, unset them for this command alone: `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ...`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import scipy
import scipy.linalg
from threadpoolctl import threadpool_info, threadpool_limits

import archbound
from archbound import _core, reference

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_nearest  # noqa: E402  (numpy_blocked, gemm_rate, the nearest contenders)
import bench_opnorm  # noqa: E402  (the opnorm peers, DELTA, RTOL)
import sweep  # noqa: E402  (the size sweep, --sweep)

KERNELS = ("pinv", "opnorm", "nearest", "forward", "omp", "experiment")

# HOOK (lead): `archbound experiment` is not on the bench branch. Once the CLI has it, this
# command is timed (one run, through a subprocess, in a temporary folder) whenever
# `python -m archbound experiment --help` succeeds; nothing else needs changing. Adjust the
# arguments here if the command needs more (an output folder, say).
EXPERIMENT_COMMAND = [
    sys.executable, "-m", "archbound", "experiment", "--dataset", "fashion-mnist"
]
EXPERIMENT_GOAL_S = 60.0
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


@dataclass
class Sizes:
    pinv: tuple[int, int]
    opnorm: tuple[int, int]
    nearest: tuple[int, int, int]  # m test, N training, d
    forward: tuple[int, int, int, int, int]  # batch, M0, width, depth, Q
    gemm: int
    reference_rows: int  # test rows the reference nearest runs on (then extrapolated)


STANDARD = Sizes((4096, 2000), (4096, 4096), (10_000, 10_000, 784), (10_000, 784, 1024, 10, 10),
                 4096, 100)
QUICK = Sizes((512, 256), (512, 512), (2000, 2000, 256), (1000, 784, 256, 3, 10), 1024, 200)


# --- the harness ---


@dataclass
class Contender:
    name: str
    fn: Callable[[], object]
    costly: bool = False  # one timed run, no warm-up (full SVDs at the standard size)
    flops: float | None = None  # None: the case's nominal count; 0: not shown
    note: str = ""
    scale: float = 1.0  # reported time = measured time x scale (a run on part of the data)
    roofline: bool = False  # the GEMM row that the case's "% roof" column divides by


@dataclass
class Case:
    kernel: str
    title: str
    contenders: list[Contender]
    flops: float = 0.0  # nominal work of one call, the same for every contender
    roofline: str = ""  # "sgemm" or "dgemm": a GEMM row races with the contenders
    check: Callable[[str, object], str] | None = None  # (name, output) -> text
    rows: list[dict] = field(default_factory=list)
    outputs: dict = field(default_factory=dict)


_GEMM_OPERANDS: dict = {}


def roofline_contender(kind: str, size: int) -> Contender:
    """numpy's GEMM at size^2, raced with the kernel's contenders so that it sees the same load."""
    dtype = np.float32 if kind == "sgemm" else np.float64
    if kind not in _GEMM_OPERANDS:
        _GEMM_OPERANDS.clear()  # keep one pair of operands alive at a time
        _GEMM_OPERANDS[kind] = np.random.default_rng(1).random((size, size)).astype(dtype)
    a = _GEMM_OPERANDS[kind]
    return Contender(f"roofline: numpy {kind} {size}^2", lambda: a @ a, flops=2.0 * size**3,
                     roofline=True, note="the GEMM rate that % roof divides by")


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def race(case: Case, repeats: int, quick: bool) -> dict[str, list[tuple[float, float]]]:
    """Warm-up, then rounds that run each contender once in a rotated order.

    Returns (wall, CPU) seconds of every timed run; CPU time counts every thread of the process.
    """
    contenders = case.contenders
    for c in contenders:
        if quick or not c.costly:
            case.outputs[c.name] = c.fn()
    times: dict[str, list[tuple[float, float]]] = {c.name: [] for c in contenders}
    for round_ in range(repeats):
        k = round_ % len(contenders)
        for c in contenders[k:] + contenders[:k]:
            if c.costly and not quick and times[c.name]:
                continue
            wall, cpu, case.outputs[c.name] = _timed(c.fn)
            times[c.name].append((wall * c.scale, cpu * c.scale))
    return times


def run_case(case: Case, repeats: int, quick: bool, gemm_size: int) -> list[dict]:
    if case.roofline:
        case.contenders.append(roofline_contender(case.roofline, gemm_size))
    times = race(case, repeats, quick)
    base = min(times[case.contenders[0].name])[0]
    peak = None
    for c in case.contenders:
        if c.roofline:
            peak = c.flops / min(times[c.name])[0] / 1e9
    rows = []
    for c in case.contenders:
        best, cpu = min(times[c.name])
        flops = case.flops if c.flops is None else c.flops
        gflops = flops / best / 1e9 if flops else None  # best is already scaled
        rows.append(
            {
                "kernel": case.kernel,
                "case": case.title,
                "contender": c.name,
                "best_s": best,
                "median_s": statistics.median(t[0] for t in times[c.name]),
                "cpu_s": cpu,
                "runs": len(times[c.name]),
                "x_archbound": best / base,
                "gflops": gflops,
                "roofline": case.roofline or None,
                "roofline_gflops": peak,
                "roofline_fraction": gflops / peak if gflops and peak else None,
                "check": "" if c.roofline or not case.check
                else case.check(c.name, case.outputs[c.name]),
                "note": c.note,
            }
        )
    case.rows = rows
    print_case(case, peak)
    return rows


def print_case(case: Case, peak: float | None) -> None:
    roof = f"; roofline numpy {case.roofline} {peak:.1f} GFLOP/s" if peak else ""
    work = f"; {case.flops / 1e9:.1f} GFLOP per call" if case.flops else ""
    print(f"\n== {case.kernel}: {case.title}{work}{roof} ==")
    print(
        f"  {'contender':<46}{'best s':>9}{'median s':>10}{'CPU s':>8}{'runs':>5}{'x ours':>8}"
        f"{'GFLOP/s':>9}{'% roof':>8}  check / note"
    )
    for r in case.rows:
        gflops = f"{r['gflops']:9.1f}" if r["gflops"] else f"{'-':>9}"
        frac = f"{100 * r['roofline_fraction']:7.0f}%" if r["roofline_fraction"] else f"{'-':>8}"
        extra = "; ".join(t for t in (r["check"], r["note"]) if t)
        print(
            f"  {r['contender']:<46}{r['best_s']:9.4f}{r['median_s']:10.4f}{r['cpu_s']:8.3f}"
            f"{r['runs']:5d}{r['x_archbound']:8.2f}{gflops}{frac}  {extra}"
        )
    print("  (x ours = time / archbound's time: above 1, archbound is faster; CPU s: all threads,"
          " of the best run)")


def relative(a, b) -> float:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


# --- machine ---


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine()


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


def machine_info(threads: int) -> dict:
    pools = [
        {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads",
                               "threading_layer", "filepath")}
        for p in threadpool_info()
    ]
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "threads": threads,
        "load_average_before": os.getloadavg()[0],
        "env": {
            k: os.environ.get(k)
            for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS",
                      "OPENBLAS_NUM_THREADS")
        },
        "archbound_simd": _core.simd_instruction_sets(),
        "versions": versions(),
        "threadpools": pools,
    }


def print_machine(info: dict) -> None:
    print(f"date {info['date']}, {info['cpu']}, {info['cpus']} CPUs, threads = {info['threads']}, "
          f"load average {info['load_average_before']:.1f}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v))
    print("environment: " + ", ".join(f"{k}={v}" for k, v in info["env"].items()))
    print(f"archbound SIMD: {info['archbound_simd']}")
    for p in info["threadpools"]:
        lib = os.path.basename(p["filepath"] or "")
        print(f"  threadpool {p['internal_api']} {p['version'] or ''} kernel={p['architecture']} "
              f"threads={p['num_threads']} ({lib})")


def measure_rooflines(size: int, threads: int, repeats: int = 3) -> dict:
    rates = {}
    with threadpool_limits(threads):
        rates["sgemm"] = bench_nearest.gemm_rate(np.float32, size, repeats)
        rates["dgemm"] = bench_nearest.gemm_rate(np.float64, size, repeats)
    if threads > 1:
        with threadpool_limits(1):
            rates["sgemm_1"] = bench_nearest.gemm_rate(np.float32, size, 2)
            rates["dgemm_1"] = bench_nearest.gemm_rate(np.float64, size, 2)
    print(f"\nGEMM rates at the start, numpy at {size}^2 (each case races its own roofline row): "
          + ", ".join(f"{k.replace('_1', ' 1 thread')} {v:.1f} GFLOP/s" for k, v in rates.items()))
    return rates


# --- kernels ---


def pinv_flops(m: int, n: int) -> float:
    """Nominal work of the thin-QR path (bench/cpp/bench_pinv.cpp counts the same)."""
    m, n = max(m, n), min(m, n)
    return 5.0 * m * n * n - 4.0 / 3.0 * n**3


def case_pinv(sizes: Sizes, threads: int) -> list[Case]:
    shape = sizes.pinv
    X = np.random.default_rng(0).standard_normal(shape)

    def scipy_qr():
        q, r = scipy.linalg.qr(X, mode="economic", check_finite=False)
        return scipy.linalg.solve_triangular(r, q.T, check_finite=False)

    ours = archbound.pinv_info(X, threads=threads)
    contenders = [
        Contender("archbound.pinv", lambda: archbound.pinv(X, threads=threads),
                  note=f"QR path: {ours.fast_path}"),
        Contender("numpy.linalg.pinv (SVD)", lambda: np.linalg.pinv(X), costly=True),
        Contender("scipy.linalg.pinv (SVD)", lambda: scipy.linalg.pinv(X, check_finite=False),
                  costly=True),
        Contender("scipy qr + solve_triangular", scipy_qr),
        Contender("archbound.reference.pinv", lambda: reference.pinv(X), costly=True),
    ]
    truth = ours.pinv
    return [Case("pinv", f"X {shape[0]}x{shape[1]} float64 Gaussian", contenders,
                 pinv_flops(*shape), "dgemm",
                 lambda name, out: f"rel. diff {relative(out, truth):.1e}")]


def case_opnorm(sizes: Sizes, threads: int) -> list[Case]:
    shape = sizes.opnorm
    W = np.random.default_rng(0).standard_normal(shape)
    methods = bench_opnorm._methods(threads)
    lanczos = archbound.opnorm(W, method="lanczos", delta=bench_opnorm.DELTA,
                               rtol=bench_opnorm.RTOL, seed=0, threads=threads)
    steps = lanczos.iterations
    v = np.random.default_rng(1).standard_normal(shape[1])

    def gemv_floor():
        x = v
        for _ in range(steps):
            x = W.T @ (W @ x)
            x /= np.linalg.norm(x)
        return None

    sigma = np.linalg.svd(W, compute_uv=False)[0] if min(shape) <= 1024 else None
    lanczos_flops = 4.0 * steps * W.size
    contenders = [
        Contender("archbound.opnorm lanczos", lambda: methods["archbound lanczos"](W),
                  flops=lanczos_flops,
                  note=f"{steps} steps, {steps * W.nbytes / 1e9:.2f} GB of W read"),
        Contender("scipy.sparse.linalg.svds(k=1)", lambda: methods["scipy svds(k=1)"](W), flops=0),
        Contender("sklearn randomized_svd", lambda: methods["sklearn randomized_svd"](W), flops=0),
        Contender("numpy.linalg.norm(W, 2) (SVD)", lambda: methods["numpy norm(W, 2)"](W),
                  costly=True, flops=0),
        Contender("archbound.opnorm exact",
                  lambda: (archbound.opnorm(W, method="exact", threads=threads).estimate, None),
                  costly=True, flops=0),
        Contender("archbound.reference.opnorm", lambda: (reference.opnorm(W), None),
                  costly=True, flops=0),
        Contender(f"floor: numpy {steps} x (W @ x, W.T @ y)", gemv_floor, flops=lanczos_flops,
                  note="the matrix-vector products of archbound's steps, nothing else"),
    ]
    state = {"sigma": sigma}

    def check(name, out):
        if out is None:
            return ""
        if state["sigma"] is None:  # the exact SVD's own answer
            exact = case.outputs.get("numpy.linalg.norm(W, 2) (SVD)")
            state["sigma"] = exact[0] if exact else None
        s = state["sigma"]
        text = f"sigma/true-1 {out[0] / s - 1:+.1e}"
        if out[1] is not None:
            within = s <= out[1] <= 1.01 * s
            text += f", upper/true-1 {out[1] / s - 1:+.1e} (certified <= 1%: {within})"
        return text

    case = Case("opnorm", f"W {shape[0]}x{shape[1]} float64 Gaussian, delta={bench_opnorm.DELTA:g}"
                f", rtol={bench_opnorm.RTOL:g}", contenders, 0.0, "dgemm", check)
    return [case]


def case_nearest(sizes: Sizes, threads: int) -> list[Case]:
    m, n, d = sizes.nearest
    rng = np.random.default_rng(0)
    F64, G64 = rng.random((m, d)), rng.random((n, d))
    F32, G32 = F64.astype(np.float32), G64.astype(np.float32)
    runs = bench_nearest.contenders(F32, G32, F64, G64, threads, with_faiss=True)
    rows = min(sizes.reference_rows, m)
    truth = archbound.nearest(F64, G64, threads=threads)[0]

    def reference_subset():
        values, indices = reference.nearest(F64[:rows], G64)
        return values, indices

    def check(name, out):
        values = np.asarray(out[0], np.float64)
        part = truth[: len(values)]
        return f"max rel. diff {np.max(np.abs(values - part) / part):.1e}"

    flops = 2.0 * m * n * d
    title = f"{m} test x {n} training x {d}"
    f32 = [Contender("archbound.nearest float32", runs["archbound float32"]),
           Contender("numpy blocked float32 (1024 rows)", runs["numpy blocked float32"])]
    if "faiss IndexFlatL2 float32" in runs:
        f32.append(Contender("faiss.IndexFlatL2 float32 (k=1)", runs["faiss IndexFlatL2 float32"]))
    else:
        print("faiss not installed (pip install faiss-cpu): no faiss row")
    if "sklearn brute float32" in runs:
        f32.append(Contender("sklearn NearestNeighbors(brute) float32",
                             runs["sklearn brute float32"]))
    f64 = [Contender("archbound.nearest float64", runs["archbound float64"]),
           Contender("numpy blocked float64 (1024 rows)", runs["numpy blocked float64"]),
           Contender("archbound.reference.nearest", reference_subset, costly=True,
                     scale=m / rows,
                     note=f"run on {rows} test rows, time x {m / rows:.0f}: extrapolated")]
    return [Case("nearest", title + " float32", f32, flops, "sgemm", check),
            Case("nearest", title + " float64", f64, flops, "dgemm", check)]


def network_weights(sizes: Sizes, seed: int = 0):
    batch, m0, width, depth, q = sizes.forward
    dims = [m0] + [width] * depth + [q]
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((dims[i + 1], dims[i])) * np.sqrt(2.0 / dims[i])
               for i in range(len(dims) - 1)]
    biases = [np.full(dims[i + 1], 0.01) for i in range(len(dims) - 1)]
    X = rng.random((batch, m0))
    flops = 2.0 * batch * sum(dims[i] * dims[i + 1] for i in range(len(dims) - 1))
    return weights, biases, X, flops, dims


def case_forward(sizes: Sizes, threads: int) -> list[Case]:
    weights64, biases64, X64, flops, dims = network_weights(sizes)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        torch = None
        print("torch not installed: no torch row")
    cases = []
    for dtype, roof in ((np.float32, "sgemm"), (np.float64, "dgemm")):
        weights = [w.astype(dtype) for w in weights64]
        biases = [b.astype(dtype) for b in biases64]
        X = X64.astype(dtype)
        net = archbound.Network(weights64, biases64)

        def numpy_loop(weights=weights, biases=biases, X=X):
            h = X
            for i, (w, b) in enumerate(zip(weights, biases)):
                h = h @ w.T
                h += b
                if i + 1 < len(weights):
                    np.maximum(h, 0, out=h)
            return h

        contenders = [
            Contender(f"archbound Network.forward {np.dtype(dtype).name}",
                      lambda net=net, X=X: net.forward(X, threads=threads)),
            Contender("numpy loop (h @ W.T, in place)", numpy_loop),
        ]
        if torch is not None:
            tw = [torch.from_numpy(w) for w in weights]
            tb = [torch.from_numpy(b) for b in biases]
            tx = torch.from_numpy(X)

            def torch_forward(tw=tw, tb=tb, tx=tx):
                with torch.inference_mode():
                    h = tx
                    for i, (w, b) in enumerate(zip(tw, tb)):
                        h = torch.addmm(b, h, w.t())
                        if i + 1 < len(tw):
                            h.relu_()
                    return h.numpy()

            contenders.append(Contender(f"torch {torch.__version__} addmm + relu_", torch_forward))
        contenders.append(Contender("archbound.reference.forward",
                                    lambda weights=weights, biases=biases, X=X:
                                    reference.forward(weights, biases, X)))
        truth = reference.forward(weights64, biases64, X64)

        def check(name, out, truth=truth):
            err = np.max(np.abs(np.asarray(out, np.float64) - truth)) / np.max(np.abs(truth))
            return f"max rel. diff {err:.1e}"

        arch = f"{dims[0]}-[{dims[1]}]x{len(dims) - 2}-{dims[-1]}"
        cases.append(Case("forward", f"batch {X.shape[0]}, {arch}, {np.dtype(dtype).name}",
                          contenders, flops, roof, check))
    return cases


def case_omp(sizes: Sizes, threads: int) -> list[Case]:
    """archbound on 2 threads against 1 (the x ours column is then the speed-up)."""
    m, n, d = sizes.nearest
    rng = np.random.default_rng(0)
    F, G = rng.random((m, d), dtype=np.float32), rng.random((n, d), dtype=np.float32)
    W = rng.standard_normal(sizes.opnorm)
    cases = []
    for label, call, flops, roof in (
        (f"geometry kernel, nearest float32 {m}x{n}x{d}",
         lambda t: archbound.nearest(F, G, threads=t), 2.0 * m * n * d, ""),
        (f"lanczos {W.shape[0]}x{W.shape[1]}",
         lambda t: archbound.opnorm(W, method="lanczos", seed=0, threads=t), 0.0, ""),
    ):
        contenders = [Contender("2 threads", lambda call=call: call(2)),
                      Contender("1 thread", lambda call=call: call(1))]
        cases.append(Case("omp", label + ": speed-up 1 -> 2 threads = x ours of '1 thread'",
                          contenders, flops, roof))
    return cases


def run_experiment() -> dict:
    probe = subprocess.run(EXPERIMENT_COMMAND[:4] + ["--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        print("\n== experiment: `archbound experiment` does not exist here: skipped "
              "(see EXPERIMENT_COMMAND in bench/compare.py) ==")
        return {"skipped": "no `archbound experiment` command"}
    if not os.path.isdir(FASHION_MNIST):
        print(f"\n== experiment: {FASHION_MNIST} missing (apt-get install "
              "dataset-fashion-mnist): skipped ==")
        return {"skipped": "dataset-fashion-mnist not installed"}
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        done = subprocess.run(EXPERIMENT_COMMAND, cwd=folder, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    print(f"\n== experiment: {' '.join(EXPERIMENT_COMMAND[2:])}: {seconds:.1f} s, exit "
          f"{done.returncode} (goal < {EXPERIMENT_GOAL_S:.0f} s) ==")
    if done.returncode != 0:
        print(done.stderr[-2000:])
    return {"command": EXPERIMENT_COMMAND[2:], "seconds": seconds, "returncode": done.returncode}


# --- goals of issue 6 ---


def goals(rows: list[dict], experiment: dict | None, standard: bool) -> list[dict]:
    def best(kernel, case_part, contender_part):
        for r in rows:
            if (r["kernel"] == kernel and case_part in r["case"]
                    and contender_part in r["contender"]):
                return r["best_s"], r
        return None, None

    out = []

    def goal(text, value, target, met, fmt="{:.2f}"):
        if value is not None:
            out.append({"goal": text, "value": value, "target": target, "met": bool(met),
                        "display": fmt.format(value)})

    ab, _ = best("pinv", "", "archbound.pinv")
    npy, _ = best("pinv", "", "numpy.linalg.pinv")
    qr, _ = best("pinv", "", "scipy qr")
    if ab:
        goal("pinv: numpy.linalg.pinv time / archbound", npy / ab, ">= 3.5", npy / ab >= 3.5)
        goal("pinv: archbound time / SciPy QR", ab / qr, "<= 1.0", ab / qr <= 1.0)
    lz, lzrow = best("opnorm", "", "archbound.opnorm lanczos")
    if lz:
        svds, _ = best("opnorm", "", "svds")
        exact, _ = best("opnorm", "", "archbound.opnorm exact")
        nexact, _ = best("opnorm", "", "numpy.linalg.norm")
        goal("opnorm: lanczos time / svds(k=1)", lz / svds, "<= 0.5", lz / svds <= 0.5)
        goal("opnorm: archbound exact time / lanczos", exact / lz, ">= 20", exact / lz >= 20,
             "{:.1f}")
        goal("opnorm: numpy norm(W, 2) time / lanczos", nexact / lz, ">= 20", nexact / lz >= 20,
             "{:.1f}")
        goal("opnorm: certified upper within 1%", float("certified <= 1%: True" in lzrow["check"]),
             "yes", "certified <= 1%: True" in lzrow["check"], "{:.0f}")
    for dtype in ("float32", "float64"):
        ab, abrow = best("nearest", dtype, "archbound")
        if not ab:
            continue
        blocked, _ = best("nearest", dtype, "numpy blocked")
        goal(f"nearest {dtype}: archbound time / blocked NumPy", ab / blocked, "<= 1.0",
             ab / blocked <= 1.0)
        if dtype == "float32":
            for peer in ("faiss", "sklearn"):
                t, _ = best("nearest", dtype, peer)
                if t:
                    goal(f"nearest float32: {peer} time / archbound", t / ab, ">= 3", t / ab >= 3)
            goal("nearest float32: archbound GFLOP/s / numpy sgemm", abrow["roofline_fraction"],
                 ">= 0.70", abrow["roofline_fraction"] >= 0.7)
    for dtype in ("float32", "float64"):
        ab, _ = best("forward", dtype, "archbound")
        if ab:
            npl, _ = best("forward", dtype, "numpy loop")
            goal(f"forward {dtype}: archbound time / NumPy loop", ab / npl, "<= 1.0",
                 ab / npl <= 1.0)
    one, _ = best("omp", "geometry", "1 thread")
    two, _ = best("omp", "geometry", "2 threads")
    if one:
        goal("OpenMP geometry kernel: speed-up 1 -> 2 threads", one / two, ">= 1.7",
             one / two >= 1.7)
    one, _ = best("omp", "lanczos", "1 thread")
    two, _ = best("omp", "lanczos", "2 threads")
    if one:
        goal("OpenMP lanczos: speed-up 1 -> 2 threads (no goal; for reference)", one / two, "-",
             True)
    if experiment and "seconds" in experiment:
        goal("archbound experiment --dataset fashion-mnist seconds", experiment["seconds"],
             "< 60", experiment["seconds"] < EXPERIMENT_GOAL_S and experiment["returncode"] == 0,
             "{:.1f}")
    scope = "standard sizes" if standard else "NOT the standard sizes: indicative only"
    print(f"\n== goals of issue 6 ({scope}) ==")
    for g in out:
        state = "-" if g["target"] == "-" else ("met" if g["met"] else "NOT MET")
        print(f"  {g['goal']:<62}{g['display']:>8}  target {g['target']:<7} {state}")
    return out


def to_markdown(results: dict) -> str:
    """The tables of a run (the dict that --json writes) as Markdown, for bench/RESULTS.md."""
    info = results["machine"]
    lines = [
        f"Run of {info['date']}: {info['cpu']}, {info['cpus']} CPUs, threads = {info['threads']}, "
        f"load average {info['load_average_before']:.1f} before and "
        f"{info.get('load_average_after', float('nan')):.1f} after, "
        f"{info.get('seconds', 0):.0f} s in all.",
        "",
    ]
    case = None
    for r in results["rows"]:
        if (r["kernel"], r["case"]) != case:
            case = (r["kernel"], r["case"])
            roof = r.get("roofline_gflops")
            roof = f" (roofline numpy {r['roofline']}: {roof:.1f} GFLOP/s)" if roof else ""
            lines += ["", f"**{r['kernel']}: {r['case']}**{roof}", "",
                      "| contender | best s | median s | CPU s | runs | x ours | GFLOP/s | % roof "
                      "| check / note |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        gflops = f"{r['gflops']:.1f}" if r["gflops"] else "-"
        frac = f"{100 * r['roofline_fraction']:.0f}%" if r["roofline_fraction"] else "-"
        extra = "; ".join(t for t in (r["check"], r["note"]) if t)
        cpu = r.get("cpu_s", float("nan"))
        lines.append(f"| {r['contender']} | {r['best_s']:.4f} | {r['median_s']:.4f} | {cpu:.3f} "
                     f"| {r['runs']} | {r['x_archbound']:.2f} | {gflops} | {frac} | {extra} |")
    lines += ["", "| goal | measured | target | |", "|---|---:|---|---|"]
    for g in results.get("goals", []):
        state = "-" if g["target"] == "-" else ("met" if g["met"] else "**not met**")
        lines.append(f"| {g['goal']} | {g['display']} | {g['target']} | {state} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: seconds, for CI")
    parser.add_argument("--sweep", action="store_true",
                        help="the size sweep (bench/sweep.py): peer/ours at small, medium and "
                        "large sizes, each contender timed in blocks of its own; --only takes "
                        f"{','.join(sweep.GROUPS)},threads,experiment")
    parser.add_argument("--rounds", type=int, default=3, help="--sweep: rounds of blocks")
    parser.add_argument("--only", default=",".join(KERNELS),
                        help=f"comma-separated subset of {','.join(KERNELS)}")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads for archbound and every peer (default: all CPUs)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed rounds (default 5, quick 3); full SVDs run once")
    parser.add_argument("--json", metavar="PATH", help="write every result to PATH")
    parser.add_argument("--markdown", metavar="PATH", help="write the tables as Markdown to PATH")
    args = parser.parse_args(argv)
    if args.sweep:
        chosen = None if args.only == ",".join(KERNELS) else set(args.only.split(","))
        rows = sweep.run(only=chosen, quick=args.quick, rounds=args.rounds)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(sweep.to_markdown(rows) + "\n")
        return 0
    only = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = sorted(set(only) - set(KERNELS))
    if unknown:
        parser.error(f"--only: unknown kernel(s) {', '.join(unknown)}; choose from {KERNELS}")
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    sizes = QUICK if args.quick else STANDARD
    repeats = args.repeats or (3 if args.quick else 5)
    started = time.perf_counter()

    info = machine_info(args.threads)
    print_machine(info)
    rooflines = measure_rooflines(sizes.gemm, args.threads)
    builders = {"pinv": case_pinv, "opnorm": case_opnorm, "nearest": case_nearest,
                "forward": case_forward, "omp": case_omp}
    rows: list[dict] = []
    with threadpool_limits(args.threads):
        for kernel in KERNELS:
            if kernel not in only or kernel == "experiment":
                continue
            if kernel == "omp" and (os.cpu_count() or 1) < 2:
                print("\n== omp: one CPU: skipped ==")
                continue
            for case in builders[kernel](sizes, args.threads):
                rows += run_case(case, repeats, args.quick, sizes.gemm)
    experiment = None
    if "experiment" in only and not args.quick:
        experiment = run_experiment()
    info["load_average_after"] = os.getloadavg()[0]
    info["seconds"] = time.perf_counter() - started
    results = {"machine": info, "sizes": sizes.__dict__, "quick": args.quick,
               "repeats": repeats, "rooflines_gflops": rooflines, "rows": rows,
               "experiment": experiment}
    results["goals"] = goals(rows, experiment, not args.quick)
    print(f"\nload average after: {info['load_average_after']:.1f}; total {info['seconds']:.0f} s"
          " (on a shared machine timings are noisy)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
        print(f"results written to {args.json}")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(to_markdown(results))
        print(f"Markdown tables written to {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
