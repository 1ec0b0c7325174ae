"""What the sweep's results say: the per-N summary, results.csv, the figures, and the files
written (:func:`write_results`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from archbound._json import finite_or_none
from archbound.bounds import DISCREPANCY_DISTANCES, VARIANTS
from archbound.experiment.config import CONSTRUCTIONS
from archbound.experiment.records import RUN_COLUMNS


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


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
            discrepancy = {"true": _mean([r["discrepancy"]["true"] for r in nets]), "bounds": {}}
            for distance in DISCREPANCY_DISTANCES:
                values = [
                    r["discrepancy"]["bounds"][distance]
                    for r in nets
                    if distance in r["discrepancy"]["bounds"]
                ]
                if values:
                    discrepancy["bounds"][distance] = {
                        "bound": _mean([v["bound"] for v in values]),
                        "ratio": _mean([v["ratio"] for v in values]),
                    }
            by_n.append(
                {
                    "n_train": run["n_train"],
                    "construction": construction,
                    "n_networks": len(nets),
                    "test_cost": mean_cost,
                    "mean_error": _mean([r["test"]["mean_error"] for r in nets]),
                    "accuracy": _mean([r["test"]["accuracy"] for r in nets]),
                    "test_cost_spread": finite_or_none(spread),
                    "bounds": bounds,
                    "discrepancy": discrepancy,
                }
            )
    average = {}
    for row in by_n:
        for variant, values in row["bounds"].items():
            if values["mean_ratio"] is not None:
                average.setdefault(row["construction"], {}).setdefault(variant, []).append(
                    values["mean_ratio"]
                )
    average = {c: {v: float(np.mean(r)) for v, r in d.items()} for c, d in average.items()}
    return {"by_n": by_n, "average_mean_ratio": average}


#: The columns of results.csv taken from each of a run's networks.
_NETWORK_COLUMNS = (
    "construction",
    "depth",
    "width",
    "train_loss",
    "max_train_error",
    "zero_loss",
)
CSV_COLUMNS = [
    *RUN_COLUMNS,
    *_NETWORK_COLUMNS,
    "test_cost",
    "mean_error",
    "max_error",
    "accuracy",
    "variant",
    "test_cost_bound",
    "ratio",
    "mean_bound",
    "mean_ratio",
    "uniform_bound",
    "lipschitz",
    "violations",
    "bound_seconds",
    "attained_by",
    "true_discrepancy",
    "discrepancy_bound",
    "discrepancy_ratio",
    "discrepancy_coordinates_bound",
    "discrepancy_coordinates_ratio",
]


def csv_rows(results: dict) -> list[dict]:
    """The rows of results.csv: one per (N, network, variant)."""
    rows = []
    for run in results["runs"]:
        base = {k: run[k] for k in RUN_COLUMNS}
        if not run["networks"]:
            rows.append(dict(base))
            continue
        for net in run["networks"]:
            row = dict(base)
            row.update({k: net[k] for k in _NETWORK_COLUMNS})
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
                full.update(
                    {k: v for k, v in values.items() if k not in ("seconds", "attained_by")}
                )
                if "attained_by" in values:  # "lipschitz:0;projected:12;coordinates:437"
                    full["attained_by"] = ";".join(
                        f"{k}:{v}" for k, v in values["attained_by"].items()
                    )
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
    return [
        table.get((run["n_train"], construction), {}).get("discrepancy") for run in results["runs"]
    ]


def _mean_bounds(results: dict, construction: str, variant: str) -> list:
    out = []
    for run in results["runs"]:
        values = [
            net["bounds"][variant]["mean_bound"]
            for net in run["networks"]
            if net["construction"] == construction and variant in net["bounds"]
        ]
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
        cost_truth[f"{construction}: true test cost"] = _series(results, construction, "test_cost")
        error_truth[f"{construction}: true mean |f - y|"] = _series(
            results, construction, "mean_error"
        )
        rows = _discrepancy_series(results, construction)
        if any(r is not None for r in rows):
            gap_truth[f"{construction}: true |C_test - C_train|"] = [
                None if r is None else r["true"] for r in rows
            ]
            for distance in DISCREPANCY_DISTANCES:
                values = [
                    None if r is None else r["bounds"].get(distance, {}).get("bound") for r in rows
                ]
                if any(v is not None for v in values):
                    gap_bounds[f"{construction}: a-priori bound, {distance} distance"] = values
        for variant in results["config"]["variants"]:
            if construction != "readout_first" and variant == "best":
                continue  # its only component is lipschitz: the same line
            values = _series(results, construction, "test_cost_bound", variant)
            if any(v is not None for v in values):
                cost_bounds[f"{construction}: {variant} bound"] = values
                error_bounds[f"{construction}: {variant} mean B"] = _mean_bounds(
                    results, construction, variant
                )
    name = results["dataset"]["name"]
    paths = {
        "bound_vs_n": plots.bound_vs_n(
            n_values,
            [
                {
                    "ylabel": "mean squared test error",
                    "title": "C_test and mean B_j^2",
                    "truth": cost_truth,
                    "bounds": cost_bounds,
                },
                {
                    "ylabel": "mean test error",
                    "title": "mean |f(x) - y| and mean B_j",
                    "truth": error_truth,
                    "bounds": error_bounds,
                },
                {
                    "ylabel": "|C_test - C_train|",
                    "title": "cost discrepancy and its a-priori bound (f not evaluated on test)",
                    "truth": gap_truth,
                    "bounds": gap_bounds,
                },
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
                    bounds[f"{variant} bound"] = [
                        r["bounds"][variant]["test_cost_bound"] for r in nets
                    ]
            groups.append(
                {
                    "title": f"{construction}, N = {run['n_train']}",
                    "labels": [f"L={r['depth']}, M={r['width']}" for r in nets],
                    "truth": {"true test cost": [r["test"]["test_cost"] for r in nets]},
                    "bounds": bounds,
                }
            )
    paths["architectures"] = plots.architectures(
        groups,
        out_dir / "architectures.png",
        ylabel="mean squared test error",
        title=f"{name}: error and bound across depth L and width M",
    )
    return paths


def write_results(results: dict, out_dir) -> dict:
    """Write results.json, results.csv, bound_vs_n.png and architectures.png (and the
    figures of --trained and --capacity).

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
        from archbound.experiment import trained

        columns = CSV_COLUMNS + trained.CSV_COLUMNS
        rows = rows + trained.csv_rows(results)
    if "capacity" in results:  # extra columns only with --capacity
        from archbound.experiment import capacity

        columns = columns + capacity.CSV_COLUMNS
        rows = capacity.add_csv_columns(results, rows)
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
    if "capacity" in results and results["capacity"]["networks"]:
        paths.update(capacity.figure(results, out_dir))
    return paths


__all__ = ["CSV_COLUMNS", "csv_rows", "figures", "summarize", "write_results"]
