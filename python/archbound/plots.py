"""The command line's figures, drawn with matplotlib's Agg canvas (no display needed).

Every function takes plain data (lists and dicts of numbers), writes one PNG and returns
its path. Figures are built on :class:`matplotlib.figure.Figure` directly, never through
pyplot, so no global backend state is touched and nothing is left open.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

_DPI = 120


def _save(figure: Figure, path, dpi: int = _DPI) -> Path:
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


def _positive(values):
    """Replace non-positive or missing values by NaN, so that log axes skip them."""
    out = []
    for value in values:
        ok = value is not None and math.isfinite(value) and value > 0
        out.append(float(value) if ok else math.nan)
    return out


def _log_n_axes(ax, n_train) -> None:
    """Log-log axes against the training-set size N, with a labelled tick at every N."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(FixedLocator([float(n) for n in n_train]))
    ax.xaxis.set_major_formatter(FixedFormatter([str(n) for n in n_train]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("training samples N")


def bound_vs_n(n_train, panels, path, *, title=None) -> Path:
    """Lines against the training-set size N, on log-log axes, one panel per quantity.

    Parameters
    ----------
    n_train : list of int
        The x values, N.
    panels : list of dict
        One dict per panel, with ``"ylabel"`` (str), optional ``"title"``, ``"truth"``
        (dict label -> list of float, drawn as thick black-ish lines) and ``"bounds"``
        (dict label -> list of float, drawn with markers). Each list has one value per N;
        None, NaN or values <= 0 leave a gap.
    path : str or path-like
        The PNG to write.
    title : str, optional

    Returns
    -------
    pathlib.Path
    """
    figure = Figure(figsize=(5.2 * max(1, len(panels)), 4.2), layout="constrained")
    axes = figure.subplots(1, max(1, len(panels)), squeeze=False)[0]
    truth_styles = [("black", "-"), ("dimgray", "--"), ("gray", ":")]
    for ax, panel in zip(axes, panels):
        for k, (label, values) in enumerate(panel.get("truth", {}).items()):
            color, style = truth_styles[k % len(truth_styles)]
            ax.plot(
                n_train,
                _positive(values),
                color=color,
                linestyle=style,
                linewidth=2.2,
                label=label,
            )
        for k, (label, values) in enumerate(panel.get("bounds", {}).items()):
            ax.plot(n_train, _positive(values), label=label, **_bound_style(k))
        _log_n_axes(ax, n_train)
        gaps = [math.log10(b / a) for a, b in zip(n_train[:-1], n_train[1:]) if a > 0 and b > 0]
        if gaps and min(gaps) < 0.15:  # close ticks on a log axis: tilt the labels apart
            ax.tick_params(axis="x", labelrotation=45)
        ax.set_ylabel(panel.get("ylabel", ""))
        if panel.get("title"):
            ax.set_title(panel["title"], fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        figure.suptitle(title, fontsize=11)
    return _save(figure, path)


def architectures(groups, path, *, ylabel="test cost", title=None) -> Path:
    """Truth and bounds across architectures, one panel per construction.

    Parameters
    ----------
    groups : list of dict
        One dict per panel: ``"title"`` (str), ``"labels"`` (list of str, one per
        architecture, e.g. ``"L=2, M=64"``), ``"truth"`` and ``"bounds"`` (dict label ->
        list of float, one value per architecture).
    path : str or path-like
        The PNG to write.
    ylabel, title : str

    Returns
    -------
    pathlib.Path
    """
    groups = [g for g in groups if g.get("labels")]
    n_panels = max(1, len(groups))
    widest = max([len(g["labels"]) for g in groups] + [1])
    figure = Figure(figsize=(max(5.0, 0.38 * widest + 2.5) * n_panels, 4.6), layout="constrained")
    axes = figure.subplots(1, n_panels, squeeze=False, sharey=True)[0]
    for ax, group in zip(axes, groups):
        x = list(range(len(group["labels"])))
        for label, values in group.get("truth", {}).items():
            ax.plot(
                x,
                _positive(values),
                color="black",
                linewidth=2.2,
                marker="s",
                markersize=4,
                label=label,
            )
        for k, (label, values) in enumerate(group.get("bounds", {}).items()):
            ax.plot(x, _positive(values), label=label, **_bound_style(k))
        ax.set_yscale("log")
        ax.set_xticks(x)
        ax.set_xticklabels(group["labels"], rotation=60, ha="right", fontsize=7)
        ax.set_title(group.get("title", ""), fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel(ylabel)
    if not groups:
        axes[0].text(
            0.5, 0.5, "no architecture could be built", ha="center", transform=axes[0].transAxes
        )
    if title:
        figure.suptitle(title, fontsize=11)
    return _save(figure, path)


def spectrum(singular_values, path, *, tolerance=None, rank=None, title=None) -> Path:
    """Singular values sigma_1 >= sigma_2 >= ... on a log axis, with the rank cut-off.

    Parameters
    ----------
    singular_values : list of float
        In decreasing order.
    path : str or path-like
        The PNG to write.
    tolerance : float, optional
        Values at or below it count as zero; drawn as a horizontal line.
    rank : int, optional
        Drawn as a vertical line.
    title : str, optional

    Returns
    -------
    pathlib.Path
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
    return _save(figure, path)


def monitor_history(series, path, *, title=None) -> Path:
    """Weight norms and bounds along training runs, one row of two panels per run.

    Parameters
    ----------
    series : list of dict
        One dict per run (see :func:`archbound.monitor.history_series`): ``"label"``
        (str), ``"steps"`` (list of int), ``"norms"`` (one list per layer of certified
        upper norms, one value per step), ``"lipschitz"``, ``"train_cost"``,
        ``"test_cost"`` and ``"test_cost_bound"`` (lists, one value per step; None where a
        record has no bound).
    path : str or path-like
        The PNG to write.
    title : str, optional

    Returns
    -------
    pathlib.Path
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
    if title:
        figure.suptitle(title, fontsize=11)
    return _save(figure, path, dpi=100)  # several rows: keep the PNG small


def trained_vs_constructed(n_train, series, path, *, title=None) -> Path:
    """Trained networks beside the constructed minimizer over N: error, bound, Lipschitz.

    Parameters
    ----------
    n_train : list of int
        The x values, N.
    series : list of dict
        One dict per network family: ``"label"``, ``"test_cost"`` (the truth),
        ``"test_cost_bound"`` (the lipschitz bound) and ``"lipschitz"`` (prod ||W_l||),
        each a list with one value per N (None leaves a gap). The same colour marks a
        family in both panels; solid lines are the truth, dashed ones the bound.
    path : str or path-like
        The PNG to write.
    title : str, optional

    Returns
    -------
    pathlib.Path
    """
    figure = Figure(figsize=(10.4, 5.4), layout="constrained")
    costs, lips = figure.subplots(1, 2, squeeze=True)
    colors = ("black", "tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")
    for k, run in enumerate(series):
        color = colors[k % len(colors)]
        costs.plot(
            n_train,
            _positive(run["test_cost"]),
            color=color,
            marker="o",
            markersize=4,
            linewidth=1.8,
            label=f"{run['label']}: true test cost",
        )
        costs.plot(
            n_train,
            _positive(run["test_cost_bound"]),
            color=color,
            marker="^",
            markersize=4,
            linestyle="--",
            markerfacecolor="none",
            label=f"{run['label']}: lipschitz bound",
        )
        lips.plot(
            n_train,
            _positive(run["lipschitz"]),
            color=color,
            marker="o",
            markersize=4,
            label=run["label"],
        )
    for ax, ylabel in ((costs, "mean squared test error"), (lips, "Lip <= prod ||W_l||")):
        _log_n_axes(ax, n_train)
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    if title:
        figure.suptitle(title, fontsize=11)
    return _save(figure, path)


#: Line styles of the constructions in :func:`capacity` (trained: markers only).
_CONSTRUCTION_STYLES = {
    "readout_first": {"linestyle": "-", "marker": "o"},
    "readout_last": {"linestyle": "--", "marker": "s"},
    "trained": {"linestyle": "none", "marker": "^"},
}


def capacity(panels, path, *, title=None) -> Path:
    """Classic bounds, the paper's bound and the truths against depth and width, log y.

    Parameters
    ----------
    panels : list of dict
        One dict per panel: ``"xlabel"``, ``"title"`` and ``"series"``, a list of dicts
        with ``"construction"`` (readout_first, readout_last or trained: the line style),
        ``"measure"`` (the colour), ``"label"``, ``"truth"`` (bool: drawn thick) and
        ``"x"``, ``"y"`` (lists; None or values <= 0 leave a gap).
    path : str or path-like
        The PNG to write.
    title : str, optional

    Returns
    -------
    pathlib.Path
    """
    from matplotlib.lines import Line2D

    figure = Figure(figsize=(12.0, 5.6), layout="constrained")
    axes = figure.subplots(1, max(1, len(panels)), squeeze=False)[0]
    palette = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:red")
    truth_colors = ("black", "dimgray")
    colors, labels, constructions = {}, {}, []
    for panel in panels:
        for s in panel["series"]:
            if s["measure"] not in colors:
                pool = truth_colors if s["truth"] else palette
                used = sum(1 for m in colors if labels[m][1] == s["truth"])
                colors[s["measure"]] = pool[used % len(pool)]
                labels[s["measure"]] = (s["label"], s["truth"])
            if s["construction"] not in constructions:
                constructions.append(s["construction"])
    for ax, panel in zip(axes, panels):
        for s in panel["series"]:
            ax.plot(
                s["x"],
                _positive(s["y"]),
                color=colors[s["measure"]],
                linewidth=2.4 if s["truth"] else 1.3,
                markersize=5,
                markerfacecolor="none" if not s["truth"] else colors[s["measure"]],
                **_CONSTRUCTION_STYLES.get(s["construction"], {}),
            )
        ax.set_yscale("log")
        xs = sorted({x for s in panel["series"] for x in s["x"]})
        if xs and min(xs) > 0 and max(xs) / min(xs) >= 8:
            ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(FixedLocator([float(x) for x in xs]))
        ax.xaxis.set_major_formatter(FixedFormatter([str(x) for x in xs]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.axhline(1.0, color="gray", linewidth=0.8, linestyle=":")
        ax.set_xlabel(panel["xlabel"])
        ax.set_title(panel["title"], fontsize=10)
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
    if title:
        figure.suptitle(title, fontsize=11)
    return _save(figure, path, dpi=100)


__all__ = [
    "architectures",
    "bound_vs_n",
    "capacity",
    "monitor_history",
    "spectrum",
    "trained_vs_constructed",
]
