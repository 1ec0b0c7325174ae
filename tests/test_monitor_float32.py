"""The monitor's float32 forward passes: the certified margin, and the bounds built on it."""

from fractions import Fraction

import numpy as np
import pytest

from archbound import Network, NormMonitor
from archbound._float32_margin import (
    float32_activation,
    float32_layers,
    forward32,
    gamma32,
    row_norms_upper,
)
from archbound._monitor_bound import float32_above
from archbound.activations import activation
from archbound.construct import one_hot

EXACT = [
    activation("relu"),
    activation("leaky_relu", negative_slope=0.01),  # a slope float32 rounds
    activation("leaky_relu", negative_slope=2.5),
    activation("leaky_relu", negative_slope=0.125),  # exact: a power of two
    activation("hardtanh"),
    activation("relu6"),
    activation("identity"),
]


def random_network(rng, widths, sigma, scale=1.0):
    weights = [
        scale * rng.standard_normal((m, n)) / np.sqrt(n) for n, m in zip(widths, widths[1:])
    ]
    biases = [0.3 * rng.standard_normal(m) for m in widths[1:]]
    return Network(weights, biases, activation=sigma)


def certified_outputs(net, X):
    """f32(X) and the margins, with the exact spectral norms as the certified ones."""
    uppers = [np.linalg.norm(w, 2) * (1 + 1e-12) for w in net.weights]
    norms = row_norms_upper(X)
    layers = float32_layers(net.weights, net.biases, uppers, net.activation, norms.max())
    assert layers is not None
    values = forward32(layers, X.astype(np.float32), net.activation, 0)
    return values.astype(np.float64), layers.margins(norms)


@pytest.mark.parametrize("sigma", EXACT, ids=str)
@pytest.mark.parametrize(
    "input_scale, widths", [(1.0, [200, 100, 80, 7]), (30.0, [200, 100, 80, 7]),
                            (1.0, [200, 64, 64, 64, 64, 64, 3])]
)  # fmt: skip
def test_margin_dominates_the_float32_error(rng, sigma, input_scale, widths):
    """|f32(x) - f(x)| <= eps on every sample, f64 standing for the exact value (its own
    error, below 1e-13 |f|, is left as slack); large inputs saturate hardtanh and relu6."""
    net = random_network(rng, widths, sigma)
    X = input_scale * rng.standard_normal((300, 200))
    values, margins = certified_outputs(net, X)
    exact = net(X)
    gap = np.linalg.norm(values - exact, axis=1)
    assert np.all(gap + 1e-10 * (1 + np.linalg.norm(exact, axis=1)) <= margins)
    assert np.all(gap > 0)  # float32 did round: the check is not vacuous
    if input_scale == 1.0 and len(widths) == 4:  # small beside the outputs (offsets of B_j)
        assert np.all(margins <= 0.1 * (1 + np.linalg.norm(exact, axis=1)))


def test_margin_for_float32_weights_and_subnormal_inputs(rng):
    """Weights that float32 holds exactly (a torch model's), inputs with subnormal entries."""
    net = random_network(rng, [64, 48, 5], "relu")
    net = Network(
        [w.astype(np.float32).astype(np.float64) for w in net.weights],
        [b.astype(np.float32).astype(np.float64) for b in net.biases],
    )
    X = rng.standard_normal((100, 64))
    X[:, :8] = 1e-40  # subnormal in float32
    values, margins = certified_outputs(net, X)
    assert np.all(np.linalg.norm(values - net(X), axis=1) <= margins)


def test_constants_round_up():
    for n in (1, 10, 784, 4096, 10**6):
        nu = Fraction(n, 2**24)
        assert Fraction(gamma32(n)) >= nu / (1 - nu)
    assert gamma32(2**24) == np.inf
    values = np.random.default_rng(0).random(1000) * 10.0 ** np.arange(-20, 20, 0.04)
    above = float32_above(values)
    assert above.dtype == np.float32 and np.all(above.astype(np.float64) >= values)
    assert np.all(above.astype(np.float64) <= values * (1 + 2.0**-22))


def test_which_activations_take_the_float32_path():
    for name in ("relu", "hardtanh", "relu6", "identity"):
        assert float32_activation(activation(name)) == (1.0, 0.0)
    rho_hat, kappa = float32_activation(activation("leaky_relu", negative_slope=0.2))
    assert rho_hat == 1.0 and kappa >= abs(0.2 - float(np.float32(0.2))) + 0.2 * 2.0**-24
    assert float32_activation(activation("leaky_relu", negative_slope=0.25)) == (1.0, 0.0)
    for name in ("gelu", "tanh", "sigmoid", "silu", "elu", "softplus"):
        assert float32_activation(activation(name)) is None


def test_overflowing_networks_fall_back_to_float64(rng):
    X, T = rng.standard_normal((30, 6)), rng.standard_normal((20, 6))
    Y, TY = rng.standard_normal((30, 2)), rng.standard_normal((20, 2))
    net = Network([1e25 * rng.standard_normal((8, 6)), 1e25 * rng.standard_normal((2, 8))],
                  [np.zeros(8), np.zeros(2)])  # fmt: skip
    record = NormMonitor(X, Y, T, TY, seed=0).record(0, net)
    assert record.precision == "float64"
    residuals = np.linalg.norm(net(X) - Y, axis=1)
    assert record.max_train_residual == pytest.approx(residuals.max(), rel=1e-12)
    assert record.bound.violations == 0


def test_smooth_activations_and_precision_float64_run_in_float64(rng):
    X, T = rng.standard_normal((40, 5)), rng.standard_normal((30, 5))
    Y, TY = rng.standard_normal((40, 3)), rng.standard_normal((30, 3))
    for sigma, precision in (("gelu", "auto"), ("relu", "float64")):
        net = random_network(rng, [5, 16, 3], sigma)
        record = NormMonitor(X, Y, T, TY, seed=0, precision=precision).record(0, net)
        assert record.precision == "float64"
        residuals = np.linalg.norm(net(X) - Y, axis=1)
        assert record.train_cost == pytest.approx(np.mean(residuals**2), rel=1e-12)
    record = NormMonitor(X, Y, seed=0).record(0, net)  # no forward pass at all
    assert record.precision is None and record.to_dict().get("precision") is None
    with pytest.raises(ValueError, match="precision must be one of"):
        NormMonitor(X, Y, precision="float16")


def test_float32_bound_is_above_the_float64_truth_along_a_torch_run(torch):
    """Along a real SGD run of a float32 torch model: every norm is an upper bound (against
    the exact SVD), every offset is above the float64 residual, and every per-sample bound of
    each record is above the float64 truth; the labels are the float64 network's."""
    rng = np.random.default_rng(4)
    X, T = rng.random((200, 100)), rng.random((150, 100))
    labels, test_labels = rng.integers(0, 6, 200), rng.integers(0, 6, 150)
    Y, TY = one_hot(labels, 6), one_hot(test_labels, 6)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(100, 96),
        torch.nn.ReLU(),
        torch.nn.Linear(96, 80),
        torch.nn.ReLU(),
        torch.nn.Linear(80, 6),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    inputs, targets = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(Y).float()
    mon = NormMonitor(X, Y, T, test_labels, rtol=0.1, seed=1, heldout_delta=0.05)
    for epoch in range(10):
        for batch in torch.randperm(200).split(25):
            optimizer.zero_grad()
            ((model(inputs[batch]) - targets[batch]) ** 2).sum(dim=1).mean().backward()
            optimizer.step()
        record = mon.record(epoch, model)
        assert record.precision == "float32"
        net = Network.from_torch(model)
        for norm, w in zip(record.norms, net.weights):
            truth = np.linalg.norm(w, 2)
            assert norm.estimate <= truth * (1 + 1e-12) <= norm.upper * (1 + 1e-12)
        residuals = np.linalg.norm(net(X) - Y, axis=1)
        errors = np.linalg.norm(net(T) - TY, axis=1)
        # the record's own offsets and per-sample bounds, as it computed them
        train, test = mon._inputs.evaluate(
            net, [n.upper for n in record.norms], train=True, test=True, threads=0
        )
        estimate, _, offsets = train.distances(Y)
        assert np.all(offsets >= residuals)
        assert np.all(np.abs(estimate - residuals) <= train.margins)
        reported, lower, upper = test.distances(TY)
        assert np.all(lower <= errors) and np.all(errors <= upper)
        assert np.all(np.abs(reported - errors) <= test.margins)
        per_sample = mon._geometry.bounds(record.lipschitz, offsets, Y, TY, 0)
        assert np.all(per_sample >= errors)  # bound >= the float64 truth, every sample
        assert record.bound.test_cost_bound == pytest.approx(np.mean(per_sample**2), rel=1e-12)
        assert record.bound.violations == 0
        assert record.bound.test_cost == pytest.approx(np.mean(errors**2), rel=1e-5)
        assert record.max_train_residual == pytest.approx(residuals.max(), rel=1e-5)
        # the held-out count is the float64 classifier's
        assert record.heldout.errors == np.count_nonzero(net(T).argmax(1) != test_labels)
    assert any(n.method == "drift" for r in mon.history for n in r.norms)
    assert mon.history[-1].train_cost < mon.history[0].train_cost  # it trained


def test_labels_on_ties_are_the_float64_networks(rng):
    """Outputs whose two largest entries tie (two equal rows of the last layer) leave the
    float32 argmax undecided; those samples are evaluated again in float64."""
    X, T = rng.standard_normal((30, 6)), rng.standard_normal((40, 6))
    W2 = rng.standard_normal((4, 12))
    W2[3] = W2[1]
    net = Network([rng.standard_normal((12, 6)), W2], [np.zeros(12), np.zeros(4)])
    mon = NormMonitor(X, one_hot(rng.integers(0, 4, 30), 4), T, rng.integers(0, 4, 40),
                      seed=0, heldout_delta=0.1)  # fmt: skip
    record = mon.record(0, net)
    assert record.precision == "float32"
    predicted = net(T).argmax(1)
    assert record.heldout.errors == np.count_nonzero(predicted != mon._Y_test)
    _, test = mon._inputs.evaluate(net, [1e3, 1e3], train=False, test=True, threads=0)
    np.testing.assert_array_equal(mon._inputs.labels(net, test, 0), predicted)
    assert np.any(predicted == 1)  # some ties were on top: the float64 path ran
