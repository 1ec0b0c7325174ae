"""The paper's experiment: zero-loss minimizers over a sweep of N, depth and width.

For each training-set size N (nested random subsets of one training pool), the
experiment checks N <= rank(X), builds readout_first for every architecture of the sweep
(L hidden layers of width M, for every L in ``depths`` and M in ``widths``) and
readout_last wherever M >= N, verifies zero training loss, measures the true test error
and computes every requested bound variant beside it (arXiv:2504.05695, docs/design.md §2.5
and §4). :func:`run_experiment` returns a JSON-safe dict; :func:`write_results` writes it
as ``results.json`` and ``results.csv`` with the two figures.

results.json (``version`` 1)
----------------------------
The schema is :data:`RESULTS_SCHEMA` (JSON Schema, draft 2020-12). Every number that is
not finite is written as null.

- ``version`` (int, 1), ``archbound_version`` (str), ``created`` (ISO 8601 time, UTC),
  ``seconds`` (float, the whole run).
- ``config``: the resolved options: ``dataset`` (str), ``n_train`` (list of int),
  ``depths``, ``widths`` (lists of int), ``n_test`` (int or null: all), ``variants``
  (list of str), ``seed`` (int), ``delta`` (float), ``quick`` (bool).
- ``dataset``: ``name``, ``input_dim`` (M0), ``n_classes`` (Q), ``n_pool`` (training
  pool size, the largest N), ``n_test`` (m).
- ``runs``: one entry per N, in increasing order:

  - ``n_train`` (N), ``rank``, ``sigma_max``, ``sigma_min``, ``condition_number`` of the
    N x M0 training matrix, ``readout_norm`` (||Y X^+||, the spectral norm of the
    readout A = Y_0 X_0^+ of readout_first; null when skipped);
  - ``status``: ``"ok"``, or ``"skipped"`` when rank < N (zero loss unattainable), with
    ``reason`` (str or null);
  - ``networks``: one entry per network built, with ``construction``
    (``"readout_first"`` or ``"readout_last"``), ``depth`` (L), ``width`` (M),
    ``widths`` ([M0, M, ..., M, Q]), ``train_loss`` (C_train), ``max_train_error``,
    ``zero_loss`` (bool: max_i |f(x_i) - y_i| <= 1e-6 (1 + max |y|)), ``seconds``,
    ``test`` (the truth: ``test_cost`` = mean_j |f(x~_j) - y~_j|^2, ``mean_error`` =
    mean_j |f(x~_j) - y~_j|, ``max_error``, ``accuracy``), ``bounds``: a dict from
    variant name to ``test_cost_bound`` (mean_j B_j^2), ``ratio``
    (test_cost_bound / test_cost), ``mean_bound`` (mean_j B_j), ``mean_ratio``
    (mean B / mean error), ``uniform_bound`` (max_j B_j), ``lipschitz`` (the alpha
    used), ``violations`` (number of test samples with B_j < |f(x~_j) - y~_j|; 0 unless
    something is wrong), ``seconds``, and for ``best`` ``attained_by`` (component variant
    -> number of test samples it attains). readout_last only gets ``lipschitz`` and
    ``best`` (whose only component is then lipschitz). And ``discrepancy``: the a-priori
    bound of :func:`archbound.cost_discrepancy_bound` on |C_test - C_train|, computed
    without evaluating f on the test set: ``true`` (|C_test - C_train|) and ``bounds``, a
    dict from the distance of its transport term (``lipschitz``: the paper's form, every
    network; ``coordinates``: readout_first) to ``bound``, ``ratio`` (bound / true),
    ``transport_term``, ``train_term``, ``seconds``.

- ``summary``: ``by_n``: one entry per N and construction that ran: ``n_train``,
  ``construction``, ``n_networks``, ``test_cost``, ``mean_error``, ``accuracy`` (means
  over the architectures), ``test_cost_spread`` ((max - min) / mean of the test cost
  across architectures: 0 for readout_first, whose function does not depend on the
  architecture), ``bounds``: variant -> ``test_cost_bound``, ``ratio``,
  ``mean_ratio`` (means over the architectures), ``mean_ratio_min``,
  ``mean_ratio_max``, and ``discrepancy``: ``true`` and distance -> ``bound``,
  ``ratio`` (means over the architectures); ``average_mean_ratio``: construction ->
  variant -> the mean over N of ``mean_ratio`` (mean B / mean error: 1 would be exact;
  it is our measurement on our data set, not comparable with the paper's MNIST figure,
  which comes from its own bound and set-up).

results.csv has one row per (N, network, variant) with the columns of :data:`CSV_COLUMNS`
(a skipped N gets one row with ``status`` = skipped); the discrepancy columns repeat on
every row of a network.
"""

from __future__ import annotations

import csv
import datetime
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from archbound import __version__
from archbound._json import finite_or_none as _number
from archbound.bounds import (
    DISCREPANCY_DISTANCES,
    VARIANTS,
    cost_discrepancy_bound_batch,
    sample_bounds_batch,
)
from archbound.construct import ZeroLossUnattainable, construct_minimizer, one_hot
from archbound.data import DataError, dataset_input_dim, load_dataset
from archbound.linalg import pinv_info

RESULTS_VERSION = 1
#: The variants that apply to any network (the others need readout_first).
ANY_NETWORK_VARIANTS = ("lipschitz", "best")
CONSTRUCTIONS = ("readout_first", "readout_last")

# N <= rank: digits has M0 = 64 but rank 61 (three pixels are always blank), and random
# subsets lose rank beyond about N = 50 because more border pixels are blank in all of them.
DEFAULT_N_TRAIN = {
    "digits": [10, 20, 30, 40, 50],
    "fashion-mnist": [25, 50, 100, 200, 400, 600, 760],
}
DEFAULT_WIDTHS = {"digits": [16, 64, 256]}
DEFAULT_WIDTHS_LARGE = [64, 256, 1024]
DEFAULT_DEPTHS = [1, 2, 4, 8]
# --quick: every other default N (the largest kept), two depths, two widths, 200 test samples
QUICK = {"depths": [1, 2], "widths": [16, 64], "n_test": 200}


@dataclass
class ExperimentConfig:
    """Options of :func:`run_experiment`; None means the dataset's default.

    Attributes
    ----------
    dataset : str
        ``"digits"``, ``"fashion-mnist"`` or a directory of IDX files.
    n_train : list of int, optional
        Training-set sizes N. Default: digits 10..50; Fashion-MNIST 25..760; other
        directories 25, 50, 100, ... below M0 and about 0.97 M0.
    depths : list of int, optional
        Numbers of hidden layers L; default 1, 2, 4, 8.
    widths : list of int, optional
        Hidden widths M (every hidden layer of a network has the same width). Default:
        digits 16, 64, 256; otherwise 64, 256, 1024.
    n_test : int, optional
        Test samples (a seeded random subset); default all.
    variants : list of str
        Bound variants (:data:`archbound.bounds.VARIANTS`); readout_last networks get only
        ``"lipschitz"`` and ``"best"``.
    seed : int
        Seed of the data split, the subsets, readout_last's layers and the norm estimators.
    delta : float
        Failure probability of the certified norms.
    quick : bool
        Small defaults for a smoke test: every other default N, depths 1, 2, widths 16, 64
        and at most 200 test samples (explicit options still win).
    threads : int, optional
        OpenMP threads.
    trained : bool
        Also train networks by gradient descent and report them beside the constructed
        minimizer (:mod:`archbound.trained`; results.json's ``trained``).
    trained_hidden : list of list of int, optional
        The architectures trained (hidden widths, each >= Q); default
        :data:`archbound.trained.DEFAULT_HIDDEN`.
    trained_epochs : int
        The training budget, in epochs of ``MLPRegressor.partial_fit``.
    """

    dataset: str = "digits"
    n_train: list | None = None
    depths: list | None = None
    widths: list | None = None
    n_test: int | None = None
    variants: list = field(default_factory=lambda: list(VARIANTS))
    seed: int = 0
    delta: float = 1e-6
    quick: bool = False
    threads: int | None = None
    trained: bool = False
    trained_hidden: list | None = None
    trained_epochs: int = 400


def _default_n_train(dataset: str, input_dim: int) -> list[int]:
    values, n = [], 25
    while n < 0.97 * input_dim:
        values.append(n)
        n *= 2
    return values + [int(0.97 * input_dim)] if input_dim >= 26 else [max(1, input_dim - 1)]


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _check_list(values, name: str, minimum: int = 1) -> list[int]:
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty")
    for value in values:
        if int(value) != value or value < minimum:
            raise ValueError(f"{name} must hold integers >= {minimum}, got {value}")
    return sorted({int(v) for v in values})


def resolve(config: ExperimentConfig, input_dim: int | None = None) -> ExperimentConfig:
    """Fill in the defaults that do not need the data (N needs M0 for IDX directories)."""
    name = config.dataset
    quick = config.quick
    n_train = config.n_train
    if n_train is None:
        n_train = DEFAULT_N_TRAIN.get(name)
        if n_train is None and input_dim is not None:
            n_train = _default_n_train(name, input_dim)
        if n_train is not None and quick:
            n_train = n_train[::-2][::-1]
    depths = config.depths or (QUICK["depths"] if quick else DEFAULT_DEPTHS)
    widths = config.widths or (
        QUICK["widths"] if quick else DEFAULT_WIDTHS.get(name, DEFAULT_WIDTHS_LARGE)
    )
    n_test = config.n_test if config.n_test is not None else (QUICK["n_test"] if quick else None)
    for variant in config.variants:
        if variant not in VARIANTS:
            raise ValueError(
                f"unknown bound variant {variant!r}: choose from {', '.join(VARIANTS)}"
            )
    if n_test is not None and n_test < 1:
        raise ValueError(f"n_test must be >= 1, got {n_test}")
    return ExperimentConfig(
        dataset=name,
        n_train=None if n_train is None else _check_list(n_train, "n_train"),
        depths=_check_list(depths, "depths"),
        widths=_check_list(widths, "widths"),
        n_test=n_test,
        variants=[v for v in VARIANTS if v in config.variants],
        seed=int(config.seed),
        delta=float(config.delta),
        quick=bool(quick),
        threads=config.threads,
        **_resolve_trained(config),
    )


def _resolve_trained(config: ExperimentConfig) -> dict:
    """The --trained options, checked (they only matter when ``trained`` is set)."""
    from archbound.trained import DEFAULT_HIDDEN

    hidden = config.trained_hidden or DEFAULT_HIDDEN
    hidden = [list(h) for h in hidden]
    for widths in hidden:
        if not widths or any(int(w) != w or w < 1 for w in widths):
            raise ValueError(f"trained_hidden must hold lists of widths >= 1, got {hidden}")
    hidden = [[int(w) for w in h] for h in hidden]
    epochs = config.trained_epochs
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"trained_epochs must be an integer >= 1, got {epochs}")
    return {"trained": bool(config.trained), "trained_hidden": hidden,
            "trained_epochs": int(epochs)}


def _bound_record(report, seconds: float) -> dict:
    per_sample = np.asarray(report.per_sample, dtype=np.float64)
    errors = np.asarray(report.errors, dtype=np.float64)
    slack = 1e-9 * (1.0 + np.abs(errors))
    extra = {} if report.attained_by is None else {"attained_by": report.attained_counts()}
    return extra | {
        "test_cost_bound": _number(report.test_cost_bound),
        "ratio": _number(report.ratio),
        "mean_bound": _number(per_sample.mean()),
        "mean_ratio": _number(report.mean_ratio),
        "uniform_bound": _number(report.uniform_bound),
        "lipschitz": _number(report.lipschitz),
        "violations": int(np.sum(per_sample < errors - slack)),
        "seconds": _number(seconds),
    }


def _network_record(net, construction, depth, width, output, Y_test, y_test):
    errors = np.linalg.norm(output - Y_test, axis=1)
    built = net.construction
    scale = 1.0 + float(np.abs(Y_test).max())
    return {
        "construction": construction,
        "depth": depth,
        "width": width,
        "widths": net.widths,
        "train_loss": _number(built.train_loss),
        "max_train_error": _number(built.max_train_error),
        "zero_loss": bool(built.max_train_error <= 1e-6 * scale),
        "test": {
            "test_cost": _number(np.mean(errors**2)),
            "mean_error": _number(errors.mean()),
            "max_error": _number(errors.max()),
            "accuracy": _number(np.mean(output.argmax(axis=1) == y_test)),
        },
        "bounds": {},
        "seconds": None,
    }


def _discrepancy_records(built, X, Y, X_test, Y_test, config) -> None:
    """The a-priori bound on |C_test - C_train| in each applicable form, beside the truth,
    for every network of one N (one batch: one kernel pass per distance).

    The truth comes from the test cost measured before; the bound never evaluates f on the
    test set (``evaluate_truth=False``).
    """
    jobs = []
    for net, record, _, _ in built:
        true = abs(record["test"]["test_cost"] - net.construction.train_loss)
        record["discrepancy"] = {"true": _number(true), "bounds": {}}
        distances = (DISCREPANCY_DISTANCES if record["construction"] == "readout_first"
                     else ("lipschitz",))
        jobs += [(net, distance) for distance in distances]
    reports = cost_discrepancy_bound_batch(
        jobs, X, Y, X_test, Y_test, delta=config.delta, seed=config.seed,
        evaluate_truth=False, threads=config.threads)
    records = {id(net): record for net, record, _, _ in built}
    for (net, distance), report in zip(jobs, reports):
        out = records[id(net)]["discrepancy"]
        true = out["true"]
        out["bounds"][distance] = {
            "bound": _number(report.bound),
            "ratio": _number(report.bound / true) if true else None,
            "transport_term": _number(report.transport_term),
            "train_term": _number(report.train_term),
            "seconds": _number(report.seconds),
        }


def plan(config: ExperimentConfig) -> list[tuple[int, int, int, str]]:
    """Every network the sweep builds: (N, depth, width, construction)."""
    out = []
    for n in config.n_train:
        for depth in config.depths:
            for width in config.widths:
                out.append((n, depth, width, "readout_first"))
                if width >= n:
                    out.append((n, depth, width, "readout_last"))
    return out


def run_experiment(config: ExperimentConfig, *, progress=None) -> dict:
    """Run the sweep and return the results as a JSON-safe dict (schema: module docstring).

    Parameters
    ----------
    config : ExperimentConfig
    progress : callable, optional
        Called as ``progress(total=...)`` once the plan is known, then
        ``progress(advance=k, description=...)`` as networks are done.

    Returns
    -------
    dict
        The content of results.json.

    Raises
    ------
    ValueError
        For bad options (DataError for datasets that cannot be read).
    """
    start = time.perf_counter()
    test_cap_only = config.n_test is None  # --quick's 200 test samples: at most, not exactly
    config = resolve(config)
    if config.n_train is None:
        config = resolve(config, input_dim=dataset_input_dim(config.dataset))
    X_pool, y_pool, X_test, y_test = load_dataset(
        config.dataset, max_train=max(config.n_train), max_test=config.n_test, seed=config.seed,
        clip=test_cap_only,
    )
    if X_pool.shape[0] < max(config.n_train):
        raise DataError(
            f"N = {max(config.n_train)} is more than the {X_pool.shape[0]} training samples of "
            f"{config.dataset}"
        )
    n_classes = int(max(y_pool.max(), y_test.max())) + 1
    too_narrow = [w for w in config.widths if w < n_classes]
    if too_narrow:
        raise ValueError(
            f"widths {too_narrow} are below Q = {n_classes}: readout_first needs every hidden "
            f"width M >= Q"
        )
    Y_pool = one_hot(y_pool, n_classes)
    Y_test = one_hot(y_test, n_classes)

    networks_planned = plan(config)
    if config.trained:
        narrow = [h for h in config.trained_hidden if min(h) < n_classes]
        if narrow:
            raise ValueError(
                f"trained_hidden {narrow} has widths below Q = {n_classes}: the readout_first "
                "minimizer they are compared with needs every hidden width M >= Q"
            )
    if progress:
        n_trained = len(config.n_train) * len(config.trained_hidden) if config.trained else 0
        progress(total=len(networks_planned) + n_trained)
    runs = []
    for n in config.n_train:
        X, Y = X_pool[:n], Y_pool[:n]
        info = pinv_info(X, threads=config.threads)
        run = {
            "n_train": n,
            "rank": int(info.rank),
            "sigma_max": _number(info.sigma_max),
            "sigma_min": _number(info.sigma_min),
            "condition_number": _number(info.condition_number),
            "readout_norm": None,
            "status": "ok",
            "reason": None,
            "networks": [],
        }
        runs.append(run)
        todo = [p for p in networks_planned if p[0] == n]
        if info.rank < n:
            why = (f"N = {n} > M0 = {X.shape[1]}" if n > X.shape[1]
                   else "linearly dependent samples")
            run["status"] = "skipped"
            run["reason"] = (f"rank(X) = {info.rank} < N = {n} ({why}): zero training loss is "
                             "unattainable")
            if progress:
                progress(advance=len(todo), description=f"N={n} skipped")
            continue
        built = []  # (net, record, output, began) of every network of this N
        for _, depth, width, construction in todo:
            if progress:
                progress(advance=0, description=f"N={n} L={depth} M={width} {construction}")
            began = time.perf_counter()
            try:
                net = construct_minimizer(X, Y, [width] * depth, method=construction,
                                          seed=config.seed, threads=config.threads)
            except ZeroLossUnattainable as exc:  # rank tolerance disagreed with pinv_info
                run["status"], run["reason"] = "skipped", str(exc)
                break
            if construction == "readout_first" and run["readout_norm"] is None:
                run["readout_norm"] = _number(np.linalg.norm(net.construction.readout, 2))
            output = net.forward(X_test, threads=config.threads)  # once, for every variant
            record = _network_record(net, construction, depth, width, output, Y_test, y_test)
            built.append((net, record, output, time.perf_counter() - began))
            if progress:
                progress(advance=1, description=f"N={n} L={depth} M={width} {construction}")
        if run["status"] != "ok":
            continue
        # Every bound of every network of this N in one batch: the training set's geometry
        # is computed once per feature space, each network and variant one objective of it.
        jobs, outputs = [], []
        for net, record, output, _ in built:
            construction = record["construction"]
            variants = config.variants if construction == "readout_first" else [
                v for v in config.variants if v in ANY_NETWORK_VARIANTS]
            jobs += [(net, variant) for variant in variants]
            outputs += [output] * len(variants)
        if progress:
            progress(advance=0, description=f"N={n}: bounds of {len(built)} networks")
        reports = sample_bounds_batch(jobs, X, Y, X_test, Y_test, delta=config.delta,
                                                seed=config.seed, threads=config.threads,
                                                test_outputs=outputs)
        records = {id(net): (record, seconds) for net, record, _, seconds in built}
        for (net, variant), report in zip(jobs, reports):
            record, _ = records[id(net)]
            record["bounds"][variant] = _bound_record(report, report.seconds)
        _discrepancy_records(built, X, Y, X_test, Y_test, config)
        for _, record, _, seconds in built:
            shares = list(record["bounds"].values()) + list(
                record["discrepancy"]["bounds"].values())
            record["seconds"] = _number(seconds + sum(b["seconds"] or 0.0 for b in shares))
            run["networks"].append(record)
    results = {
        "version": RESULTS_VERSION,
        "archbound_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seconds": None,
        "config": {
            "dataset": str(config.dataset),
            "n_train": config.n_train,
            "depths": config.depths,
            "widths": config.widths,
            "n_test": config.n_test,
            "variants": config.variants,
            "seed": config.seed,
            "delta": config.delta,
            "quick": config.quick,
        },
        "dataset": {
            "name": str(config.dataset),
            "input_dim": int(X_pool.shape[1]),
            "n_classes": n_classes,
            "n_pool": int(max(config.n_train)),
            "n_test": int(X_test.shape[0]),
        },
        "runs": runs,
    }
    if config.trained:  # only then: without --trained, results.json is unchanged
        from archbound.trained import run_trained

        results["trained"] = run_trained(config, X_pool, Y_pool, X_test, Y_test, y_test, runs,
                                         progress=progress)
    results["summary"] = summarize(runs)
    results["seconds"] = _number(time.perf_counter() - start)
    return results


def summarize(runs: list[dict]) -> dict:
    """Per-N means over the architectures, and the average margin of each variant."""
    by_n = []
    for run in runs:
        if run["status"] != "ok":
            continue
        for construction in CONSTRUCTIONS:
            nets = [r for r in run["networks"] if r["construction"] == construction]
            if not nets:
                continue
            costs = [r["test"]["test_cost"] for r in nets if r["test"]["test_cost"] is not None]
            mean_cost = _mean(costs)
            spread = None
            if costs and mean_cost:
                spread = (max(costs) - min(costs)) / mean_cost
            bounds = {}
            for variant in VARIANTS:
                values = [r["bounds"][variant] for r in nets if variant in r["bounds"]]
                if not values:
                    continue
                ratios = [v["mean_ratio"] for v in values if v["mean_ratio"] is not None]
                bounds[variant] = {
                    "test_cost_bound": _mean([v["test_cost_bound"] for v in values]),
                    "ratio": _mean([v["ratio"] for v in values]),
                    "mean_ratio": _mean(ratios),
                    "mean_ratio_min": min(ratios) if ratios else None,
                    "mean_ratio_max": max(ratios) if ratios else None,
                }
            discrepancy = {"true": _mean([r["discrepancy"]["true"] for r in nets]),
                           "bounds": {}}
            for distance in DISCREPANCY_DISTANCES:
                values = [r["discrepancy"]["bounds"][distance] for r in nets
                          if distance in r["discrepancy"]["bounds"]]
                if values:
                    discrepancy["bounds"][distance] = {
                        "bound": _mean([v["bound"] for v in values]),
                        "ratio": _mean([v["ratio"] for v in values]),
                    }
            by_n.append({
                "n_train": run["n_train"],
                "construction": construction,
                "n_networks": len(nets),
                "test_cost": mean_cost,
                "mean_error": _mean([r["test"]["mean_error"] for r in nets]),
                "accuracy": _mean([r["test"]["accuracy"] for r in nets]),
                "test_cost_spread": _number(spread),
                "bounds": bounds,
                "discrepancy": discrepancy,
            })
    average = {}
    for row in by_n:
        for variant, values in row["bounds"].items():
            if values["mean_ratio"] is not None:
                average.setdefault(row["construction"], {}).setdefault(variant, []).append(
                    values["mean_ratio"])
    average = {c: {v: float(np.mean(r)) for v, r in d.items()} for c, d in average.items()}
    return {"by_n": by_n, "average_mean_ratio": average}


CSV_COLUMNS = [
    "n_train", "rank", "condition_number", "readout_norm", "status", "construction", "depth",
    "width", "train_loss", "max_train_error", "zero_loss", "test_cost", "mean_error",
    "max_error", "accuracy", "variant", "test_cost_bound", "ratio", "mean_bound",
    "mean_ratio", "uniform_bound", "lipschitz", "violations", "bound_seconds", "attained_by",
    "true_discrepancy", "discrepancy_bound", "discrepancy_ratio",
    "discrepancy_coordinates_bound", "discrepancy_coordinates_ratio",
]


def csv_rows(results: dict) -> list[dict]:
    """The rows of results.csv: one per (N, network, variant)."""
    rows = []
    for run in results["runs"]:
        base = {k: run[k] for k in ("n_train", "rank", "condition_number", "readout_norm",
                                    "status")}
        if not run["networks"]:
            rows.append(dict(base))
            continue
        for net in run["networks"]:
            row = dict(base)
            row.update({k: net[k] for k in ("construction", "depth", "width", "train_loss",
                                            "max_train_error", "zero_loss")})
            row.update(net["test"])
            discrepancy = net.get("discrepancy") or {"true": None, "bounds": {}}
            row["true_discrepancy"] = discrepancy["true"]
            for distance, values in discrepancy["bounds"].items():
                prefix = "discrepancy" if distance == "lipschitz" else f"discrepancy_{distance}"
                row[f"{prefix}_bound"] = values["bound"]
                row[f"{prefix}_ratio"] = values["ratio"]
            if not net["bounds"]:
                rows.append(row)
            for variant, values in net["bounds"].items():
                full = dict(row, variant=variant, bound_seconds=values["seconds"])
                full.update({k: v for k, v in values.items()
                             if k not in ("seconds", "attained_by")})
                if "attained_by" in values:  # "lipschitz:0;projected:12;coordinates:437"
                    full["attained_by"] = ";".join(f"{k}:{v}"
                                                   for k, v in values["attained_by"].items())
                rows.append(full)
    return rows


def _series(results: dict, construction: str, key: str, variant=None) -> list:
    """One value per N (None where missing) from the summary."""
    table = {(row["n_train"], row["construction"]): row for row in results["summary"]["by_n"]}
    out = []
    for run in results["runs"]:
        row = table.get((run["n_train"], construction))
        if row is None:
            out.append(None)
        elif variant is None:
            out.append(row[key])
        else:
            out.append(row["bounds"].get(variant, {}).get(key))
    return out


def _discrepancy_series(results: dict, construction: str) -> list:
    """The summary's ``discrepancy`` entry per N (None where missing)."""
    table = {(row["n_train"], row["construction"]): row for row in results["summary"]["by_n"]}
    return [table.get((run["n_train"], construction), {}).get("discrepancy")
            for run in results["runs"]]


def _mean_bounds(results: dict, construction: str, variant: str) -> list:
    out = []
    for run in results["runs"]:
        values = [net["bounds"][variant]["mean_bound"] for net in run["networks"]
                  if net["construction"] == construction and variant in net["bounds"]]
        out.append(_mean(values))
    return out


def figures(results: dict, out_dir) -> dict:
    """Draw bound_vs_n.png and architectures.png; return their paths."""
    from archbound import plots

    out_dir = Path(out_dir)
    n_values = [run["n_train"] for run in results["runs"]]
    cost_truth, cost_bounds, error_truth, error_bounds = {}, {}, {}, {}
    gap_truth, gap_bounds = {}, {}
    for construction in CONSTRUCTIONS:
        if not any(row["construction"] == construction for row in results["summary"]["by_n"]):
            continue
        cost_truth[f"{construction}: true test cost"] = _series(results, construction,
                                                                 "test_cost")
        error_truth[f"{construction}: true mean |f - y|"] = _series(results, construction,
                                                                     "mean_error")
        rows = _discrepancy_series(results, construction)
        if any(r is not None for r in rows):
            gap_truth[f"{construction}: true |C_test - C_train|"] = [
                None if r is None else r["true"] for r in rows]
            for distance in DISCREPANCY_DISTANCES:
                values = [None if r is None else r["bounds"].get(distance, {}).get("bound")
                          for r in rows]
                if any(v is not None for v in values):
                    gap_bounds[f"{construction}: a-priori bound, {distance} distance"] = values
        for variant in results["config"]["variants"]:
            if construction != "readout_first" and variant == "best":
                continue  # its only component is lipschitz: the same line
            values = _series(results, construction, "test_cost_bound", variant)
            if any(v is not None for v in values):
                cost_bounds[f"{construction}: {variant} bound"] = values
                error_bounds[f"{construction}: {variant} mean B"] = _mean_bounds(
                    results, construction, variant)
    name = results["dataset"]["name"]
    paths = {
        "bound_vs_n": plots.bound_vs_n(
            n_values,
            [
                {"ylabel": "mean squared test error", "title": "C_test and mean B_j^2",
                 "truth": cost_truth, "bounds": cost_bounds},
                {"ylabel": "mean test error", "title": "mean |f(x) - y| and mean B_j",
                 "truth": error_truth, "bounds": error_bounds},
                {"ylabel": "|C_test - C_train|",
                 "title": "cost discrepancy and its a-priori bound (f not evaluated on test)",
                 "truth": gap_truth, "bounds": gap_bounds},
            ],
            out_dir / "bound_vs_n.png",
            title=f"{name}: bounds against the true test error (means over architectures)",
        )
    }
    ok = [run for run in results["runs"] if run["status"] == "ok" and run["networks"]]
    groups = []
    if ok:
        run = ok[-1]
        for construction in CONSTRUCTIONS:
            nets = [r for r in run["networks"] if r["construction"] == construction]
            if not nets:
                continue
            bounds = {}
            for variant in results["config"]["variants"]:
                if all(variant in r["bounds"] for r in nets):
                    bounds[f"{variant} bound"] = [r["bounds"][variant]["test_cost_bound"]
                                                  for r in nets]
            groups.append({
                "title": f"{construction}, N = {run['n_train']}",
                "labels": [f"L={r['depth']}, M={r['width']}" for r in nets],
                "truth": {"true test cost": [r["test"]["test_cost"] for r in nets]},
                "bounds": bounds,
            })
    paths["architectures"] = plots.architectures(
        groups, out_dir / "architectures.png", ylabel="mean squared test error",
        title=f"{name}: error and bound across depth L and width M",
    )
    return paths


def write_results(results: dict, out_dir) -> dict:
    """Write results.json, results.csv, bound_vs_n.png and architectures.png.

    Returns
    -------
    dict
        Name -> path of every file written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "results.json", "csv": out_dir / "results.csv"}
    columns, rows = CSV_COLUMNS, csv_rows(results)
    if "trained" in results:  # extra rows and columns only with --trained
        from archbound import trained

        columns = CSV_COLUMNS + trained.CSV_COLUMNS
        rows = rows + trained.csv_rows(results)
    with open(paths["json"], "w") as stream:
        json.dump(results, stream, indent=1, allow_nan=False)
        stream.write("\n")
    with open(paths["csv"], "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    paths.update(figures(results, out_dir))
    if "trained" in results:
        paths.update(trained.figures(results, out_dir))
    return paths


_NUMBER = {"type": ["number", "null"]}
_BOUND = {
    "type": "object",
    "required": ["test_cost_bound", "ratio", "mean_bound", "mean_ratio", "uniform_bound",
                 "lipschitz", "violations", "seconds"],
    "properties": {
        "test_cost_bound": _NUMBER, "ratio": _NUMBER, "mean_bound": _NUMBER,
        "mean_ratio": _NUMBER, "uniform_bound": _NUMBER, "lipschitz": _NUMBER,
        "violations": {"type": "integer", "minimum": 0}, "seconds": _NUMBER,
        "attained_by": {"type": "object", "propertyNames": {"enum": list(VARIANTS)},
                        "additionalProperties": {"type": "integer", "minimum": 0}},
    },
}
_DISCREPANCY = {
    "type": "object",
    "required": ["true", "bounds"],
    "properties": {
        "true": _NUMBER,
        "bounds": {
            "type": "object",
            "propertyNames": {"enum": list(DISCREPANCY_DISTANCES)},
            "additionalProperties": {
                "type": "object",
                "required": ["bound", "ratio"],
                "properties": {k: _NUMBER for k in ("bound", "ratio", "transport_term",
                                                    "train_term", "seconds")},
            },
        },
    },
}
_INTS = {"type": "array", "items": {"type": "integer", "minimum": 1}}
_VARIANT_MAP = {"type": "object", "propertyNames": {"enum": list(VARIANTS)}}

#: JSON Schema (draft 2020-12) of results.json, version 1.
RESULTS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "archbound experiment results",
    "type": "object",
    "required": ["version", "archbound_version", "created", "seconds", "config", "dataset",
                 "runs", "summary"],
    "properties": {
        "version": {"const": RESULTS_VERSION},
        "archbound_version": {"type": "string"},
        "created": {"type": "string"},
        "seconds": _NUMBER,
        "config": {
            "type": "object",
            "required": ["dataset", "n_train", "depths", "widths", "n_test", "variants",
                         "seed", "delta", "quick"],
            "properties": {
                "dataset": {"type": "string"}, "n_train": _INTS, "depths": _INTS,
                "widths": _INTS, "n_test": {"type": ["integer", "null"]},
                "variants": {"type": "array", "items": {"enum": list(VARIANTS)}},
                "seed": {"type": "integer"}, "delta": {"type": "number"},
                "quick": {"type": "boolean"},
            },
        },
        "dataset": {
            "type": "object",
            "required": ["name", "input_dim", "n_classes", "n_pool", "n_test"],
            "properties": {k: {"type": "integer"} for k in
                           ("input_dim", "n_classes", "n_pool", "n_test")}
            | {"name": {"type": "string"}},
        },
        "runs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["n_train", "rank", "sigma_max", "sigma_min", "condition_number",
                             "readout_norm", "status", "reason", "networks"],
                "properties": {
                    "n_train": {"type": "integer"}, "rank": {"type": "integer"},
                    "sigma_max": _NUMBER, "sigma_min": _NUMBER, "condition_number": _NUMBER,
                    "readout_norm": _NUMBER, "status": {"enum": ["ok", "skipped"]},
                    "reason": {"type": ["string", "null"]},
                    "networks": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["construction", "depth", "width", "widths",
                                         "train_loss", "max_train_error", "zero_loss",
                                         "test", "bounds", "seconds"],
                            "properties": {
                                "construction": {"enum": list(CONSTRUCTIONS)},
                                "depth": {"type": "integer"}, "width": {"type": "integer"},
                                "widths": _INTS, "train_loss": _NUMBER,
                                "max_train_error": _NUMBER,
                                "zero_loss": {"type": "boolean"}, "seconds": _NUMBER,
                                "test": {
                                    "type": "object",
                                    "required": ["test_cost", "mean_error", "max_error",
                                                 "accuracy"],
                                    "properties": {k: _NUMBER for k in (
                                        "test_cost", "mean_error", "max_error", "accuracy")},
                                },
                                "bounds": _VARIANT_MAP | {"additionalProperties": _BOUND},
                                "discrepancy": _DISCREPANCY,
                            },
                        },
                    },
                },
            },
        },
        "summary": {
            "type": "object",
            "required": ["by_n", "average_mean_ratio"],
            "properties": {
                "by_n": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["n_train", "construction", "n_networks", "test_cost",
                                     "mean_error", "accuracy", "test_cost_spread", "bounds"],
                        "properties": {
                            "construction": {"enum": list(CONSTRUCTIONS)},
                            "bounds": _VARIANT_MAP,
                            "discrepancy": _DISCREPANCY,
                        },
                    },
                },
                "average_mean_ratio": {
                    "type": "object",
                    "propertyNames": {"enum": list(CONSTRUCTIONS)},
                    "additionalProperties": _VARIANT_MAP
                    | {"additionalProperties": {"type": "number"}},
                },
            },
        },
    },
}

# results.json's optional "trained" (archbound experiment --trained), kept in its own module
def _add_trained_schema(schema: dict) -> None:
    from archbound.trained import TRAINED_SCHEMA

    schema["properties"]["trained"] = TRAINED_SCHEMA


_add_trained_schema(RESULTS_SCHEMA)


__all__ = [
    "CSV_COLUMNS",
    "RESULTS_SCHEMA",
    "RESULTS_VERSION",
    "ExperimentConfig",
    "csv_rows",
    "figures",
    "plan",
    "resolve",
    "run_experiment",
    "summarize",
    "write_results",
]
