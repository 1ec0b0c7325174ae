"""The data of the bad-input battery (tests/test_bad_input.py): valid arguments, and the
bad values and good layouts of each kind of argument."""

from __future__ import annotations

import numpy as np

import archbound as ab
from archbound import Network

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
#: NET's layers with 4 inputs instead of M0.
OTHER_INPUTS = Network([LAYERS[0][:, :4], *LAYERS[1:]], BIASES)


def _fitted_mlp(activation="relu"):
    """An MLPRegressor after one partial_fit step (which never warns of convergence)."""
    from sklearn.neural_network import MLPRegressor

    model = MLPRegressor(hidden_layer_sizes=(5,), activation=activation, random_state=0)
    return model.partial_fit(X_TRAIN, Y_TRAIN)


MLP = _fitted_mlp()
#: NET as the state_dict of an nn.Sequential(Linear, ReLU, Linear, ReLU, Linear).
STATE_DICT = {
    f"{2 * index}.{name}": value
    for index, layer in enumerate(zip(LAYERS, BIASES))
    for name, value in zip(("weight", "bias"), layer)
}


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
#: Class labels (check_labels): applied to a valid 1-D label vector.
LABEL_BAD = [
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
#: A count or size, an int >= 1 (check_scalar); None is left out: it is a default for some.
SIZE_BAD = [
    ("0", 0),
    ("negative", -1),
    ("float", 2.5),
    ("whole float", 10.0),
    ("str", "big"),
    ("numeric str", "2"),
    ("bool", True),
    ("nan", NAN),
    ("list", [2]),
]
#: A real number (check_scalar) that must be finite and >= 0 at least.
REAL_BAD = [
    ("negative", -1.0),
    ("nan", NAN),
    ("inf", INF),
    ("10**400", 10**400),
    ("str", "0.1"),
    ("bool", True),
    ("complex", 1j),
    ("list", [0.1]),
]
NONE = [("None", None)]


def _without(cases, *labels):
    return [case for case in cases if case[0] not in labels]


def _as_labels(cases):
    """Label cases for a bound's targets, applied to the labels of its valid one-hot rows."""
    return [
        (f"labels {label}", (lambda f: lambda v: _value(f, v.argmax(axis=1)))(bad))
        for label, bad in cases
    ]


def _value(v, valid):
    return v(valid) if callable(v) else v


#: A network argument that is not a Network (what every kind of network refuses).
NOT_A_NETWORK = [
    ("None", None),
    ("array", LAYERS[0]),
    ("str", "net.npz"),
    ("list of weights", LAYERS),
]
KIND_BAD = {
    "matrix": MATRIX_BAD,
    "vector": VECTOR_BAD,
    "offsets": _without(VECTOR_BAD, "None")
    + [("negative", lambda v: -v), ("one negative", _with(-1e-9, 2))],
    # Targets of a bound: 2-D, or 1-D integer class labels in 0..Q-1.
    "targets": MATRIX_BAD
    + _as_labels(LABEL_BAD)
    + [
        ("labels out of range", lambda v: np.full(v.shape[0], Q)),
        ("negative labels", lambda v: np.full(v.shape[0], -1)),
        ("labels of wrong length", lambda v: np.zeros(v.shape[0] + 1, dtype=int)),
        # Whole-number floats are labels (check_labels); a fraction is not.
        ("fractional labels", lambda v: np.full(v.shape[0], 0.5)),
    ],
    # nearest's labels: 2-D, or 1-D (Q = 1).
    "labels": _without(MATRIX_BAD, "empty columns"),
    "integer_labels": LABEL_BAD + [("negative", lambda v: v - 1)],
    "classes": _without(LABEL_BAD, "None")
    + [
        ("float with inf", lambda v: np.where(v == v[0], INF, v.astype(float))),
        ("wrong length", lambda v: v[:-1]),
        ("uint64 too large", lambda v: np.full(v.shape, 2**63 + 5, dtype=np.uint64)),
    ],
    "probability": REAL_BAD
    + NONE
    + [
        ("0", 0),
        ("1", 1),
        ("0.0", 0.0),
        ("1.0", 1.0),
        ("above 1", 1.5),
        ("-inf", -INF),
        ("array", np.array([0.1, 0.2])),
    ],
    "alpha": REAL_BAD + NONE,
    "rtol": REAL_BAD + NONE + [("0", 0)],
    "rcond": REAL_BAD,
    "threads": SIZE_BAD + [("10**6", 10**6), ("10**30", 10**30)],
    "seed": _without(SIZE_BAD, "0") + [("RandomState", np.random.RandomState(0))],
    "max_iter": SIZE_BAD,
    "block_size": SIZE_BAD + NONE,
    "chunk_rows": SIZE_BAD + NONE,
    "n_classes": SIZE_BAD + [("below max label + 1", Q - 1), ("10**12", 10**12)],
    "bound_every": SIZE_BAD,
    "step": _without(SIZE_BAD, "0", "negative") + NONE,
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
    # A Network is callable: wrapped, so that the value is the network itself.
    "reference": _without(NOT_A_NETWORK, "None")
    + [("dict", {}), ("other widths", lambda v: OTHER_WIDTHS)],
    # NormMonitor.record's network: a Network, or what the adapters convert.
    "network": NOT_A_NETWORK + [("other inputs", lambda v: OTHER_INPUTS)],
    "estimator": _without(NOT_A_NETWORK, "list of weights", "str")
    + [
        ("str", "model.pkl"),
        ("network", lambda v: NET),
        ("unfitted", lambda v: type(v)()),
    ],
    "module": _without(NOT_A_NETWORK, "list of weights", "str")
    + [
        ("str", "net.pt"),
        ("empty", {}),
        ("one layer", lambda v: {k: v[k] for k in ("0.weight", "0.bias")}),
        ("keys step by 1", lambda v: {k.replace("2.", "1."): x for k, x in v.items()}),
    ],
    "net": NOT_A_NETWORK + [("dict", {})],
    # kl_inverse's arguments: a rate in [0, 1] and a budget >= 0, scalars or arrays.
    "rate": [
        ("nan", NAN),
        ("above 1", 1.5),
        ("negative", -0.1),
        ("str", "0.1"),
        ("None", None),
        ("bool", True),
        ("complex", 0.5j),
    ],
    "budget": [("nan", NAN), ("negative", -1.0), ("-inf", -INF), ("str", "1"), ("None", None)],
}
KIND_BAD["optional_probability"] = _without(KIND_BAD["probability"], "None")

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
