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

from pathlib import Path

from archbound._json import finite_or_none
from archbound.capacity import capacity_bounds

#: The quantile of the training margins taken as gamma.
MARGIN_QUANTILE = 0.1
#: The measures of a row, in the order of the table and the CSV.
MEASURES = (
    "n_parameters",
    "vc_dimension",
    "vc_bound",
    "spectral_complexity",
    "bartlett_bound",
    "neyshabur_bound",
    "golowich_bound",
    "path_norm",
    "margin",
    "train_error",
)
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


def row(net, X, Y, *, where: dict, test: dict, paper_bound, config) -> dict:
    """One network's capacity measures beside its truths.

    Parameters
    ----------
    net : Network
    X, Y : ndarray
        The training set, Y one-hot.
    where : dict
        ``n_train``, ``construction`` (readout_first, readout_last or trained), ``depth``,
        ``width`` (the widest hidden layer) and ``hidden`` (the hidden widths).
    test : dict
        The network's ``test`` record (``test_cost``, ``accuracy``, ...).
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
    accuracy = test.get("accuracy")
    out = dict(where)
    out.update({m: finite_or_none(getattr(report, m)) for m in MEASURES})
    out["n_parameters"] = int(report.n_parameters)
    out.update(
        {
            "test_error": None if accuracy is None else finite_or_none(1.0 - accuracy),
            "test_cost": test.get("test_cost"),
            "paper_bound": finite_or_none(paper_bound),
            "unavailable": dict(report.unavailable),
            "seconds": finite_or_none(report.seconds),
        }
    )
    return out


def section(rows: list[dict]) -> dict:
    """results.json's ``capacity``."""
    return {"margin_quantile": MARGIN_QUANTILE, "networks": rows}


def _key(r: dict) -> tuple:
    return (r["n_train"], r["construction"], r["depth"], r["width"], tuple(r["hidden"]))


def add_csv_columns(results: dict, rows: list[dict]) -> list[dict]:
    """Fill :data:`CSV_COLUMNS` on the rows of results.csv of each network."""
    table = {_key(r): r for r in results["capacity"]["networks"]}
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
            csv_row.update({f"capacity_{m}": found[m] for m in MEASURES})
            csv_row["capacity_test_error"] = found["test_error"]
    return rows


def largest_n(results: dict) -> int | None:
    """The largest N with capacity rows of the sweep (the one the table and figure show)."""
    values = [r["n_train"] for r in results["capacity"]["networks"]]
    return max(values) if values else None


def figure(results: dict, out_dir) -> dict:
    """capacity.png: every bound and truth against depth and against width, at the largest
    N, for each construction (and the trained networks); return its path."""
    from archbound import plots

    n = largest_n(results)
    nets = [r for r in results["capacity"]["networks"] if r["n_train"] == n]
    depths, widths = results["config"]["depths"], results["config"]["widths"]
    fixed_width, fixed_depth = max(widths), max(depths)
    panels = []
    for axis, fixed in (("depth", ("width", fixed_width)), ("width", ("depth", fixed_depth))):
        series = []
        for construction in ("readout_first", "readout_last", "trained"):
            chosen = [r for r in nets if r["construction"] == construction]
            if construction != "trained":
                chosen = [r for r in chosen if r[fixed[0]] == fixed[1]]
            chosen = sorted(chosen, key=lambda r: (r[axis], r[fixed[0]]))
            if not chosen:
                continue
            x = [r[axis] for r in chosen]
            for key, label in list(PLOTTED.items()) + list(TRUTHS.items()):
                series.append(
                    {
                        "construction": construction,
                        "measure": key,
                        "label": f"{label}",
                        "truth": key in TRUTHS,
                        "x": x,
                        "y": [r[key] for r in chosen],
                    }
                )
        panels.append(
            {
                "xlabel": f"hidden {'layers L' if axis == 'depth' else 'width M'}",
                "title": f"against {axis} ({fixed[0]} {fixed[1]}; trained: as trained)",
                "series": series,
            }
        )
    name = results["dataset"]["name"]
    path = plots.capacity(
        panels,
        Path(out_dir) / "capacity.png",
        title=f"{name}, N = {n}: classic bounds (population risk) and the paper's bound "
        "(realised test cost), each beside its truth",
    )
    return {"capacity": path}


__all__ = ["CSV_COLUMNS", "MARGIN_QUANTILE", "MEASURES", "add_csv_columns", "figure", "row"]
