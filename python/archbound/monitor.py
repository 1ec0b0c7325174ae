"""Certified weight-norm monitoring along a training run (docs/design.md §2.5.7).

The paper's checklist (arXiv:2504.05695) asks to train a small overparametrized model and
watch that its weight norms stay bounded. :class:`NormMonitor` records, at chosen steps of
any training loop, a certified upper bound on the operator norm of every layer, the bias
norms and the Lipschitz bound rho^L prod_l ||W_l|| (rho: the hidden activation's certified
constant); every few records the training cost and, with a test set, the lipschitz sample
bound beside the true test error. A record is cheap enough to leave on: docs/monitoring.md
says what each record computes and what it costs.

The failure probability of the whole history
--------------------------------------------
The norms are certified by Lanczos anchors with drift bounds between them
(:mod:`archbound._anchored_norms`): ||W_t|| <= U_s + ||W_t - W_s||_F for the layer's last
anchor s, deterministic given the anchor's certificate U_s. Only anchors spend failure
probability: the a-th record that anchors a layer (a = 1, 2, ...) spends

    delta_a = delta * 6 / (pi^2 a^2),     sum_{a >= 1} delta_a = delta,

split evenly over the layers it anchors. By the union bound, every upper bound in the history,
and so every Lipschitz bound and sample bound built from them, holds at once with probability
at least ``1 - delta``, whatever the length of the run. Exact norms (small layers, SVD) spend
nothing; neither do drift bounds, nor the sample bound, which uses the record's norms.

Random starts
-------------
Every anchor draws a fresh seed from one :class:`numpy.random.SeedSequence` (``spawn``), so
its start vectors are independent of the weights and of every earlier record (the monitor's
randomness never reaches the training). There is no warm start: the Kuczynski-Wozniakowski
certificate needs a start vector drawn uniformly on the sphere independently of W. A running
power-iteration vector only sharpens the reported *estimate* between anchors (a lower bound
whatever its start), never the upper bound.
"""

from __future__ import annotations

import csv
import math
import numbers
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from archbound._anchored_norms import SERIES, AnchoredNorms, series_delta
from archbound._monitor_bound import FixedGeometry, snapshot
from archbound._monitor_forward import PRECISIONS, FixedInputs
from archbound._validation import (
    SeedLike,
    check_array,
    check_labels,
    check_probability,
    check_scalar,
    check_seed,
    check_threads,
    is_one_dimensional,
)
from archbound.bounds import BOUND_COLUMNS, BoundSnapshot, check_labels_for
from archbound.certificates.heldout import heldout_certificate
from archbound.monitor_history import RECORD_COLUMNS, MonitorRecord, history_series
from archbound.opnorm import estimate_product, upper_product
from archbound.readers import as_network


def record_delta(delta: float, t: int) -> float:
    """The failure probability spent by the t-th anchor event (1-based) of a run:
    delta * 6 / (pi^2 t^2).

    Summed over t = 1, 2, ... it is delta, so any finite run spends less than delta.
    """
    t = check_scalar(t, "t", numbers.Integral, min_val=1)
    return series_delta(delta, t)


def _check_targets(Y, name: str, n_rows: int):
    """2-D targets, or 1-D class labels (:func:`check_labels`; one-hot encoded once Q is
    known)."""
    if is_one_dimensional(Y):
        return check_labels(Y, name, n_samples=n_rows)
    out = check_array(Y, name)
    if out.shape[0] != n_rows:
        raise ValueError(f"{name} has {out.shape[0]} rows, but its inputs have {n_rows} samples")
    return out


class NormMonitor:
    """Certified norms, Lipschitz bound and sample bound of a network along a training run.

    Parameters
    ----------
    X_train : array_like of shape (N, M0)
        The training inputs.
    Y_train : array_like of shape (N, Q), or (N,) int labels
        The training targets (labels are one-hot encoded to the network's Q outputs).
    X_test : array_like of shape (m, M0), optional
    Y_test : array_like of shape (m, Q), or (m,) int labels, optional
        A test set, for the sample bound and the true test error. Both or neither.
    bound_every : int, optional
        Compute the sample bound (and the training cost it needs) on records 1,
        1 + bound_every, 1 + 2 bound_every, ... Default: every record when a test set is
        given. Needs a test set.
    cost_every : int, optional
        Compute the training cost and the largest training residual (a forward pass over
        the training set) on records 1, 1 + cost_every, ..., besides the bound records.
        Default: on the bound records only (none without a test set).
    delta : float in (0, 1), default 1e-6
        Every upper bound of the whole history holds at once with probability >= 1 - delta
        (anchor event a spends delta_a = delta 6 / (pi^2 a^2); see the module docstring).
    rtol : float > 0, default 0.2
        A layer's norm is certified afresh by Lanczos (an anchor) once its drift
        ||W_t - W_s||_F from the last anchor passes ``rtol`` times the anchor's upper bound;
        until then its upper bound is the anchor's plus the drift, at most (1 + rtol)
        times the anchor's.
    seed : int or numpy.random.Generator, optional
        Root of the SeedSequence from which every anchor draws a fresh seed.
    heldout_delta : float in (0, 1), optional
        With a test set of class labels (or one-hot rows): every record also gets the
        held-out certificate of its classifier's test error (:func:`archbound.heldout_bound`),
        record t at heldout_delta_t = heldout_delta 6 / (pi^2 t^2), so that the whole
        certified test-error curve holds at once with probability >= 1 - heldout_delta
        (a statement apart from ``delta``'s; both hold with probability >= 1 - delta -
        heldout_delta). The networks recorded must not be trained or chosen on the test set.
    precision : {"auto", "float64"}, default "auto"
        The forward passes over the training and test sets. ``"auto"``: in float32, each
        sample with a certified margin eps_i >= |f32(x_i) - f(x_i)| that the sample bound adds
        to its offset r_i, for the activations that float32 evaluates within a stated error
        (relu, leaky_relu, hardtanh, relu6, identity; the others in float64); the training
        cost and the test errors reported are then float32 estimates (docs/monitoring.md).
        ``"float64"``: always in float64, the bound's min-reduction too.

    Attributes
    ----------
    history : list of MonitorRecord
        One per call of :meth:`record`, in order.

    Notes
    -----
    The data are validated once, here. A record reads the network (a torch module's graph
    is traced once, its parameters read at each record), bounds each layer's norm by one
    pass over its weights (the drift from its anchor) or, when the drift passes ``rtol``,
    by a Lanczos anchor (:func:`archbound.opnorms`; SVD for layers with min(m, n) <= 64),
    and multiplies the bounds. A record with the training cost adds a forward pass over
    the training set; a bound record adds a forward pass over the test set (for the truth)
    and one min-reduction over the m x N distances, computed on the first bound record
    (above 4e6 entries, a pass of the geometry kernel instead). With ``precision="auto"``
    the passes run in float32, and each sample's certified margin eps_i >= |f32(x_i) - f(x_i)|
    is added to its offset, so the bound stays an upper bound (docs/design.md §2.5.7);
    ``MonitorRecord.precision`` says how a record ran. docs/monitoring.md gives the costs.

    Examples
    --------
    >>> monitor = NormMonitor(X, Y, X_test, Y_test, bound_every=5, seed=0)  # doctest: +SKIP
    >>> for epoch in range(100):  # doctest: +SKIP
    ...     model.partial_fit(X, Y)
    ...     if epoch % 10 == 0:
    ...         monitor.record(epoch, model)
    >>> monitor.plot("norms.png")  # doctest: +SKIP
    """

    def __init__(
        self,
        X_train: ArrayLike,
        Y_train: ArrayLike,
        X_test: ArrayLike | None = None,
        Y_test: ArrayLike | None = None,
        *,
        bound_every: int | None = None,
        cost_every: int | None = None,
        delta: float = 1e-6,
        rtol: float = 0.2,
        seed: SeedLike = None,
        heldout_delta: float | None = None,
        precision: str = "auto",
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.precision = precision
        self.X_train = check_array(X_train, "X_train")
        self._Y_train = _check_targets(Y_train, "Y_train", self.X_train.shape[0])
        if (X_test is None) != (Y_test is None):
            raise ValueError("X_test and Y_test must be given together (or both left out)")
        self.X_test = self._Y_test = None
        if X_test is not None:
            self.X_test = check_array(X_test, "X_test")
            if self.X_test.shape[1] != self.X_train.shape[1]:
                raise ValueError(
                    f"X_test has {self.X_test.shape[1]} features, but X_train has "
                    f"{self.X_train.shape[1]}"
                )
            self._Y_test = _check_targets(Y_test, "Y_test", self.X_test.shape[0])
            if (
                self._Y_test.ndim == 2
                and self._Y_train.ndim == 2
                and self._Y_test.shape[1] != self._Y_train.shape[1]
            ):
                raise ValueError(
                    f"Y_test has {self._Y_test.shape[1]} columns, but Y_train has "
                    f"{self._Y_train.shape[1]}"
                )
        if bound_every is not None:
            bound_every = check_scalar(bound_every, "bound_every", numbers.Integral, min_val=1)
            if X_test is None:
                raise ValueError("bound_every needs a test set: pass X_test and Y_test")
        self.bound_every = (
            int(bound_every) if bound_every is not None else (1 if X_test is not None else None)
        )
        self.cost_every = (
            None
            if cost_every is None
            else int(check_scalar(cost_every, "cost_every", numbers.Integral, min_val=1))
        )
        self.delta = check_probability(delta, "delta")
        if heldout_delta is not None:
            heldout_delta = check_probability(heldout_delta, "heldout_delta")
            if X_test is None:
                raise ValueError("heldout_delta needs a test set: pass X_test and Y_test")
        self.heldout_delta = heldout_delta
        self.rtol = float(
            check_scalar(rtol, "rtol", numbers.Real, min_val=0.0, include_boundaries="neither")
        )
        self._norms = AnchoredNorms(
            self.delta, self.rtol, np.random.SeedSequence(check_seed(seed))
        )
        # one copy of the inputs (X_train and X_test become views of it), and its float32 copy
        self._inputs = FixedInputs(self.X_train, self.X_test, precision)
        self.X_train, self.X_test = self._inputs.X_train, self._inputs.X_test
        self._geometry = (
            None if self.X_test is None else FixedGeometry(self.X_train, self.X_test, precision)
        )
        self._targets: dict[int, tuple] = {}
        self.history: list[MonitorRecord] = []

    # ------------------------------------------------------------------ accounting
    @property
    def delta_spent(self) -> float:
        """sum of delta_a over the anchor events so far; always below ``delta``."""
        return math.fsum(r.delta for r in self.history)

    @property
    def anchor_events(self) -> int:
        """The records so far at which Lanczos certified a layer's norm afresh."""
        return self._norms.anchor_events

    def _targets_for(self, q: int):
        """Y_train and Y_test with Q columns (labels one-hot encoded once per Q), and
        whether Y_test is one-hot."""
        if q not in self._targets:
            Y_train = check_labels_for(self._Y_train, "Y_train", self.X_train.shape[0], q)
            Y_test, one_hot = None, False
            if self._Y_test is not None and self.X_test is not None:
                Y_test = check_labels_for(self._Y_test, "Y_test", self.X_test.shape[0], q)
                one_hot = bool(
                    np.all((Y_test == 0) | (Y_test == 1)) and np.all(Y_test.sum(axis=1) == 1)
                )
            self._targets = {q: (Y_train, Y_test, one_hot)}
        return self._targets[q]

    def _due(self, every: int | None, t: int) -> bool:
        return every is not None and (t - 1) % every == 0

    # --------------------------------------------------------------------- record
    def record(self, step: int, network: Any, *, threads: int | None = None) -> MonitorRecord:
        """Measure the network now and append a :class:`MonitorRecord` to the history.

        Parameters
        ----------
        step : int
            The caller's step (epoch, iteration, ...), stored as given.
        network : Network, MLPRegressor, MLPClassifier, torch nn.Module, state_dict or path
            The network now, with any activation of
            :data:`archbound.activations.ACTIVATIONS`; read by
            :func:`archbound.readers.as_network` when it is not a Network.
        threads : int, optional
            OpenMP threads.

        Returns
        -------
        MonitorRecord
            The record appended.

        Raises
        ------
        ValueError
            A network whose input or output size does not match the monitor's data, or one
            the readers refuse.
        """
        start = time.perf_counter()
        step = check_scalar(step, "step", numbers.Integral)
        threads = check_threads(threads)
        net = as_network(network)
        if net.input_dim != self.X_train.shape[1]:
            raise ValueError(
                f"network takes M0 = {net.input_dim} inputs, but X_train has "
                f"{self.X_train.shape[1]} features"
            )
        Y_train, Y_test, one_hot = self._targets_for(net.output_dim)
        t = len(self.history) + 1
        measured = self._norms.measure(net.weights, threads)
        rho, depth = net.activation.lipschitz, net.depth
        lipschitz = net._lipschitz_of(upper_product(measured.norms))
        with_bound = self._due(self.bound_every, t)
        with_heldout = self.heldout_delta is not None and Y_test is not None
        train, test = self._inputs.evaluate(
            net,
            [n.upper for n in measured.norms],
            train=with_bound or self._due(self.cost_every, t),
            test=with_bound or with_heldout,
            threads=threads,
        )
        residuals = bound = labels = heldout = None
        if train is not None:
            residuals, _, offsets = train.distances(Y_train)
        if with_heldout and test is not None:
            labels = self._inputs.labels(net, test, threads)  # the float64 network's
        if with_bound:
            assert self._geometry is not None and Y_test is not None and test is not None
            per_sample = self._geometry.bounds(lipschitz, offsets, Y_train, Y_test, threads)
            if labels is None and one_hot:
                labels = test.values.argmax(axis=1)  # float32 outputs: an estimate
            bound = snapshot(per_sample, test, Y_test, labels if one_hot else None)
        if self.heldout_delta is not None and labels is not None and Y_test is not None:
            errors = np.count_nonzero(labels != Y_test.argmax(1))
            heldout = heldout_certificate(
                int(errors), len(Y_test), delta=record_delta(self.heldout_delta, t)
            )
        forwards = [o.precision for o in (train, test) if o is not None]
        item = MonitorRecord(
            record=t,
            step=int(step),
            widths=tuple(net.widths),
            norms=tuple(measured.norms),
            bias_norms=tuple(float(np.linalg.norm(b)) for b in net.biases),
            lipschitz=lipschitz,
            lipschitz_estimate=rho**depth * estimate_product(measured.norms),
            train_cost=None if residuals is None else float(np.mean(residuals**2)),
            max_train_residual=None if residuals is None else float(residuals.max()),
            delta=measured.delta,
            seed=measured.seed,
            bound=bound,
            seconds=time.perf_counter() - start,
            heldout=heldout,
            precision=forwards[0] if forwards else None,
        )
        self.history.append(item)
        return item

    # -------------------------------------------------------------------- outputs
    def to_dict(self) -> dict:
        """The configuration and the history, JSON-safe (non-finite numbers become None)."""
        return {
            "delta": float(self.delta),
            "delta_spent": float(self.delta_spent),
            "rtol": float(self.rtol),
            "anchor_events": int(self.anchor_events),
            "bound_every": self.bound_every,
            "cost_every": self.cost_every,
            "n_train": int(self.X_train.shape[0]),
            "n_test": None if self.X_test is None else int(self.X_test.shape[0]),
            "precision": self.precision,
            "records": [r.to_dict() for r in self.history],
        }

    def csv_columns(self) -> list[str]:
        layers = max([len(r.norms) for r in self.history] + [0])
        columns = list(RECORD_COLUMNS)
        for index in range(1, layers + 1):
            columns += [f"norm_{index}_estimate", f"norm_{index}_upper", f"bias_norm_{index}"]
        return columns + list(BOUND_COLUMNS)

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write the history as CSV, one row per record (layer l's columns: norm_l_*).

        Parameters
        ----------
        path : str or os.PathLike
            The file to write.

        Returns
        -------
        pathlib.Path
        """
        path = Path(path)
        with open(path, "w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=self.csv_columns())
            writer.writeheader()
            for r in self.history:
                row = {k: getattr(r, k) for k in RECORD_COLUMNS}
                for index, (n, b) in enumerate(zip(r.norms, r.bias_norms), start=1):
                    row[f"norm_{index}_estimate"] = n.estimate
                    row[f"norm_{index}_upper"] = n.upper
                    row[f"bias_norm_{index}"] = b
                if r.bound is not None:
                    row.update(r.bound.to_dict())
                writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        return path

    def plot(self, path: str | os.PathLike, *, title: str | None = None) -> Path:
        """Draw the norms, the Lipschitz bound, the sample bound and the truth against the step.

        Left panel: the certified upper norm of every layer and their product (log scale).
        Right panel: the training cost, the true test cost and the bound mean_j B_j^2.

        Parameters
        ----------
        path : str or os.PathLike
            The PNG file to write.
        title : str, optional
            A title above both panels.

        Returns
        -------
        pathlib.Path
            The PNG written.
        """
        from archbound import plots

        return plots.monitor_history([history_series(self.history)], path, title=title)


__all__ = [
    "SERIES",
    "BoundSnapshot",
    "MonitorRecord",
    "NormMonitor",
    "as_network",
    "record_delta",
]
