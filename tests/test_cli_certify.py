"""``archbound certify`` and ``archbound experiment --certify``."""

import json

import numpy as np

from archbound import Network
from conftest import assert_png, invoke


def _files(tmp_path, rng):
    X = rng.standard_normal((200, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    net = Network(
        [0.5 * rng.standard_normal((12, 4)), 0.5 * rng.standard_normal((3, 12))],
        [np.zeros(12), np.zeros(3)],
    )
    net.save(tmp_path / "net.npz")
    np.savez(tmp_path / "train.npz", X=X[:120], y=y[:120])
    np.savez(tmp_path / "test.npz", X=X[120:], y=y[120:])
    return net, X[120:], y[120:]


def test_certify_prints_the_heldout_certificate(tmp_path, rng):
    net, X_test, y_test = _files(tmp_path, rng)
    result = invoke(
        "certify", "--model", tmp_path / "net.npz", "--test", tmp_path / "test.npz", "--json"
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    errors = int(np.count_nonzero(np.argmax(net.forward(X_test), 1) != y_test))
    assert out["heldout"]["errors"] == errors and out["heldout"]["m"] == 80
    assert out["heldout"]["bound"] >= errors / 80
    text = invoke("certify", "--model", tmp_path / "net.npz", "--test", tmp_path / "test.npz")
    assert "held-out certificate" in text.output


def test_certify_pacbayes(tmp_path, rng, torch):
    _files(tmp_path, rng)
    result = invoke(
        "certify",
        "--model",
        tmp_path / "net.npz",
        "--test",
        tmp_path / "test.npz",
        "--pacbayes",
        "--train",
        tmp_path / "train.npz",
        "--epochs",
        "1",
        "--prior-epochs",
        "1",
        "--draws",
        "100",
        "--json",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["pacbayes"]["n"] == 60  # half of the 120 training rows trained the prior
    assert sum(out["pacbayes"]["ledger"]["parts"].values()) == out["pacbayes"]["ledger"]["total"]
    assert 0 < out["pacbayes"]["bound"] <= 1


def test_certify_needs_train_for_pacbayes(tmp_path, rng):
    _files(tmp_path, rng)
    result = invoke(
        "certify", "--model", tmp_path / "net.npz", "--test", tmp_path / "test.npz", "--pacbayes"
    )
    assert result.exit_code == 2 and "--train" in result.output


def test_experiment_certify_on_digits(tmp_path, torch):
    from test_cli_experiment import validate_schema

    out = tmp_path / "results"
    result = invoke(
        "experiment",
        "--quick",
        "--n-train",
        "12",
        "--depths",
        "1",
        "--widths",
        "16",
        "--n-test",
        "40",
        "--variants",
        "lipschitz",
        "--certify",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    assert "PAC-Bayes-kl" in result.output and "delta ledger" in result.output
    results = json.loads((out / "results.json").read_text())
    validate_schema(results)
    section = results["certificates"]
    assert section["n_prior"] + section["n_bound"] == section["n_train"]
    assert section["pacbayes"]["n"] == section["n_bound"]
    rows = {row["name"]: row for row in section["rows"]}
    assert rows["held-out (binomial tail)"]["value"] >= section["test_error"]
    assert_png(out / "certificates.png")
