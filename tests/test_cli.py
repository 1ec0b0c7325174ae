"""The command line (experiment, bound, diagnose), its reports and its plots."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import archbound
from archbound import cli, data, diagnose, experiment, plots


def invoke(*args):
    return CliRunner().invoke(cli.main, [str(a) for a in args], catch_exceptions=False)


def bound_args(tmp_path, model="net.npz", train="train.npz", test="test.npz"):
    """The arguments of ``archbound bound`` on a model and data files in tmp_path."""
    return [
        "bound",
        "--model",
        tmp_path / model,
        "--train",
        tmp_path / train,
        "--test",
        tmp_path / test,
    ]


def assert_png(path):
    """A decodable PNG with a drawing in it (not a blank canvas)."""
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] >= 200 and image.shape[1] >= 200
    rgb = image[..., :3]
    assert rgb.var() > 1e-3
    assert np.mean(rgb.min(axis=-1) < 0.9) > 0.01  # more than 1% of pixels are not white


def digits_npz(tmp_path, n_train=40, n_test=60, seed=0):
    X, y, T, t = data.load_dataset("digits", max_train=n_train, max_test=n_test, seed=seed)
    np.savez(tmp_path / "train.npz", X=X, y=y)
    np.savez(tmp_path / "test.npz", X=T, y=t)
    return X, y, T, t


# ---------------------------------------------------------------------- general behaviour


def test_help_lists_commands():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("experiment", "bound", "diagnose"):
        assert command in result.output
    assert "demo" not in result.output
    assert invoke("--version").output.strip().endswith(archbound.__version__)


def test_python_dash_m_and_exit_codes(tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "archbound", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0 and "experiment" in ok.stdout
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "archbound",
            *map(str, bound_args(tmp_path, model="none.npz", train="a.npz", test="b.npz")),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0  # one line
    assert "none.npz: no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
    usage = subprocess.run(
        [sys.executable, "-m", "archbound", "bound"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert usage.returncode == 2 and "--model" in usage.stderr


def test_debug_shows_the_traceback(tmp_path):
    args = bound_args(tmp_path, model="none.npz", train="a.npz", test="b.npz")
    quiet = invoke(*args)
    assert quiet.exit_code == 2 and "Traceback" not in quiet.output
    for loud in (invoke("--debug", *args), invoke(*args, "--debug")):
        assert loud.exit_code == 2
        assert "Traceback" in loud.output and "DataError" in loud.output


def test_internal_errors_exit_1(tmp_path, monkeypatch):
    def broken(path):
        raise RuntimeError("something broke")

    monkeypatch.setattr(data, "load_model", broken)
    result = invoke(*bound_args(tmp_path, model="m.npz", train="a.npz", test="b.npz"))
    assert result.exit_code == 1
    assert "Internal error: RuntimeError: something broke" in result.output
    assert "--debug" in result.output and "Traceback" not in result.output
    assert (
        "Traceback"
        in invoke(
            "--debug",
            *bound_args(tmp_path, model="m.npz", train="a.npz", test="b.npz"),
        ).output
    )


def test_format_table():
    table = cli.format_table(["a", "long header"], [["1", "2"], ["333", "4"]])
    lines = table.splitlines()
    assert len(lines) == 4 and len({len(line) for line in lines}) == 1


# ----------------------------------------------------------------------------- bound


def saved_network(tmp_path, X, y, widths=(16, 12)):
    net = archbound.construct_minimizer(X, archbound.one_hot(y, 10), list(widths))
    net.save(tmp_path / "net.npz")
    return net


def test_bound_input_errors(tmp_path):
    X, y, T, t = digits_npz(tmp_path)
    saved_network(tmp_path, X, y)
    base = ["bound", "--model", tmp_path / "net.npz", "--train", tmp_path / "train.npz"]

    np.savez(tmp_path / "narrow.npz", X=T[:, :10], y=t)
    result = invoke(*base, "--test", tmp_path / "narrow.npz")
    assert result.exit_code == 2
    assert "X has 10 features, but the model takes M0 = 64 inputs" in result.output

    np.savez(tmp_path / "nokey.npz", inputs=T)
    result = invoke(*base, "--test", tmp_path / "nokey.npz")
    assert result.exit_code == 2 and "missing key 'X'" in result.output

    np.savez(tmp_path / "rows.npz", X=T, y=t[:-1])
    result = invoke(*base, "--test", tmp_path / "rows.npz")
    assert result.exit_code == 2 and "rows" in result.output

    np.savez(tmp_path / "nolabels.npz", X=T)
    result = invoke(*base, "--test", tmp_path / "nolabels.npz")
    assert result.exit_code == 2 and "needs targets" in result.output

    np.savez(tmp_path / "q.npz", X=T, Y=np.zeros((len(T), 3)))
    result = invoke(*base, "--test", tmp_path / "q.npz")
    assert result.exit_code == 2 and "10 outputs" in result.output
    for result in (
        invoke(*base, "--test", tmp_path / "q.npz", "--delta", "2"),
        invoke(*base, "--test", tmp_path / "q.npz", "--variant", "nope"),
    ):
        assert result.exit_code == 2


def test_bound_refuses_object_arrays_without_executing(tmp_path):
    from test_data import malicious_npz

    X, y, _, _ = digits_npz(tmp_path)
    saved_network(tmp_path, X, y)
    marker = tmp_path / "pwned"
    malicious_npz(tmp_path / "evil.npz", marker)
    result = invoke(*bound_args(tmp_path, test="evil.npz"))
    assert result.exit_code == 2
    assert "object array" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not marker.exists()


@pytest.mark.parametrize(
    "variant", ["lipschitz", "projected", "coordinates", "linearized", "best"]
)
def test_bound_round_trip_through_network_save(tmp_path, variant):
    X, y, T, t = digits_npz(tmp_path)
    net = saved_network(tmp_path, X, y)
    result = invoke(
        *bound_args(tmp_path),
        "--variant",
        variant,
        "--json",
        "--per-sample",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["variant"] == variant
    assert report["widths"] == net.widths
    errors = np.linalg.norm(net(T) - archbound.one_hot(t, 10), axis=1)
    np.testing.assert_allclose(report["errors"], errors, rtol=1e-9, atol=1e-12)
    assert np.all(np.array(report["per_sample"]) >= errors * (1 - 1e-9))
    assert report["test_cost_bound"] >= report["test_cost"]
    assert report["uniform_bound"] >= report["max_error"]
    np.testing.assert_allclose(report["test_cost"], np.mean(errors**2), rtol=1e-9)
    table = invoke(
        *bound_args(tmp_path),
        "--variant",
        variant,
    )
    assert table.exit_code == 0
    assert "test cost bound" in table.output and "Lipschitz constant" in table.output


def test_bound_on_a_torch_state_dict(tmp_path, torch):
    _, _, T, t = digits_npz(tmp_path)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 20), torch.nn.ReLU(), torch.nn.Linear(20, 10))
    torch.save(model.state_dict(), tmp_path / "model.pt")
    result = invoke(
        *bound_args(tmp_path, model="model.pt"),
        "--json",
        "--per-sample",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    with torch.no_grad():
        output = model(torch.from_numpy(T).float()).double().numpy()
    errors = np.linalg.norm(output - archbound.one_hot(t, 10), axis=1)
    np.testing.assert_allclose(report["errors"], errors, rtol=1e-4, atol=1e-5)
    assert np.all(np.array(report["per_sample"]) >= np.array(report["errors"]) * (1 - 1e-9))


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


# ---------------------------------------------------------------------------- experiment


def small_experiment_args(out, variants="lipschitz,projected,coordinates,linearized,best"):
    return [
        "experiment",
        "--n-train",
        "5,12,70",
        "--depths",
        "1,3",
        "--widths",
        "10,16",
        "--n-test",
        "40",
        "--variants",
        variants,
        "--out",
        out,
    ]


def validate_schema(results):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(results, experiment.RESULTS_SCHEMA)


def test_results_schema_is_package_data_and_one_definition():
    """results.schema.json ships inside the package, is a valid draft 2020-12 schema, and
    names the same variants, distances and constructions as the code."""
    from importlib import resources

    from archbound.bounds import DISCREPANCY_DISTANCES, VARIANTS
    from archbound.construct import METHODS

    jsonschema = pytest.importorskip("jsonschema")
    path = resources.files("archbound.experiment").joinpath("results.schema.json")
    schema = json.loads(path.read_text("utf-8"))
    assert schema == experiment.RESULTS_SCHEMA
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    definitions = schema["$defs"]
    assert definitions["variant"]["enum"] == list(VARIANTS)
    assert definitions["distance"]["enum"] == list(DISCREPANCY_DISTANCES)
    assert definitions["construction"]["enum"] == list(METHODS) == list(experiment.CONSTRUCTIONS)
    assert schema["properties"]["version"]["const"] == experiment.RESULTS_VERSION


def check_outputs(out, results):
    assert results["version"] == experiment.RESULTS_VERSION == 1
    validate_schema(results)
    with open(out / "results.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == experiment.CSV_COLUMNS
    assert len(rows) == len(experiment.csv_rows(results))
    for name in ("bound_vs_n.png", "architectures.png"):
        assert_png(out / name)


def test_experiment_truth_only_runs_without_bounds(tmp_path):
    out = tmp_path / "results"
    result = invoke(*small_experiment_args(out, variants=""))
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    check_outputs(out, results)
    assert [r["n_train"] for r in results["runs"]] == [5, 12, 70]
    skipped = results["runs"][-1]
    assert skipped["status"] == "skipped" and "N = 70 > M0 = 64" in skipped["reason"]
    assert "N = 70 skipped" in result.output
    for run in results["runs"][:2]:
        assert run["status"] == "ok" and run["rank"] == run["n_train"]
        first = [n for n in run["networks"] if n["construction"] == "readout_first"]
        last = [n for n in run["networks"] if n["construction"] == "readout_last"]
        assert len(first) == 4  # 2 depths x 2 widths
        assert all(n["width"] >= run["n_train"] for n in last)
        assert len(last) == sum(w >= run["n_train"] for w in (10, 16)) * 2
        assert all(n["zero_loss"] for n in run["networks"])
        # readout_first computes the same function whatever the architecture
        costs = [n["test"]["test_cost"] for n in first]
        np.testing.assert_allclose(costs, costs[0], rtol=1e-10)
    rows = {(r["n_train"], r["construction"]): r for r in results["summary"]["by_n"]}
    assert rows[(12, "readout_first")]["test_cost_spread"] < 1e-10


def test_experiment_with_bounds(tmp_path):
    out = tmp_path / "results"
    result = invoke(*small_experiment_args(out))
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    check_outputs(out, results)
    for run in results["runs"][:2]:
        for net in run["networks"]:
            expected = (
                ["lipschitz", "projected", "coordinates", "linearized", "best"]
                if net["construction"] == "readout_first"
                else ["lipschitz", "best"]
            )
            assert sorted(net["bounds"]) == sorted(expected)
            for values in net["bounds"].values():
                assert values["violations"] == 0
                assert values["test_cost_bound"] >= net["test"]["test_cost"]
                assert values["mean_ratio"] >= 1.0
                assert values["uniform_bound"] >= net["test"]["max_error"]
            if net["construction"] == "readout_first":  # each variant at least as tight
                b = net["bounds"]
                assert b["linearized"]["mean_bound"] <= b["projected"]["mean_bound"] * (1 + 1e-9)
                assert b["projected"]["mean_bound"] <= b["lipschitz"]["mean_bound"] * (1 + 1e-9)
                assert b["linearized"]["mean_bound"] <= b["coordinates"]["mean_bound"] * (1 + 1e-9)
                for v in ("lipschitz", "projected", "coordinates"):
                    assert b["best"]["mean_bound"] <= b[v]["mean_bound"] * (1 + 1e-12)
                assert sum(b["best"]["attained_by"].values()) == results["dataset"]["n_test"]
            # the a-priori cost-discrepancy bound, beside the truth, for every network
            gap = net["discrepancy"]
            expected = (
                ["lipschitz", "coordinates"]
                if net["construction"] == "readout_first"
                else ["lipschitz"]
            )
            assert sorted(gap["bounds"]) == sorted(expected)
            for values in gap["bounds"].values():
                assert values["bound"] >= gap["true"] and values["ratio"] >= 1
    assert set(results["summary"]["average_mean_ratio"]["readout_first"]) == {
        "lipschitz",
        "projected",
        "coordinates",
        "linearized",
        "best",
    }
    assert "linearized B/err" in result.output and "average mean B / mean |f-y|" in result.output
    assert "coordinates B/err" in result.output and "a-priori lipschitz /true" in result.output
    assert "Reading (readout_first)" in result.output and "22%" not in result.output
    with open(out / "results.csv", newline="") as stream:
        rows = [r for r in csv.DictReader(stream) if r["construction"]]  # skipped N: none
    assert {r["variant"] for r in rows} >= {"coordinates", "best"}
    assert all(float(r["discrepancy_bound"]) >= float(r["true_discrepancy"]) for r in rows)
    assert all(r["attained_by"] for r in rows if r["variant"] == "best")


def test_experiment_trained_beside_constructed(tmp_path):
    from archbound.experiment import trained

    out = tmp_path / "results"
    result = invoke(
        "experiment",
        "--n-train",
        "12,30,70",
        "--depths",
        "1",
        "--widths",
        "16",
        "--n-test",
        "60",
        "--variants",
        "lipschitz",
        "--trained",
        "--trained-hidden",
        "16,12x12",
        "--trained-epochs",
        "30",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    validate_schema(results)
    assert "trained (t: MLPRegressor" in result.output
    block = results["trained"]
    assert block["config"]["hidden"] == [[16], [12, 12]] and block["config"]["epochs"] == 30
    runs = {r["n_train"]: r for r in block["runs"]}
    assert runs[70]["status"] == "skipped"  # rank < N: no constructed minimizer there
    assert all(net["constructed"] is None for net in runs[70]["networks"])
    for n in (12, 30):
        for net in runs[n]["networks"]:
            t, c = net["trained"], net["constructed"]
            for side in (t, c):  # bound >= truth, on every sample (violations) and on average
                assert side["bound"]["violations"] == 0
                assert side["bound"]["test_cost_bound"] >= side["test"]["test_cost"]
                assert side["bound"]["uniform_bound"] >= side["test"]["max_error"]
            assert c["train_loss"] < 1e-12  # the constructed minimizer interpolates
            history = t["history"]
            assert history["delta_spent"] <= history["delta"]
            assert [r["step"] for r in history["records"]] == [1, 20, 30]
            assert t["lipschitz"] == history["records"][-1]["lipschitz"]
    with open(out / "results.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == experiment.CSV_COLUMNS + trained.CSV_COLUMNS
    trained_rows = [r for r in rows if r["construction"] == "trained"]
    assert len(trained_rows) == 6 and {r["hidden"] for r in trained_rows} == {"16", "12-12"}
    for name in ("trained_history.png", "trained_vs_constructed.png"):
        assert_png(out / name)
    # a width below Q is refused before anything is trained
    bad = invoke(
        "experiment",
        "--n-train",
        "12",
        "--trained",
        "--trained-hidden",
        "4",
        "--out",
        tmp_path / "bad",
    )
    assert bad.exit_code == 2 and "trained_hidden [[4]]" in bad.output
    assert invoke("experiment", "--trained", "--trained-hidden", "a").exit_code == 2


def test_experiment_without_trained_is_unchanged(tmp_path):
    """Without --trained, results.json has no 'trained' key and the CSV its usual columns."""
    out = tmp_path / "results"
    result = invoke(*small_experiment_args(out, variants=""))
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert "trained" not in results and "trained (t:" not in result.output
    assert not (out / "trained_history.png").exists()


def test_default_experiment_plan_is_small():
    """The default run (digits) builds a bounded number of networks, all with N <= 50."""
    config = experiment.resolve(experiment.ExperimentConfig())
    assert max(config.n_train) <= 50
    assert len(experiment.plan(config)) <= 120


def test_experiment_input_errors(tmp_path, monkeypatch):
    result = invoke("experiment", "--dataset", tmp_path / "nowhere", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "no such dataset" in result.output
    assert "Traceback" not in result.output
    monkeypatch.setattr(data.datasets, "FASHION_MNIST_DIR", tmp_path / "not-installed")
    result = invoke("experiment", "--dataset", "fashion-mnist", "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert "apt-get install dataset-fashion-mnist" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = invoke("experiment", "--widths", "4", "--variants", "", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "Q = 10" in result.output
    for bad in (
        ["--n-train", "a,b"],
        ["--n-train", "0"],
        ["--variants", "tight"],
        ["--n-test", "0"],
    ):
        assert invoke("experiment", *bad).exit_code == 2


def test_experiment_on_an_idx_directory(tmp_path, rng):
    from test_data import write_mnist_dir

    write_mnist_dir(tmp_path / "mnist", rng, n_train=40, n_test=15, side=6)
    out = tmp_path / "results"
    result = invoke(
        "experiment", "--dataset", tmp_path / "mnist", "--quick", "--variants", "", "--out", out
    )
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert results["dataset"]["input_dim"] == 36
    # default N: 25, 50, ... below 0.97 M0, then int(0.97 M0) = 34; --quick keeps every
    # other one, ending with the largest
    assert results["config"]["n_train"] == [34]
    assert results["dataset"]["n_test"] == 15


# --------------------------------------------------------------------------------- plots


def test_plots_write_valid_images(tmp_path):
    path = plots.bound_vs_n(
        [10, 20, 40],
        [
            {
                "ylabel": "cost",
                "truth": {"truth": [1.0, 0.5, None]},
                "bounds": {"a": [2.0, float("nan"), 3.0], "b": [0.0, 1.0, 4.0]},
            }
        ],
        tmp_path / "n.png",
        title="t",
    )
    assert path == tmp_path / "n.png"
    assert_png(path)
    assert_png(
        plots.architectures(
            [
                {
                    "title": "x",
                    "labels": ["L=1", "L=2"],
                    "truth": {"t": [1.0, 1.0]},
                    "bounds": {"b": [2.0, 2.0]},
                }
            ],
            tmp_path / "a.png",
        )
    )
    assert_png(plots.architectures([], tmp_path / "empty.png"))
    assert_png(
        plots.spectrum(
            [5.0, 2.0, 1e-3, 0.0], tmp_path / "s.png", tolerance=1e-10, rank=3, title="s"
        )
    )


def test_bound_on_a_local_dask_cluster(tmp_path):
    pytest.importorskip("distributed")
    X, y, _, _ = digits_npz(tmp_path)
    saved_network(tmp_path, X, y)
    args = [
        *bound_args(tmp_path),
        "--json",
    ]
    local = json.loads(invoke(*args).output)
    result = invoke(*args, "--scheduler", "local", "--workers", "2", "--chunk-rows", "7")
    assert result.exit_code == 0, result.output
    clustered = json.loads(result.output[result.output.index("{") :])
    assert clustered["test_cost_bound"] == pytest.approx(local["test_cost_bound"], rel=1e-12)
    assert clustered["uniform_bound"] == local["uniform_bound"]
    assert invoke(*args, "--workers", "2").exit_code == 2
