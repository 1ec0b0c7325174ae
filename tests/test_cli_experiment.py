"""``archbound experiment``: the sweep, results.json and results.csv, and its plots."""

import csv
import json

import numpy as np
import pytest

from archbound import data, experiment, plots
from conftest import assert_png, invoke

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
    assert results["version"] == experiment.RESULTS_VERSION == 2
    validate_schema(results)
    with open(out / "results.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == experiment.CSV_COLUMNS
    # one row per (N, network, variant): a network without bounds and a skipped N get one
    expected = sum(
        max(1, len(net["bounds"])) for run in results["runs"] for net in run["networks"]
    ) + sum(not run["networks"] for run in results["runs"])
    assert len(rows) == expected
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
    gaps = results["summary"]["relative_gap"]["readout_first"]
    assert set(gaps) == {"lipschitz", "projected", "coordinates", "linearized", "best"}
    for variant, gap in gaps.items():  # the means over N of the per-N rows
        rows = [
            r["bounds"][variant]
            for r in results["summary"]["by_n"]
            if r["construction"] == "readout_first"
        ]
        assert gap["n_train"] == [5, 12]
        assert gap["ratio_of_means"] == pytest.approx(np.mean([r["mean_ratio"] for r in rows]))
        assert gap["mean_relative_excess"] == pytest.approx(
            np.mean([r["mean_relative_excess"] for r in rows])
        )
        assert gap["ratio_of_means"] >= 1 and gap["mean_relative_excess"] >= 0
    assert "paper_claim" not in results["summary"]  # digits: the paper's figure is MNIST's
    assert "linearized B/err" in result.output and "mean relative excess" in result.output
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
    assert "trained (t: relu hidden layers, scikit-learn" in result.output
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


def test_run_experiment_returns_typed_results(tmp_path):
    """run_experiment returns ExperimentResults: its to_dict is what results.json holds, and
    results.csv has one row per csv_rows entry, with the columns the records define."""
    config = experiment.ExperimentConfig(
        n_train=[5, 12], depths=[1], widths=[10, 16], n_test=30, variants=["lipschitz", "best"]
    )
    results = experiment.run_experiment(config)
    assert isinstance(results, experiment.ExperimentResults)
    assert all(isinstance(run, experiment.RunRecord) for run in results.runs)
    content = results.to_dict()
    validate_schema(content)
    assert list(content)[:4] == ["version", "archbound_version", "created", "seconds"]
    assert list(content)[-1] == "summary" and "trained" not in content
    assert content["config"]["n_train"] == [5, 12] and "threads" not in content["config"]
    first = results.runs[0].networks[0]
    assert first.bounds["best"].to_dict()["attained_by"] == first.bounds["best"].attained_by
    assert next(iter(first.bounds["best"].to_dict())) == "attained_by"
    paths = experiment.write_results(results, tmp_path)
    assert json.loads(paths["json"].read_text()) == content
    with open(paths["csv"], newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == experiment.CSV_COLUMNS
    assert len(rows) == len(experiment.csv_rows(results))
    summary = results.summary.row(12, "readout_first")
    assert summary is not None and summary.n_networks == 2


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"seed": -1}, "seed"),
        ({"delta": 0.0}, "delta"),
        ({"delta": 1.0}, "delta"),
        ({"n_test": 0}, "n_test"),
        ({"threads": 0}, "threads"),
        ({"trained_epochs": 0}, "trained_epochs"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_resolve_checks_the_numbers_the_options_bound(options, name):
    with pytest.raises((ValueError, TypeError), match=name):
        experiment.resolve(experiment.ExperimentConfig(**options))


def test_experiment_options_come_from_the_config_fields():
    """One option per ExperimentConfig field (plus --out and --debug), each with its help."""
    import dataclasses

    from archbound.cli.experiment import experiment as command

    names = {p.name for p in command.params}
    fields = [f.name for f in dataclasses.fields(experiment.ExperimentConfig)]
    assert names == set(fields) | {"out", "debug"}
    by_name = {p.name: p for p in command.params}
    assert by_name["trained_epochs"].default == experiment.ExperimentConfig().trained_epochs
    assert by_name["quick"].is_flag and by_name["capacity"].is_flag


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


def test_experiment_trains_networks_with_another_activation(tmp_path, torch):
    out = tmp_path / "results"
    args = ["experiment", "--n-train", "12,30", "--depths", "1", "--widths", "16"]
    args += ["--n-test", "40", "--variants", "lipschitz", "--trained", "--trained-hidden"]
    result = invoke(*args, "16", "--trained-epochs", "5", "--activation", "gelu", "--out", out)
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    validate_schema(results)
    assert "trained (t: gelu hidden layers, torch" in result.output
    block = results["trained"]
    assert block["config"]["activation"] == "gelu" and block["config"]["framework"] == "torch"
    for run in block["runs"]:
        for net in run["networks"]:
            t, c = net["trained"], net["constructed"]
            assert t["activation"] == "gelu" and c["activation"] == "relu"
            for side in (t, c):
                assert side["bound"]["violations"] == 0
                assert side["bound"]["test_cost_bound"] >= side["test"]["test_cost"]
    assert_png(out / "trained_vs_constructed.png")


def test_experiment_activation_errors(monkeypatch):
    bad = invoke("experiment", "--trained", "--activation", "swish")
    assert bad.exit_code == 2 and "activation must be one of relu" in bad.output
    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # torch not installed
    missing = invoke("experiment", "--trained", "--activation", "gelu")
    assert missing.exit_code == 2 and "pip install '.[torch]'" in missing.output


def test_the_experiment_monitors_its_trained_networks_in_float64(monkeypatch):
    """The experiment reports costs far below float32's rounding: its monitors run float64
    forward passes and reductions."""
    from archbound.experiment import training

    made = []
    original = training.NormMonitor

    def spy(*args, **kwargs):
        made.append(kwargs.get("precision"))
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "NormMonitor", spy)
    rng = np.random.default_rng(0)
    X, T = rng.random((40, 8)), rng.random((20, 8))
    Y = np.eye(3)[rng.integers(0, 3, 40)]
    TY = np.eye(3)[rng.integers(0, 3, 20)]
    _, monitor = training.train_one(
        X, Y, T, TY, [8], epochs=2, record_every=1, learning_rate=1e-2, seed=0, delta=1e-6
    )
    assert made == ["float64"]
    assert all(record.precision == "float64" for record in monitor.history)
