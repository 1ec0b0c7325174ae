"""The entry points of the bad-input battery (tests/test_bad_input.py) and the cases
generated from them: every target against every bad value of each argument's kind, and
every good layout of each array argument.

A target is one row of TARGETS: a name, the function, and a table ``argument -> (valid
value, kind)`` whose first ``positional`` arguments are passed by position and the rest by
keyword. The kinds and their bad values are in bad_input_data.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial

import numpy as np
import pytest

import archbound as ab
import archbound.distributed as abd
from archbound import Network
from bad_input_data import (
    ARRAY_KINDS,
    BIASES,
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
)


@dataclasses.dataclass
class Target:
    """An entry point: ``function(*positional arguments, **keyword arguments)``.

    rows and cols: groups of arguments that must agree in their number of rows or columns;
    "net" stands for the network's sizes.
    """

    name: str
    function: Callable
    valid: dict
    kinds: dict
    positional: int = 0
    rows: list = dataclasses.field(default_factory=list)
    cols: list = dataclasses.field(default_factory=list)

    @classmethod
    def of(cls, name, function, table, *, positional=0, rows=(), cols=()):
        """A target from its table ``argument -> (valid value, kind)``."""
        valid = {arg: value for arg, (value, _) in table.items()}
        kinds = {arg: kind for arg, (_, kind) in table.items()}
        return cls(name, function, valid, kinds, positional, list(rows), list(cols))

    def call(self, kw):
        names = list(self.valid)
        args = [kw[name] for name in names[: self.positional]]
        return self.function(*args, **{name: kw[name] for name in names[self.positional :]})

    def partners(self, arg: str, axis: str) -> list[str] | None:
        for group in self.rows if axis == "rows" else self.cols:
            if arg in group:
                return group
        return None


# The five data arguments of a bound, in the order the bounds take them.
BOUND_DATA = {
    "net": (NET, "net"),
    "X_train": (X_TRAIN, "matrix"),
    "Y_train": (Y_TRAIN, "targets"),
    "X_test": (X_TEST, "matrix"),
    "Y_test": (Y_TEST, "targets"),
}
#: The options of a bound that takes a TrainingSet: delta=None means the default 1e-6 (or the
#: training set's own delta).
BOUND_OPTIONS = {
    "delta": (1e-6, "optional_probability"),
    "seed": (0, "seed"),
    "threads": (None, "threads"),
}
BOUND_ROWS = [["X_train", "Y_train"], ["X_test", "Y_test"]]
BOUND_COLS = [["X_train", "X_test", "net"], ["Y_train", "Y_test", "net"]]
LAYER_TABLE = {
    **{f"weights[{i}]": (w, "matrix") for i, w in enumerate(LAYERS)},
    **{f"biases[{i}]": (b, "vector") for i, b in enumerate(BIASES)},
}


def bound_target(name, function, table=BOUND_DATA, **extra):
    """A bound's target: its data (positional), the options every bound takes, and `extra`."""
    cols = BOUND_COLS if "net" in table else [["X_test", "X_train"], ["Y_train", "Y_test"]]
    table = {**table, **BOUND_OPTIONS, **extra}
    return Target.of(
        name, function, table, positional=4 + ("net" in table), rows=BOUND_ROWS, cols=cols
    )


def _batch(function, *variants):
    """A batch bound whose jobs are one network with each of `variants`."""

    def call(net, *data, **options):
        return function([(net, variant) for variant in variants], *data, **options)

    return call


def _monitor_record(X_train, Y_train, X_test, Y_test, *, step, network, threads, **options):
    return ab.NormMonitor(X_train, Y_train, X_test, Y_test, **options).record(
        step, network, threads=threads
    )


SOLVER = {"rcond": (None, "rcond"), "threads": (None, "threads")}
NORM = {"delta": (1e-6, "probability"), "seed": (2, "seed")}
OPNORM = {
    "method": ("lanczos", "method:opnorm"),
    "delta": (1e-3, "probability"),
    "rtol": (0.5, "rtol"),
    "max_iter": (None, "max_iter"),
    "seed": (4, "seed"),
    "threads": (None, "threads"),
}
PAIR = {"A": (X_TEST, "matrix"), "B": (X_TRAIN, "matrix")}
NEAREST = {
    "F_test": (X_TEST, "matrix"),
    "F_train": (X_TRAIN, "matrix"),
    "alpha": (2.5, "alpha"),
    "y_test": (Y_TEST, "labels"),
    "y_train": (Y_TRAIN, "labels"),
    "offsets": (OFFSETS, "offsets"),
    "classes_test": (LABELS_TEST, "classes"),
    "classes_train": (LABELS_TRAIN, "classes"),
    "block_size": (2, "block_size"),
    "threads": (None, "threads"),
}
DATA = {"X": (X_TRAIN, "matrix"), "Y": (Y_TRAIN, "matrix")}

TARGETS = [
    Target.of("pinv", ab.pinv, {"a": (X_TRAIN, "matrix"), **SOLVER}, positional=1),
    Target.of(
        "pinv_info",
        ab.pinv_info,
        {"a": (X_TEST.T, "matrix"), "rcond": (1e-10, "rcond"), "threads": (1, "threads")},
        positional=1,
    ),
    Target.of(
        "one_hot",
        ab.one_hot,
        {"labels": (LABELS_TRAIN, "integer_labels"), "n_classes": (Q, "n_classes")},
        positional=2,
    ),
    Target.of(
        "construct_minimizer",
        ab.construct_minimizer,
        {
            **DATA,
            "widths": ([5, 4], "widths"),
            "method": ("readout_first", "method:construct"),
            "seed": (1, "seed"),
            **SOLVER,
        },
        positional=3,
        rows=[["X", "Y"]],
    ),
    Target.of(
        "construct_minimizer[readout_last]",
        partial(ab.construct_minimizer, method="readout_last"),
        {**DATA, "widths": ([N, N + 2], "widths"), "seed": (3, "seed")},
        positional=3,
        rows=[["X", "Y"]],
    ),
    Target.of(
        "Network",
        lambda *layers: Network(list(layers[:3]), list(layers[3:])),
        LAYER_TABLE,
        positional=6,
        rows=[[f"weights[{i}]", f"biases[{i}]"] for i in range(3)],
        # Columns of W_l must match the rows of W_{l-1} (W_1's columns are free: M0).
        cols=[["weights[1]"], ["weights[2]"]],
    ),
    Target.of(
        "Network.forward",
        NET.forward,
        {"X": (X_TEST, "matrix"), "threads": (None, "threads")},
        positional=1,
        cols=[["X", "net"]],
    ),
    Target.of(
        "Network.forward[float32]",
        NET.forward,
        {"X": (X_TEST.astype(np.float32), "matrix")},
        positional=1,
        cols=[["X", "net"]],
    ),
    Target.of("Network.norms", NET.norms, NORM),
    Target.of(
        "Network.lipschitz_upper", NET.lipschitz_upper, {**NORM, "delta": (0.5, "probability")}
    ),
    Target.of("opnorm", ab.opnorm, {"W": (X_TEST, "matrix"), **OPNORM}, positional=1),
    Target.of(
        "opnorms",
        lambda *weights, **options: ab.opnorms(list(weights), **options),
        {
            "weights[0]": (X_TRAIN, "matrix"),
            "weights[1]": (LAYERS[1], "matrix"),
            **OPNORM,
            "method": ("auto", "method:opnorm"),
            "delta": (0.1, "probability"),
            "rtol": (0.01, "rtol"),
            "max_iter": (50, "max_iter"),
            "seed": (5, "seed"),
            "threads": (2, "threads"),
        },
        positional=2,
    ),
    Target.of(
        "nearest",
        ab.nearest,
        NEAREST,
        positional=2,
        rows=[
            ["F_test", "y_test", "classes_test"],
            ["F_train", "y_train", "offsets", "classes_train"],
        ],
        cols=[["F_test", "F_train"], ["y_test", "y_train"]],
    ),
    Target.of(
        "nearest[float32]",
        ab.nearest,
        {
            "F_test": (X_TEST.astype(np.float32), "matrix"),
            "F_train": (X_TRAIN.astype(np.float32), "matrix"),
            "block_size": ("auto", "block_size"),
        },
        positional=2,
        cols=[["F_test", "F_train"]],
    ),
    Target.of(
        "chamfer", partial(ab.chamfer, symmetric=True), PAIR, positional=2, cols=[["A", "B"]]
    ),
    Target.of(
        "hausdorff",
        ab.hausdorff,
        {**PAIR, "B": (X_TRAIN.astype(np.float32), "matrix")},
        positional=2,
        cols=[["A", "B"]],
    ),
    bound_target("sample_bounds", ab.sample_bounds, variant=("lipschitz", "method:variant")),
    bound_target(
        "sample_bounds[projected]",
        partial(ab.sample_bounds, MINIMIZER, variant="projected"),
        {k: v for k, v in BOUND_DATA.items() if k != "net"},
    ),
    bound_target("cost_discrepancy_bound", ab.cost_discrepancy_bound),
    bound_target(
        "sample_bounds_batch",
        _batch(ab.sample_bounds_batch, "lipschitz", "best"),
    ),
    bound_target(
        "cost_discrepancy_bound_batch",
        _batch(ab.cost_discrepancy_bound_batch, "lipschitz"),
    ),
    Target.of(
        "TrainingSet",
        ab.TrainingSet.of,  # the training set of a bound's (net, X_train, Y_train, ...)
        {
            **{k: BOUND_DATA[k] for k in ("net", "X_train", "Y_train")},
            **BOUND_OPTIONS,
        },
        positional=3,
        rows=[["X_train", "Y_train"]],
        cols=[["X_train", "net"], ["Y_train", "net"]],
    ),
    Target.of(
        "capacity_bounds",
        ab.capacity_bounds,
        {
            **{k: BOUND_DATA[k] for k in ("net", "X_train", "Y_train")},
            "delta": (1e-6, "optional_probability"),
            "margin_quantile": (0.5, "probability"),
            "reference": (Network([w * 0.5 for w in LAYERS], BIASES), "reference"),
            "seed": (0, "seed"),
            "threads": (None, "threads"),
        },
        positional=3,
        rows=[["X_train", "Y_train"]],
        cols=[["X_train", "net"], ["Y_train", "net"]],
    ),
    Target.of("kl_inverse", ab.kl_inverse, {"q": (0.1, "rate"), "c": (0.01, "budget")}),
    Target.of(
        "heldout_bound",
        ab.heldout_bound,
        {
            "model_or_predictions": (NET, "net"),
            "X": (X_TEST, "matrix"),
            "y": (LABELS_TEST, "classes"),
            "delta": (0.05, "probability"),
            "n_models": (2, "max_iter"),
            "threads": (None, "threads"),
        },
        positional=3,
        rows=[["X", "y"]],
        cols=[["X", "model_or_predictions"]],
    ),
    Target.of(
        "NormMonitor",
        _monitor_record,
        {
            **{k: v for k, v in BOUND_DATA.items() if k != "net"},
            "bound_every": (1, "bound_every"),
            "delta": (1e-6, "probability"),
            "seed": (0, "seed"),
            "step": (0, "step"),
            "network": (NET, "network"),
            "threads": (None, "threads"),
        },
        positional=4,
        rows=BOUND_ROWS,
        cols=[["X_train", "X_test", "network"], ["Y_train", "Y_test", "network"]],
    ),
    Target.of("Network.from_sklearn", Network.from_sklearn, {"estimator": (MLP, "estimator")}),
    Target.of("Network.from_torch", Network.from_torch, {"module": (STATE_DICT, "module")}),
    bound_target(
        "distributed.sample_bounds_dask",
        abd.sample_bounds_dask,
        chunk_rows=(3, "chunk_rows"),
    ),
]
BY_NAME = {target.name: target for target in TARGETS}


def _cut(axis):
    return (lambda v: v[:-1]) if axis == "rows" else (lambda v: v[:, :-1])


#: Calls of Network and opnorms with a whole argument that is not a list of layers.
STRUCTURE = {
    "Network": [
        ("weights array", lambda: Network(np.stack([LAYERS[1]] * 2), BIASES[:2]), ["weights"]),
        ("weights None", lambda: Network(None, BIASES), ["weights"]),
        ("weights str", lambda: Network("abc", BIASES), ["weights"]),
        ("biases array", lambda: Network(LAYERS, np.zeros(3)), ["biases"]),
        ("biases None", lambda: Network(LAYERS, None), ["biases"]),
        ("no layers", lambda: Network([], []), ["weights"]),
        ("L = 0", lambda: Network(LAYERS[:1], BIASES[:1]), ["weights"]),
        ("fewer biases", lambda: Network(LAYERS, BIASES[:2]), ["bias"]),
        ("more biases", lambda: Network(LAYERS, BIASES + [BIASES[0]]), ["bias"]),
        (
            "consecutive shapes",
            lambda: Network([LAYERS[0], LAYERS[2], LAYERS[1]], [BIASES[0], BIASES[2], BIASES[1]]),
            ["weights"],
        ),
        ("layers swapped", lambda: Network(LAYERS[::-1], BIASES[::-1]), ["weights"]),
    ],
    "opnorms": [
        (label, partial(ab.opnorms, weights), ["weights"])
        for label, weights in [
            ("array", np.stack([X_TRAIN] * 2)),
            ("None", None),
            ("empty", []),
            ("str", "abc"),
            ("ragged", [[1.0], [1.0, 2.0]]),
        ]
    ],
}


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
                yield target, arg, f"{axis} mismatch", _cut(axis), group
    for name, cases in STRUCTURE.items():
        arg = "structure" if name == "Network" else "weights"
        for label, call, names in cases:
            whole = dataclasses.replace(BY_NAME[name], function=lambda *a, call=call, **k: call())
            yield whole, arg, label, None, names


#: Targets that need torch: their cases are marked ``torch`` (they skip without it, and fail
#: in CI if they skip).
TORCH_TARGETS = {"Network.from_torch"}


def _param(target, arg, label, *values):
    return pytest.param(
        target,
        arg,
        *values,
        id=f"{target.name}-{arg}-{label}".replace(" ", "_"),
        marks=[pytest.mark.torch] if target.name in TORCH_TARGETS else [],
    )


BAD_CASES = [
    _param(target, arg, label, value, names) for target, arg, label, value, names in _bad_cases()
]
GOOD_CASES = [
    _param(target, arg, label, layout)
    for target in TARGETS
    for arg, kind in target.kinds.items()
    if kind in ARRAY_KINDS
    for label, layout in LAYOUTS
    # Nested lists are read as float64, whatever the array they came from.
    if not (label == "nested list" and np.asarray(target.valid[arg]).dtype == np.float32)
]
