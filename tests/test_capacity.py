"""Classic capacity measures (archbound.capacity_bounds) against the NumPy reference, by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import archbound as ab
from archbound import Network, reference
from archbound.capacity import augmented_layers, log_growth, vc_dimension_bound

RNG = np.random.default_rng(11)
N, M0, Q = 12, 20, 4
X = RNG.standard_normal((N, M0))
LABELS = np.arange(N) % Q
Y = np.eye(Q)[LABELS]


def _random_net(widths, seed, bias_scale=1.0):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((b, a)) / np.sqrt(a) for a, b in zip(widths, widths[1:])]
    biases = [bias_scale * rng.standard_normal(b) for b in widths[1:]]
    return Network(weights, biases)


def _reference(net, X, labels, **kw):
    return reference.capacity_measures(net.weights, net.biases, X, labels, **kw)


def test_identity_layers_by_hand():
    net = Network([np.eye(2), np.eye(2)], [np.zeros(2), np.zeros(2)])
    X = np.array([[2.0, 0.0], [0.0, 3.0]])
    report = ab.capacity_bounds(net, X, [0, 1], seed=0)
    # Augmented: [[I, 0], [0, 1]] (norm 1, ||.||_F^2 = 3, rows of norm 1) and [I, 0].
    assert report.n_parameters == 12
    np.testing.assert_allclose([e.upper for e in report.spectral_norms], [1, 1], rtol=1e-12)
    np.testing.assert_allclose(report.frobenius_norms, [math.sqrt(3), math.sqrt(2)])
    np.testing.assert_allclose(report.norms_21, [3.0, 2.0])
    expected = (3 ** (2 / 3) + 2 ** (2 / 3)) ** 1.5
    assert report.spectral_complexity == pytest.approx(expected, rel=1e-12)
    assert report.path_norm == pytest.approx(math.sqrt(2))  # two paths of weight 1
    assert report.margin == pytest.approx(2.1)  # margins 2 and 3, quantile 0.1
    assert report.train_error == 0.0
    assert report.input_norm == pytest.approx(math.sqrt(10))
    assert report.data_norm == pytest.approx(math.sqrt(4 + 1 + 9 + 1))
    golowich = math.sqrt(10) * (math.sqrt(4 * math.log(2)) + 1) * math.sqrt(6) / math.sqrt(2)
    assert report.golowich_bound == pytest.approx(golowich)


def test_vc_dimension_by_hand_and_growth_function():
    # widths [1, 1, 1]: layers of 2 parameters each, Lbar W = 2 + 4, R = 1 + 2 * 1 = 3, p = 2.
    expected = 2 + 6 * math.log2(4 * math.e * 2 * 3 * math.log2(2 * math.e * 2 * 3))
    assert vc_dimension_bound([1, 1, 1]) == pytest.approx(expected)
    assert log_growth(3, 10.0) == pytest.approx(3 * math.log(2))
    assert log_growth(100, 10.0) == pytest.approx(10 * math.log(10 * math.e))


def test_rank_one_layers_have_their_exact_norms():
    u, v = RNG.standard_normal(5), RNG.standard_normal(M0)
    w2 = np.outer(RNG.standard_normal(Q), RNG.standard_normal(5))
    net = Network([np.outer(u, v), w2], [np.zeros(5), np.zeros(Q)])
    report = ab.capacity_bounds(net, X, LABELS, seed=1)
    expected = _reference(net, X, LABELS)
    # With zero biases the augmented first layer is block diagonal: norm max(|u||v|, 1).
    first = max(np.linalg.norm(u) * np.linalg.norm(v), 1.0)
    assert expected["spectral"][0] == pytest.approx(first)
    uppers = [e.upper for e in report.spectral_norms]
    assert all(a >= b * (1 - 1e-12) for a, b in zip(uppers, expected["spectral"]))
    np.testing.assert_allclose(uppers, expected["spectral"], rtol=1e-9)


def test_augmented_layers_fold_the_biases():
    net = _random_net([3, 4, 2], seed=2)
    hidden, output = augmented_layers(net.weights, net.biases)
    np.testing.assert_array_equal(hidden[:4, :3], net.weights[0])
    np.testing.assert_array_equal(hidden[:4, 3], net.biases[0])
    np.testing.assert_array_equal(hidden[4], [0, 0, 0, 1])
    np.testing.assert_array_equal(output, np.hstack([net.weights[1], net.biases[1][:, None]]))
    x = RNG.standard_normal((5, 3))
    augmented = np.hstack([x, np.ones((5, 1))])
    via_augmented = np.maximum(augmented @ hidden.T, 0) @ output.T
    np.testing.assert_allclose(via_augmented, net.forward(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bias_scale", [0.0, 1.0])
@pytest.mark.parametrize("widths", [[M0, 8, Q], [M0, 80, 70, Q], [M0, 100, 6, 90, Q]])
def test_against_the_reference(widths, bias_scale):
    """Exact quantities agree; certified ones are >= the exact ones, in every trial."""
    net = _random_net(widths, seed=len(widths), bias_scale=bias_scale)
    expected = _reference(net, X, LABELS, margin_quantile=0.3)
    for seed in range(5):
        report = ab.capacity_bounds(net, X, Y, margin_quantile=0.3, seed=seed)
        uppers = [e.upper for e in report.spectral_norms]
        assert all(a >= b for a, b in zip(uppers, expected["spectral"]))
        assert report.spectral_complexity >= expected["spectral_complexity"] * (1 - 1e-12)
        assert report.spectral_complexity <= expected["spectral_complexity"] * 1.1
    for key in ("n_parameters", "vc_dimension", "golowich_bound", "path_norm", "margin"):
        assert getattr(report, key) == pytest.approx(expected[key], rel=1e-10), key
    for key in ("train_error", "input_norm", "data_norm"):
        assert getattr(report, key) == pytest.approx(expected[key], rel=1e-12), key
    np.testing.assert_allclose(report.frobenius_norms, expected["frobenius"], rtol=1e-12)
    np.testing.assert_allclose(report.norms_21, expected["norms_21"], rtol=1e-12)


def test_reference_network_enters_the_21_norms():
    net = _random_net([M0, 7, Q], seed=3)
    init = _random_net([M0, 7, Q], seed=4)
    report = ab.capacity_bounds(net, X, LABELS, reference=init, seed=0)
    expected = _reference(net, X, LABELS, reference=(init.weights, init.biases))
    np.testing.assert_allclose(report.norms_21, expected["norms_21"], rtol=1e-12)
    itself = ab.capacity_bounds(net, X, LABELS, reference=net, seed=0)
    assert itself.norms_21 == (0.0, 0.0) and itself.spectral_complexity == 0.0


def test_depth_and_width_grow_the_vc_dimension():
    def vc(depth, width):
        net = ab.construct_minimizer(X, Y, [width] * depth)
        return ab.capacity_bounds(net, X, Y, seed=0).vc_dimension

    by_depth = [vc(depth, 16) for depth in (1, 2, 4)]
    by_width = [vc(2, width) for width in (8, 16, 64)]
    assert by_depth == sorted(by_depth) and len(set(by_depth)) == 3
    assert by_width == sorted(by_width) and len(set(by_width)) == 3


def test_readout_first_paper_bound_is_flat_and_the_classic_ones_are_not():
    X_test = RNG.standard_normal((15, M0))
    Y_test = np.eye(Q)[np.arange(15) % Q]
    paper, classic = [], []
    for depth, width in [(1, 8), (2, 16), (4, 64)]:
        net = ab.construct_minimizer(X, Y, [width] * depth, method="readout_first")
        bound = ab.sample_bounds(net, X, Y, X_test, Y_test, variant="lipschitz", seed=0)
        paper.append(bound.test_cost_bound)
        report = ab.capacity_bounds(net, X, Y, seed=0)
        classic.append((report.vc_dimension, report.spectral_complexity, report.n_parameters))
    np.testing.assert_allclose(paper, paper[0], rtol=1e-12)
    for values in zip(*classic):
        assert len(set(values)) == 3, values


def test_bounds_dominate_the_training_error_they_contain():
    """Each risk bound is a training (margin) error plus nonnegative terms, and a margin
    error at gamma > 0 counts every misclassified sample."""
    net = _random_net([M0, 30, Q], seed=5)
    report = ab.capacity_bounds(net, X, LABELS, margin_quantile=0.9, seed=0)
    assert report.margin > 0
    for name in ("vc_bound", "bartlett_bound", "neyshabur_bound"):
        assert getattr(report, name) >= report.train_error
    assert report.vc_bound > 1  # vacuous here: N = 12 against a VC dimension in thousands


def test_a_negative_margin_is_reported_not_hidden():
    net = ab.construct_minimizer(X, Y, [8])
    flipped = Network(net.weights[:-1] + (-net.weights[-1],), net.biases)
    report = ab.capacity_bounds(flipped, X, LABELS, seed=0)
    assert report.margin < 0 and report.train_error == 1.0
    assert math.isnan(report.bartlett_bound) and math.isnan(report.neyshabur_bound)
    assert "not positive" in report.unavailable["bartlett_bound"]
    assert math.isfinite(report.vc_bound)
    data = report.to_dict()
    assert data["bartlett_bound"] is None
    json.dumps(data, allow_nan=False)


def test_integer_labels_equal_one_hot_rows():
    net = _random_net([M0, 9, Q], seed=6)
    a = ab.capacity_bounds(net, X, LABELS, seed=3)
    b = ab.capacity_bounds(net, X, Y, seed=3)
    assert {k: v for k, v in a.to_dict().items() if k != "seconds"} == {
        k: v for k, v in b.to_dict().items() if k != "seconds"
    }


NET = _random_net([M0, 9, Q], seed=7)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(X_train=X[:, :-1]), "X_train"),
        (dict(X_train=X[:-1]), "Y_train"),
        (dict(X_train=np.where(np.arange(X.size).reshape(X.shape) == 5, np.nan, X)), "X_train"),
        (dict(Y_train=np.full(N, Q)), "Y_train"),
        (dict(Y_train=Y * 0.5), "Y_train"),
        (dict(Y_train=Y[:, :-1]), "Y_train"),
        (dict(margin_quantile=0.0), "margin_quantile"),
        (dict(margin_quantile=1.0), "margin_quantile"),
        (dict(margin_quantile=1.5), "margin_quantile"),
        (dict(margin_quantile=math.nan), "margin_quantile"),
        (dict(reference=_random_net([M0, 8, Q], seed=1)), "reference"),
        (dict(reference=NET.weights), "reference"),
        (dict(delta=0.0), "delta"),
        (dict(net=_random_net([M0, 9, 1], seed=1), Y_train=np.zeros((N, 1))), "net"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    args = dict(net=NET, X_train=X, Y_train=LABELS) | kwargs
    with pytest.raises((ValueError, TypeError), match=name):
        ab.capacity_bounds(args.pop("net"), args.pop("X_train"), args.pop("Y_train"), **args)


def test_experiment_capacity_section_table_csv_and_figure(tmp_path):
    """--capacity (with --trained): the schema's ``capacity`` section, the table and its
    reading, the CSV columns and capacity.png; readout_first's paper bound is flat while
    its VC dimension and spectral complexity grow."""
    import csv

    from click.testing import CliRunner
    from matplotlib.image import imread

    from archbound import cli, experiment
    from archbound.experiment import capacity

    out = tmp_path / "results"
    args = ["experiment", "--n-train", "20,30", "--depths", "1,3", "--widths", "10,32"]
    args += ["--n-test", "40", "--variants", "lipschitz", "--capacity", "--trained"]
    args += ["--trained-hidden", "16,12x12", "--trained-epochs", "5", "--out", str(out)]
    result = CliRunner().invoke(cli.main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "classic capacity bounds, N = 30" in result.output
    assert "vacuous (above 1" in result.output
    results = json.loads((out / "results.json").read_text())
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(results, experiment.RESULTS_SCHEMA)
    rows = results["capacity"]["networks"]
    # per N: 4 readout_first, 2 readout_last (M = 32 >= N) and 2 trained networks
    assert len(rows) == 2 * (4 + 2 + 2)
    assert {r["construction"] for r in rows} == {"readout_first", "readout_last", "trained"}
    first = [r for r in rows if r["construction"] == "readout_first" and r["n_train"] == 30]
    papers = [r["paper_bound"] for r in first]
    np.testing.assert_allclose(papers, papers[0], rtol=1e-9)
    assert len({r["vc_dimension"] for r in first}) == len(first)
    by_depth = sorted((r["depth"], r["spectral_complexity"]) for r in first if r["width"] == 32)
    assert by_depth[0][1] < by_depth[1][1]
    for r in rows:
        assert r["vc_bound"] >= r["train_error"]
        assert 0 <= r["test_error"] <= 1 and r["paper_bound"] >= r["test_cost"]
    with open(out / "results.csv", newline="") as stream:
        csv_rows = list(csv.DictReader(stream))
    assert list(csv_rows[0])[-len(capacity.CSV_COLUMNS) :] == capacity.CSV_COLUMNS
    assert all(r["capacity_vc_dimension"] for r in csv_rows if r["status"] == "ok")
    image = imread(out / "capacity.png")
    assert image.ndim == 3 and image[..., :3].var() > 1e-3


@pytest.mark.parametrize(
    "sigma",
    ["sigmoid", "softplus", "gelu", "tanh", "hardtanh", "identity",
     {"name": "leaky_relu", "negative_slope": 0.2}, {"name": "leaky_relu", "negative_slope": 2.0}],
)  # fmt: skip
def test_every_activation_against_the_reference(sigma):
    """sigma(0) moved into the biases, rho in R_A and Golowich, absent bounds NaN with a
    reason: as the reference computes them from docs/capacity.md."""
    base = _random_net([M0, 30, 20, Q], seed=7)
    net = Network(base.weights, base.biases, activation=sigma)
    expected = _reference(net, X, LABELS, margin_quantile=0.3, activation=sigma)
    report = ab.capacity_bounds(net, X, Y, margin_quantile=0.3, seed=0)
    assert report.spectral_complexity >= expected["spectral_complexity"]
    assert report.spectral_complexity <= expected["spectral_complexity"] * 1.1
    np.testing.assert_allclose(report.frobenius_norms, expected["frobenius"], rtol=1e-12)
    np.testing.assert_allclose(report.norms_21, expected["norms_21"], rtol=1e-12)
    for key in ("vc_dimension", "golowich_bound", "margin", "train_error"):
        value, truth = getattr(report, key), expected[key]
        if math.isnan(truth):
            assert math.isnan(value) and report.unavailable[key]
        else:
            assert value == pytest.approx(truth, rel=1e-10), key
    homogeneous = not math.isnan(expected["golowich_bound"])
    assert ("homogeneous" in report.unavailable.get("neyshabur_bound", "")) != homogeneous
