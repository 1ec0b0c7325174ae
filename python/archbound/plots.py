"""The command line's figures, drawn with matplotlib's Agg canvas (no display needed).

Every function takes plain data (lists of numbers, :class:`Panel` objects or dicts), writes
one PNG to ``path`` (str or path-like), with the optional ``title`` above its panels, and
returns that path (a :class:`pathlib.Path`). In every list of values, None, NaN or a value
<= 0 leaves a gap on the log axes. Figures are built on :class:`matplotlib.figure.Figure`
directly, never through pyplot, so no global backend state is touched and nothing is left
open.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

_DPI = 120
#: Values of one line, one per x (None leaves a gap).
Values = Sequence[float | None]


@dataclass(frozen=True)
class Panel:
    """One panel of lines: the truth drawn thick, the bounds with markers.

    Attributes
    ----------
    title : str
    ylabel : str
    labels : list of str
        The x tick labels of :func:`architectures` (one per architecture, e.g.
        ``"L=2, M=64"``); unused by :func:`bound_vs_n`, whose x values are N.
    truth : dict
        Label -> values, one per x.
    bounds : dict
        Label -> values, one per x.
    """

    title: str = ""
    ylabel: str = ""
    labels: list[str] = field(default_factory=list)
    truth: dict[str, Values] = field(default_factory=dict)
    bounds: dict[str, Values] = field(default_factory=dict)

    @classmethod
    def of(cls, panel: Panel | Mapping[str, Any]) -> Panel:
        """A Panel, or one from a dict with the same keys."""
        return panel if isinstance(panel, Panel) else cls(**panel)


def _save(figure: Figure, path: str | os.PathLike, title: str | None, dpi: int = _DPI) -> Path:
    """Put the title above the panels, write the PNG and return its path."""
    if title:
        figure.suptitle(title, fontsize=11)
    path = Path(path)
    FigureCanvasAgg(figure)
    figure.savefig(os.fspath(path), dpi=dpi)
    return path


def _bound_style(index: int) -> dict:
    """Distinct markers and dashes, so that bounds that coincide stay visible."""
    markers = ("o", "^", "s", "D", "v", "P")
    dashes = ("-", "--", "-.", ":")
    return {
        "marker": markers[index % len(markers)],
        "markersize": 4.5,
        "linestyle": dashes[index % len(dashes)],
        "markerfacecolor": "none",
    }


def _positive(values: Values) -> list[float]:
    """Replace non-positive or missing values by NaN, so that log axes skip them."""
    out = []
    for value in values:
        if value is not None and math.isfinite(value) and value > 0:
            out.append(float(value))
        else:
            out.append(math.nan)
    return out


def _log_n_axes(ax: Any, n_train: Sequence[int]) -> None:
    """Log-log axes against the training-set size N, with a labelled tick at every N."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(FixedLocator([float(n) for n in n_train]))
    ax.xaxis.set_major_formatter(FixedFormatter([str(n) for n in n_train]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("training samples N")


def bound_vs_n(
    n_train: Sequence[int],
    panels: Sequence[Panel | Mapping[str, Any]],
    path: str | os.PathLike,
    *,
    title: str | None = None,
) -> Path:
    """Lines against the training-set size N, on log-log axes, one :class:`Panel` per
    quantity (its lists have one value per N; the truth in black-ish lines)."""
    figure = Figure(figsize=(5.2 * max(1, len(panels)), 4.2), layout="constrained")
    axes = figure.subplots(1, max(1, len(panels)), squeeze=False)[0]
    truth_styles = [("black", "-"), ("dimgray", "--"), ("gray", ":")]
    for ax, panel in zip(axes, map(Panel.of, panels)):
        for k, (label, values) in enumerate(panel.truth.items()):
            color, style = truth_styles[k % len(truth_styles)]
            ax.plot(
                n_train,
                _positive(values),
                color=color,
                linestyle=style,
                linewidth=2.2,
                label=label,
            )
        for k, (label, values) in enumerate(panel.bounds.items()):
            ax.plot(n_train, _positive(values), label=label, **_bound_style(k))
        _log_n_axes(ax, n_train)
        gaps = [math.log10(b / a) for a, b in zip(n_train[:-1], n_train[1:]) if a > 0 and b > 0]
        if gaps and min(gaps) < 0.15:  # close ticks on a log axis: tilt the labels apart
            ax.tick_params(axis="x", labelrotation=45)
        ax.set_ylabel(panel.ylabel)
        if panel.title:
            ax.set_title(panel.title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    return _save(figure, path, title)


def architectures(
    groups: Sequence[Panel | Mapping[str, Any]],
    path: str | os.PathLike,
    *,
    ylabel: str = "test cost",
    title: str | None = None,
) -> Path:
    """Truth and bounds across architectures, one :class:`Panel` per construction (its
    ``labels`` name the architectures, its lists have one value per architecture; a panel
    without labels is left out); ``ylabel`` is the shared y axis'."""
    panels = [p for p in map(Panel.of, groups) if p.labels]
    n_panels = max(1, len(panels))
    widest = max([len(p.labels) for p in panels] + [1])
    figure = Figure(figsize=(max(5.0, 0.38 * widest + 2.5) * n_panels, 4.6), layout="constrained")
    axes = figure.subplots(1, n_panels, squeeze=False, sharey=True)[0]
    for ax, group in zip(axes, panels):
        x = list(range(len(group.labels)))
        for label, values in group.truth.items():
            ax.plot(
                x,
                _positive(values),
                color="black",
                linewidth=2.2,
                marker="s",
                markersize=4,
                label=label,
            )
        for k, (label, values) in enumerate(group.bounds.items()):
            ax.plot(x, _positive(values), label=label, **_bound_style(k))
        ax.set_yscale("log")
        ax.set_xticks(x)
        ax.set_xticklabels(group.labels, rotation=60, ha="right", fontsize=7)
        ax.set_title(group.title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel(ylabel)
    if not panels:
        axes[0].text(
            0.5, 0.5, "no architecture could be built", ha="center", transform=axes[0].transAxes
        )
    return _save(figure, path, title)


def spectrum(
    singular_values: Sequence[float],
    path: str | os.PathLike,
    *,
    tolerance: float | None = None,
    rank: int | None = None,
    title: str | None = None,
) -> Path:
    """Singular values sigma_1 >= sigma_2 >= ... on a log axis, with the rank cut-off.

    Parameters
    ----------
    singular_values : list of float
        In decreasing order.
    tolerance : float, optional
        Values at or below it count as zero; drawn as a horizontal line.
    rank : int, optional
        Drawn as a vertical line.
    title : str, optional
        Above the axes.
    """
    figure = Figure(figsize=(6.0, 4.2), layout="constrained")
    ax = figure.subplots()
    values = [float(v) for v in singular_values]
    floor = min([v for v in values if v > 0] + [1.0]) / 10.0
    shown = [v if v > 0 else floor for v in values]
    ax.semilogy(
        range(1, len(values) + 1),
        shown,
        marker=".",
        markersize=4,
        color="tab:blue",
        label="singular values of X",
    )
    if tolerance is not None and tolerance > 0:
        ax.axhline(
            tolerance,
            color="tab:red",
            linestyle="--",
            linewidth=1,
            label=f"rank tolerance {tolerance:.2e}",
        )
    if rank is not None:
        ax.axvline(
            rank + 0.5, color="tab:gray", linestyle=":", linewidth=1, label=f"rank = {rank}"
        )
    ax.set_xlabel("index i")
    ax.set_ylabel("sigma_i")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(figure, path, None)


def monitor_history(
    series: Sequence[Mapping[str, Any]], path: str | os.PathLike, *, title: str | None = None
) -> Path:
    """Weight norms and bounds along training runs, one row of two panels per run.

    Parameters
    ----------
    series : list of dict
        One dict per run (see :func:`archbound.monitor.history_series`): ``"label"``
        (str), ``"steps"`` (list of int), ``"norms"`` (one list per layer of certified
        upper norms, one value per step), ``"lipschitz"``, ``"train_cost"``,
        ``"test_cost"`` and ``"test_cost_bound"`` (lists, one value per step; None where a
        record has no bound).
    """
    rows = max(1, len(series))
    figure = Figure(figsize=(9.6, 2.9 * rows + 0.4), layout="constrained")
    axes = figure.subplots(rows, 2, squeeze=False)
    for (left, right), run in zip(axes, series):
        steps = run["steps"]
        for k, values in enumerate(run["norms"]):
            left.plot(steps, _positive(values), linewidth=1.2, label=f"||W_{k + 1}||")
        left.plot(
            steps,
            _positive(run["lipschitz"]),
            color="black",
            linewidth=2.2,
            label="Lip <= prod ||W_l||",
        )
        left.set_yscale("log")
        left.set_ylabel("certified upper norm")
        right.plot(
            steps,
            _positive(run["train_cost"]),
            color="tab:gray",
            linestyle=":",
            linewidth=1.6,
            label="training cost",
        )
        bounded = [i for i, v in enumerate(run["test_cost_bound"]) if v is not None]
        if bounded:
            at = [steps[i] for i in bounded]
            right.plot(
                at,
                _positive([run["test_cost"][i] for i in bounded]),
                color="black",
                linewidth=2.2,
                label="true test cost",
            )
            right.plot(
                at,
                _positive([run["test_cost_bound"][i] for i in bounded]),
                label="lipschitz bound mean B_j^2",
                **_bound_style(0),
            )
        right.set_yscale("log")
        right.set_ylabel("mean squared error")
        for ax, what in ((left, "norms"), (right, "errors")):
            ax.set_xlabel("step")
            ax.grid(True, which="major", alpha=0.3)
            ax.legend(fontsize=7)
            if run.get("label"):
                ax.set_title(f"{run['label']}: {what}", fontsize=10)
    return _save(figure, path, title, dpi=100)  # several rows: keep the PNG small


def trained_vs_constructed(
    n_train: Sequence[int],
    series: Sequence[Mapping[str, Any]],
    path: str | os.PathLike,
    *,
    title: str | None = None,
) -> Path:
    """Trained networks beside the constructed minimizer over N: error, bound, Lipschitz.

    Parameters
    ----------
    n_train : list of int
        The x values, N.
    series : list of dict
        One dict per network family: ``"label"``, ``"test_cost"`` (the truth),
        ``"test_cost_bound"`` (the lipschitz bound) and ``"lipschitz"`` (rho^L prod ||W_l||,
        rho the activation's constant), each a list with one value per N (None leaves a
        gap). The same colour marks a
        family in both panels; solid lines are the truth, dashed ones the bound.
    """
    figure = Figure(figsize=(10.4, 5.4), layout="constrained")
    costs, lips = figure.subplots(1, 2, squeeze=True)
    colors = ("black", "tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")
    for k, run in enumerate(series):
        lines: list[tuple[Any, str, str, dict[str, Any]]] = [
            (costs, "test_cost", f"{run['label']}: true test cost", {"linewidth": 1.8}),
            (
                costs,
                "test_cost_bound",
                f"{run['label']}: lipschitz bound",
                {"marker": "^", "linestyle": "--", "markerfacecolor": "none"},
            ),
            (lips, "lipschitz", run["label"], {}),
        ]
        for ax, key, label, style in lines:
            style = {"marker": "o", **style}
            ax.plot(
                n_train,
                _positive(run[key]),
                color=colors[k % len(colors)],
                markersize=4,
                label=label,
                **style,
            )
    for ax, ylabel in ((costs, "mean squared test error"), (lips, "Lip <= rho^L prod ||W_l||")):
        _log_n_axes(ax, n_train)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    return _save(figure, path, title)


#: Line styles of the constructions in :func:`capacity` (trained: markers only).
_CONSTRUCTION_STYLES: dict[str, dict[str, Any]] = {
    "readout_first": {"linestyle": "-", "marker": "o"},
    "readout_last": {"linestyle": "--", "marker": "s"},
    "trained": {"linestyle": "none", "marker": "^"},
}


@dataclass(frozen=True)
class CapacitySeries:
    """One line of :func:`capacity`.

    Attributes
    ----------
    construction : str
        readout_first, readout_last or trained: the line style.
    measure : str
        What is drawn: the colour, the same in every panel.
    label : str
        The legend entry of the measure.
    truth : bool
        A truth (drawn thick) rather than a bound.
    x : list of int
        Depths or widths.
    y : list of float or None
        One value per x.
    """

    construction: str
    measure: str
    label: str
    truth: bool
    x: list[int]
    y: Values


@dataclass(frozen=True)
class CapacityPanel:
    """One panel of :func:`capacity`: its lines against one x axis."""

    xlabel: str
    title: str
    series: list[CapacitySeries]


def capacity(
    panels: Sequence[CapacityPanel], path: str | os.PathLike, *, title: str | None = None
) -> Path:
    """Classic bounds, the paper's bound and the truths against depth and width (log y),
    one :class:`CapacityPanel` per x axis; x spanning a factor of 8 or more is drawn on a
    log axis."""
    from matplotlib.lines import Line2D

    figure = Figure(figsize=(12.0, 5.6), layout="constrained")
    axes = figure.subplots(1, max(1, len(panels)), squeeze=False)[0]
    palette = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:red")
    truth_colors = ("black", "dimgray")
    colors: dict[str, str] = {}
    labels: dict[str, tuple[str, bool]] = {}
    constructions: list[str] = []
    for panel in panels:
        for s in panel.series:
            if s.measure not in colors:
                pool = truth_colors if s.truth else palette
                used = sum(1 for m in colors if labels[m][1] == s.truth)
                colors[s.measure] = pool[used % len(pool)]
                labels[s.measure] = (s.label, s.truth)
            if s.construction not in constructions:
                constructions.append(s.construction)
    for ax, panel in zip(axes, panels):
        for s in panel.series:
            ax.plot(
                s.x,
                _positive(s.y),
                color=colors[s.measure],
                linewidth=2.4 if s.truth else 1.3,
                markersize=5,
                markerfacecolor="none" if not s.truth else colors[s.measure],
                **_CONSTRUCTION_STYLES.get(s.construction, {}),
            )
        ax.set_yscale("log")
        xs = sorted({x for s in panel.series for x in s.x})
        if xs and min(xs) > 0 and max(xs) / min(xs) >= 8:
            ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(FixedLocator([float(x) for x in xs]))
        ax.xaxis.set_major_formatter(FixedFormatter([str(x) for x in xs]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.axhline(1.0, color="gray", linewidth=0.8, linestyle=":")
        ax.set_xlabel(panel.xlabel)
        ax.set_title(panel.title, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("bound or truth (dotted line: 1, a 0-1 risk above it is vacuous)")
    handles = [
        Line2D([], [], color=colors[m], linewidth=2.4 if truth else 1.3, label=label)
        for m, (label, truth) in labels.items()
    ] + [
        Line2D([], [], color="gray", label=c, **_CONSTRUCTION_STYLES.get(c, {}))
        for c in constructions
    ]
    figure.legend(handles=handles, loc="outside lower center", ncol=5, fontsize=8)
    return _save(figure, path, title, dpi=100)


__all__ = [
    "CapacityPanel",
    "CapacitySeries",
    "Panel",
    "architectures",
    "bound_vs_n",
    "capacity",
    "monitor_history",
    "spectrum",
    "trained_vs_constructed",
]
