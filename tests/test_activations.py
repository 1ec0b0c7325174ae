"""The activation table (archbound.activations): certified constants, the NumPy oracle, the
core's forward pass for every activation, and Network's activation (save, load, repr,
refusals where the bounds assume ReLU)."""

import math

import numpy as np
import pytest

from archbound import (
    Network,
    construct_minimizer,
    reference,
)
from archbound.activations import ACTIVATIONS, Activation, activation
from test_forward import ARCHITECTURES, random_network, rel_error

#: Every row of the table, with parameters at which the supremum of |sigma'| is met (or
#: approached) inside [-20, 20].
CASES = {
    "relu": activation("relu"),
    "leaky_relu": activation("leaky_relu", negative_slope=0.2),
    "leaky_relu steep": activation("leaky_relu", negative_slope=-1.5),
    "elu": activation("elu"),
    "elu alpha 2": activation("elu", alpha=2.0),
    "gelu": activation("gelu"),
    "gelu_tanh": activation("gelu", approximate="tanh"),
    "silu": activation("silu"),
    "softplus": activation("softplus"),
    "softplus beta 2": activation("softplus", beta=2.0),
    "tanh": activation("tanh"),
    "sigmoid": activation("sigmoid"),
    "hardtanh": activation("hardtanh"),
    "relu6": activation("relu6"),
    "identity": activation("identity"),
}
GRID = np.linspace(-20.0, 20.0, 1_000_001)


def test_every_row_has_a_case():
    assert {sigma.name for sigma in CASES.values()} == set(ACTIVATIONS)
    assert len({row.code for row in ACTIVATIONS.values()}) == len(ACTIVATIONS)


@pytest.mark.parametrize("case", CASES)
def test_lipschitz_constant_bounds_the_derivative_tightly(case):
    sigma = CASES[case]
    steepest = float(np.abs(sigma.derivative(GRID)).max())
    assert sigma.lipschitz >= steepest
    assert sigma.lipschitz <= 1.001 * steepest


@pytest.mark.parametrize("case", CASES)
def test_derivative_is_the_forward_pass_slope(case):
    sigma = CASES[case]
    x = np.linspace(-7.0, 7.0, 2001) + 1.23e-4  # no point within h of a kink
    h = 1e-6
    slope = (sigma.forward(x + h) - sigma.forward(x - h)) / (2 * h)
    np.testing.assert_allclose(sigma.derivative(x), slope, atol=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_abs_at_zero_bounds_sigma_of_zero(case):
    sigma = CASES[case]
    value = abs(float(sigma.forward(np.zeros(1))[0]))
    assert sigma.abs_at_zero >= value
    assert sigma.abs_at_zero <= value * (1 + 1e-15)


def test_smooth_constants_lie_above_their_closed_forms():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    gelu = mpmath.ncdf(mpmath.sqrt(2)) + 1 / (mpmath.e * mpmath.sqrt(mpmath.pi))
    c, k = mpmath.sqrt(2 / mpmath.pi), mpmath.mpf("0.044715")

    def gelu_tanh_slope(x):
        t = mpmath.tanh(c * (x + k * x**3))
        return (1 + t) / 2 + x * (1 - t**2) * c * (1 + 3 * k * x**2) / 2

    peak = mpmath.findroot(lambda x: mpmath.diff(gelu_tanh_slope, x), 1.4)
    silu_peak = mpmath.findroot(lambda x: x * mpmath.tanh(x / 2) - 2, 2.4)
    s = 1 / (1 + mpmath.exp(-silu_peak))
    exact = {
        "gelu": gelu,
        "gelu_tanh": gelu_tanh_slope(peak),
        "silu": s * (1 + silu_peak * (1 - s)),
    }
    for name, value in exact.items():
        constant = activation(name).lipschitz
        assert mpmath.mpf(constant) >= value
        assert mpmath.mpf(constant) - value < 1e-14
    assert mpmath.mpf(activation("softplus", beta=3.0).abs_at_zero) >= mpmath.log(2) / 3


def test_piecewise_linear_rows():
    linear = {name for name, row in ACTIVATIONS.items() if row.piecewise_linear}
    assert linear == {"relu", "leaky_relu", "hardtanh", "relu6", "identity"}


def test_activation_validates_its_arguments():
    with pytest.raises(ValueError, match="activation must be one of relu, leaky_relu"):
        activation("mish")
    with pytest.raises(ValueError, match="activation tanh takes no parameter, got 'alpha'"):
        activation("tanh", alpha=1.0)
    with pytest.raises(ValueError, match="takes 'negative_slope', got 'slope'"):
        activation("leaky_relu", slope=0.1)
    with pytest.raises(ValueError, match="softplus's beta must be > 0"):
        activation("softplus", beta=0.0)
    with pytest.raises(ValueError, match="elu's alpha must be a finite number"):
        activation("elu", alpha=math.nan)
    with pytest.raises(ValueError, match="gelu's approximate must be 'none' or 'tanh'"):
        activation("gelu", approximate="erf")
    with pytest.raises(TypeError, match="activation must be an archbound.Activation"):
        Activation.parse(3)
    assert activation("leaky_relu").parameter == 0.01
    assert Activation.parse({"name": "elu", "alpha": 0.5}) == activation("elu", alpha=0.5)
    assert str(activation("gelu", approximate="tanh")) == "gelu_tanh"
    assert str(activation("softplus", beta=2)) == "softplus(beta=2.0)"


# ---------------------------------------------------------------- the core's forward pass
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("arch", ["shallow", "deep-narrow", "wide"])
@pytest.mark.parametrize("n", [1, 17, 300])
def test_core_matches_reference_for_every_activation(case, arch, n):
    sigma = CASES[case]
    sizes = ARCHITECTURES[arch]
    weights, biases = random_network(sizes, seed=n)
    X = 2 * np.random.default_rng(n + 1).standard_normal((n, sizes[0]))
    network = Network(weights, biases, activation=sigma)
    got = network.forward(X)
    want = reference.forward(weights, biases, X, sigma)
    assert got.shape == want.shape == (n, sizes[-1])
    assert rel_error(got, want) <= 1e-12
    got32 = network.forward(X.astype(np.float32))
    assert got32.dtype == np.float32
    want32 = reference.forward(weights, biases, X.astype(np.float32), sigma)
    assert want32.dtype == np.float32
    tolerance = 50 * len(sizes) * np.finfo(np.float32).eps
    assert rel_error(got32, want) <= tolerance
    assert rel_error(got32, want32) <= tolerance


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_core_forward_of_no_samples_is_empty(case, dtype):
    """Network.forward refuses an empty X; the core itself returns (Q, 0) at once."""
    from archbound import _core

    sigma = CASES[case]
    weights, biases = random_network([5, 7, 3], dtype=dtype)
    forward = _core.forward_float32 if dtype == np.float32 else _core.forward_float64
    out = forward(np.zeros((0, 5), dtype), weights, biases, 0, sigma.code, sigma._value)
    assert out.shape == (3, 0)
    assert reference.forward(weights, biases, np.zeros((0, 5), dtype), sigma).shape == (0, 3)


def test_core_refuses_an_unknown_activation_code():
    from archbound import _core

    X = np.zeros((2, 3))
    weights, biases = random_network([3, 4, 1])
    with pytest.raises(ValueError, match="activation: a code in 0..11"):
        _core.forward_float64(X, weights, biases, 0, 12, 0.0)
    with pytest.raises(ValueError, match="softplus needs beta > 0"):
        _core.forward_float64(X, weights, biases, 0, ACTIVATIONS["softplus"].code, 0.0)


def test_units_that_are_constant_are_kept_when_sigma_of_zero_is_not_zero():
    """A dead unit outputs sigma(0): dropped for relu, kept for sigmoid (sigma(0) = 1/2)."""
    weights, biases = random_network([6, 40, 3], seed=3)
    weights[0][4:] = 0.0  # 36 of 40 units see nothing
    biases[0][4:] = 0.0
    X = np.random.default_rng(4).standard_normal((9, 6))
    for name in ("relu", "sigmoid", "softplus"):
        network = Network(weights, biases, activation=name)
        want = reference.forward(weights, biases, X, name)
        assert rel_error(network.forward(X), want) <= 1e-12


# --------------------------------------------------------------------------- Network
def test_network_saves_loads_and_shows_its_activation(tmp_path):
    weights, biases = random_network([4, 6, 2])
    network = Network(weights, biases, activation=activation("leaky_relu", negative_slope=0.3))
    assert network.activation == activation("leaky_relu", negative_slope=0.3)
    shown = "Network(widths=[4, 6, 2], activation='leaky_relu(negative_slope=0.3)')"
    assert repr(network) == shown
    assert repr(Network(weights, biases)) == "Network(widths=[4, 6, 2])"
    network.save(tmp_path / "net.npz")
    loaded = Network.load(tmp_path / "net.npz")
    assert loaded.activation == network.activation
    X = np.random.default_rng(0).standard_normal((5, 4))
    np.testing.assert_array_equal(loaded.forward(X), network.forward(X))


def test_network_files_without_an_activation_load_as_relu(tmp_path):
    weights, biases = random_network([4, 6, 2])
    arrays = {"n_layers": np.array(2)}
    for index, (w, b) in enumerate(zip(weights, biases)):
        arrays[f"weight_{index}"], arrays[f"bias_{index}"] = w, b
    np.savez(tmp_path / "old.npz", **arrays)
    assert Network.load(tmp_path / "old.npz").activation == activation("relu")
    arrays["activation"] = np.array('{"name": "mish"}')
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="activation must be one of"):
        Network.load(tmp_path / "bad.npz")


def test_lipschitz_upper_counts_the_activation_constant_once_per_hidden_layer():
    weights, biases = random_network([5, 8, 8, 3])
    relu = Network(weights, biases).lipschitz_upper(seed=0)
    gelu = Network(weights, biases, activation="gelu").lipschitz_upper(seed=0)
    sigmoid = Network(weights, biases, activation="sigmoid").lipschitz_upper(seed=0)
    rho = activation("gelu").lipschitz
    assert gelu >= relu * rho * rho
    assert gelu <= relu * rho * rho * (1 + 1e-15)
    assert sigmoid >= relu / 16


def test_network_validates_its_activation():
    weights, biases = random_network([4, 6, 2])
    with pytest.raises(TypeError, match="activation must be an archbound.Activation, a name"):
        Network(weights, biases, activation=3)
    with pytest.raises(ValueError, match="activation must be one of relu"):
        Network(weights, biases, activation="swish")
    with pytest.raises(ValueError, match="softplus's beta must be > 0"):
        Network(weights, biases, activation={"name": "softplus", "beta": -1})


def test_constructed_networks_are_relu_only():
    X = np.random.default_rng(0).standard_normal((5, 8))
    Y = np.random.default_rng(1).standard_normal((5, 2))
    built = construct_minimizer(X, Y, [8, 10, 2])
    assert built.activation.is_relu
    with pytest.raises(ValueError, match="the constructions build ReLU networks only"):
        Network(built.weights, built.biases, activation="gelu", construction=built.construction)
