"""``archbound diagnose``: the dataset health check and its files."""

import json

import numpy as np

import archbound
from archbound import diagnose
from conftest import assert_png, digits_npz, invoke

# ------------------------------------------------------------------------------ diagnose


def test_diagnose_report_and_files(tmp_path):
    X, y, T, _ = digits_npz(tmp_path, n_train=40)
    result = invoke(
        "diagnose",
        "--train",
        tmp_path / "train.npz",
        "--test",
        tmp_path / "test.npz",
        "--out",
        tmp_path / "out",
    )
    assert result.exit_code == 0, result.output
    assert "N = 40 samples, M0 = 64 features, Q = 10 outputs" in result.output
    assert "attainable" in result.output and "||Y X^+||" in result.output
    assert_png(tmp_path / "out" / "spectrum.png")
    saved = json.loads((tmp_path / "out" / "diagnose.json").read_text())
    assert saved["rank"] == np.linalg.matrix_rank(X) == 40
    assert saved["zero_loss_attainable"] is True
    np.testing.assert_allclose(saved["singular_values"], np.linalg.svd(X, compute_uv=False))
    Y = archbound.one_hot(y, 10)
    np.testing.assert_allclose(
        saved["readout_norm"], np.linalg.norm(np.linalg.pinv(X) @ Y, 2), rtol=1e-8
    )
    assert saved["least_squares_train_cost"] < 1e-20
    brute = np.linalg.norm(T[:, None] - X[None], axis=2).min(axis=1)
    np.testing.assert_allclose(saved["test_train"]["median"], np.median(brute), rtol=1e-9)
    np.testing.assert_allclose(saved["test_train"]["max"], brute.max(), rtol=1e-9)
    as_json = json.loads(invoke("diagnose", "--train", tmp_path / "train.npz", "--json").output)
    assert as_json["test_train"] is None and as_json["n_train"] == 40


def test_diagnose_duplicates_and_conflicting_labels(tmp_path, rng):
    X = rng.random((6, 9))
    X = np.vstack([X, X[1], X[2], X[2]])  # rows 6 = 1 (same label), 7 = 8 = 2 (one conflicts)
    y = np.array([0, 1, 2, 0, 1, 2, 1, 2, 0])
    np.savez(tmp_path / "dup.npz", X=X, y=y)
    np.savez(tmp_path / "test.npz", X=np.vstack([X[0], rng.random(9)]))
    result = invoke(
        "diagnose", "--train", tmp_path / "dup.npz", "--test", tmp_path / "test.npz", "--json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["duplicates"]["groups"] == 2
    assert report["duplicates"]["redundant_samples"] == 3
    assert report["duplicates"]["conflicting_groups"] == 1
    assert report["duplicates"]["conflicting_examples"] == [[2, 7, 8]]
    assert report["rank"] == 6 and report["zero_loss_attainable"] is False
    assert "linearly dependent" in report["zero_loss_reason"]
    assert report["train_train"]["min"] == 0.0
    assert report["test_train"]["exact_copies"] == 1 and report["test_train"]["min"] == 0.0
    assert report["least_squares_train_cost"] > 0
    text = invoke("diagnose", "--train", tmp_path / "dup.npz").output
    assert "NOT attainable" in text and "1 with conflicting labels" in text


def test_diagnose_wide_data_without_labels(tmp_path, rng):
    np.save(tmp_path / "x.npy", rng.random((12, 5)))
    result = invoke("diagnose", "--train", tmp_path / "x.npy", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["rank"] == 5 and not report["zero_loss_attainable"]
    assert "N = 12 > M0 = 5" in report["zero_loss_reason"]
    assert report["readout_norm"] is None and report["duplicates"]["conflicting_groups"] is None
    np.savez(tmp_path / "other.npz", X=rng.random((3, 4)))
    bad = invoke("diagnose", "--train", tmp_path / "x.npy", "--test", tmp_path / "other.npz")
    assert bad.exit_code == 2 and "4 features" in bad.output


def test_nearest_other_matches_brute_force(rng):
    X = rng.random((37, 4))
    X[5] = X[20]  # a duplicate: its nearest other sample is at distance 0
    d = np.linalg.norm(X[:, None] - X[None], axis=2)
    np.fill_diagonal(d, np.inf)
    distances, indices = diagnose.nearest_other(X, np.arange(37), rows=8)
    np.testing.assert_allclose(distances, d.min(axis=1), atol=1e-12)
    assert indices[5] == 20 and indices[20] == 5 and distances[5] == 0.0
    sampled = diagnose.diagnose(X, max_queries=10, seed=1)["train_train"]
    assert sampled["sampled"] and sampled["count"] == 10
