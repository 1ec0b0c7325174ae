"""The cases `bench/compare.py` races: archbound and its peers on one input each.

A `Case` is one input of one kernel: a list of `harness.Contender`s (archbound first), the
nominal work of one call, the GEMM roofline it is measured against, and a check of each
contender's output. The peers themselves live in harness.py.

- pinv, X (4096, 2000) Gaussian, and the same shape at condition number 1e6 (accuracy);
- opnorm, W 4096^2, certified within 1% at delta 1e-6, with a floor: NumPy doing only the
  matrix-vector products of archbound's Lanczos steps;
- nearest, 10k test x 10k training x 784, float32 and float64;
- forward, batch 10k through 784-[1024]x10-10, float32 and float64;
- omp, archbound's geometry kernel and Lanczos on 2 threads against 1;
- capacity, every measure of archbound.capacity_bounds of 784-[1024]x8-10 on N = 1000,
  against the NumPy reference with exact SVDs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

import archbound
import harness
import montecarlo as _montecarlo
from archbound import reference
from harness import Contender


@dataclass
class Sizes:
    pinv: tuple[int, int]
    opnorm: tuple[int, int]
    nearest: tuple[int, int, int]  # m test, N training, d
    forward: tuple[int, int, int, int, int]  # batch, M0, width, depth, Q
    gemm: int
    reference_rows: int  # test rows the reference nearest runs on (then extrapolated)
    capacity: tuple[int, int, int, int, int]  # N, M0, width, depth, Q
    montecarlo: tuple[int, ...]  # draws, block, n, widths...


#: Each kernel's sizes side by side: (the standard run, ``--quick``).
_SIZES = {
    "pinv": ((4096, 2000), (512, 256)),
    "opnorm": ((4096, 4096), (512, 512)),
    "nearest": ((10_000, 10_000, 784), (2000, 2000, 256)),
    "forward": ((10_000, 784, 1024, 10, 10), (1000, 784, 256, 3, 10)),
    "gemm": (4096, 1024),
    "reference_rows": (100, 200),
    "capacity": ((1000, 784, 1024, 8, 10), (200, 784, 256, 3, 10)),
    "montecarlo": ((200, 64, 10_000, 784, 600, 600, 10), (20, 64, 1000, 784, 256, 10)),
}
STANDARD, QUICK = (Sizes(**{k: v[i] for k, v in _SIZES.items()}) for i in (0, 1))


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


def roofline_contender(kind: str, size: int) -> Contender:
    """numpy's GEMM at size^2, raced with the kernel's contenders so that it sees the same load."""
    a = harness.gemm_operand(np.float32 if kind == "sgemm" else np.float64, size)
    return Contender(
        f"roofline: numpy {kind} {size}^2",
        lambda: a @ a,
        flops=2.0 * size**3,
        roofline=True,
        note="the GEMM rate that % roof divides by",
    )


# --- pinv ---

PINV_CONDITION = 1e6


def pinv_flops(m: int, n: int) -> float:
    """Nominal work of the thin-QR path (bench/cpp/bench_pinv.cpp counts the same)."""
    m, n = max(m, n), min(m, n)
    return 5.0 * m * n * n - 4.0 / 3.0 * n**3


def case_pinv(sizes: Sizes, threads: int) -> list[Case]:
    shape = sizes.pinv
    rng = np.random.default_rng(0)
    X = rng.standard_normal(shape)
    ours = archbound.pinv_info(X, threads=threads)
    contenders = [
        Contender(
            "archbound.pinv",
            lambda: archbound.pinv(X, threads=threads),
            note=f"QR path: {ours.fast_path}",
        ),
        Contender("numpy.linalg.pinv (SVD)", lambda: np.linalg.pinv(X), costly=True),
        Contender(
            "scipy.linalg.pinv (SVD)",
            lambda: scipy.linalg.pinv(X, check_finite=False),
            costly=True,
        ),
        Contender("scipy qr + solve_triangular", lambda: harness.scipy_qr_pinv(X)),
        Contender("archbound.reference.pinv", lambda: reference.pinv(X), costly=True),
    ]
    truth = ours.pinv
    gaussian = Case(
        "pinv",
        f"X {shape[0]}x{shape[1]} float64 Gaussian",
        contenders,
        pinv_flops(*shape),
        "dgemm",
        lambda name, out: f"rel. diff {harness.relative(out, truth):.1e}",
    )

    # Accuracy where QR loses digits: singular values log-spaced down to 1 / 1e6, against
    # numpy's SVD pinv (the goal: a relative difference <= 1e-10).
    hard = harness.with_condition_number(rng, *shape, PINV_CONDITION)
    info = archbound.pinv_info(hard, threads=threads)
    svd = "numpy.linalg.pinv (SVD)"
    conditioned = Case(
        "pinv",
        f"X {shape[0]}x{shape[1]} float64, condition number {PINV_CONDITION:.0e}",
        [
            Contender(
                "archbound.pinv",
                lambda: archbound.pinv(hard, threads=threads),
                note=f"QR path: {info.fast_path}, estimated condition {info.condition_number:.2e}",
            ),
            Contender(svd, lambda: np.linalg.pinv(hard), costly=True),
            Contender("scipy qr + solve_triangular", lambda: harness.scipy_qr_pinv(hard)),
        ],
        pinv_flops(*shape),
        "dgemm",
    )
    conditioned.check = lambda name, out: (
        f"rel. diff from numpy's SVD {harness.relative(out, conditioned.outputs[svd]):.1e}"
    )
    return [gaussian, conditioned]


# --- opnorm ---


def case_opnorm(sizes: Sizes, threads: int) -> list[Case]:
    shape = sizes.opnorm
    W = np.random.default_rng(0).standard_normal(shape)
    delta, rtol = harness.OPNORM_DELTA, harness.OPNORM_RTOL
    steps = archbound.opnorm(
        W, method="lanczos", delta=delta, rtol=rtol, seed=0, threads=threads
    ).iterations
    v = np.random.default_rng(1).standard_normal(shape[1])

    def gemv_floor():
        x = v
        for _ in range(steps):
            x = W.T @ (W @ x)
            x /= np.linalg.norm(x)
        return None

    lanczos_flops = 4.0 * steps * W.size
    contenders = [
        Contender(
            "archbound.opnorm lanczos",
            lambda: archbound.opnorm(
                W, method="lanczos", delta=delta, rtol=rtol, seed=0, threads=threads
            ),
            flops=lanczos_flops,
            note=f"{steps} steps, {steps * W.nbytes / 1e9:.2f} GB of W read",
        ),
        *(
            Contender(name, lambda peer=peer: peer(W), flops=0, costly="SVD" in name)
            for name, peer in harness.OPNORM_PEERS.items()
        ),
        Contender(
            "archbound.opnorm exact",
            lambda: archbound.opnorm(W, method="exact", threads=threads),
            costly=True,
            flops=0,
        ),
        Contender("archbound.reference.opnorm", lambda: reference.opnorm(W), costly=True, flops=0),
        Contender(
            f"floor: numpy {steps} x (W @ x, W.T @ y)",
            gemv_floor,
            flops=lanczos_flops,
            note="the matrix-vector products of archbound's steps, nothing else",
        ),
    ]
    state = {"sigma": np.linalg.svd(W, compute_uv=False)[0] if min(shape) <= 1024 else None}

    def check(name, out):
        if out is None:
            return ""
        if state["sigma"] is None:  # the exact SVD's own answer
            state["sigma"] = case.outputs.get("numpy.linalg.norm(W, 2) (SVD)")
        s = state["sigma"]
        value, upper = (out.estimate, out.upper) if hasattr(out, "estimate") else (out, None)
        text = f"sigma/true-1 {value / s - 1:+.1e}"
        if upper is not None and name.endswith("lanczos"):
            within = s <= upper <= 1.01 * s
            text += f", upper/true-1 {upper / s - 1:+.1e} (certified <= 1%: {within})"
        return text

    case = Case(
        "opnorm",
        f"W {shape[0]}x{shape[1]} float64 Gaussian, delta={delta:g}, rtol={rtol:g}",
        contenders,
        0.0,
        "dgemm",
        check,
    )
    return [case]


# --- nearest ---


def case_nearest(sizes: Sizes, threads: int) -> list[Case]:
    m, n, d = sizes.nearest
    rng = np.random.default_rng(0)
    F64, G64 = rng.random((m, d)), rng.random((n, d))
    F32, G32 = F64.astype(np.float32), G64.astype(np.float32)
    rows = min(sizes.reference_rows, m)
    truth = archbound.nearest(F64, G64, threads=threads)[0]

    def check(name, out):
        values = np.asarray(out[0], np.float64)
        part = truth[: len(values)]
        return f"max rel. diff {np.max(np.abs(values - part) / part):.1e}"

    flops = 2.0 * m * n * d
    title = f"{m} test x {n} training x {d}"
    f32 = [
        Contender(
            "archbound.nearest float32", lambda: archbound.nearest(F32, G32, threads=threads)
        ),
        Contender("numpy blocked float32 (1024 rows)", lambda: harness.numpy_nearest(F32, G32)),
    ]
    faiss = harness.faiss_flat_nearest(threads)
    if faiss:
        f32.append(Contender("faiss.IndexFlatL2 float32 (k=1)", lambda: faiss(F32, G32)))
    else:
        print("faiss not installed (pip install faiss-cpu): no faiss row")
    f32.append(
        Contender(
            "sklearn NearestNeighbors(brute) float32",
            lambda: harness.sklearn_brute_nearest(F32, G32, threads),
        )
    )
    f64 = [
        Contender(
            "archbound.nearest float64", lambda: archbound.nearest(F64, G64, threads=threads)
        ),
        Contender("numpy blocked float64 (1024 rows)", lambda: harness.numpy_nearest(F64, G64)),
        Contender(
            "archbound.reference.nearest",
            lambda: reference.nearest(F64[:rows], G64),
            costly=True,
            scale=m / rows,
            note=f"run on {rows} test rows, time x {m / rows:.0f}: extrapolated",
        ),
    ]
    return [
        Case("nearest", title + " float32", f32, flops, "sgemm", check),
        Case("nearest", title + " float64", f64, flops, "dgemm", check),
    ]


# --- forward ---


def network_weights(sizes: Sizes, seed: int = 0, shape=None):
    """He-scaled random layers, biases 0.01 and uniform inputs of `shape` (batch, M0, width,
    depth, Q), by default ``sizes.forward``."""
    batch, m0, width, depth, q = shape or sizes.forward
    dims = [m0] + [width] * depth + [q]
    rng = np.random.default_rng(seed)
    weights = [
        rng.standard_normal((dims[i + 1], dims[i])) * np.sqrt(2.0 / dims[i])
        for i in range(len(dims) - 1)
    ]
    biases = [np.full(dims[i + 1], 0.01) for i in range(len(dims) - 1)]
    X = rng.random((batch, m0))
    flops = 2.0 * batch * sum(dims[i] * dims[i + 1] for i in range(len(dims) - 1))
    return weights, biases, X, flops, dims


def case_forward(sizes: Sizes, threads: int) -> list[Case]:
    weights64, biases64, X64, flops, dims = network_weights(sizes)
    net = archbound.Network(weights64, biases64)
    truth = reference.forward(weights64, biases64, X64)

    def check(name, out):
        err = np.max(np.abs(np.asarray(out, np.float64) - truth)) / np.max(np.abs(truth))
        return f"max rel. diff {err:.1e}"

    cases = []
    for dtype, roof in ((np.float32, "sgemm"), (np.float64, "dgemm")):
        weights = [w.astype(dtype) for w in weights64]
        biases = [b.astype(dtype) for b in biases64]
        X = X64.astype(dtype)
        contenders = [
            Contender(
                f"archbound Network.forward {np.dtype(dtype).name}",
                lambda X=X: net.forward(X, threads=threads),
            ),
            Contender(
                "numpy loop (h @ W.T, in place)",
                lambda w=weights, b=biases, X=X: harness.numpy_forward(w, b, X),
            ),
        ]
        torch_forward = harness.torch_forward(weights, biases, X, threads)
        if torch_forward:
            contenders.append(
                Contender(f"torch {torch_forward.version} addmm + relu_", torch_forward)
            )
        elif dtype == np.float32:
            print("torch not installed: no torch row")
        contenders.append(
            Contender(
                "archbound.reference.forward",
                lambda w=weights, b=biases, X=X: reference.forward(w, b, X),
            )
        )
        arch = f"{dims[0]}-[{dims[1]}]x{len(dims) - 2}-{dims[-1]}"
        cases.append(
            Case(
                "forward",
                f"batch {X.shape[0]}, {arch}, {np.dtype(dtype).name}",
                contenders,
                flops,
                roof,
                check,
            )
        )
    return cases


# --- omp ---


def case_omp(sizes: Sizes, threads: int) -> list[Case]:
    """archbound on 2 threads against 1 (the x ours column is then the speed-up)."""
    m, n, d = sizes.nearest
    rng = np.random.default_rng(0)
    F, G = rng.random((m, d), dtype=np.float32), rng.random((n, d), dtype=np.float32)
    W = rng.standard_normal(sizes.opnorm)
    cases = []
    for label, call, flops in (
        (
            f"geometry kernel, nearest float32 {m}x{n}x{d}",
            lambda t: archbound.nearest(F, G, threads=t),
            2.0 * m * n * d,
        ),
        (
            f"lanczos {W.shape[0]}x{W.shape[1]}",
            lambda t: archbound.opnorm(W, method="lanczos", seed=0, threads=t),
            0.0,
        ),
    ):
        contenders = [
            Contender("2 threads", lambda call=call: call(2)),
            Contender("1 thread", lambda call=call: call(1)),
        ]
        cases.append(
            Case(
                "omp",
                label + ": speed-up 1 -> 2 threads = x ours of '1 thread'",
                contenders,
                flops,
            )
        )
    return cases


# --- capacity ---


def case_capacity(sizes: Sizes, threads: int) -> list[Case]:
    """Every capacity measure, certified (archbound) against exact SVDs (the reference)."""
    weights, biases, X, _, dims = network_weights(sizes, shape=sizes.capacity)
    net = archbound.Network(weights, biases)
    labels = np.random.default_rng(1).integers(0, dims[-1], X.shape[0])
    exact = {}

    def ours():
        return archbound.capacity_bounds(net, X, labels, seed=0, threads=threads)

    def numpy_reference():
        exact.update(reference.capacity_measures(weights, biases, X, labels))
        return exact

    def check(name, out):
        if not exact:
            numpy_reference()
        if isinstance(out, dict):
            return "exact spectral norms (SVD)"
        ratio = out.spectral_complexity / exact["spectral_complexity"]
        path = abs(out.path_norm - exact["path_norm"]) / exact["path_norm"]
        return f"R_A certified / exact {ratio:.4f}; path norm rel. diff {path:.1e}"

    arch = f"{dims[0]}-[{dims[1]}]x{len(dims) - 2}-{dims[-1]}"
    contenders = [
        Contender("archbound.capacity_bounds (certified Lanczos)", ours),
        Contender("archbound.reference.capacity_measures (numpy SVDs)", numpy_reference),
    ]
    return [Case("capacity", f"N = {X.shape[0]}, {arch}", contenders, check=check)]


BUILDERS = {
    "pinv": case_pinv,
    "opnorm": case_opnorm,
    "nearest": case_nearest,
    "forward": case_forward,
    "omp": case_omp,
    "capacity": case_capacity,
    "montecarlo": lambda sizes, threads: _montecarlo.case_montecarlo(sizes, threads),
}
