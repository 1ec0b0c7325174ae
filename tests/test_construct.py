"""construct_minimizer (readout_first, readout_last), ZeroLossUnattainable and one_hot."""

import numpy as np
import pytest

import archbound
from archbound import ZeroLossUnattainable, _core, construct_minimizer, one_hot, reference
from archbound._validation import DTypeError

METHODS = ["readout_first", "readout_last"]


def data(n=30, m0=50, q=3, seed=0, dtype=np.float64):
    """Well-conditioned training data with positive and negative targets."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, m0)).astype(dtype)
    Y = rng.standard_normal((n, q)).astype(dtype)
    return X, Y


def relu(z):
    return np.maximum(z, 0.0)


def widths_for(method, n, q):
    return [q + 2, 2 * q] if method == "readout_first" else [n + 5, n + 1]


def max_train_error(network, X, Y):
    """max_i |f(x_i) - y_i|, evaluated in float64 (float32 input is converted, as by the
    construction itself)."""
    X = np.asarray(X, dtype=np.float64)
    return np.abs(network(X) - np.asarray(Y, dtype=np.float64)).max()


# --- zero training loss -----------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "n, m0, q, dtype",
    [
        (30, 50, 3, np.float64),  # wide X_0 (N < M0)
        (40, 40, 2, np.float64),  # square
        (25, 60, 10, np.float32),  # float32, converted once
        (200, 300, 4, np.float64),  # several pinv blocks
    ],
)
def test_zero_training_loss(method, n, m0, q, dtype):
    X, Y = data(n, m0, q, seed=n, dtype=dtype)
    network = construct_minimizer(X, Y, widths_for(method, n, q), method=method, seed=1)
    scale = max(1.0, np.abs(Y).max())
    assert max_train_error(network, X, Y) <= 1e-9 * scale
    c = network.construction
    assert c.method == method
    assert c.rank == n and c.n_samples == n
    assert 0 <= c.train_loss <= (1e-9 * scale) ** 2
    assert c.max_train_error <= 1e-9 * scale
    assert network.widths == [m0] + widths_for(method, n, q) + [q]
    assert network.depth == 2


@pytest.mark.parametrize("method", METHODS)
def test_zero_loss_on_one_hot_labels(method):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((40, 64))
    labels = np.arange(40) % 10
    Y = one_hot(labels)
    network = construct_minimizer(X, Y, widths_for(method, 40, 10), method=method, seed=2)
    assert max_train_error(network, X, Y) <= 1e-9
    assert np.array_equal(network(X).argmax(axis=1), labels)


# --- readout_first ----------------------------------------------------------------------


def test_readout_first_matches_reference():
    X, Y = data(20, 35, 4, seed=3)
    widths = [6, 4, 9]
    network = construct_minimizer(X, Y, widths)
    weights, biases, A, beta = reference.readout_first(X, Y, widths)
    assert len(network.weights) == len(weights) == 4
    for got, want in zip(network.weights, weights):
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-10 * max(1.0, np.abs(want).max())
    for got, want in zip(network.biases, biases):
        assert np.abs(got - want).max() <= 1e-12 * max(1.0, np.abs(want).max())
    assert np.abs(network.construction.readout - A).max() <= 1e-10 * np.abs(A).max()
    assert network.construction.beta == pytest.approx(beta, rel=1e-15)
    assert network.construction.seed is None


def test_readout_first_computes_relu_of_affine_map_literally():
    X, Y = data(30, 50, 3, seed=4)
    network = construct_minimizer(X, Y, [7, 3, 12])
    A = network.construction.readout
    beta = network.construction.beta
    held_out = np.random.default_rng(5).standard_normal((100, 50)) * 3
    expected = relu(held_out @ A.T + beta) - beta
    assert np.abs(network(held_out) - expected).max() <= 1e-12 * max(1.0, np.abs(expected).max())
    # The layers are literally W_1 = [A; 0], truncated identities, and [I_Q 0].
    q = 3
    assert np.array_equal(network.weights[0][:q], A)
    assert not network.weights[0][q:].any()
    assert np.array_equal(network.weights[1][:q, :q], np.eye(q))
    assert np.count_nonzero(network.weights[1]) == q
    assert np.array_equal(network.biases[0][:q], np.full(q, beta))
    assert np.array_equal(network.biases[-1], np.full(q, -beta))


ARCHITECTURES = [
    [3],  # L = 1 at the smallest width, Q
    [2048],  # L = 1, wide
    [3] * 16,  # L = 16, every layer at width Q
    [64, 5, 300, 17, 2048, 9, 40],  # non-monotone
    [100] * 4 + [3] + [100] * 11,  # L = 16 with a bottleneck
    [2048, 3, 2048],  # wide - narrow - wide
]


def test_architecture_independence_of_readout_first():
    X, Y = data(30, 50, 3, seed=6)
    held_out = np.random.default_rng(7).standard_normal((500, 50)) * 2
    outputs = []
    for widths in ARCHITECTURES:
        network = construct_minimizer(X, Y, widths)
        assert network.depth == len(widths)
        assert max_train_error(network, X, Y) <= 1e-9 * max(1.0, np.abs(Y).max())
        outputs.append(network(held_out))
    scale = max(1.0, np.abs(outputs[0]).max())
    for out in outputs[1:]:
        assert np.abs(out - outputs[0]).max() <= 1e-10 * scale
    # The held-out outputs are not trivially equal to the training targets' range: the ReLU
    # clips some of them, so the test exercises the nonlinearity.
    A_x = held_out @ construct_minimizer(X, Y, [3]).construction.readout.T
    assert (A_x < -max(0.0, -Y.min())).any()


@pytest.mark.parametrize(
    "labels, beta",
    [
        (np.array([[-2.0, 1.0], [0.5, -0.25], [3.0, 0.0]]), 2.0),  # negative labels: beta > 0
        (np.array([[2.0, 1.0], [0.5, 0.25], [3.0, 0.0]]), 0.0),  # non-negative: beta = 0
    ],
)
def test_beta_is_the_shift_that_clears_negative_labels(labels, beta):
    X = np.random.default_rng(8).standard_normal((3, 5))
    network = construct_minimizer(X, labels, [2, 4])
    assert network.construction.beta == beta
    assert max_train_error(network, X, labels) <= 1e-9 * 3


def test_large_negative_labels():
    X, _ = data(12, 20, 2, seed=9)
    Y = -1000 - np.random.default_rng(10).random((12, 2)) * 50
    network = construct_minimizer(X, Y, [5, 2])
    assert network.construction.beta == pytest.approx(-Y.min())
    assert max_train_error(network, X, Y) <= 1e-9 * np.abs(Y).max()


# --- readout_last -----------------------------------------------------------------------


def test_readout_last_layers_are_partial_isometries():
    X, Y = data(20, 30, 3, seed=12)
    widths = [25, 40, 21, 60]  # narrower and wider than the layer before
    network = construct_minimizer(X, Y, widths, method="readout_last", seed=13)
    for w in network.weights[:-1]:
        assert np.linalg.norm(w, 2) == pytest.approx(1.0, abs=1e-12)
        small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        assert np.abs(small - np.eye(small.shape[0])).max() <= 1e-12


def test_readout_last_biases_keep_relu_inactive_on_training_set():
    X, Y = data(20, 30, 3, seed=14)
    network = construct_minimizer(X, Y, [22, 30, 25], method="readout_last", seed=15)
    h = X
    for w, b in zip(network.weights[:-1], network.biases[:-1]):
        z = h @ w.T + b
        assert z.min() >= -1e-12 * np.abs(z).max()  # ReLU is the identity here
        assert np.all(b >= 0)
        # b is the smallest shift that does it: some pre-activation touches zero in every row
        # whose minimum over the training set was negative.
        touched = b > 0
        assert np.allclose(z.min(axis=0)[touched], 0.0, atol=1e-12 * np.abs(z).max())
        h = relu(z)


def test_readout_last_matches_reference():
    X, Y = data(20, 30, 3, seed=16)
    network = construct_minimizer(X, Y, [24, 21], method="readout_last", seed=17)
    weights, biases = reference.readout_last(X, Y, network.weights[:-1])
    for got, want in zip(network.biases, biases):
        assert np.abs(got - want).max() <= 1e-12 * max(1.0, np.abs(want).max())
    readout = weights[-1]
    assert np.abs(network.weights[-1] - readout).max() <= 1e-9 * np.abs(readout).max()
    c = network.construction
    assert c.readout is None and c.beta is None and c.seed == 17
    assert max_train_error(network, X, Y) <= 1e-9 * max(1.0, np.abs(Y).max())


def test_reference_construct_minimizer_dispatch():
    X, Y = data(10, 15, 2, seed=18)
    w1, b1 = reference.construct_minimizer(X, Y, [4], method="readout_first")
    assert np.allclose(reference.forward(w1, b1, X), Y, atol=1e-9)
    network = construct_minimizer(X, Y, [12], method="readout_last", seed=0)
    w2, b2 = reference.construct_minimizer(
        X, Y, [12], method="readout_last", hidden_weights=network.weights[:-1]
    )
    assert np.allclose(reference.forward(w2, b2, X), Y, atol=1e-9)


def test_seeds():
    X, Y = data(15, 20, 2, seed=19)
    widths = [18, 16]
    a = construct_minimizer(X, Y, widths, method="readout_last", seed=5)
    b = construct_minimizer(X, Y, widths, method="readout_last", seed=5)
    c = construct_minimizer(X, Y, widths, method="readout_last", seed=6)
    for wa, wb, wc in zip(a.weights[:-1], b.weights[:-1], c.weights[:-1]):
        assert np.array_equal(wa, wb)
        assert not np.allclose(wa, wc)
    assert np.array_equal(a.weights[-1], b.weights[-1])
    # Each hidden layer gets its own stream: layer 2 is not layer 1's matrix reshaped.
    assert not np.allclose(a.weights[0][:16, :16], a.weights[1][:16, :16])
    # A numpy Generator is accepted and is reproducible; None draws a fresh seed.
    g1 = construct_minimizer(X, Y, widths, method="readout_last", seed=np.random.default_rng(3))
    g2 = construct_minimizer(X, Y, widths, method="readout_last", seed=np.random.default_rng(3))
    assert np.array_equal(g1.weights[0], g2.weights[0])
    fresh = construct_minimizer(X, Y, widths, method="readout_last")
    assert isinstance(fresh.construction.seed, int)
    assert max_train_error(fresh, X, Y) <= 1e-9


def test_readout_first_ignores_seed():
    X, Y = data(10, 15, 2, seed=20)
    a = construct_minimizer(X, Y, [4], seed=1)
    b = construct_minimizer(X, Y, [4], seed=2)
    for wa, wb in zip(a.weights, b.weights):
        assert np.array_equal(wa, wb)


# --- when zero loss is unattainable -----------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_more_samples_than_input_dimensions(method):
    X, Y = data(20, 10, 2, seed=21)
    with pytest.raises(ZeroLossUnattainable) as excinfo:
        construct_minimizer(X, Y, widths_for(method, 20, 2), method=method, seed=0)
    error = excinfo.value
    assert isinstance(error, ValueError)
    assert (error.n_samples, error.input_dim, error.rank) == (20, 10, 10)
    assert error.residual > 0
    message = str(error)
    for part in ["N = 20", "M0 = 10", "rank(X) = 10", f"{error.residual:.6g}", "allow_residual"]:
        assert part in message


@pytest.mark.parametrize("method", METHODS)
def test_duplicated_samples_with_different_labels(method):
    X, Y = data(12, 30, 2, seed=22)
    X[7] = X[3]
    Y[7] = Y[3] + 1.0
    with pytest.raises(ZeroLossUnattainable) as excinfo:
        construct_minimizer(X, Y, widths_for(method, 12, 2), method=method, seed=0)
    error = excinfo.value
    assert (error.n_samples, error.input_dim, error.rank) == (12, 30, 11)
    assert "linearly dependent" in str(error)
    # The two conflicting samples cost at least the squared half-distance of their labels.
    assert error.residual >= 2 * (0.5**2 * 2) / 12 * (1 - 1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_allow_residual_returns_least_squares_network(method):
    X, Y = data(20, 10, 2, seed=23)
    with pytest.raises(ZeroLossUnattainable) as excinfo:
        construct_minimizer(X, Y, widths_for(method, 20, 2), method=method, seed=4)
    network = construct_minimizer(
        X, Y, widths_for(method, 20, 2), method=method, seed=4, allow_residual=True
    )
    c = network.construction
    errors = np.linalg.norm(network(X) - Y, axis=1)
    assert c.rank == 10 and c.n_samples == 20
    assert c.train_loss == pytest.approx(np.mean(errors**2), rel=1e-12)
    assert c.max_train_error == pytest.approx(errors.max(), rel=1e-12)
    assert c.train_loss == pytest.approx(excinfo.value.residual, rel=1e-12)
    if method == "readout_first":
        # A = Y_0 X_0^+ is the least-squares readout. The ReLU only clips outputs below
        # -beta <= min Y towards the targets, so the loss is at most the linear fit's.
        assert np.allclose(c.readout, Y.T @ np.linalg.pinv(X.T, rtol=None), atol=1e-10)
        linear = np.linalg.lstsq(X, Y, rcond=None)[0]
        assert c.train_loss <= np.mean(np.sum((X @ linear - Y) ** 2, axis=1)) * (1 + 1e-9)
    else:
        # The hidden layers are injective affine maps on the training set (the ReLUs are
        # inactive there), so the least-squares readout gives the affine least-squares fit.
        X1 = np.hstack([X, np.ones((20, 1))])
        affine = np.linalg.lstsq(X1, Y, rcond=None)[0]
        best = np.mean(np.sum((X1 @ affine - Y) ** 2, axis=1))
        assert c.train_loss == pytest.approx(best, rel=1e-8)


# --- bad input --------------------------------------------------------------------------


GOOD_X, GOOD_Y = data(6, 8, 2, seed=24)


@pytest.mark.parametrize(
    "X, Y, words",
    [
        (np.where(np.eye(6, 8) > 0, np.nan, GOOD_X), GOOD_Y, ["X", "NaN"]),
        (GOOD_X, np.where(np.eye(6, 2) > 0, np.inf, GOOD_Y), ["Y", "inf"]),
        (GOOD_X[0], GOOD_Y, ["X", "2-dimensional"]),
        (GOOD_X, GOOD_Y[:, 0], ["Y", "2-dimensional"]),
        (GOOD_X[:, :, None], GOOD_Y, ["X", "2-dimensional"]),
        (GOOD_X[:5], GOOD_Y, ["same number of samples", "5", "6"]),
        (np.zeros((0, 8)), np.zeros((0, 2)), ["X", "empty"]),
        (GOOD_X, np.zeros((6, 0)), ["Y", "empty"]),
    ],
)
@pytest.mark.parametrize("method", METHODS)
def test_bad_arrays(X, Y, words, method):
    with pytest.raises(ValueError) as excinfo:
        construct_minimizer(X, Y, [6, 6], method=method, seed=0)
    for word in words:
        assert word in str(excinfo.value)


@pytest.mark.parametrize("name", ["X", "Y"])
@pytest.mark.parametrize(
    "bad",
    [
        lambda a: a.astype(object),
        lambda a: a.astype(complex),
        lambda a: a.astype(str),
        lambda a: a > 0,
    ],
    ids=["object", "complex", "string", "bool"],
)
def test_bad_dtypes(name, bad):
    X, Y = GOOD_X, GOOD_Y
    if name == "X":
        X = bad(X)
    else:
        Y = bad(Y)
    with pytest.raises(DTypeError, match=f"^{name} "):
        construct_minimizer(X, Y, [6])
    with pytest.raises(TypeError):
        construct_minimizer(X, Y, [6])


@pytest.mark.parametrize(
    "widths, method, error, words",
    [
        ([], "readout_first", ValueError, ["widths", "L >= 1"]),
        ([1], "readout_first", ValueError, ["widths[0]", "Q = 2"]),
        ([4, 1, 4], "readout_first", ValueError, ["widths[1]", "Q = 2"]),
        ([5], "readout_last", ValueError, ["widths[0]", "N = 6"]),
        ([8, 5], "readout_last", ValueError, ["widths[1]", "N = 6"]),
        ([4.0], "readout_first", TypeError, ["widths[0]"]),
        ([True], "readout_first", TypeError, ["widths[0]"]),
        (4, "readout_first", TypeError, ["widths"]),
        ("44", "readout_first", TypeError, ["widths"]),
    ],
)
def test_bad_widths(widths, method, error, words):
    with pytest.raises(error) as excinfo:
        construct_minimizer(GOOD_X, GOOD_Y, widths, method=method, seed=0)
    for word in words:
        assert word in str(excinfo.value)


@pytest.mark.parametrize("method", ["readout-first", "", None, "svd"])
def test_unknown_method(method):
    with pytest.raises(ValueError, match="method"):
        construct_minimizer(GOOD_X, GOOD_Y, [6], method=method)


@pytest.mark.parametrize("seed, error", [(-1, ValueError), ("1", TypeError), (1.5, TypeError)])
def test_bad_seed(seed, error):
    with pytest.raises(error, match="seed"):
        construct_minimizer(GOOD_X, GOOD_Y, [6], method="readout_last", seed=seed)


@pytest.mark.parametrize("kwargs", [{"threads": 0}, {"rcond": -1.0}, {"rcond": np.nan}])
def test_bad_options(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        construct_minimizer(GOOD_X, GOOD_Y, [6], **kwargs)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        construct_minimizer(GOOD_X, GOOD_Y, [6], "readout_first")


@pytest.mark.parametrize("function", ["readout_first", "readout_last"])
def test_core_refuses_empty_and_mismatched_input(function):
    core = getattr(_core, function)
    extra = (0,) if function == "readout_last" else ()
    with pytest.raises(ValueError, match="non-empty"):
        core(np.zeros((0, 4)), np.zeros((0, 2)), [6], *extra, -1.0, 0)
    with pytest.raises(ValueError, match="as many samples"):
        core(np.ones((3, 4)), np.ones((2, 2)), [6], *extra, -1.0, 0)
    with pytest.raises(ValueError, match="L >= 1"):
        core(np.ones((3, 4)), np.ones((3, 2)), [], *extra, -1.0, 0)
    with pytest.raises(ValueError, match="smaller than"):
        core(np.ones((3, 4)), np.ones((3, 2)), [1], *extra, -1.0, 0)


# --- layouts and the caller's arrays ----------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_layouts_give_the_same_network(method):
    X, Y = data(10, 16, 2, seed=25)
    widths = widths_for(method, 10, 2)
    base = construct_minimizer(X, Y, widths, method=method, seed=3)
    strided_X = np.zeros((10, 32))
    strided_X[:, ::2] = X
    variants = [
        (np.asfortranarray(X), np.asfortranarray(Y)),
        (strided_X[:, ::2], Y[::1, ::1]),
        (X.tolist(), Y.tolist()),
    ]
    for vx, vy in variants:
        other = construct_minimizer(vx, vy, widths, method=method, seed=3)
        for wa, wb in zip(base.weights, other.weights):
            assert np.allclose(wa, wb, rtol=0, atol=1e-12 * np.abs(wa).max())


@pytest.mark.parametrize("method", METHODS)
def test_caller_arrays_are_not_modified_or_aliased(method):
    X, Y = data(10, 16, 2, seed=26)
    X0, Y0 = X.copy(), Y.copy()
    network = construct_minimizer(X, Y, widths_for(method, 10, 2), method=method, seed=1)
    assert np.array_equal(X, X0) and np.array_equal(Y, Y0)
    for array in list(network.weights) + list(network.biases):
        assert not np.shares_memory(array, X) and not np.shares_memory(array, Y)


# --- one_hot ----------------------------------------------------------------------------


def test_one_hot():
    out = one_hot([2, 0, 1, 2])
    assert out.dtype == np.float64
    assert np.array_equal(out, np.eye(3)[[2, 0, 1, 2]])
    assert one_hot(np.array([0, 1], dtype=np.uint8), n_classes=4).shape == (2, 4)
    assert np.array_equal(one_hot(np.array([1.0, 0.0])), [[0.0, 1.0], [1.0, 0.0]])
    assert archbound.one_hot is one_hot


@pytest.mark.parametrize(
    "labels, n_classes, error, words",
    [
        ([[0, 1]], None, ValueError, ["1-dimensional"]),
        ([], None, ValueError, ["empty"]),
        ([0, -1], None, ValueError, ["non-negative"]),
        ([0, 3], 3, ValueError, ["n_classes"]),
        ([0.5, 1.0], None, TypeError, ["integers"]),
        (["a", "b"], None, TypeError, ["integers"]),
        ([0, 1], 2.0, TypeError, ["n_classes"]),
        ([0, 1], True, TypeError, ["n_classes"]),
    ],
)
def test_one_hot_bad_input(labels, n_classes, error, words):
    with pytest.raises(error) as excinfo:
        one_hot(labels, n_classes)
    for word in words:
        assert word in str(excinfo.value)
