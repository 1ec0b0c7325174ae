"""Bad-input battery (issue 8): every public entry point against every kind of bad argument.

Every function of ``archbound.__all__``, the ``Network`` methods and
``archbound.distributed.sample_bounds`` are listed once in TARGETS, with valid arguments and
the kind of each argument. Every kind has a list of bad values (NaN and inf, 0-d, 1-d and 3-d
arrays, mismatched N, empty arrays, object, complex, bool and string dtypes, views that would
need terabytes, negative, zero and huge widths and sizes, delta outside (0, 1), ...) and of
good layouts (Fortran order, strided, reversed, big-endian, read-only, nested lists).

- A bad value must raise ValueError or TypeError (DTypeError and MemoryLimitError are both)
  whose message names the argument, and return nothing.
- A good layout must give the result of the C-contiguous input, bit for bit.

The battery is generated from these lists (about 1,700 bad values that must be refused and
280 layouts that must work), plus targeted tests: absent classes, memory guards, extreme but
legal values and crafted files (``pytest --collect-only -q tests/test_bad_input.py`` counts
them).
Every case has a 10 s hang guard; ``pytest --durations`` shows the slowest.
"""

from __future__ import annotations

import dataclasses
import pickle
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import archbound as ab
import archbound.distributed as abd
from archbound import MemoryLimitError, Network

NAN, INF = float("nan"), float("inf")
RNG = np.random.default_rng(8)
# N != M != Q, so that no 1-D vector passes for a column by accident.
N, M, M0, Q = 6, 7, 10, 3
X_TRAIN = RNG.standard_normal((N, M0))
LABELS_TRAIN = np.arange(N) % Q
Y_TRAIN = np.eye(Q)[LABELS_TRAIN]
X_TEST = RNG.standard_normal((M, M0))
LABELS_TEST = np.arange(M) % Q
Y_TEST = np.eye(Q)[LABELS_TEST]
MINIMIZER = ab.construct_minimizer(X_TRAIN, Y_TRAIN, [5, 4])
LAYERS = [RNG.standard_normal((5, M0)), RNG.standard_normal((4, 5)), RNG.standard_normal((Q, 4))]
BIASES = [RNG.standard_normal(5), RNG.standard_normal(4), RNG.standard_normal(Q)]
NET = Network(LAYERS, BIASES)
OFFSETS = np.abs(RNG.standard_normal(N))
OTHER_WIDTHS = Network([LAYERS[0][:4], LAYERS[1][:, :4], LAYERS[2]], [BIASES[0][:4], *BIASES[1:]])

pytestmark = pytest.mark.timeout(10)


# ---------------------------------------------------------------------------------------
# The targets: name -> (call, valid arguments, kinds, groups).
#
# kinds: argument -> kind (below). groups: lists of arguments that must agree in their
# number of rows ("rows") or columns ("cols"); "net" stands for the network's sizes.


@dataclasses.dataclass
class Target:
    name: str
    call: object  # callable(kw) -> result
    valid: dict
    kinds: dict
    rows: list = dataclasses.field(default_factory=list)
    cols: list = dataclasses.field(default_factory=list)

    def partners(self, arg: str, axis: str) -> list[str] | None:
        for group in self.rows if axis == "rows" else self.cols:
            if arg in group:
                return group
        return None


def _bound_data(kw):
    """X_train, Y_train, X_test, Y_test of a bound target's arguments."""
    return kw["X_train"], kw["Y_train"], kw["X_test"], kw["Y_test"]


def _bounds_kw(kw):
    return {k: kw[k] for k in ("delta", "seed", "threads") if k in kw}


BOUND_ARGS = dict(
    net=NET,
    X_train=X_TRAIN,
    Y_train=Y_TRAIN,
    X_test=X_TEST,
    Y_test=Y_TEST,
    delta=1e-6,
    seed=0,
    threads=None,
)
BOUND_KINDS = dict(
    net="net",
    X_train="matrix",
    Y_train="targets",
    X_test="matrix",
    Y_test="targets",
    delta="probability",
    seed="seed",
    threads="threads",
)
BOUND_ROWS = [["X_train", "Y_train"], ["X_test", "Y_test"]]
BOUND_COLS = [["X_train", "X_test", "net"], ["Y_train", "Y_test", "net"]]

TARGETS = [
    Target(
        "pinv",
        lambda kw: ab.pinv(kw["a"], rcond=kw["rcond"], threads=kw["threads"]),
        dict(a=X_TRAIN, rcond=None, threads=None),
        dict(a="matrix", rcond="rcond", threads="threads"),
    ),
    Target(
        "pinv_info",
        lambda kw: ab.pinv_info(kw["a"], rcond=kw["rcond"], threads=kw["threads"]),
        dict(a=X_TEST.T, rcond=1e-10, threads=1),
        dict(a="matrix", rcond="rcond", threads="threads"),
    ),
    Target(
        "one_hot",
        lambda kw: ab.one_hot(kw["labels"], kw["n_classes"]),
        dict(labels=LABELS_TRAIN, n_classes=Q),
        dict(labels="integer_labels", n_classes="n_classes"),
    ),
    Target(
        "construct_minimizer",
        lambda kw: ab.construct_minimizer(
            kw["X"],
            kw["Y"],
            kw["widths"],
            method=kw["method"],
            seed=kw["seed"],
            rcond=kw["rcond"],
            threads=kw["threads"],
        ),
        dict(
            X=X_TRAIN,
            Y=Y_TRAIN,
            widths=[5, 4],
            method="readout_first",
            seed=1,
            rcond=None,
            threads=None,
        ),
        dict(
            X="matrix",
            Y="matrix",
            widths="widths",
            method="method:construct",
            seed="seed",
            rcond="rcond",
            threads="threads",
        ),
        rows=[["X", "Y"]],
    ),
    Target(
        "construct_minimizer[readout_last]",
        lambda kw: ab.construct_minimizer(
            kw["X"], kw["Y"], kw["widths"], method="readout_last", seed=kw["seed"]
        ),
        dict(X=X_TRAIN, Y=Y_TRAIN, widths=[N, N + 2], seed=3),
        dict(X="matrix", Y="matrix", widths="widths", seed="seed"),
        rows=[["X", "Y"]],
    ),
    Target(
        "Network",
        lambda kw: Network(
            [kw[f"weights[{i}]"] for i in range(3)], [kw[f"biases[{i}]"] for i in range(3)]
        ),
        {
            **{f"weights[{i}]": w for i, w in enumerate(LAYERS)},
            **{f"biases[{i}]": b for i, b in enumerate(BIASES)},
        },
        {
            **{f"weights[{i}]": "matrix" for i in range(3)},
            **{f"biases[{i}]": "vector" for i in range(3)},
        },
        rows=[[f"weights[{i}]", f"biases[{i}]"] for i in range(3)],
        # Columns of W_l must match the rows of W_{l-1} (W_1's columns are free: M0).
        cols=[["weights[1]"], ["weights[2]"]],
    ),
    Target(
        "Network.forward",
        lambda kw: NET.forward(kw["X"], threads=kw["threads"]),
        dict(X=X_TEST, threads=None),
        dict(X="matrix", threads="threads"),
        cols=[["X", "net"]],
    ),
    Target(
        "Network.forward[float32]",
        lambda kw: NET.forward(kw["X"]),
        dict(X=X_TEST.astype(np.float32)),
        dict(X="matrix"),
        cols=[["X", "net"]],
    ),
    Target(
        "Network.norms",
        lambda kw: NET.norms(delta=kw["delta"], seed=kw["seed"]),
        dict(delta=1e-6, seed=2),
        dict(delta="probability", seed="seed"),
    ),
    Target(
        "Network.lipschitz_upper",
        lambda kw: NET.lipschitz_upper(delta=kw["delta"], seed=kw["seed"]),
        dict(delta=0.5, seed=2),
        dict(delta="probability", seed="seed"),
    ),
    Target(
        "opnorm",
        lambda kw: ab.opnorm(
            kw["W"],
            method=kw["method"],
            delta=kw["delta"],
            rtol=kw["rtol"],
            max_iter=kw["max_iter"],
            seed=kw["seed"],
            threads=kw["threads"],
        ),
        dict(
            W=X_TEST, method="lanczos", delta=1e-3, rtol=0.5, max_iter=None, seed=4, threads=None
        ),
        dict(
            W="matrix",
            method="method:opnorm",
            delta="probability",
            rtol="rtol",
            max_iter="max_iter",
            seed="seed",
            threads="threads",
        ),
    ),
    Target(
        "opnorms",
        lambda kw: ab.opnorms(
            [kw["weights[0]"], kw["weights[1]"]],
            method=kw["method"],
            delta=kw["delta"],
            rtol=kw["rtol"],
            max_iter=kw["max_iter"],
            seed=kw["seed"],
            threads=kw["threads"],
        ),
        {
            "weights[0]": X_TRAIN,
            "weights[1]": LAYERS[1],
            "method": "auto",
            "delta": 0.1,
            "rtol": 0.01,
            "max_iter": 50,
            "seed": 5,
            "threads": 2,
        },
        {
            "weights[0]": "matrix",
            "weights[1]": "matrix",
            "method": "method:opnorm",
            "delta": "probability",
            "rtol": "rtol",
            "max_iter": "max_iter",
            "seed": "seed",
            "threads": "threads",
        },
    ),
    Target(
        "nearest",
        lambda kw: ab.nearest(
            kw["F_test"],
            kw["F_train"],
            **{k: v for k, v in kw.items() if k not in ("F_test", "F_train")},
        ),
        dict(
            F_test=X_TEST,
            F_train=X_TRAIN,
            alpha=2.5,
            y_test=Y_TEST,
            y_train=Y_TRAIN,
            offsets=OFFSETS,
            classes_test=LABELS_TEST,
            classes_train=LABELS_TRAIN,
            block_size=2,
            threads=None,
        ),
        dict(
            F_test="matrix",
            F_train="matrix",
            alpha="alpha",
            y_test="labels",
            y_train="labels",
            offsets="offsets",
            classes_test="classes",
            classes_train="classes",
            block_size="block_size",
            threads="threads",
        ),
        rows=[
            ["F_test", "y_test", "classes_test"],
            ["F_train", "y_train", "offsets", "classes_train"],
        ],
        cols=[["F_test", "F_train"], ["y_test", "y_train"]],
    ),
    Target(
        "nearest[float32]",
        lambda kw: ab.nearest(kw["F_test"], kw["F_train"], block_size=kw["block_size"]),
        dict(
            F_test=X_TEST.astype(np.float32), F_train=X_TRAIN.astype(np.float32), block_size="auto"
        ),
        dict(F_test="matrix", F_train="matrix", block_size="block_size"),
        cols=[["F_test", "F_train"]],
    ),
    Target(
        "chamfer",
        lambda kw: ab.chamfer(kw["A"], kw["B"], symmetric=True),
        dict(A=X_TEST, B=X_TRAIN),
        dict(A="matrix", B="matrix"),
        cols=[["A", "B"]],
    ),
    Target(
        "hausdorff",
        lambda kw: ab.hausdorff(kw["A"], kw["B"]),
        dict(A=X_TEST, B=X_TRAIN.astype(np.float32)),
        dict(A="matrix", B="matrix"),
        cols=[["A", "B"]],
    ),
    Target(
        "sample_bounds",
        lambda kw: ab.sample_bounds(
            kw["net"],
            *_bound_data(kw),
            variant=kw["variant"],
            **_bounds_kw(kw),
        ),
        {**BOUND_ARGS, "variant": "lipschitz"},
        {**BOUND_KINDS, "variant": "method:variant"},
        rows=BOUND_ROWS,
        cols=BOUND_COLS,
    ),
    Target(
        "sample_bounds[projected]",
        lambda kw: ab.sample_bounds(
            MINIMIZER,
            *_bound_data(kw),
            variant="projected",
            **_bounds_kw(kw),
        ),
        {k: v for k, v in BOUND_ARGS.items() if k != "net"},
        {k: v for k, v in BOUND_KINDS.items() if k != "net"},
        rows=BOUND_ROWS,
        cols=[["X_test", "X_train"], ["Y_train", "Y_test"]],
    ),
    Target(
        "cost_discrepancy_bound",
        lambda kw: ab.cost_discrepancy_bound(kw["net"], *_bound_data(kw), **_bounds_kw(kw)),
        BOUND_ARGS,
        BOUND_KINDS,
        rows=BOUND_ROWS,
        cols=BOUND_COLS,
    ),
    Target(
        "sample_bounds_batch",
        lambda kw: ab.sample_bounds_batch(
            [(kw["net"], "lipschitz"), (kw["net"], "best")],
            *_bound_data(kw),
            **_bounds_kw(kw),
        ),
        BOUND_ARGS,
        BOUND_KINDS,
        rows=BOUND_ROWS,
        cols=BOUND_COLS,
    ),
    Target(
        "cost_discrepancy_bound_batch",
        lambda kw: ab.cost_discrepancy_bound_batch(
            [(kw["net"], "lipschitz")],
            *_bound_data(kw),
            **_bounds_kw(kw),
        ),
        BOUND_ARGS,
        BOUND_KINDS,
        rows=BOUND_ROWS,
        cols=BOUND_COLS,
    ),
    Target(
        "capacity_bounds",
        lambda kw: ab.capacity_bounds(
            kw["net"],
            kw["X_train"],
            kw["Y_train"],
            **{k: kw[k] for k in ("delta", "margin_quantile", "reference", "seed", "threads")},
        ),
        dict(
            net=NET,
            X_train=X_TRAIN,
            Y_train=Y_TRAIN,
            delta=1e-6,
            margin_quantile=0.5,
            reference=Network([w * 0.5 for w in LAYERS], BIASES),
            seed=0,
            threads=None,
        ),
        dict(
            net="net",
            X_train="matrix",
            Y_train="targets",
            delta="probability",
            margin_quantile="probability",
            reference="reference",
            seed="seed",
            threads="threads",
        ),
        rows=[["X_train", "Y_train"]],
        cols=[["X_train", "net"], ["Y_train", "net"]],
    ),
    Target(
        "distributed.sample_bounds",
        lambda kw: abd.sample_bounds(
            kw["net"],
            *_bound_data(kw),
            chunk_rows=kw["chunk_rows"],
            **_bounds_kw(kw),
        ),
        {**BOUND_ARGS, "chunk_rows": 3},
        {**BOUND_KINDS, "chunk_rows": "chunk_rows"},
        rows=BOUND_ROWS,
        cols=BOUND_COLS,
    ),
]


# ---------------------------------------------------------------------------------------
# Bad values per kind: (label, value). A callable value is applied to the valid value.


def _with(value, position):
    def make(v):
        out = np.array(v, dtype=np.result_type(v.dtype, np.float32))
        out.flat[position] = value
        return out

    return make


HUGE_VIEW_2D = np.broadcast_to(np.float64(1.0), (10**6, 10**6))  # 8 TB as a copy
ARRAY_BAD = [
    ("nan first", _with(NAN, 0)),
    ("nan last", _with(NAN, -1)),
    ("inf", _with(INF, 1)),
    ("-inf", _with(-INF, -1)),
    ("object", lambda v: v.astype(object)),
    ("complex", lambda v: v.astype(complex)),
    ("bool", lambda v: v > 0),
    ("str", lambda v: v.astype(str)),
    ("bytes", lambda v: v.astype("S8")),
    ("datetime", lambda v: np.zeros(v.shape, "datetime64[s]")),
    ("structured", lambda v: np.zeros(v.shape, [("a", float)])),
    ("None", None),
    ("python str", "abc"),
    ("dict", {}),
    ("python float", 1.5),
    ("ragged list", [[1.0, 2.0], [3.0]]),
    ("list of str", [["a", "b"]]),
]
MATRIX_BAD = ARRAY_BAD + [
    ("0-d", lambda v: np.float64(1.0)),
    ("1-d row", lambda v: v[0]),
    ("3-d", lambda v: v[None]),
    ("3-d stack", lambda v: np.stack([v, v], axis=-1)),
    ("empty rows", lambda v: v[:0]),
    ("empty columns", lambda v: v[:, :0]),
    ("empty 0x0", lambda v: np.empty((0, 0))),
    ("8 TB broadcast view", HUGE_VIEW_2D),
]
VECTOR_BAD = ARRAY_BAD[:-2] + [
    ("0-d", lambda v: np.float64(1.0)),
    ("2-d", lambda v: v[None]),
    ("3-d", lambda v: v[None, None]),
    ("empty", lambda v: v[:0]),
    ("8 TB broadcast view", np.broadcast_to(1.0, (10**12,))),
]
INTEGER_BAD = [
    ("float with nan", lambda v: np.where(v == v[0], NAN, v.astype(float))),
    ("fractional float", lambda v: v + 0.5),
    ("object", lambda v: v.astype(object)),
    ("complex", lambda v: v.astype(complex)),
    ("bool", lambda v: v > 0),
    ("str", lambda v: v.astype(str)),
    ("None", None),
    ("python str", "abc"),
    ("0-d", lambda v: v[0]),
    ("2-d", lambda v: v[None]),
    ("3-d", lambda v: v[None, None]),
    ("empty", lambda v: v[:0]),
]
KIND_BAD = {
    "matrix": MATRIX_BAD,
    "vector": VECTOR_BAD,
    "offsets": [c for c in VECTOR_BAD if c[0] != "None"]
    + [("negative", lambda v: -v), ("one negative", _with(-1e-9, 2))],
    # Targets of a bound: 2-D, or 1-D integer class labels in 0..Q-1.
    "targets": MATRIX_BAD
    + [
        ("labels out of range", lambda v: np.full(v.shape[0], Q)),
        ("negative labels", lambda v: np.full(v.shape[0], -1)),
        ("labels of wrong length", lambda v: np.zeros(v.shape[0] + 1, dtype=int)),
        ("float labels", lambda v: np.zeros(v.shape[0])),
    ],
    # nearest's labels: 2-D, or 1-D (Q = 1).
    "labels": [c for c in MATRIX_BAD if c[0] not in ("empty columns",)],
    "integer_labels": INTEGER_BAD + [("negative", lambda v: v - 1)],
    "classes": [c for c in INTEGER_BAD if c[0] != "None"]
    + [
        ("float", lambda v: v.astype(float)),
        ("wrong length", lambda v: v[:-1]),
        ("uint64 too large", lambda v: np.full(v.shape, 2**63 + 5, dtype=np.uint64)),
    ],
    "probability": [
        ("0", 0),
        ("1", 1),
        ("0.0", 0.0),
        ("1.0", 1.0),
        ("negative", -0.1),
        ("above 1", 1.5),
        ("nan", NAN),
        ("inf", INF),
        ("-inf", -INF),
        ("10**400", 10**400),
        ("str", "0.1"),
        ("None", None),
        ("bool", True),
        ("list", [0.1]),
        ("complex", 0.1j),
        ("array", np.array([0.1, 0.2])),
    ],
    "alpha": [
        ("negative", -1.0),
        ("nan", NAN),
        ("inf", INF),
        ("10**400", 10**400),
        ("str", "1"),
        ("None", None),
        ("bool", True),
        ("complex", 1j),
        ("list", [1.0]),
    ],
    "rtol": [
        ("0", 0),
        ("negative", -1e-3),
        ("nan", NAN),
        ("inf", INF),
        ("10**400", 10**400),
        ("str", "0.1"),
        ("None", None),
        ("bool", True),
    ],
    "rcond": [
        ("negative", -1.0),
        ("nan", NAN),
        ("inf", INF),
        ("10**400", 10**400),
        ("str", "1e-3"),
        ("bool", False),
        ("complex", 1j),
    ],
    "threads": [
        ("0", 0),
        ("negative", -2),
        ("float", 1.5),
        ("str", "2"),
        ("bool", True),
        ("10**6", 10**6),
        ("10**30", 10**30),
        ("nan", NAN),
        ("list", [2]),
    ],
    "seed": [
        ("negative", -1),
        ("float", 1.5),
        ("str", "1"),
        ("bool", True),
        ("nan", NAN),
        ("list", [1]),
        ("RandomState", np.random.RandomState(0)),
    ],
    "max_iter": [
        ("0", 0),
        ("negative", -5),
        ("float", 10.0),
        ("str", "10"),
        ("bool", True),
        ("nan", NAN),
    ],
    "block_size": [
        ("0", 0),
        ("negative", -1),
        ("float", 2.5),
        ("str", "big"),
        ("bool", True),
        ("None", None),
        ("nan", NAN),
    ],
    "chunk_rows": [
        ("0", 0),
        ("negative", -1),
        ("float", 2.5),
        ("str", "big"),
        ("bool", True),
        ("None", None),
    ],
    "n_classes": [
        ("0", 0),
        ("negative", -3),
        ("below max label + 1", Q - 1),
        ("float", 3.5),
        ("str", "3"),
        ("bool", True),
        ("10**12", 10**12),
    ],
    "widths": [
        ("empty (L = 0)", []),
        ("zero", [0, 4]),
        ("negative", [5, -1]),
        ("too small", [1]),
        ("10**12", [10**12]),
        ("10**12 deep", [5, 10**12, 5]),
        ("float", [5.0]),
        ("str element", ["5"]),
        ("str", "55"),
        ("int", 5),
        ("None", None),
        ("bool", [True]),
        ("nested", [[5]]),
        ("nan", [NAN]),
    ],
    "method:construct": [
        ("unknown", "readout_middle"),
        ("empty", ""),
        ("case", "READOUT_FIRST"),
        ("int", 3),
        ("None", None),
    ],
    "method:opnorm": [
        ("unknown", "svd"),
        ("empty", ""),
        ("case", "Exact"),
        ("int", 1),
        ("None", None),
        ("list", ["exact"]),
    ],
    "method:variant": [("unknown", "tight"), ("empty", ""), ("int", 0), ("None", None)],
    "reference": [
        ("array", LAYERS[0]),
        ("str", "net.npz"),
        ("list of weights", LAYERS),
        ("dict", {}),
        # A Network is callable: wrapped, so that the value is the network itself.
        ("other widths", lambda v: OTHER_WIDTHS),
    ],
    "net": [
        ("None", None),
        ("array", LAYERS[0]),
        ("str", "net.npz"),
        ("list of weights", LAYERS),
        ("dict", {}),
    ],
}

# Layouts that must work and give the result of the C-contiguous array, bit for bit.


def _strided(v):
    big = np.zeros(tuple(2 * s + 1 for s in v.shape), dtype=v.dtype)
    view = big[tuple(slice(1, None, 2) for _ in v.shape)]
    view[...] = v
    return view


def _reversed(v):
    flip = tuple(slice(None, None, -1) for _ in v.shape)
    return v[flip].copy()[flip]


def _read_only(v):
    out = v.copy()
    out.flags.writeable = False
    return out


LAYOUTS = [
    ("fortran", np.asfortranarray),
    ("strided", _strided),
    ("reversed", _reversed),
    ("big-endian", lambda v: v.astype(v.dtype.newbyteorder(">"))),
    ("read-only", _read_only),
    ("nested list", lambda v: v.tolist()),
]
ARRAY_KINDS = {"matrix", "vector", "offsets", "targets", "labels", "integer_labels", "classes"}


def _value(v, valid):
    return v(valid) if callable(v) else v


def _bad_cases():
    for target in TARGETS:
        for arg, kind in target.kinds.items():
            for label, value in KIND_BAD[kind]:
                yield target, arg, label, value, [arg]
            for axis in ("rows", "cols"):
                group = target.partners(arg, axis)
                if group is None or kind not in ARRAY_KINDS:
                    continue
                if axis == "cols" and np.ndim(target.valid[arg]) < 2:
                    continue
                cut = (lambda v: v[:-1]) if axis == "rows" else (lambda v: v[:, :-1])
                yield target, arg, f"{axis} mismatch", cut, group
    # Network structure.
    network = TARGETS[[t.name for t in TARGETS].index("Network")]
    structural = [
        ("weights array", lambda kw: Network(np.stack([LAYERS[1]] * 2), BIASES[:2]), ["weights"]),
        ("weights None", lambda kw: Network(None, BIASES), ["weights"]),
        ("weights str", lambda kw: Network("abc", BIASES), ["weights"]),
        ("biases array", lambda kw: Network(LAYERS, np.zeros(3)), ["biases"]),
        ("biases None", lambda kw: Network(LAYERS, None), ["biases"]),
        ("no layers", lambda kw: Network([], []), ["weights"]),
        ("L = 0", lambda kw: Network(LAYERS[:1], BIASES[:1]), ["weights"]),
        ("fewer biases", lambda kw: Network(LAYERS, BIASES[:2]), ["bias"]),
        ("more biases", lambda kw: Network(LAYERS, BIASES + [BIASES[0]]), ["bias"]),
        (
            "consecutive shapes",
            lambda kw: Network(
                [LAYERS[0], LAYERS[2], LAYERS[1]], [BIASES[0], BIASES[2], BIASES[1]]
            ),
            ["weights"],
        ),
        ("layers swapped", lambda kw: Network(LAYERS[::-1], BIASES[::-1]), ["weights"]),
    ]
    for label, call, names in structural:
        yield dataclasses.replace(network, call=call), "structure", label, None, names
    opnorms = TARGETS[[t.name for t in TARGETS].index("opnorms")]
    for label, weights in [
        ("array", np.stack([X_TRAIN] * 2)),
        ("None", None),
        ("empty", []),
        ("str", "abc"),
        ("ragged", [[1.0], [1.0, 2.0]]),
    ]:
        call = (lambda w: lambda kw: ab.opnorms(w))(weights)
        yield dataclasses.replace(opnorms, call=call), "weights", label, None, ["weights"]


BAD_CASES = [
    pytest.param(target, arg, value, names, id=f"{target.name}-{arg}-{label}".replace(" ", "_"))
    for target, arg, label, value, names in _bad_cases()
]
GOOD_CASES = [
    pytest.param(target, arg, layout, id=f"{target.name}-{arg}-{label}".replace(" ", "_"))
    for target in TARGETS
    for arg, kind in target.kinds.items()
    if kind in ARRAY_KINDS
    for label, layout in LAYOUTS
    # Nested lists are read as float64, whatever the array they came from.
    if not (label == "nested list" and np.asarray(target.valid[arg]).dtype == np.float32)
]


@pytest.mark.parametrize("target, arg, value, names", BAD_CASES)
def test_bad_input_is_refused(target, arg, value, names):
    kw = dict(target.valid)
    if arg in kw:
        kw[arg] = _value(value, kw[arg])
    with pytest.raises((ValueError, TypeError)) as error:
        target.call(kw)
    message = str(error.value)
    bases = {name.split("[")[0] for name in names}
    assert any(name in message for name in bases), f"{message!r} names none of {bases}"


_BASELINES: dict = {}


def _baseline(target):
    if target.name not in _BASELINES:
        _BASELINES[target.name] = target.call(dict(target.valid))
    return _BASELINES[target.name]


def _assert_same(a, b, where="result"):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, Network):
        _assert_same(list(a.weights) + list(a.biases), list(b.weights) + list(b.biases), where)
        _assert_same(a.construction, b.construction, where)
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            if f.name != "seconds":
                _assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert a == b or (np.isnan(a) and np.isnan(b)), f"{where}: {a} != {b}"
    else:
        assert a == b, where


@pytest.mark.parametrize("target, arg, layout", GOOD_CASES)
def test_layouts_work_and_agree(target, arg, layout):
    expected = _baseline(target)
    kw = dict(target.valid)
    kw[arg] = layout(np.asarray(kw[arg]))
    result = target.call(kw)
    _assert_same(expected, result)


# ---------------------------------------------------------------------------------------
# Cases that need more than one argument changed, or a look at what was (not) done.


def test_classes_absent_from_training_are_reported_not_hidden():
    """A test class with no training sample: inf and index -1, with a warning (documented)."""
    classes_test = LABELS_TEST.copy()
    classes_test[[0, 4]] = 7  # no training sample has class 7
    with pytest.warns(ab.AbsentClassWarning, match="7"):
        values, index = ab.nearest(
            X_TEST, X_TRAIN, classes_test=classes_test, classes_train=LABELS_TRAIN
        )
    assert np.all(np.isinf(values[[0, 4]])) and np.all(index[[0, 4]] == -1)
    assert np.all(np.isfinite(np.delete(values, [0, 4])))


@pytest.mark.parametrize(
    "function", [ab.sample_bounds, ab.cost_discrepancy_bound, abd.sample_bounds]
)
@pytest.mark.parametrize("which", ["Y_train", "Y_test"])
def test_label_vector_with_classes_the_network_lacks(function, which):
    """Integer labels past the network's Q outputs cannot be one-hot encoded: refused."""
    kw = {"Y_train": LABELS_TRAIN, "Y_test": LABELS_TEST}
    kw[which] = np.where(kw[which] == 1, Q + 2, kw[which])
    with pytest.raises(ValueError, match=which):
        function(NET, X_TRAIN, kw["Y_train"], X_TEST, kw["Y_test"], seed=0)


def test_integer_labels_equal_one_hot_targets():
    a = ab.sample_bounds(NET, X_TRAIN, LABELS_TRAIN, X_TEST, LABELS_TEST, seed=0)
    b = ab.sample_bounds(NET, X_TRAIN, Y_TRAIN, X_TEST, Y_TEST, seed=0)
    np.testing.assert_array_equal(a.per_sample, b.per_sample)


LEGAL_EXTREMES = [
    pytest.param(
        lambda: ab.opnorm(X_TEST, method="power", max_iter=10**30, seed=1),
        lambda: ab.opnorm(X_TEST, method="power", max_iter=2**62, seed=1),
        id="opnorm-max_iter-1e30",
    ),
    pytest.param(
        lambda: ab.opnorms([X_TEST], max_iter=10**30, seed=1),
        lambda: ab.opnorms([X_TEST], seed=1),
        id="opnorms-max_iter-1e30",
    ),
    pytest.param(
        lambda: ab.nearest(X_TEST, X_TRAIN, block_size=10**30),
        lambda: ab.nearest(X_TEST, X_TRAIN, block_size=M),
        id="nearest-block-1e30",
    ),
    pytest.param(
        lambda: ab.opnorm(X_TEST, seed=2**64 + 7),
        lambda: ab.opnorm(X_TEST, seed=7),
        id="opnorm-seed-2**64+7",
    ),
    pytest.param(
        lambda: ab.opnorm(X_TEST, delta=5e-324, seed=1),
        lambda: ab.opnorm(X_TEST, delta=5e-324, seed=1),
        id="opnorm-delta-denormal",
    ),
    pytest.param(
        lambda: ab.pinv(X_TEST, rcond=1e300), lambda: np.zeros((M0, M)), id="pinv-rcond-1e300"
    ),
    pytest.param(
        lambda: (
            abd.sample_bounds(
                NET, X_TRAIN, Y_TRAIN, X_TEST, Y_TEST, seed=0, chunk_rows=10**30
            ).per_sample
        ),
        lambda: ab.sample_bounds(NET, X_TRAIN, Y_TRAIN, X_TEST, Y_TEST, seed=0).per_sample,
        id="distributed-chunk_rows-1e30",
    ),
]


@pytest.mark.parametrize("call, expected", LEGAL_EXTREMES)
def test_extreme_but_legal_values_work(call, expected):
    """Values at the edge of what is legal are taken, not refused or crashed on."""
    _assert_same(expected(), call())


def _peak_traced(call):
    tracemalloc.start()
    try:
        with pytest.raises(MemoryLimitError) as error:
            call()
        return tracemalloc.get_traced_memory()[1], str(error.value)
    finally:
        tracemalloc.stop()


MEMORY_CASES = [
    pytest.param(
        lambda: ab.construct_minimizer(X_TRAIN, Y_TRAIN, [10**12]),
        "widths",
        id="construct-widths-1e12",
    ),
    pytest.param(
        lambda: ab.construct_minimizer(X_TRAIN, Y_TRAIN, [10**6, 10**6], method="readout_last"),
        "widths",
        id="construct-readout_last-widths-1e6",
    ),
    pytest.param(lambda: ab.one_hot(LABELS_TRAIN, 10**12), "n_classes", id="one_hot-1e12"),
    pytest.param(
        lambda: Network([HUGE_VIEW_2D, np.ones((Q, 10**6))], [np.zeros(10**6), np.zeros(Q)]),
        "weights[0]",
        id="network-8TB-weights",
    ),
    pytest.param(
        lambda: Network(
            [np.ones((1, 1)), np.ones((10**6, 1))], [np.zeros(1), np.zeros(10**6)]
        ).forward(np.ones((10**5, 1))),
        "X",
        id="forward-output-800GB",
    ),
    pytest.param(
        lambda: ab.nearest(
            np.zeros((200_000, 9)), np.ones((16, 9)), block_size=10**12, threads=256
        ),
        "block_size",
        id="nearest-forced-block",
    ),
    pytest.param(lambda: ab.opnorm(HUGE_VIEW_2D), "W", id="opnorm-8TB-view"),
    pytest.param(
        lambda: abd.sample_bounds(
            NET,
            X_TRAIN,
            Y_TRAIN,
            np.broadcast_to(1.0, (10**9, M0)),
            np.broadcast_to(1.0, (10**9, Q)),
            chunk_rows=10**9,
            seed=0,
        ),
        "chunk_rows",
        id="distributed-chunk-1e9-rows",
    ),
]


@pytest.mark.parametrize("call, name", MEMORY_CASES)
def test_memory_guard_refuses_before_allocating(call, name):
    """Refused with MemoryLimitError (a ValueError) that gives the estimated bytes and names
    the argument, while less than 64 MB was ever allocated through NumPy."""
    peak, message = _peak_traced(call)
    assert name in message
    assert " bytes " in message and "GiB" in message
    estimated = float(message.split(" would need about ")[1].split(" bytes")[0])
    assert estimated > 1e10
    assert peak < 64 * 2**20


class _Payload:
    """Unpickling this object creates `marker`: evidence that pickle was executed."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_network_load_never_unpickles(tmp_path):
    marker = tmp_path / "executed"
    good = tmp_path / "good.npz"
    NET.save(good)
    crafted = tmp_path / "crafted.npz"
    with np.load(good) as data:
        arrays = dict(data)
    payload = np.empty(1, dtype=object)
    payload[0] = _Payload(str(marker))
    arrays["weight_1"] = payload
    np.savez(crafted, **arrays)
    with pytest.raises(ValueError, match="pickle"):
        Network.load(crafted)
    assert not marker.exists()
    # The control: the payload is live, and loading with pickle would have run it.
    with np.load(crafted, allow_pickle=True) as data:
        data["weight_1"]
    assert marker.exists()


def test_network_load_refuses_a_pickle_file_and_broken_archives(tmp_path):
    marker = tmp_path / "executed"
    plain = tmp_path / "network.npz"
    plain.write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(ValueError, match="path"):
        Network.load(plain)
    assert not marker.exists()
    broken = tmp_path / "broken.npz"
    np.savez(broken, n_layers=np.array([2, 3]))
    with pytest.raises(ValueError, match="path"):
        Network.load(broken)
    missing = tmp_path / "missing.npz"
    np.savez(missing, n_layers=np.array(2), weight_0=LAYERS[0])
    with pytest.raises(ValueError, match="path"):
        Network.load(missing)
    assert zipfile.is_zipfile(missing)


def test_every_public_function_is_in_the_battery():
    covered = {t.name.split("[")[0] for t in TARGETS}
    public = {
        name
        for name in ab.__all__
        if callable(getattr(ab, name)) and not isinstance(getattr(ab, name), type)
    }
    assert public <= covered, f"functions without a battery: {public - covered}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 31, 33, 2**15 - 1, 2**15 + 1, 5 * 2**15 + 7])
@pytest.mark.parametrize("bad", [NAN, INF, -INF])
def test_nan_and_inf_are_found_anywhere(dtype, size, bad):
    """The core's one-pass check (chunks in parallel, lanes of sums of x * 0) finds a NaN or
    inf at the first, a middle and the last position, and passes the largest finite values."""
    from archbound import _core

    rng = np.random.default_rng(size)
    values = rng.standard_normal(size).astype(dtype)
    values[:: max(1, size // 7)] = np.finfo(dtype).max
    assert _core.all_finite(values, 0)
    for where in {0, size // 2, size - 1}:
        broken = values.copy()
        broken[where] = bad
        assert not _core.all_finite(broken, 0)
        assert not _core.all_finite(broken, 1)
        with pytest.raises(ValueError, match="W contains " + ("NaN" if bad != bad else "inf")):
            ab.opnorm(broken.reshape(1, -1))
