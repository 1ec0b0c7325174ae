"""The bounds for every activation: bound >= truth on networks trained on digits with
smooth and piecewise-linear activations, the variants and capacity bounds that refuse
them, and the constants behind them (docs/design.md §2.7, docs/capacity.md)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from archbound import (
    Network,
    capacity_bounds,
    cost_discrepancy_bound,
    sample_bounds,
)
from archbound.activations import ACTIVATIONS
from archbound.bounds import VARIANTS, output_radius
from archbound.bounds.registry import get_variant
from archbound.capacity import HOMOGENEOUS, PIECEWISE_LINEAR_PIECES, augmented_layers
from archbound.experiment.training import train_one

SMOOTH = ("gelu", "silu", "tanh", "sigmoid")


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    X, y = data.data / 16.0, data.target
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:120], order[120:420]
    return X[train], y[train], X[test], y[test]


def _sklearn_net(digits, name):
    from sklearn.neural_network import MLPRegressor

    X, y, _, _ = digits
    model = MLPRegressor(hidden_layer_sizes=(16,), activation=name, random_state=0)
    for _ in range(20):
        model.partial_fit(X, np.eye(10)[y])
    return Network.from_sklearn(model)


def _torch_net(digits, name):
    X, y, X_test, y_test = digits
    Y, Y_test = np.eye(10)[y], np.eye(10)[y_test]
    net, _ = train_one(
        X, Y, X_test, Y_test, [16, 16], epochs=15, record_every=15, learning_rate=1e-2,
        seed=0, delta=1e-6, sigma=name,
    )  # fmt: skip
    return net


def _check_every_variant(net, digits):
    X, y, X_test, y_test = digits
    sigma = str(net.activation)
    accepted = []
    for variant in VARIANTS:
        if get_variant(variant).applies_to(net) is None:
            report = sample_bounds(net, X, y, X_test, y_test, variant=variant, seed=0)
            slack = 1e-9 * (1 + report.errors)
            assert np.all(report.per_sample >= report.errors - slack), variant
            assert report.summary().violations == 0
            accepted.append(variant)
        else:
            with pytest.raises(
                ValueError,
                match=rf"variant=.{variant}. does not hold for activation {re.escape(sigma)}",
            ):
                sample_bounds(net, X, y, X_test, y_test, variant=variant)
    assert accepted == ["lipschitz", "best"]
    discrepancy = cost_discrepancy_bound(net, X, y, X_test, y_test, seed=0)
    assert discrepancy.bound >= discrepancy.discrepancy
    report = capacity_bounds(net, X, y, seed=0)
    name = net.activation.name
    if name in PIECEWISE_LINEAR_PIECES:
        assert math.isfinite(report.vc_bound) and "vc_bound" not in report.unavailable
    else:
        assert math.isnan(report.vc_bound) and math.isnan(report.vc_dimension)
        assert "not piecewise linear" in report.unavailable["vc_bound"]
        assert report.to_dict()["vc_bound"] is None
    if name in HOMOGENEOUS:
        assert math.isfinite(report.golowich_bound)
    else:
        assert math.isnan(report.golowich_bound)
        assert "positively homogeneous" in report.unavailable["golowich_bound"]
    assert report.spectral_complexity > 0


@pytest.mark.parametrize("name", ["tanh", "logistic"])
def test_sklearn_networks_on_digits(digits, name):
    _check_every_variant(_sklearn_net(digits, name), digits)


@pytest.mark.parametrize("name", ["gelu", "silu", "leaky_relu"])
def test_torch_networks_on_digits(digits, name, torch):
    net = _torch_net(digits, name)
    assert net.activation.name == name
    _check_every_variant(net, digits)


def _random_net(rng, widths, sigma, scale=1.0):
    weights = [
        scale * rng.standard_normal((b, a)) / math.sqrt(a) for a, b in zip(widths, widths[1:])
    ]
    biases = [scale * rng.standard_normal(b) for b in widths[1:]]
    return Network(weights, biases, activation=sigma)


@pytest.mark.parametrize("sigma", sorted(ACTIVATIONS))
def test_output_radius_bounds_the_output_for_every_activation(sigma):
    rng = np.random.default_rng(1)
    net = _random_net(rng, [6, 20, 20, 20, 3], sigma, scale=2.0)
    X = rng.standard_normal((200, 6)) * rng.uniform(0, 5, (200, 1))
    X[0] = 0  # |f(0)| needs the |sigma(0)| and bias terms alone
    radius = output_radius(net.norms(seed=0), net, np.linalg.norm(X, axis=1))
    assert np.all(np.linalg.norm(net.forward(X), axis=1) <= radius)


@pytest.mark.parametrize("sigma", sorted(ACTIVATIONS))
def test_lipschitz_variant_counts_the_activation_constant(sigma):
    rng = np.random.default_rng(2)
    net = _random_net(rng, [5, 12, 12, 4], sigma)
    X, Y = rng.standard_normal((30, 5)), rng.standard_normal((30, 4))
    X_test, Y_test = rng.standard_normal((50, 5)), rng.standard_normal((50, 4))
    report = sample_bounds(net, X, Y, X_test, Y_test, seed=0)
    assert report.lipschitz == net.lipschitz_upper(seed=0)
    assert report.summary().violations == 0
    # bound >= truth for the Lipschitz constant itself, on pairs of test points
    gaps = np.linalg.norm(net.forward(X_test)[1:] - net.forward(X_test)[:-1], axis=1)
    assert np.all(gaps <= report.lipschitz * np.linalg.norm(X_test[1:] - X_test[:-1], axis=1))


@pytest.mark.parametrize("sigma", ["sigmoid", "softplus", "gelu", "leaky_relu"])
def test_augmented_network_computes_f(sigma):
    """The bias-augmented layers, with the activation sigma - sigma(0) on the hidden units and
    the constant unit passed on, compute f(x) from [x; 1]: what the margin bounds use."""
    rng = np.random.default_rng(3)
    net = _random_net(rng, [4, 7, 6, 3], sigma)
    at_zero = float(net.activation.forward(np.zeros(1))[0])
    layers = augmented_layers(net.weights, net.biases, at_zero)
    X = rng.standard_normal((20, 4))
    h = np.hstack([X, np.ones((20, 1))])
    for a in layers[:-1]:
        z = h @ a.T
        h = np.hstack([net.activation.forward(z[:, :-1]) - at_zero, z[:, -1:]])
    np.testing.assert_allclose(h @ layers[-1].T, net.forward(X), rtol=1e-12, atol=1e-12)


def test_readout_first_variants_name_the_variant_and_the_activation():
    rng = np.random.default_rng(4)
    net = _random_net(rng, [4, 6, 2], "tanh")
    X, Y = rng.standard_normal((10, 4)), rng.standard_normal((10, 2))
    for variant in ("projected", "coordinates", "linearized"):
        with pytest.raises(
            ValueError, match=rf"variant='{variant}' does not hold for activation tanh"
        ):
            sample_bounds(net, X, Y, X, Y, variant=variant)
    with pytest.raises(
        ValueError, match="variant='coordinates' does not hold for activation tanh"
    ):
        cost_discrepancy_bound(net, X, Y, X, Y, distance="coordinates")
