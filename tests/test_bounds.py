"""The generalization bounds: bound >= truth on every sample, variant order, architecture
independence, the cost-discrepancy bound, and bad input."""

import json

import numpy as np
import pytest

import archbound
from archbound import reference

DELTA = 1e-6


def _data(rng, n, m, m0, q, *, negative=False):
    X = rng.standard_normal((n + m, m0))
    W = rng.standard_normal((m0, q)) / np.sqrt(m0)
    Y = np.tanh(X @ W) + 0.1 * rng.standard_normal((n + m, q))
    if not negative:
        Y = np.abs(Y)
    return X[:n], Y[:n], X[n:], Y[n:]


def _assert_valid(report):
    # The defining property, on every sample.
    assert np.all(report.per_sample >= report.errors * (1 - 1e-12) - 1e-12)
    assert report.test_cost_bound >= report.test_cost * (1 - 1e-12)
    assert report.uniform_bound >= report.max_error * (1 - 1e-12)
    assert np.all(np.isfinite(report.per_sample))


@pytest.mark.parametrize("method", ["readout_first", "readout_last"])
@pytest.mark.parametrize("negative", [False, True])
def test_bound_dominates_truth_for_minimizers(rng, method, negative):
    X, Y, Xt, Yt = _data(rng, 30, 200, 40, 3, negative=negative)
    widths = [30, 50] if method == "readout_last" else [3, 17, 5]
    net = archbound.construct_minimizer(X, Y, widths, method=method, seed=1)
    variants = ["lipschitz"] + (["projected", "linearized"] if method == "readout_first" else [])
    for variant in variants:
        report = archbound.sample_bounds(net, X, Y, Xt, Yt, variant=variant, delta=DELTA,
                                         seed=3)
        _assert_valid(report)
        assert report.train_cost < 1e-20
        assert report.variant == variant


def test_bound_matches_bruteforce_reference(rng):
    X, Y, Xt, Yt = _data(rng, 20, 60, 25, 2)
    net = archbound.construct_minimizer(X, Y, [4, 6])
    report = archbound.sample_bounds(net, X, Y, Xt, Yt, seed=0)
    expected = reference.sample_bounds(net.weights, net.biases, X, Y, Xt, Yt,
                                       lipschitz=report.lipschitz)
    np.testing.assert_allclose(report.per_sample, expected["per_sample"], rtol=1e-10)
    np.testing.assert_allclose(report.errors, expected["errors"], rtol=1e-10, atol=1e-14)
    np.testing.assert_array_equal(report.nearest_index, expected["nearest_index"])


def test_random_network_with_training_residuals(rng):
    """A network that was not constructed: nonzero training loss, so the offsets matter."""
    X, Y, Xt, Yt = _data(rng, 40, 150, 10, 2)
    sizes = [10, 32, 16, 2]
    weights = [rng.standard_normal((b, a)) / np.sqrt(a) for a, b in zip(sizes, sizes[1:])]
    biases = [0.1 * rng.standard_normal(b) for b in sizes[1:]]
    net = archbound.Network(weights, biases)
    report = archbound.sample_bounds(net, X, Y, Xt, Yt, seed=5)
    _assert_valid(report)
    assert report.train_cost > 1e-3
    exact = np.prod([np.linalg.norm(w, 2) for w in weights])
    assert report.lipschitz >= exact
    with pytest.raises(ValueError, match="readout_first"):
        archbound.sample_bounds(net, X, Y, Xt, Yt, variant="projected")


def test_variant_order_per_sample(rng):
    X, Y, Xt, Yt = _data(rng, 25, 300, 30, 4)
    net = archbound.construct_minimizer(X, Y, [8, 8])
    lip, proj, lin = (
        archbound.sample_bounds(net, X, Y, Xt, Yt, variant=v, seed=2).per_sample
        for v in ("lipschitz", "projected", "linearized")
    )
    assert np.all(lin <= proj * (1 + 1e-12))
    assert np.all(proj <= lip * (1 + 1e-12))


def test_digits_all_variants():
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data / 16.0
    Y = archbound.one_hot(digits.target, 10)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    train, test = order[:50], order[50:650]
    assert reference.matrix_rank(X[train]) == 50
    net = archbound.construct_minimizer(X[train], Y[train], [64, 128, 64])
    for variant in archbound.bounds.VARIANTS:
        report = archbound.sample_bounds(net, X[train], Y[train], X[test], Y[test],
                                         variant=variant, seed=0)
        _assert_valid(report)
        assert report.accuracy is not None and 0 <= report.accuracy <= 1
        json.dumps(report.to_dict(per_sample=True))


def test_architecture_independence_of_readout_first(rng):
    X, Y, Xt, Yt = _data(rng, 20, 100, 30, 3)
    errors, bounds, lips = [], [], []
    for widths in ([3], [3, 3], [64, 5, 200], [7] * 8, [300, 3, 3, 40]):
        net = archbound.construct_minimizer(X, Y, widths)
        report = archbound.sample_bounds(net, X, Y, Xt, Yt, seed=0)
        _assert_valid(report)
        errors.append(report.errors)
        bounds.append(report.per_sample)
        lips.append(report.lipschitz)
    for e, b in zip(errors[1:], bounds[1:]):
        np.testing.assert_allclose(e, errors[0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b, bounds[0], rtol=1e-6)
    assert max(lips) / min(lips) < 1 + 1e-6


@pytest.mark.parametrize("method", ["readout_first", "readout_last"])
def test_cost_discrepancy_bound_dominates(rng, method):
    X, Y, Xt, Yt = _data(rng, 25, 120, 30, 2)
    widths = [25, 40] if method == "readout_last" else [2, 10]
    net = archbound.construct_minimizer(X, Y, widths, method=method, seed=0)
    report = archbound.cost_discrepancy_bound(net, X, Y, Xt, Yt, seed=1)
    assert report.discrepancy is not None
    assert report.bound >= report.discrepancy
    assert report.train_term < 1e-20  # zero-loss minimizer
    json.dumps(report.to_dict())


def test_cost_discrepancy_bound_random_network(rng):
    X, Y, Xt, Yt = _data(rng, 30, 90, 6, 2)
    sizes = [6, 20, 2]
    net = archbound.Network(
        [rng.standard_normal((b, a)) for a, b in zip(sizes, sizes[1:])],
        [rng.standard_normal(b) for b in sizes[1:]],
    )
    report = archbound.cost_discrepancy_bound(net, X, Y, Xt, Yt, seed=1)
    assert report.bound >= report.discrepancy
    assert report.train_term > 0


def test_integer_labels_are_one_hot_encoded(rng):
    X = rng.random((20, 30))
    labels = np.arange(20) % 3
    Xt, labels_t = rng.random((40, 30)), np.arange(40) % 3
    net = archbound.construct_minimizer(X, archbound.one_hot(labels, 3), [3])
    a = archbound.sample_bounds(net, X, labels, Xt, labels_t, seed=0)
    b = archbound.sample_bounds(net, X, archbound.one_hot(labels, 3), Xt,
                                archbound.one_hot(labels_t, 3), seed=0)
    np.testing.assert_array_equal(a.per_sample, b.per_sample)


def test_bad_input(rng):
    X, Y, Xt, Yt = _data(rng, 10, 20, 12, 2)
    net = archbound.construct_minimizer(X, Y, [2])
    with pytest.raises(ValueError, match="variant"):
        archbound.sample_bounds(net, X, Y, Xt, Yt, variant="nope")
    for delta in (0, 1, -0.5, 2.0):
        with pytest.raises(ValueError, match="delta"):
            archbound.sample_bounds(net, X, Y, Xt, Yt, delta=delta)
    with pytest.raises(ValueError, match="X_test"):
        archbound.sample_bounds(net, X, Y, Xt[:, :5], Yt)
    with pytest.raises(ValueError, match="Y_train"):
        archbound.sample_bounds(net, X, Y[:5], Xt, Yt)
    bad = Xt.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X_test"):
        archbound.sample_bounds(net, X, Y, bad, Yt)
    with pytest.raises(ValueError, match="X_test"):
        archbound.cost_discrepancy_bound(net, X, Y, Xt[:0], Yt[:0])
    with pytest.raises(TypeError, match="net"):
        archbound.sample_bounds("net", X, Y, Xt, Yt)
    with pytest.raises(ValueError, match="training set"):
        archbound.sample_bounds(net, rng.standard_normal(X.shape), Y, Xt, Yt,
                                variant="projected")
