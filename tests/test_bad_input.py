"""Bad-input battery: every public entry point against every kind of bad argument.

Every function of ``archbound.__all__``, the ``Network`` methods and
``archbound.distributed.sample_bounds`` are listed once in TARGETS, with valid arguments and
the kind of each argument. Every kind has a list of bad values (NaN and inf, 0-d, 1-d and 3-d
arrays, mismatched N, empty arrays, object, complex, bool and string dtypes, views that would
need terabytes, negative, zero and huge widths and sizes, delta outside (0, 1), ...) and of
good layouts (Fortran order, strided, reversed, big-endian, read-only, nested lists).

- A bad value must raise ValueError or TypeError (DTypeError and MemoryLimitError are both)
  whose message names the argument, and return nothing.
- A good layout must give the result of the C-contiguous input, bit for bit.

The battery is generated from these lists (about 2,500 bad values that must be refused and
360 layouts that must work), plus targeted tests: absent classes, memory guards, extreme but
legal values and crafted files (``pytest --collect-only -q tests/test_bad_input.py`` counts
them).
Every case has a 10 s hang guard; ``pytest --durations`` shows the slowest.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import pickle
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import archbound as ab
import archbound.distributed as abd
from archbound import MemoryLimitError, Network
from archbound.data import load_arrays
from bad_input_cases import BAD_CASES, GOOD_CASES, TARGETS, TORCH_TARGETS
from bad_input_data import (
    HUGE_VIEW_2D,
    INF,
    LABELS_TEST,
    LABELS_TRAIN,
    LAYERS,
    M0,
    NAN,
    NET,
    X_TEST,
    X_TRAIN,
    Y_TEST,
    Y_TRAIN,
    M,
    Q,
    _value,
)
from conftest import TORCH_MISSING

# Each case must answer within 10 s (a hang fails it). torch, where installed, is imported
# here, at collection, so that its first import (seconds on a busy machine) is not timed
# inside the first torch case.
if importlib.util.find_spec("torch") is not None:
    import torch  # noqa: F401

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize("target, arg, value, names", BAD_CASES)
def test_bad_input_is_refused(target, arg, value, names):
    if target.name in TORCH_TARGETS:
        pytest.importorskip("torch", reason=TORCH_MISSING)
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
    elif isinstance(a, ab.TrainingSet):
        for name in ("X_train", "Y_train", "delta", "seed", "threads"):
            _assert_same(getattr(a, name), getattr(b, name), f"{where}.{name}")
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
    if target.name in TORCH_TARGETS:
        pytest.importorskip("torch", reason=TORCH_MISSING)
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
    "function", [ab.sample_bounds, ab.cost_discrepancy_bound, abd.sample_bounds_dask]
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


def _saved_labels(y, path):
    np.savez(path / "labels.npz", X=X_TRAIN, y=y)
    return load_arrays(path / "labels.npz").labels


#: Every entry point that takes a vector of class labels: (name of the argument, call of a
#: length-N label vector and a scratch folder). One rule holds for all (check_labels).
LABEL_ENTRIES = {
    "one_hot": ("labels", lambda y, path: ab.one_hot(y, Q)),
    "nearest": (
        "classes_test",
        lambda y, path: ab.nearest(X_TRAIN, X_TRAIN, classes_test=y, classes_train=LABELS_TRAIN),
    ),
    "sample_bounds": (
        "Y_train",
        lambda y, path: ab.sample_bounds(NET, X_TRAIN, y, X_TEST, Y_TEST, seed=0).per_sample,
    ),
    "capacity_bounds": ("Y_train", lambda y, path: ab.capacity_bounds(NET, X_TRAIN, y, seed=0)),
    "NormMonitor": ("Y_train", lambda y, path: ab.NormMonitor(X_TRAIN, y, seed=0).record(0, NET)),
    "load_arrays": ("'y'", _saved_labels),
}


@pytest.mark.parametrize("entry", LABEL_ENTRIES)
def test_whole_number_float_labels_are_integer_labels(entry, tmp_path):
    """2.0 is class 2 wherever labels are taken (scikit-learn's rule)."""
    _, call = LABEL_ENTRIES[entry]
    _assert_same(call(LABELS_TRAIN, tmp_path), call(LABELS_TRAIN.astype(np.float64), tmp_path))


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda y: np.where(y == 1, 1.5, y), id="1.5"),
        pytest.param(lambda y: np.where(y == 1, NAN, y), id="nan"),
        pytest.param(lambda y: y[:0], id="empty"),
        pytest.param(lambda y: y.astype(str), id="str"),
    ],
)
@pytest.mark.parametrize("entry", LABEL_ENTRIES)
def test_labels_that_are_not_integers_are_refused_everywhere(entry, bad, tmp_path):
    """A fraction, NaN, no labels at all or text: refused, naming the argument."""
    name, call = LABEL_ENTRIES[entry]
    with pytest.raises(ValueError, match=name):
        call(bad(LABELS_TRAIN), tmp_path)


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
            abd.sample_bounds_dask(
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
        lambda: abd.sample_bounds_dask(
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


#: The public classes that hold results or signal errors: the library builds them, users
#: do not construct them from their data.
RESULT_TYPES = {
    "BoundReport",
    "BoundSnapshot",
    "CapacityReport",
    "Construction",
    "DiscrepancyReport",
    "HeldoutCertificate",
    "MonitorRecord",
    "NormEstimate",
    "PinvInfo",
}
#: Entry points that are not names of ``archbound.__all__``: the methods that take user data.
METHODS = {
    "Network.forward",
    "Network.norms",
    "Network.lipschitz_upper",
    "Network.from_sklearn",
    "Network.from_torch",
    "distributed.sample_bounds_dask",
}


def test_every_public_entry_point_is_in_the_battery():
    covered = {t.name.split("[")[0] for t in TARGETS}
    public = set(METHODS)
    for name in ab.__all__:
        value = getattr(ab, name)
        if not callable(value):
            continue
        if isinstance(value, type) and issubclass(value, Exception):
            continue
        if isinstance(value, type) and name in RESULT_TYPES:
            continue
        public.add(name)
    assert public <= covered, f"entry points without a battery: {public - covered}"


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


@pytest.mark.parametrize(
    "call, good, bad, name",
    [
        (lambda v: ab.nearest(np.ones((2, 3)), np.ones((2, 3)), alpha=v), 1, True, "alpha"),
        (lambda v: ab.nearest(np.ones((2, 3)), np.ones((2, 3)), threads=v), 1, True, "threads"),
        (lambda v: ab.nearest(np.ones((2, 3)), np.ones((2, 3)), block_size=v), 1, True, "block"),
        (lambda v: ab.nearest(np.ones((2, 3)), np.ones((2, 3)), threads=v), 2, 2.0, "threads"),
        (lambda v: ab.opnorm(np.ones((2, 2)), max_iter=v), 1, True, "max_iter"),
        (lambda v: ab.opnorm(np.ones((2, 2)), rtol=v), 1, True, "rtol"),
        (lambda v: ab.opnorm(np.ones((2, 2)), delta=v), 0.5, [0.5], "delta"),
        (lambda v: ab.opnorm(np.ones((2, 2)), method=v), "auto", ["auto"], "method"),
    ],
)
def test_a_remembered_pass_never_admits_an_equal_bad_value(call, good, bad, name):
    """The scalar checks that remember their passes tell True from 1 and 2.0 from 2, and
    name an unhashable argument as a first call would, with no other error chained."""
    call(good)
    for _ in range(2):  # a refusal is not remembered either
        with pytest.raises((TypeError, ValueError), match=name) as caught:
            call(bad)
        assert caught.value.__context__ is None
