"""Classic capacity bounds beside the paper's: ``archbound experiment --capacity``.

For every network of the sweep (and, with ``--trained``, every trained network),
:func:`archbound.capacity_bounds` gives the parameter count, a VC-dimension bound and the
margin bounds of Bartlett et al. (2017) and Neyshabur et al. (2018), the Golowich et al.
(2018) complexity and the path norm (docs/capacity.md). Each sits beside its own truth: the
classic bounds bound the population classification risk, set beside the test
classification error; the paper's lipschitz bound bounds the realised test cost of this
test set, set beside the test cost.

results.json gets a key ``capacity`` only with the option (``#/$defs/capacity`` of
``results.schema.json``): ``margin_quantile``, ``delta`` and ``networks``, one flat row per
network (:func:`row`). results.csv gets the columns :data:`CSV_COLUMNS` on the rows of the
same network, and capacity.png shows every bound against depth and against width.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from archbound._json import finite_or_none
from archbound.capacity import capacity_bounds
from archbound.experiment.records import Record, TestRecord

if TYPE_CHECKING:
    from archbound.experiment.config import ExperimentConfig

#: The quantile of the training margins taken as gamma.
MARGIN_QUANTILE = 0.1


@dataclass
class CapacityRecord(Record):
    """One network's capacity measures beside its truths (``#/$defs/capacity``).

    Attributes
    ----------
    n_train : int
    construction : str
        readout_first, readout_last or trained.
    depth : int
    width : int
        The widest hidden layer.
    hidden : list of int
        The hidden widths.
    n_parameters, vc_dimension, vc_bound, spectral_complexity, bartlett_bound,
    neyshabur_bound, golowich_bound, path_norm, margin, train_error : float or None
        The measures of :func:`archbound.capacity_bounds` (:data:`MEASURES`).
    test_error : float or None
        1 - the test accuracy.
    test_cost : float or None
    paper_bound : float or None
        The lipschitz variant's mean_j B_j^2, which bounds the realised test cost.
    unavailable : dict
        Measure -> why it is not available.
    seconds : float or None
    """

    n_train: int
    construction: str
    depth: int
    width: int
    hidden: list[int]
    n_parameters: int
    vc_dimension: float | None
    vc_bound: float | None
    spectral_complexity: float | None
    bartlett_bound: float | None
    neyshabur_bound: float | None
    golowich_bound: float | None
    path_norm: float | None
    margin: float | None
    train_error: float | None
    test_error: float | None
    test_cost: float | None
    paper_bound: float | None
    unavailable: dict[str, str]
    seconds: float | None

    def key(self) -> tuple:
        """What identifies the network: N, construction, depth, width and hidden widths."""
        return (self.n_train, self.construction, self.depth, self.width, tuple(self.hidden))


_FIELDS = [item.name for item in fields(CapacityRecord)]
#: The measures of a row (the fields of :class:`CapacityRecord` from n_parameters to
#: train_error), in the order of the table and the CSV.
MEASURES = tuple(_FIELDS[_FIELDS.index("n_parameters") : _FIELDS.index("train_error") + 1])
#: Columns added to results.csv (on every row of the network they describe).
CSV_COLUMNS = [f"capacity_{m}" for m in MEASURES] + ["capacity_test_error"]
#: The bounds drawn in capacity.png: key -> legend label and what it bounds.
PLOTTED = {
    "vc_bound": "VC bound (risk)",
    "bartlett_bound": "Bartlett et al. (risk)",
    "neyshabur_bound": "Neyshabur et al. (risk)",
    "golowich_bound": "Golowich et al. (Rademacher)",
    "paper_bound": "paper: lipschitz bound (test cost)",
}
TRUTHS = {"test_error": "test classification error", "test_cost": "test cost"}


def row(
    net: Any,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    n_train: int,
    construction: str,
    hidden: list[int],
    test: TestRecord,
    paper_bound: float | None,
    config: ExperimentConfig,
) -> CapacityRecord:
    """One network's capacity measures beside its truths.

    Parameters
    ----------
    net : Network
    X, Y : ndarray
        The training set, Y one-hot.
    n_train : int
    construction : str
        readout_first, readout_last or trained.
    hidden : list of int
        The hidden widths (the depth is their number, the width the largest).
    test : TestRecord
        The network's truth on the test set.
    paper_bound : float or None
        The lipschitz variant's mean_j B_j^2, which bounds the realised test cost.
    config : ExperimentConfig
        The resolved options (``delta``, ``seed``, ``threads``).
    """
    report = capacity_bounds(
        net,
        X,
        Y,
        delta=config.delta,
        margin_quantile=MARGIN_QUANTILE,
        seed=config.seed,
        threads=config.threads,
    )
    measures: dict[str, Any] = {m: finite_or_none(getattr(report, m)) for m in MEASURES}
    measures["n_parameters"] = int(report.n_parameters)
    accuracy = test.accuracy
    return CapacityRecord(
        n_train=n_train,
        construction=construction,
        depth=len(hidden),
        width=max(hidden),
        hidden=[int(w) for w in hidden],
        **measures,
        test_error=None if accuracy is None else finite_or_none(1.0 - accuracy),
        test_cost=test.test_cost,
        paper_bound=finite_or_none(paper_bound),
        unavailable=dict(report.unavailable),
        seconds=finite_or_none(report.seconds),
    )


@dataclass
class CapacitySection(Record):
    """results.json's ``capacity``, with ``--capacity`` only."""

    margin_quantile: float
    networks: list[CapacityRecord]

    def largest_n(self) -> int | None:
        """The largest N with capacity rows (the one the table and figure show)."""
        values = [r.n_train for r in self.networks]
        return max(values) if values else None


def section(rows: list[CapacityRecord]) -> CapacitySection:
    """results.json's ``capacity``."""
    return CapacitySection(margin_quantile=MARGIN_QUANTILE, networks=rows)


def add_csv_columns(section: CapacitySection | None, rows: list[dict[str, Any]]) -> list[dict]:
    """Fill :data:`CSV_COLUMNS` on the rows of results.csv of each network."""
    if section is None:
        return rows
    table = {r.key(): r for r in section.networks}
    for csv_row in rows:
        hidden = csv_row.get("hidden")
        if hidden is None:
            widths = [csv_row.get("width")] * int(csv_row.get("depth") or 0)
        else:
            widths = [int(w) for w in str(hidden).split("-")]
        found = table.get(
            (
                csv_row["n_train"],
                csv_row.get("construction"),
                csv_row.get("depth"),
                csv_row.get("width"),
                tuple(widths),
            )
        )
        if found is not None:
            csv_row.update({f"capacity_{m}": getattr(found, m) for m in MEASURES})
            csv_row["capacity_test_error"] = found.test_error
    return rows


def figure(
    section: CapacitySection | None, config: ExperimentConfig, name: str, out_dir: str | Path
) -> dict[str, Path]:
    """capacity.png: every bound and truth against depth and against width, at the largest
    N, for each construction (and the trained networks) of the sweep ``config`` on the data
    set called ``name``; return its path."""
    from archbound import plots

    if section is None:
        return {}
    n = section.largest_n()
    nets = [r for r in section.networks if r.n_train == n]
    depths, widths = config.depths or [], config.widths or []
    fixed_width, fixed_depth = max(widths), max(depths)
    panels: list[plots.CapacityPanel] = []
    for axis, fixed in (("depth", ("width", fixed_width)), ("width", ("depth", fixed_depth))):
        series: list[plots.CapacitySeries] = []
        for construction in ("readout_first", "readout_last", "trained"):
            chosen = [r for r in nets if r.construction == construction]
            if construction != "trained":
                chosen = [r for r in chosen if getattr(r, fixed[0]) == fixed[1]]
            chosen = sorted(chosen, key=lambda r: (getattr(r, axis), getattr(r, fixed[0])))
            if not chosen:
                continue
            x = [getattr(r, axis) for r in chosen]
            for key, label in list(PLOTTED.items()) + list(TRUTHS.items()):
                series.append(
                    plots.CapacitySeries(
                        construction=construction,
                        measure=key,
                        label=label,
                        truth=key in TRUTHS,
                        x=x,
                        y=[getattr(r, key) for r in chosen],
                    )
                )
        panels.append(
            plots.CapacityPanel(
                xlabel=f"hidden {'layers L' if axis == 'depth' else 'width M'}",
                title=f"against {axis} ({fixed[0]} {fixed[1]}; trained: as trained)",
                series=series,
            )
        )
    path = plots.capacity(
        panels,
        Path(out_dir) / "capacity.png",
        title=f"{name}, N = {n}: classic bounds (population risk) and the "
        "paper's bound (realised test cost), each beside its truth",
    )
    return {"capacity": path}


__all__ = [
    "CSV_COLUMNS",
    "MARGIN_QUANTILE",
    "MEASURES",
    "CapacityRecord",
    "CapacitySection",
    "add_csv_columns",
    "figure",
    "row",
    "section",
]
