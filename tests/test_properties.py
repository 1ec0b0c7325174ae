"""Property tests over random shapes and values, with hypothesis.

1. Every public function, given arbitrary arrays (any dtype, 0 to 3 dimensions, empty, NaN,
   inf, huge values) and arbitrary scalars, returns a sane result or raises ValueError or
   TypeError: never another exception, a crash or a warning.
2. Every bound is >= the truth on every sample: sample_bounds and cost_discrepancy_bound on
   random data with random small networks, and with constructed minimizers.
3. nearest agrees with the brute force of archbound.reference, in float64 and float32, with
   labels, offsets and classes.

Examples are derandomized (the same on every run) and few, so the file stays fast.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import archbound as ab
from archbound import reference

pytestmark = pytest.mark.timeout(300)

SETTINGS = dict(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------------------------------
# Strategies

DTYPES = st.sampled_from(
    [
        np.float64,
        np.float32,
        np.int64,
        np.int8,
        np.uint16,
        np.bool_,
        np.complex128,
        np.object_,
        np.str_,
    ]
)
SPECIAL = st.sampled_from(
    [0.0, -0.0, 1.0, np.nan, np.inf, -np.inf, 1e300, -1e300, 1e-310, 3.4e38, 1e19]
)


def _any_array(draw, dims=st.integers(0, 3)):
    ndim = draw(dims)
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim)))
    dtype = draw(DTYPES)
    size = int(np.prod(shape))
    values = draw(st.lists(st.one_of(st.floats(-10, 10), SPECIAL), min_size=size, max_size=size))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = np.array(values, dtype=np.float64).reshape(shape)
        if dtype in (np.object_, np.str_, np.complex128, np.bool_):
            array = base.astype(dtype)
        else:
            array = np.nan_to_num(base).astype(dtype)  # integers: no NaN to cast
    layout = draw(st.sampled_from(["c", "f", "reversed"]))
    if layout == "f":
        array = np.asfortranarray(array)
    elif layout == "reversed" and array.ndim:
        array = array[::-1].copy()[::-1]
    return array


@st.composite
def anything(draw):
    """An array of any kind, or a scalar, or None."""
    kind = draw(st.sampled_from(["array"] * 6 + ["scalar", "none", "list"]))
    if kind == "array":
        return _any_array(draw)
    if kind == "scalar":
        return draw(
            st.one_of(
                st.integers(-3, 10**20),
                st.floats(allow_nan=True),
                st.booleans(),
                st.text(max_size=3),
            )
        )
    if kind == "list":
        return draw(st.lists(st.lists(st.floats(-5, 5), max_size=3), max_size=3))
    return None


@st.composite
def matrix(draw, rows=st.integers(1, 6), cols=st.integers(1, 6), scale=10.0):
    n, d = draw(rows), draw(cols)
    return draw(
        hnp.arrays(np.float64, (n, d), elements=st.floats(-scale, scale, allow_subnormal=False))
    )


# ---------------------------------------------------------------------------------------
# 1. Returns or raises cleanly.

NET = ab.Network([np.ones((3, 4)), np.ones((2, 3))], [np.zeros(3), np.zeros(2)])


def _call_table():
    return {
        "pinv": lambda a, b, c: ab.pinv(a),
        "pinv_info": lambda a, b, c: ab.pinv_info(a, rcond=c),
        "one_hot": lambda a, b, c: ab.one_hot(a, c),
        "construct_minimizer": lambda a, b, c: ab.construct_minimizer(a, b, [4]),
        "construct_minimizer[widths]": lambda a, b, c: ab.construct_minimizer(
            a, b, c, method="readout_last"
        ),
        "Network": lambda a, b, c: ab.Network([a, b], [c, c]),
        "Network.forward": lambda a, b, c: NET.forward(a, threads=c),
        "opnorm": lambda a, b, c: ab.opnorm(a, delta=c, seed=0),
        "opnorms": lambda a, b, c: ab.opnorms([a, b], seed=0),
        "nearest": lambda a, b, c: ab.nearest(a, b, alpha=c),
        "nearest[labels]": lambda a, b, c: ab.nearest(a, a, y_test=b, y_train=b, offsets=c),
        "nearest[classes]": lambda a, b, c: ab.nearest(a, a, classes_test=b, classes_train=b),
        "chamfer": lambda a, b, c: ab.chamfer(a, b),
        "hausdorff": lambda a, b, c: ab.hausdorff(a, b),
        "sample_bounds": lambda a, b, c: ab.sample_bounds(NET, a, b, a, b, seed=0),
        "cost_discrepancy_bound": lambda a, b, c: ab.cost_discrepancy_bound(
            NET, a, b, a, b, seed=0
        ),
    }


def _close(actual, expected, dtype) -> None:
    """Agreement with the NumPy oracle at the tolerance of the dtype, relative to the scale."""
    tol = 1e-4 if dtype == np.float32 else 1e-9
    scale = 1.0 + float(np.max(np.abs(expected), initial=0.0))
    assert np.all(np.abs(np.asarray(actual, np.float64) - expected) <= tol * scale)


def _sane(name, result, a, b, c):
    """A property of each function's result, on the inputs it accepted."""
    if name.startswith("nearest"):
        values, index = result
        assert np.all((index >= 0) == np.isfinite(values))
    elif name in ("pinv", "one_hot"):
        assert np.all(np.isfinite(result))
    elif name == "pinv_info":
        assert np.all(np.isfinite(result.pinv)) and result.rank >= 0
    elif name.startswith("opnorm"):
        for e in result if isinstance(result, list) else [result]:
            assert 0 <= e.estimate <= e.upper
    elif name.startswith("construct_minimizer"):
        # A minimizer of the training set a (rank(a) = N, or it raises): its sizes are the
        # data's, and it fits b up to rounding (relative to cond(a), as a solve does).
        X = np.asarray(a, dtype=np.float64)
        Y = ab.one_hot(b, int(np.max(b)) + 1) if np.ndim(b) == 1 else np.asarray(b, float)
        assert (result.input_dim, result.output_dim) == (X.shape[1], Y.shape[1])
        errors = np.linalg.norm(result.forward(X) - Y, axis=1)
        construction = result.construction
        assert construction.rank == X.shape[0]
        assert np.isclose(construction.max_train_error, errors.max(), rtol=1e-9, atol=1e-12)
        scale = (1.0 + np.abs(Y).max()) * max(1.0, np.linalg.cond(X))
        assert errors.max() <= 1e-8 * scale
    elif name == "Network":
        # Its sizes are the arrays' and it computes relu(a x + c) then b h + c.
        assert result.input_dim == np.shape(a)[1] and result.output_dim == np.shape(b)[0]
        x = np.random.default_rng(0).standard_normal((3, result.input_dim))
        _close(result.forward(x), reference.forward(result.weights, result.biases, x), np.float64)
    elif name == "Network.forward":
        X = np.asarray(a)
        assert result.shape == (X.shape[0], NET.output_dim) and np.all(np.isfinite(result))
        _close(result, reference.forward(NET.weights, NET.biases, X.astype(float)), result.dtype)
    elif name in ("chamfer", "hausdorff"):
        A, B = np.asarray(a, float), np.asarray(b, float)
        chamfer, hausdorff = ab.chamfer(A, B), ab.hausdorff(A, B)
        assert 0.0 <= chamfer <= hausdorff * (1 + 1e-12) + 1e-12  # a mean of minima <= max
        assert ab.hausdorff(B, A) == hausdorff  # symmetric
        # The kernel's |x|^2 + |y|^2 - 2<x, y> loses about sqrt(eps) |x| to cancellation.
        eps = np.finfo(np.result_type(a, b, np.float32)).eps
        tol = 4 * np.sqrt(eps) * (1.0 + max(np.abs(A).max(), np.abs(B).max()))
        assert ab.chamfer(A, A) <= tol and ab.hausdorff(A, A) <= tol  # 0 for one set
        oracle = reference.chamfer(A, B) if name == "chamfer" else reference.hausdorff(A, B)
        assert abs(result - oracle) <= tol + 1e-6 * oracle
    elif name == "sample_bounds":
        assert np.all(result.per_sample >= result.errors * (1 - 1e-9) - 1e-9)
    elif name == "cost_discrepancy_bound":
        # The bound holds: bound >= |C_test - C_train| (here the test set is the training
        # set, so the truth is 0 and the train term vanishes).
        assert result.bound >= result.discrepancy * (1 - 1e-9) - 1e-12
        assert result.transport_term >= 0 and result.train_term >= 0
        assert result.discrepancy == abs(result.test_cost - result.train_cost)


@pytest.mark.parametrize("name", list(_call_table()))
@settings(max_examples=60, **SETTINGS)
@given(data=st.data())
def test_every_function_returns_or_raises_cleanly(name, data):
    a, b, c = data.draw(anything()), data.draw(anything()), data.draw(anything())
    call = _call_table()[name]
    try:
        result = call(a, b, c)
    except (ValueError, TypeError):
        return
    _sane(name, result, a, b, c)


# ---------------------------------------------------------------------------------------
# 2. Every bound is >= the truth.


@st.composite
def problems(draw, *, min_m0=1, max_m0=12):
    """A random regression problem: train and test inputs and targets."""
    m0 = draw(st.integers(min_m0, max_m0))
    q = draw(st.integers(1, 3))
    n = draw(st.integers(1, 8))
    m = draw(st.integers(1, 10))
    elements = st.floats(-4, 4, allow_subnormal=False)
    X = draw(hnp.arrays(np.float64, (n + m, m0), elements=elements))
    Y = draw(hnp.arrays(np.float64, (n + m, q), elements=elements))
    return X[:n], Y[:n], X[n:], Y[n:]


@st.composite
def networks(draw, m0, q):
    depth = draw(st.integers(1, 3))
    widths = [m0] + draw(st.lists(st.integers(1, 7), min_size=depth, max_size=depth)) + [q]
    elements = st.floats(-2, 2, allow_subnormal=False)
    weights = [
        draw(hnp.arrays(np.float64, (b, a), elements=elements)) for a, b in zip(widths, widths[1:])
    ]
    biases = [draw(hnp.arrays(np.float64, (b,), elements=elements)) for b in widths[1:]]
    return ab.Network(weights, biases)


def _assert_bounds_hold(report):
    slack = 1e-9 * (1 + report.errors)
    assert np.all(report.per_sample >= report.errors - slack), (report.per_sample, report.errors)
    assert report.test_cost_bound >= report.test_cost * (1 - 1e-9) - 1e-12
    assert report.uniform_bound >= report.max_error * (1 - 1e-9) - 1e-12


@settings(max_examples=60, **SETTINGS)
@given(data=st.data())
def test_bounds_hold_for_random_networks(data):
    X, Y, Xt, Yt = data.draw(problems())
    net = data.draw(networks(X.shape[1], Y.shape[1]))
    seed = data.draw(st.integers(0, 2**32))
    _assert_bounds_hold(ab.sample_bounds(net, X, Y, Xt, Yt, seed=seed))
    report = ab.cost_discrepancy_bound(net, X, Y, Xt, Yt, seed=seed)
    assert report.bound >= report.discrepancy * (1 - 1e-9) - 1e-9


@settings(max_examples=40, **SETTINGS)
@given(data=st.data())
def test_bounds_hold_for_constructed_minimizers(data):
    X, Y, Xt, Yt = data.draw(problems(min_m0=8))
    assume(X.shape[0] <= X.shape[1])
    method = data.draw(st.sampled_from(["readout_first", "readout_last"]))
    q, n = Y.shape[1], X.shape[0]
    depth = data.draw(st.integers(1, 3))
    low = q if method == "readout_first" else n
    widths = data.draw(st.lists(st.integers(low, low + 6), min_size=depth, max_size=depth))
    net = ab.construct_minimizer(X, Y, widths, method=method, seed=1, allow_residual=True)
    variants = ["lipschitz"] + (["projected", "linearized"] if method == "readout_first" else [])
    for variant in variants:
        _assert_bounds_hold(ab.sample_bounds(net, X, Y, Xt, Yt, variant=variant, seed=2))
    report = ab.cost_discrepancy_bound(net, X, Y, Xt, Yt, seed=3)
    assert report.bound >= report.discrepancy * (1 - 1e-9) - 1e-9


# ---------------------------------------------------------------------------------------
# 3. nearest agrees with brute force.


@st.composite
def nearest_problems(draw):
    d = draw(st.integers(1, 20))
    m = draw(st.integers(1, 12))
    n = draw(st.integers(1, 12))
    # Few distinct values: duplicates, ties and cancellation (|f|^2 + |g|^2 - 2<f,g>).
    pool = draw(st.lists(st.floats(-1e3, 1e3, allow_subnormal=False), min_size=1, max_size=6))
    offset = draw(st.sampled_from([0.0, 1e3, -1e4]))
    values = st.sampled_from(pool) | st.floats(-10, 10, allow_subnormal=False)
    F = draw(hnp.arrays(np.float64, (m, d), elements=values)) + offset
    G = draw(hnp.arrays(np.float64, (n, d), elements=values)) + offset
    kw = {"alpha": draw(st.sampled_from([1.0, 0.0, 0.5, 3.0]))}
    if draw(st.booleans()):
        q = draw(st.integers(1, 3))
        kw["y_test"] = draw(hnp.arrays(np.float64, (m, q), elements=values))
        kw["y_train"] = draw(hnp.arrays(np.float64, (n, q), elements=values))
    if draw(st.booleans()):
        kw["offsets"] = draw(hnp.arrays(np.float64, (n,), elements=st.floats(0, 5)))
    if draw(st.booleans()):
        kw["classes_test"] = draw(hnp.arrays(np.int64, (m,), elements=st.integers(0, 2)))
        kw["classes_train"] = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, 2)))
    return F, G, kw


def _objective(F, G, kw, j, i):
    """The objective of test j against training sample i, in float64."""
    value = kw["alpha"] * np.linalg.norm(F[j] - G[i])
    if "y_test" in kw:
        value += np.linalg.norm(kw["y_test"][j] - kw["y_train"][i])
    if "offsets" in kw:
        value += kw["offsets"][i]
    return value


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=80, **SETTINGS)
@given(
    problem=nearest_problems(),
    block=st.sampled_from(["auto", 1, 3]),
    threads=st.sampled_from([None, 1, 2]),
)
def test_nearest_agrees_with_brute_force(dtype, problem, block, threads):
    F, G, kw = problem
    args = {
        k: (v.astype(dtype) if k in ("y_test", "y_train", "offsets") else v) for k, v in kw.items()
    }
    F32, G32 = F.astype(dtype), G.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ab.AbsentClassWarning)
        values, index = ab.nearest(F32, G32, block_size=block, threads=threads, **args)
    # The oracle sees exactly the values the kernel saw.
    exact = {k: np.asarray(v, dtype=np.float64) for k, v in args.items()}
    expected, expected_index = reference.nearest(F32, G32, **exact)
    np.testing.assert_array_equal(np.isinf(values), np.isinf(expected))
    np.testing.assert_array_equal(index < 0, expected_index < 0)
    finite = np.isfinite(expected)
    eps = np.finfo(dtype).eps
    scale = (np.abs(F32).max() + np.abs(G32).max() + 1.0) * (kw["alpha"] + 1.0)
    if "y_test" in exact:
        scale += np.abs(exact["y_test"]).max() + np.abs(exact["y_train"]).max()
    if "offsets" in exact:
        scale += exact["offsets"].max()
    # Differences of float32 coordinates are exact in float64; the kernel's float32 sums and
    # square roots cost a few eps of the scale.
    tolerance = 64 * eps * scale + (1e-3 * np.sqrt(eps) * scale if dtype == np.float32 else 0)
    np.testing.assert_allclose(values[finite], expected[finite], rtol=0, atol=tolerance)
    # The chosen training sample attains the minimum (ties may be broken by rounding).
    for j in np.flatnonzero(finite):
        chosen = _objective(F32.astype(np.float64), G32.astype(np.float64), exact, j, index[j])
        assert chosen <= expected[j] + tolerance
        if "classes_test" in exact:
            assert exact["classes_train"][index[j]] == exact["classes_test"][j]
