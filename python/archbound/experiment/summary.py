"""results.json's ``summary``: per-N means over the architectures (:func:`summarize`).

Typed like the rest of results.json (:mod:`archbound.experiment.records`): a
:class:`SummaryRecord` holds one :class:`SummaryRow` per (N, construction) and the average
mean B / mean error of each variant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from archbound._json import finite_or_none
from archbound.bounds import DISCREPANCY_DISTANCES, VARIANTS
from archbound.construct import METHODS
from archbound.experiment.records import NetworkRecord, Record, RunRecord


def mean_or_none(values: Iterable[float | None]) -> float | None:
    """The mean of the values that are not None (None when there are none)."""
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


@dataclass
class VariantSummary(Record):
    """One variant's means over the architectures of one (N, construction)."""

    test_cost_bound: float | None
    ratio: float | None
    mean_ratio: float | None
    mean_ratio_min: float | None
    mean_ratio_max: float | None


@dataclass
class DistanceSummary(Record):
    """One distance's mean a-priori discrepancy bound and ratio."""

    bound: float | None
    ratio: float | None


@dataclass
class DiscrepancySummary(Record):
    """The mean true |C_test - C_train| and the mean bound of every distance."""

    true: float | None
    bounds: dict[str, DistanceSummary] = field(default_factory=dict)


@dataclass
class SummaryRow(Record):
    """Means over the architectures of one N and one construction.

    Attributes
    ----------
    n_train : int
    construction : str
    n_networks : int
    test_cost, mean_error, accuracy : float or None
        Means of the networks' truths.
    test_cost_spread : float or None
        (max - min) / mean of the test cost across architectures.
    bounds : dict
        Variant -> :class:`VariantSummary`.
    discrepancy : DiscrepancySummary
    """

    n_train: int
    construction: str
    n_networks: int
    test_cost: float | None
    mean_error: float | None
    accuracy: float | None
    test_cost_spread: float | None
    bounds: dict[str, VariantSummary]
    discrepancy: DiscrepancySummary


@dataclass
class SummaryRecord(Record):
    """results.json's ``summary``.

    Attributes
    ----------
    by_n : list of SummaryRow
    average_mean_ratio : dict
        Construction -> variant -> the mean over N of the mean B / mean error.
    """

    by_n: list[SummaryRow]
    average_mean_ratio: dict[str, dict[str, float]]

    def row(self, n_train: int, construction: str) -> SummaryRow | None:
        """The row of one N and construction (None where there is none)."""
        for row in self.by_n:
            if row.n_train == n_train and row.construction == construction:
                return row
        return None


def _variant_summary(nets: list[NetworkRecord], variant: str) -> VariantSummary | None:
    values = [net.bounds[variant] for net in nets if variant in net.bounds]
    if not values:
        return None
    ratios = [v.mean_ratio for v in values if v.mean_ratio is not None]
    return VariantSummary(
        test_cost_bound=mean_or_none(v.test_cost_bound for v in values),
        ratio=mean_or_none(v.ratio for v in values),
        mean_ratio=mean_or_none(ratios),
        mean_ratio_min=min(ratios) if ratios else None,
        mean_ratio_max=max(ratios) if ratios else None,
    )


def _discrepancy_summary(nets: list[NetworkRecord]) -> DiscrepancySummary:
    gaps = [net.discrepancy for net in nets if net.discrepancy is not None]
    out = DiscrepancySummary(true=mean_or_none(gap.true for gap in gaps))
    for distance in DISCREPANCY_DISTANCES:
        values = [gap.bounds[distance] for gap in gaps if distance in gap.bounds]
        if values:
            out.bounds[distance] = DistanceSummary(
                bound=mean_or_none(v.bound for v in values),
                ratio=mean_or_none(v.ratio for v in values),
            )
    return out


def _summary_row(n_train: int, construction: str, nets: list[NetworkRecord]) -> SummaryRow:
    costs = [net.test.test_cost for net in nets if net.test.test_cost is not None]
    mean_cost = mean_or_none(costs)
    spread = None
    if costs and mean_cost:
        spread = (max(costs) - min(costs)) / mean_cost
    bounds = {}
    for variant in VARIANTS:
        summary = _variant_summary(nets, variant)
        if summary is not None:
            bounds[variant] = summary
    return SummaryRow(
        n_train=n_train,
        construction=construction,
        n_networks=len(nets),
        test_cost=mean_cost,
        mean_error=mean_or_none(net.test.mean_error for net in nets),
        accuracy=mean_or_none(net.test.accuracy for net in nets),
        test_cost_spread=finite_or_none(spread),
        bounds=bounds,
        discrepancy=_discrepancy_summary(nets),
    )


def summarize(runs: list[RunRecord]) -> SummaryRecord:
    """Per-N means over the architectures, and the average margin of each variant."""
    by_n = []
    for run in runs:
        if run.status != "ok":
            continue
        for construction in METHODS:
            nets = [net for net in run.networks if net.construction == construction]
            if nets:
                by_n.append(_summary_row(run.n_train, construction, nets))
    ratios: dict[str, dict[str, list[float]]] = {}
    for row in by_n:
        for variant, values in row.bounds.items():
            if values.mean_ratio is not None:
                ratios.setdefault(row.construction, {}).setdefault(variant, []).append(
                    values.mean_ratio
                )
    average = {c: {v: float(np.mean(r)) for v, r in d.items()} for c, d in ratios.items()}
    return SummaryRecord(by_n=by_n, average_mean_ratio=average)


__all__ = [
    "DiscrepancySummary",
    "DistanceSummary",
    "SummaryRecord",
    "SummaryRow",
    "VariantSummary",
    "mean_or_none",
    "summarize",
]
