"""The sweep's figures: bound_vs_n.png and architectures.png (:func:`figures`), drawn from
the typed results (:class:`~archbound.experiment.results.ExperimentResults`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archbound.bounds import DISCREPANCY_DISTANCES
from archbound.construct import METHODS
from archbound.experiment.results import ExperimentResults
from archbound.experiment.summary import SummaryRow, mean_or_none

Lines = dict[str, list[Any]]


def _rows(results: ExperimentResults, construction: str) -> list[SummaryRow | None]:
    """The summary row of every N of the sweep (None where there is none)."""
    return [results.summary.row(run.n_train, construction) for run in results.runs]


def _mean_bounds(results: ExperimentResults, construction: str, variant: str) -> list:
    """Per N, the mean over the architectures of the variant's mean_j B_j."""
    return [
        mean_or_none(
            net.bounds[variant].mean_bound
            for net in run.networks
            if net.construction == construction and variant in net.bounds
        )
        for run in results.runs
    ]


def _bound_vs_n_panels(results: ExperimentResults) -> list[dict[str, Any]]:
    """The three panels of bound_vs_n.png: test cost, mean error, cost discrepancy."""
    cost_truth: Lines = {}
    cost_bounds: Lines = {}
    error_truth: Lines = {}
    error_bounds: Lines = {}
    gap_truth: Lines = {}
    gap_bounds: Lines = {}
    for construction in METHODS:
        if not any(row.construction == construction for row in results.summary.by_n):
            continue
        rows = _rows(results, construction)
        cost_truth[f"{construction}: true test cost"] = [r and r.test_cost for r in rows]
        error_truth[f"{construction}: true mean |f - y|"] = [r and r.mean_error for r in rows]
        gaps = [None if r is None else r.discrepancy for r in rows]
        if any(g is not None for g in gaps):
            gap_truth[f"{construction}: true |C_test - C_train|"] = [g and g.true for g in gaps]
            for distance in DISCREPANCY_DISTANCES:
                values = [
                    None if g is None or distance not in g.bounds else g.bounds[distance].bound
                    for g in gaps
                ]
                if any(v is not None for v in values):
                    gap_bounds[f"{construction}: a-priori bound, {distance} distance"] = values
        for variant in results.config.variants:
            if construction != "readout_first" and variant == "best":
                continue  # its only component is lipschitz: the same line
            values = [
                None if r is None or variant not in r.bounds else r.bounds[variant].test_cost_bound
                for r in rows
            ]
            if any(v is not None for v in values):
                cost_bounds[f"{construction}: {variant} bound"] = values
                error_bounds[f"{construction}: {variant} mean B"] = _mean_bounds(
                    results, construction, variant
                )
    return [
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
    ]


def _architecture_groups(results: ExperimentResults) -> list[dict[str, Any]]:
    """One panel of architectures.png per construction, at the largest N that ran."""
    ok = [run for run in results.runs if run.status == "ok" and run.networks]
    groups: list[dict[str, Any]] = []
    if not ok:
        return groups
    run = ok[-1]
    for construction in METHODS:
        nets = [net for net in run.networks if net.construction == construction]
        if not nets:
            continue
        bounds = {
            f"{variant} bound": [net.bounds[variant].test_cost_bound for net in nets]
            for variant in results.config.variants
            if all(variant in net.bounds for net in nets)
        }
        groups.append(
            {
                "title": f"{construction}, N = {run.n_train}",
                "labels": [f"L={net.depth}, M={net.width}" for net in nets],
                "truth": {"true test cost": [net.test.test_cost for net in nets]},
                "bounds": bounds,
            }
        )
    return groups


def figures(results: ExperimentResults, out_dir: str | Path) -> dict[str, Path]:
    """Draw bound_vs_n.png and architectures.png; return their paths."""
    from archbound import plots

    out_dir = Path(out_dir)
    name = results.dataset.name
    title = f"{name}: bounds against the true test error (means over architectures)"
    skipped = [str(run.n_train) for run in results.runs if run.status != "ok"]
    if skipped:  # the sweep's N where zero loss is unattainable (rank(X) < N) draw nothing
        title += f"; N = {', '.join(skipped)} skipped: zero training loss unattainable"
    return {
        "bound_vs_n": plots.bound_vs_n(
            [run.n_train for run in results.runs],
            _bound_vs_n_panels(results),
            out_dir / "bound_vs_n.png",
            title=title,
        ),
        "architectures": plots.architectures(
            _architecture_groups(results),
            out_dir / "architectures.png",
            ylabel="mean squared test error",
            title=f"{name}: error and bound across depth L and width M",
        ),
    }


__all__ = ["figures"]
