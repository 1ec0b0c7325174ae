"""Trained networks beside the closed-form minimizer: ``archbound experiment --trained``.

For every N of the sweep, a few architectures with the hidden activation of
``--activation`` (default relu) are trained by gradient descent (identity output, squared
loss, no weight decay, Adam, a fixed budget of epochs and a fixed seed; scikit-learn's
:class:`~sklearn.neural_network.MLPRegressor` or a torch MLP, :mod:`.training`) on the same
training set as the constructed minimizer, with a :class:`archbound.NormMonitor` recording
the certified norms and the lipschitz sample bound along the way where it records that
activation. Each trained network is reported beside the readout_first minimizer
of the same N and architecture (arXiv:2504.05695, docs/design.md §2.2 and §2.5): the gradient
path's implicit regularization against the explicit minimum-norm-readout solution.

results.json gets a key ``trained`` only when the option is given (its schema is
``#/$defs/trained`` of ``results.schema.json``):

- ``config``: ``hidden`` (list of lists of hidden widths), ``epochs``, ``record_every``,
  ``learning_rate``, ``solver`` ("adam"), ``alpha`` (0: no weight decay), ``activation``
  (the trained networks' hidden activation) and ``framework`` ("scikit-learn" or "torch").
- ``runs``: one entry per N: ``n_train``, ``status`` (the sweep's: the constructed
  minimizer needs rank(X) = N; it is null where skipped), and ``networks``: one per
  architecture with ``hidden``, ``widths``, ``epochs``, ``seconds``, ``trained`` and
  ``constructed`` (null when skipped). Each of these two holds ``train_loss``,
  ``max_train_error``, ``test`` (``test_cost``, ``mean_error``, ``max_error``,
  ``accuracy``), ``activation``, ``lipschitz`` (rho^L times the prod of the certified upper
  norms), ``lipschitz_estimate``
  and ``bound`` (the lipschitz variant: ``test_cost_bound``, ``ratio``, ``mean_bound``,
  ``mean_ratio``, ``uniform_bound``, ``violations``). ``trained`` also has ``history``,
  the monitor's :meth:`~archbound.NormMonitor.to_dict`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from archbound._json import finite_or_none
from archbound.bounds import sample_bounds
from archbound.construct import construct_minimizer
from archbound.experiment.config import DEFAULT_HIDDEN, ExperimentConfig
from archbound.experiment.records import (
    IN_CSV,
    OMIT_NONE,
    BoundSummaryRecord,
    Record,
    RunRecord,
    TestRecord,
)
from archbound.experiment.training import framework, parse_activation, train_one
from archbound.monitor_history import history_series
from archbound.network import Network
from archbound.opnorm import estimate_product

if TYPE_CHECKING:
    from archbound.experiment.capacity import CapacityRecord

DEFAULT_RECORD_EVERY = 20
LEARNING_RATE = 1e-2
#: Plain-number columns appended to results.csv (rows with construction = "trained").
CSV_COLUMNS = [
    "hidden",
    "activation",
    "epochs",
    "lipschitz_estimate",
    "constructed_test_cost",
    "constructed_accuracy",
    "constructed_lipschitz",
    "constructed_test_cost_bound",
    "constructed_mean_ratio",
]


@dataclass
class TrainedBoundRecord(BoundSummaryRecord):
    """The lipschitz bound of a network in the trained section (the keys of
    :class:`archbound.BoundSnapshot` that :class:`BoundRecord` also has)."""

    violations: int = field(metadata=IN_CSV)

    @classmethod
    def from_snapshot(cls, snapshot: Any) -> TrainedBoundRecord:
        """From a :class:`~archbound.BoundSnapshot`."""
        values = snapshot.to_dict()
        return cls(**{item.name: values[item.name] for item in fields(cls)})


@dataclass
class FitRecord(Record):
    """A trained network, or the constructed minimizer beside it (``#/$defs/trained``).

    Attributes
    ----------
    train_loss, max_train_error : float or None
    test : TestRecord
    lipschitz : float or None
        The product of the certified upper norms.
    lipschitz_estimate : float or None
    bound : TrainedBoundRecord
        The lipschitz variant.
    activation : str
        The hidden activation (``str(net.activation)``; relu for the minimizer).
    history : dict or None
        The trained network's :meth:`archbound.NormMonitor.to_dict` (None for the
        constructed minimizer).
    """

    train_loss: float | None
    max_train_error: float | None
    test: TestRecord
    lipschitz: float | None
    lipschitz_estimate: float | None
    bound: TrainedBoundRecord
    activation: str = "relu"
    history: dict[str, Any] | None = field(default=None, metadata=OMIT_NONE)


@dataclass
class TrainedNetworkRecord(Record):
    """One trained architecture of one N, beside the readout_first minimizer.

    Attributes
    ----------
    hidden : list of int
    widths : list of int
    epochs : int
    trained : FitRecord
    constructed : FitRecord or None
        None where the sweep skipped this N.
    seconds : float or None
    """

    hidden: list[int]
    widths: list[int]
    epochs: int
    trained: FitRecord
    constructed: FitRecord | None
    seconds: float | None


@dataclass
class TrainedRunRecord(Record):
    """The trained networks of one N (``status`` is the sweep's)."""

    n_train: int
    status: str
    networks: list[TrainedNetworkRecord] = field(default_factory=list)


@dataclass
class TrainedConfigRecord(Record):
    """How the networks were trained."""

    hidden: list[list[int]]
    epochs: int
    record_every: int
    learning_rate: float
    solver: str
    alpha: float
    activation: str
    framework: str


@dataclass
class TrainedSection(Record):
    """results.json's ``trained``, with ``--trained`` only."""

    config: TrainedConfigRecord
    runs: list[TrainedRunRecord]


def _evaluate(
    net: Network, X, Y, X_test, Y_test, *, delta: float, seed: int, threads: int | None
) -> FitRecord:
    """Truth and lipschitz bound of a network (used for the constructed minimizer)."""
    report = sample_bounds(
        net, X, Y, X_test, Y_test, variant="lipschitz", delta=delta, seed=seed, threads=threads
    )
    return FitRecord(
        activation=str(net.activation),
        train_loss=finite_or_none(report.train_cost),
        max_train_error=finite_or_none(
            np.max(np.linalg.norm(net.forward(X, threads=threads) - Y, axis=1))
        ),
        test=TestRecord.from_errors(report.errors, report.accuracy),
        lipschitz=finite_or_none(report.lipschitz),
        lipschitz_estimate=finite_or_none(estimate_product(report.norms)),
        bound=TrainedBoundRecord.from_snapshot(report.summary()),
    )


def run_trained(
    config: ExperimentConfig,
    X_pool: np.ndarray,
    Y_pool: np.ndarray,
    X_test: np.ndarray,
    Y_test: np.ndarray,
    y_test: np.ndarray,
    runs: list[RunRecord],
    *,
    progress: Callable[..., Any] | None = None,
    capacity_rows: list[CapacityRecord] | None = None,
) -> TrainedSection:
    """Train and compare for every N of the sweep; return results.json's ``trained``.

    ``config`` is the resolved :class:`archbound.experiment.ExperimentConfig`, ``runs`` the
    sweep's runs (their ``status`` says where the constructed minimizer exists). Given a list
    ``capacity_rows``, the capacity row of every trained network is appended to it
    (:func:`archbound.experiment.capacity.row`).
    """
    hidden_list = config.trained_hidden or DEFAULT_HIDDEN
    sigma = parse_activation(config.activation)
    trainer = framework(sigma)
    epochs = config.trained_epochs
    record_every = min(DEFAULT_RECORD_EVERY, epochs)
    status = {run.n_train: run.status for run in runs}
    out_runs = []
    for n in config.n_train or []:
        X, Y = X_pool[:n], Y_pool[:n]
        entry = TrainedRunRecord(n_train=n, status=status.get(n, "ok"))
        out_runs.append(entry)
        for hidden in hidden_list:
            label = "-".join(map(str, hidden))
            if progress:
                progress(advance=0, description=f"N={n} trained {label}")
            began = time.perf_counter()
            net, monitor = train_one(
                X,
                Y,
                X_test,
                Y_test,
                hidden,
                epochs=epochs,
                record_every=record_every,
                learning_rate=LEARNING_RATE,
                seed=config.seed,
                delta=config.delta,
                threads=config.threads,
                sigma=sigma,
            )
            output = net.forward(X_test, threads=config.threads)
            accuracy = np.mean(output.argmax(axis=1) == y_test)
            last = monitor.history[-1]
            trained = FitRecord(
                train_loss=finite_or_none(last.train_cost),
                max_train_error=finite_or_none(last.max_train_residual),
                test=TestRecord.from_errors(np.linalg.norm(output - Y_test, axis=1), accuracy),
                lipschitz=finite_or_none(last.lipschitz),
                lipschitz_estimate=finite_or_none(last.lipschitz_estimate),
                bound=TrainedBoundRecord.from_snapshot(last.bound),
                activation=str(net.activation),
                history=monitor.to_dict(),
            )
            if capacity_rows is not None:
                from archbound.experiment import capacity

                capacity_rows.append(
                    capacity.row(
                        net,
                        X,
                        Y,
                        n_train=n,
                        construction="trained",
                        hidden=hidden,
                        test=trained.test,
                        paper_bound=trained.bound.test_cost_bound,
                        config=config,
                    )
                )
            constructed = None
            if entry.status == "ok":
                minimizer = construct_minimizer(
                    X,
                    Y,
                    list(hidden),
                    method="readout_first",
                    seed=config.seed,
                    threads=config.threads,
                )
                constructed = _evaluate(
                    minimizer,
                    X,
                    Y,
                    X_test,
                    Y_test,
                    delta=config.delta,
                    seed=config.seed,
                    threads=config.threads,
                )
            entry.networks.append(
                TrainedNetworkRecord(
                    hidden=[int(w) for w in hidden],
                    widths=net.widths,
                    epochs=int(epochs),
                    trained=trained,
                    constructed=constructed,
                    seconds=finite_or_none(time.perf_counter() - began),
                )
            )
            if progress:
                progress(advance=1, description=f"N={n} trained {label}")
    return TrainedSection(
        config=TrainedConfigRecord(
            hidden=[[int(w) for w in h] for h in hidden_list],
            epochs=int(epochs),
            record_every=int(record_every),
            learning_rate=LEARNING_RATE,
            solver="adam",
            alpha=0.0,
            activation=str(sigma),
            framework=trainer,
        ),
        runs=out_runs,
    )


def _label(hidden: list[int]) -> str:
    """``[64, 64]`` -> ``"64-64"``."""
    return "-".join(map(str, hidden))


def csv_rows(section: TrainedSection | None, runs: list[RunRecord]) -> list[dict[str, Any]]:
    """results.csv rows for the trained networks (construction = "trained", variant
    lipschitz), beside the sweep's ``runs``."""
    rows: list[dict[str, Any]] = []
    if section is None:
        return rows
    sweep = {run.n_train: run for run in runs}
    for run in section.runs:
        base = sweep[run.n_train].csv_values()
        for net in run.networks:
            trained, constructed = net.trained, net.constructed
            row = dict(
                base,
                construction="trained",
                depth=len(net.hidden),
                width=max(net.hidden),
                hidden=_label(net.hidden),
                activation=trained.activation,
                epochs=net.epochs,
                train_loss=trained.train_loss,
                max_train_error=trained.max_train_error,
                zero_loss=False,
                variant="lipschitz",
                lipschitz=trained.lipschitz,
                lipschitz_estimate=trained.lipschitz_estimate,
                bound_seconds=None,
            )
            row.update(trained.test.csv_values())
            row.update(trained.bound.csv_values())
            if constructed is not None:
                row.update(
                    {
                        "constructed_test_cost": constructed.test.test_cost,
                        "constructed_accuracy": constructed.test.accuracy,
                        "constructed_lipschitz": constructed.lipschitz,
                        "constructed_test_cost_bound": constructed.bound.test_cost_bound,
                        "constructed_mean_ratio": constructed.bound.mean_ratio,
                    }
                )
            rows.append(row)
    return rows


def _fit_series(
    runs: list[TrainedRunRecord], index: int, constructed: bool
) -> dict[str, list[float | None]]:
    """The test cost, lipschitz bound and Lipschitz constant of one network over N."""
    out: dict[str, list[float | None]] = {"test_cost": [], "test_cost_bound": [], "lipschitz": []}
    for run in runs:
        fit = None
        if index < len(run.networks):
            net = run.networks[index]
            fit = net.constructed if constructed else net.trained
        out["test_cost"].append(None if fit is None else fit.test.test_cost)
        out["test_cost_bound"].append(None if fit is None else fit.bound.test_cost_bound)
        out["lipschitz"].append(None if fit is None else fit.lipschitz)
    return out


def figures(section: TrainedSection | None, name: str, out_dir: str | Path) -> dict[str, Path]:
    """trained_history.png (norms and bound against the epoch, largest N) and
    trained_vs_constructed.png (over N) of the data set called ``name``; return their
    paths."""
    from archbound import plots

    out_dir = Path(out_dir)
    paths: dict[str, Path] = {}
    if section is None:
        return paths
    runs = [r for r in section.runs if r.networks]
    if not runs:
        return paths
    shown = [r for r in runs if r.status == "ok"] or runs
    run = shown[-1]
    sigma = section.config.activation
    how = "MLPRegressor" if section.config.framework == "scikit-learn" else "torch"
    series = [
        history_series(net.trained.history["records"], label=f"hidden {_label(net.hidden)}")
        for net in run.networks
        if net.trained.history is not None
    ]
    if series:
        paths["trained_history"] = plots.monitor_history(
            series,
            out_dir / "trained_history.png",
            title=f"{name}, N = {run.n_train}: certified norms and lipschitz bound while "
            f"training ({sigma} hidden layers, {how}, Adam)",
        )
    lines = [
        {"label": "constructed readout_first (relu)", **_fit_series(runs, 0, constructed=True)}
    ]
    for index, net in enumerate(runs[0].networks):
        lines.append(
            {
                "label": f"trained {_label(net.hidden)} ({net.trained.activation})",
                **_fit_series(runs, index, False),
            }
        )
    paths["trained_vs_constructed"] = plots.trained_vs_constructed(
        [r.n_train for r in runs],
        lines,
        out_dir / "trained_vs_constructed.png",
        title=f"{name}: trained {sigma} networks beside the constructed relu minimizer",
    )
    return paths


def parse_hidden(text: str) -> list[list[int]]:
    """``"64,64x64,256"`` -> [[64], [64, 64], [256]] (``x`` joins the layers of one net)."""
    out = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        try:
            widths = [int(w) for w in part.split("x")]
        except ValueError:
            raise ValueError(
                f"trained_hidden: expected architectures like 64,64x64,256 (x joins the "
                f"layers of one network), got {text!r}"
            ) from None
        if not widths or min(widths) < 1:
            raise ValueError(f"trained_hidden: widths must be positive, got {text!r}")
        out.append(widths)
    if not out:
        raise ValueError(f"trained_hidden is empty: got {text!r}")
    return out


__all__ = [
    "CSV_COLUMNS",
    "FitRecord",
    "TrainedBoundRecord",
    "TrainedConfigRecord",
    "TrainedNetworkRecord",
    "TrainedRunRecord",
    "TrainedSection",
    "csv_rows",
    "figures",
    "parse_hidden",
    "run_trained",
    "train_one",
]
