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
        report = archbound.sample_bounds(net, X, Y, Xt, Yt, variant=variant, delta=DELTA, seed=3)
        _assert_valid(report)
        assert report.train_cost < 1e-20
        assert report.variant == variant


def test_bound_matches_bruteforce_reference(rng):
    X, Y, Xt, Yt = _data(rng, 20, 60, 25, 2)
    net = archbound.construct_minimizer(X, Y, [4, 6])
    report = archbound.sample_bounds(net, X, Y, Xt, Yt, seed=0)
    expected = reference.sample_bounds(
        net.weights, net.biases, X, Y, Xt, Yt, lipschitz=report.lipschitz
    )
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
    lip, proj, coord, lin = (
        archbound.sample_bounds(net, X, Y, Xt, Yt, variant=v, seed=2).per_sample
        for v in ("lipschitz", "projected", "coordinates", "linearized")
    )
    assert np.all(lin <= proj * (1 + 1e-12))
    assert np.all(lin <= coord * (1 + 1e-12))
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
        report = archbound.sample_bounds(
            net, X[train], Y[train], X[test], Y[test], variant=variant, seed=0
        )
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
    b = archbound.sample_bounds(
        net, X, archbound.one_hot(labels, 3), Xt, archbound.one_hot(labels_t, 3), seed=0
    )
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
        archbound.sample_bounds(net, rng.standard_normal(X.shape), Y, Xt, Yt, variant="projected")


# --- what each variant measures ---


def _one_hot_data(rng, n, m, m0, q):
    X = rng.random((n + m, m0))
    labels = np.concatenate([np.arange(n) % q, rng.integers(0, q, m)])
    Y = archbound.one_hot(labels, q)
    return X[:n], Y[:n], X[n:], Y[n:]


def test_linearized_is_the_linear_predictors_error_for_one_hot_labels(rng):
    """For one-hot labels (beta = 0, A x_i = y_i) the linearized bound is |A x~_j - y~_j|."""
    X, Y, Xt, Yt = _one_hot_data(rng, 30, 200, 50, 4)  # every class in the training set
    net = archbound.construct_minimizer(X, Y, [8, 8])
    assert net.construction.beta == 0
    report = archbound.sample_bounds(net, X, Y, Xt, Yt, variant="linearized")
    _assert_valid(report)
    linear_error = np.linalg.norm(Xt @ net.construction.readout.T - Yt, axis=1)
    np.testing.assert_allclose(report.per_sample, linear_error, rtol=1e-10, atol=1e-12)


def test_linearized_is_a_strict_upper_bound_for_regression_targets(rng):
    """With real-valued targets (negative entries, beta > 0) the identity fails: the
    linearized bound lies strictly above |A x~ - y~| and above the truth."""
    X, Y, Xt, Yt = _data(rng, 30, 200, 50, 3, negative=True)
    net = archbound.construct_minimizer(X, Y, [5, 5])
    assert net.construction.beta > 0
    report = archbound.sample_bounds(net, X, Y, Xt, Yt, variant="linearized")
    _assert_valid(report)
    linear_error = np.linalg.norm(Xt @ net.construction.readout.T - Yt, axis=1)
    assert np.all(report.per_sample >= linear_error * (1 - 1e-12))
    assert np.all(report.per_sample > linear_error + 1e-6)  # no y_i between A x~ and y~
    assert np.all(report.per_sample > report.errors + 1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(20, 60), (40, 40), (1, 10)], ids=["wide", "square", "one"])
@pytest.mark.parametrize("targets", ["one_hot", "regression"])
def test_coordinates_matches_reference_and_dominates_truth(rng, dtype, shape, targets):
    n, m0 = shape
    if targets == "one_hot":
        X, Y, Xt, Yt = _one_hot_data(rng, n, 150, m0, 3)
    else:
        X, Y, Xt, Yt = _data(rng, n, 150, m0, 3, negative=True)
    X, Xt = X.astype(dtype), Xt.astype(dtype)
    net = archbound.construct_minimizer(X, Y, [3, 7])
    report = archbound.sample_bounds(net, X, Y, Xt, Yt, variant="coordinates")
    _assert_valid(report)
    assert report.variant == "coordinates" and report.norms[0].method == "exact"
    values, index = reference.coordinates_bounds(X, Y, Xt, Yt)
    np.testing.assert_allclose(report.per_sample, values, rtol=1e-8)
    np.testing.assert_allclose(report.lipschitz, np.linalg.norm(Y, 2), rtol=1e-12)
    # ties aside, the same training sample attains the minimum
    assert np.mean(report.nearest_index == index) > 0.95
    # it never applies the network's weights: between the geometric variants and linearized
    linearized = archbound.sample_bounds(net, X, Y, Xt, Yt, variant="linearized")
    assert np.all(linearized.per_sample <= report.per_sample * (1 + 1e-9))


def test_coordinates_refuses_what_it_does_not_cover(rng):
    X, Y, Xt, Yt = _data(rng, 20, 30, 25, 2)
    last = archbound.construct_minimizer(X, Y, [20, 30], method="readout_last", seed=0)
    with pytest.raises(ValueError, match="coordinates.*readout_first"):
        archbound.sample_bounds(last, X, Y, Xt, Yt, variant="coordinates")
    given = archbound.Network(list(last.weights), list(last.biases))
    with pytest.raises(ValueError, match="coordinates.*readout_first"):
        archbound.sample_bounds(given, X, Y, Xt, Yt, variant="coordinates")
    # tall: N > M0, rank(X) < N, a least-squares readout_first network
    Xl, Yl, Xlt, Ylt = _data(rng, 40, 30, 25, 2)
    tall = archbound.construct_minimizer(Xl, Yl, [4], allow_residual=True)
    with pytest.raises(ValueError, match="coordinates.*full row rank"):
        archbound.sample_bounds(tall, Xl, Yl, Xlt, Ylt, variant="coordinates")
    report = archbound.sample_bounds(tall, Xl, Yl, Xlt, Ylt, variant="best")
    assert report.components == ("lipschitz", "projected")  # coordinates does not apply
    _assert_valid(report)
    net = archbound.construct_minimizer(X, Y, [4])
    with pytest.raises(ValueError, match="not the training set"):
        archbound.sample_bounds(net, X, Y + 1.0, Xt, Yt, variant="coordinates")


def test_coordinates_tighter_than_projected_on_digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, Y = digits.data / 16.0, archbound.one_hot(digits.target, 10)
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:50], order[50:650]
    net = archbound.construct_minimizer(X[train], Y[train], [16])
    mean = {
        v: archbound.sample_bounds(net, X[train], Y[train], X[test], Y[test], variant=v, seed=0)
        for v in ("projected", "coordinates")
    }
    for report in mean.values():
        _assert_valid(report)
    assert mean["coordinates"].mean_ratio < mean["projected"].mean_ratio


@pytest.mark.parametrize("method", ["readout_first", "readout_last"])
def test_best_is_the_per_sample_minimum_of_the_geometric_variants(rng, method):
    X, Y, Xt, Yt = _data(rng, 25, 300, 30, 4, negative=True)
    widths = [25, 30] if method == "readout_last" else [8, 8]
    net = archbound.construct_minimizer(X, Y, widths, method=method, seed=0)
    best = archbound.sample_bounds(net, X, Y, Xt, Yt, variant="best", delta=DELTA, seed=2)
    _assert_valid(best)
    names = archbound.bounds.GEOMETRIC_VARIANTS if method == "readout_first" else ("lipschitz",)
    assert best.components == names
    # the randomized certificates share delta; coordinates' norm is exact
    share = DELTA / (2 if method == "readout_first" else 1)
    parts = [
        archbound.sample_bounds(
            net, X, Y, Xt, Yt, variant=v, seed=2, delta=DELTA if v == "coordinates" else share
        )
        for v in names
    ]
    stacked = np.stack([p.per_sample for p in parts])
    np.testing.assert_array_equal(best.per_sample, stacked.min(axis=0))
    np.testing.assert_array_equal(
        best.per_sample, stacked[best.attained_by, np.arange(stacked.shape[1])]
    )
    chosen = np.stack([p.nearest_index for p in parts])
    np.testing.assert_array_equal(
        best.nearest_index, chosen[best.attained_by, np.arange(stacked.shape[1])]
    )
    counts = best.attained_counts()
    assert sum(counts.values()) == len(Xt) and set(counts) == set(names)
    out = best.to_dict(per_sample=True)
    json.dumps(out)
    assert out["attained_by"] == counts and len(out["attained_by_sample"]) == len(Xt)
    assert best.delta == DELTA


def test_cost_discrepancy_bound_coordinates_form(rng):
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, Y = digits.data / 16.0, archbound.one_hot(digits.target, 10)
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:50], order[50:650]
    net = archbound.construct_minimizer(X[train], Y[train], [16, 16])
    args = (net, X[train], Y[train], X[test], Y[test])
    paper = archbound.cost_discrepancy_bound(*args, seed=0)
    tighter = archbound.cost_discrepancy_bound(*args, seed=0, distance="coordinates")
    for report in (paper, tighter):
        assert report.bound >= report.discrepancy
    assert tighter.distance == "coordinates" and paper.distance == "lipschitz"
    assert tighter.bound < paper.bound
    json.dumps(tighter.to_dict())
    # regression targets, and refusals
    Xr, Yr, Xrt, Yrt = _data(rng, 20, 80, 30, 2, negative=True)
    net = archbound.construct_minimizer(Xr, Yr, [2, 4])
    report = archbound.cost_discrepancy_bound(net, Xr, Yr, Xrt, Yrt, distance="coordinates")
    assert report.bound >= report.discrepancy
    last = archbound.construct_minimizer(Xr, Yr, [20], method="readout_last", seed=0)
    with pytest.raises(ValueError, match="readout_first"):
        archbound.cost_discrepancy_bound(last, Xr, Yr, Xrt, Yrt, distance="coordinates")
    with pytest.raises(ValueError, match="distance must be one of"):
        archbound.cost_discrepancy_bound(net, Xr, Yr, Xrt, Yrt, distance="nope")


def test_batches_equal_single_calls():
    rng = np.random.default_rng(21)
    X, Xt = rng.standard_normal((12, 30)), rng.standard_normal((40, 30))
    Y = archbound.one_hot(rng.integers(0, 3, 12), 3)
    Yt = archbound.one_hot(rng.integers(0, 3, 40), 3)
    first = [archbound.construct_minimizer(X, Y, [w] * d) for w, d in ((8, 1), (16, 3))]
    last = archbound.construct_minimizer(X, Y, [20, 20], method="readout_last", seed=1)
    jobs = [(net, v) for net in first for v in archbound.bounds.VARIANTS]
    jobs += [(last, "lipschitz"), (last, "best")]
    batch = archbound.sample_bounds_batch(jobs, X, Y, Xt, Yt, seed=4)
    for (net, variant), report in zip(jobs, batch):
        single = archbound.sample_bounds(net, X, Y, Xt, Yt, variant=variant, seed=4)
        np.testing.assert_array_equal(report.per_sample, single.per_sample)
        np.testing.assert_array_equal(report.nearest_index, single.nearest_index)
        np.testing.assert_allclose(report.distances, single.distances, rtol=1e-14)
        assert report.lipschitz == single.lipschitz and report.variant == variant
        assert np.all(report.per_sample >= report.errors - 1e-12)
    jobs = [(net, d) for net in first for d in ("lipschitz", "coordinates")]
    jobs.append((last, "lipschitz"))
    batch = archbound.cost_discrepancy_bound_batch(jobs, X, Y, Xt, Yt, seed=4)
    for (net, distance), report in zip(jobs, batch):
        single = archbound.cost_discrepancy_bound(net, X, Y, Xt, Yt, seed=4, distance=distance)
        assert report.bound == single.bound
        assert report.bound >= report.discrepancy


def test_the_registry_writes_the_docstring_and_the_help():
    from archbound.bounds import registered_variants, variant_help

    doc = " ".join(archbound.sample_bounds.__doc__.split())
    help_text = variant_help()
    assert tuple(v.name for v in registered_variants()) == archbound.bounds.VARIANTS
    for variant in registered_variants():
        assert " ".join(variant.doc.split()) in doc
        assert f"{variant.name}: {variant.summary}" in help_text
    names = ", ".join(f'"{name}"' for name in archbound.bounds.VARIANTS)
    assert "{" + names + "}" in doc
    assert (
        tuple(v.name for v in registered_variants() if v.geometric and not v.composite)
        == archbound.bounds.GEOMETRIC_VARIANTS
    )


@pytest.mark.parametrize("name", ["linearised", "", None, 3, "LIPSCHITZ"])
def test_an_unknown_variant_is_refused_by_name(name):
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    net = archbound.Network(
        [rng.standard_normal((3, 4)), rng.standard_normal((2, 3))], [np.zeros(3), np.zeros(2)]
    )
    with pytest.raises(ValueError, match="variant must be one of") as error:
        archbound.sample_bounds(net, X, Y, X, Y, variant=name)
    assert repr(name) in str(error.value)
    with pytest.raises(ValueError, match=repr(name).replace("'", ".")):
        archbound.bounds.prepare_bounds(net, X, Y, variant=name)


def test_a_name_is_registered_once():
    from archbound.bounds import BoundVariant, register

    class Again(BoundVariant):
        name = "lipschitz"

    with pytest.raises(ValueError, match="registered already"):
        register(Again)


def test_a_training_set_is_shared_and_gives_the_arrays_results():
    rng = np.random.default_rng(4)
    X, labels = rng.standard_normal((10, 20)), np.arange(10) % 3
    net = archbound.construct_minimizer(
        X, archbound.one_hot(labels, 3), widths=[6], method="readout_first"
    )
    Xt, test_labels = rng.standard_normal((7, 20)), np.arange(7) % 3
    train = archbound.TrainingSet(X, labels, network=net, seed=3)
    for variant in archbound.bounds.VARIANTS:
        shared = archbound.sample_bounds(net, train, None, Xt, test_labels, variant=variant)
        alone = archbound.sample_bounds(net, X, labels, Xt, test_labels, variant=variant, seed=3)
        np.testing.assert_array_equal(shared.per_sample, alone.per_sample)
        assert np.all(shared.per_sample >= shared.errors * (1 - 1e-9) - 1e-12)
    assert train.basis() is train.basis()  # computed once
    with pytest.raises(ValueError, match="leave Y_train, seed out"):
        archbound.sample_bounds(net, train, labels, Xt, test_labels, seed=1)
    other = archbound.Network([np.ones((4, 20)), np.ones((2, 4))], [np.zeros(4), np.zeros(2)])
    with pytest.raises(ValueError, match="Q = 3 target columns"):
        archbound.sample_bounds(other, train, None, Xt, test_labels)
    # Without a network, integer labels give Q = the largest label plus one.
    assert archbound.TrainingSet(X, labels).Y_train.shape == (10, 3)
