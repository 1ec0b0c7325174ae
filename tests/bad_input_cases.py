"""The entry points of the bad-input battery (tests/test_bad_input.py) and the cases
generated from them: every target against every bad value of each argument's kind, and
every good layout of each array argument."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import archbound as ab
import archbound.distributed as abd
from archbound import Network
from bad_input_data import (
    ARRAY_KINDS,
    BIASES,
    BOUND_ARGS,
    BOUND_COLS,
    BOUND_KINDS,
    BOUND_ROWS,
    KIND_BAD,
    LABELS_TEST,
    LABELS_TRAIN,
    LAYERS,
    LAYOUTS,
    MINIMIZER,
    MLP,
    NET,
    OFFSETS,
    STATE_DICT,
    X_TEST,
    X_TRAIN,
    Y_TEST,
    Y_TRAIN,
    N,
    Q,
    Target,
    _bound_data,
    _bounds_kw,
)

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
        "NormMonitor",
        lambda kw: ab.NormMonitor(
            kw["X_train"],
            kw["Y_train"],
            kw["X_test"],
            kw["Y_test"],
            bound_every=kw["bound_every"],
            delta=kw["delta"],
            seed=kw["seed"],
        ).record(kw["step"], kw["network"], threads=kw["threads"]),
        dict(
            X_train=X_TRAIN,
            Y_train=Y_TRAIN,
            X_test=X_TEST,
            Y_test=Y_TEST,
            bound_every=1,
            delta=1e-6,
            seed=0,
            step=0,
            network=NET,
            threads=None,
        ),
        dict(
            X_train="matrix",
            Y_train="targets",
            X_test="matrix",
            Y_test="targets",
            bound_every="bound_every",
            delta="probability",
            seed="seed",
            step="step",
            network="network",
            threads="threads",
        ),
        rows=BOUND_ROWS,
        cols=[["X_train", "X_test", "network"], ["Y_train", "Y_test", "network"]],
    ),
    Target(
        "Network.from_sklearn",
        lambda kw: Network.from_sklearn(kw["estimator"]),
        dict(estimator=MLP),
        dict(estimator="estimator"),
    ),
    Target(
        "Network.from_torch",
        lambda kw: Network.from_torch(kw["module"]),
        dict(module=STATE_DICT),
        dict(module="module"),
    ),
    Target(
        "distributed.sample_bounds_dask",
        lambda kw: abd.sample_bounds_dask(
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


#: Targets that need torch: their cases are marked ``torch`` (they skip without it, and fail
#: in CI if they skip).
TORCH_TARGETS = {"Network.from_torch"}


def _marks(target):
    return [pytest.mark.torch] if target.name in TORCH_TARGETS else []


BAD_CASES = [
    pytest.param(
        target,
        arg,
        value,
        names,
        id=f"{target.name}-{arg}-{label}".replace(" ", "_"),
        marks=_marks(target),
    )
    for target, arg, label, value, names in _bad_cases()
]
GOOD_CASES = [
    pytest.param(
        target,
        arg,
        layout,
        id=f"{target.name}-{arg}-{label}".replace(" ", "_"),
        marks=_marks(target),
    )
    for target in TARGETS
    for arg, kind in target.kinds.items()
    if kind in ARRAY_KINDS
    for label, layout in LAYOUTS
    # Nested lists are read as float64, whatever the array they came from.
    if not (label == "nested list" and np.asarray(target.valid[arg]).dtype == np.float32)
]
