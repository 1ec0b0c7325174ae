"""The files of the sweep: results.csv (:func:`csv_rows`) and :func:`write_results`, which
writes results.json, results.csv and the figures from the typed results."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from archbound.experiment import capacity, trained
from archbound.experiment.figures import figures
from archbound.experiment.records import CSV_COLUMNS
from archbound.experiment.results import ExperimentResults
from archbound.experiment.summary import summarize


def csv_rows(results: ExperimentResults) -> list[dict[str, Any]]:
    """The rows of results.csv: one per (N, network, variant)."""
    rows = []
    for run in results.runs:
        base = run.csv_values()
        if not run.networks:
            rows.append(dict(base))
            continue
        for net in run.networks:
            row = base | net.csv_values() | net.test.csv_values()
            if net.discrepancy is not None:
                row |= net.discrepancy.csv_values()
            if not net.bounds:
                rows.append(row)
            for variant, bound in net.bounds.items():
                rows.append(row | {"variant": variant} | bound.csv_values())
    return rows


def write_results(results: ExperimentResults, out_dir: str | Path) -> dict[str, Path]:
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
    columns, rows = list(CSV_COLUMNS), csv_rows(results)
    if results.trained is not None:  # extra rows and columns only with --trained
        columns += trained.CSV_COLUMNS
        rows += trained.csv_rows(results.trained, results.runs)
    if results.capacity is not None:  # extra columns only with --capacity
        columns += capacity.CSV_COLUMNS
        rows = capacity.add_csv_columns(results.capacity, rows)
    with open(paths["json"], "w") as stream:
        json.dump(results.to_dict(), stream, indent=1, allow_nan=False)
        stream.write("\n")
    with open(paths["csv"], "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    paths.update(figures(results, out_dir))
    paths.update(trained.figures(results.trained, results.dataset.name, out_dir))
    if results.capacity is not None and results.capacity.networks:
        paths.update(
            capacity.figure(results.capacity, results.config, results.dataset.name, out_dir)
        )
    if results.certificates is not None:
        from archbound.experiment.certify import figure as certificates_figure

        paths["certificates"] = certificates_figure(results.certificates, out_dir)
    return paths


__all__ = ["CSV_COLUMNS", "csv_rows", "figures", "summarize", "write_results"]
