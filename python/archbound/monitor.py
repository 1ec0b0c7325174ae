"""Certified weight-norm monitoring along a training run (docs/design.md §2.5.7).

The paper's checklist (arXiv:2504.05695) asks to train a small overparametrized model and
watch that its weight norms stay bounded. :class:`NormMonitor` records, at chosen steps of
any training loop, the certified operator norm of every layer, the bias norms, the
Lipschitz bound prod_l ||W_l||, the training cost and the largest training residual, and
every few records the lipschitz sample bound (:func:`archbound.sample_bounds`, with the
training residuals as offsets) beside the true test error.

The failure probability of the whole history
--------------------------------------------
Each certified norm is an upper bound that fails with a small probability over the random
start of Lanczos (Kuczynski & Wozniakowski 1992). A run may be recorded any number of
times, so the monitor spends its budget ``delta`` as a convergent series: record t
(t = 1, 2, ...) gets

    delta_t = delta * 6 / (pi^2 t^2),     sum_{t >= 1} delta_t = delta,

split evenly over the L + 1 layers of the network (``delta_t / (L + 1)`` each, as
:func:`archbound.opnorms` does). By the union bound, every upper bound in the history, and
so every Lipschitz bound and sample bound built from them, holds at once with probability at
least ``1 - delta``, whatever the length of the run. Exact norms (small layers, SVD) spend
nothing. The sample bound of a record reuses that record's norms, so it spends nothing more.

Random starts
-------------
Every record draws a fresh seed from one :class:`numpy.random.SeedSequence` (``spawn``), so
the start vectors of different records are independent, never reused, and independent of
the weights (the monitor's randomness never reaches the training). There is no warm start
from the previous record's singular vector: the Kuczynski-Wozniakowski certificate needs
a start vector drawn uniformly on the sphere independently of W, which a vector computed
from earlier weights is not. A warm start could only sharpen the *estimate* (a Rayleigh
quotient is a lower bound whatever the start), never the upper bound, and archbound's
Lanczos does not take a start vector, so every record runs from its own random start. The
price of the shrinking delta_t is small: the number of Lanczos steps for a given accuracy
grows like ln(1 / delta_t) = O(log t), about 16 more steps at ``rtol = 1e-2`` each time the
run gets ten times longer.
"""

from __future__ import annotations

import csv
import math
import numbers
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from archbound._json import finite_or_none
from archbound._torch_reader import is_torch_module
from archbound._validation import (
    DTypeError,
    SeedLike,
    check_array,
    check_labels,
    check_probability,
    check_scalar,
    check_seed,
    check_threads,
    is_one_dimensional,
    seed_from,
)
from archbound.bounds._cache import TrainingSetCache
from archbound.bounds._checks import BoundInputs, _check_labels
from archbound.bounds.reports import BOUND_COLUMNS, BoundSnapshot
from archbound.bounds.sample import _sample_bounds_batch
from archbound.certificates.heldout import HeldoutCertificate, heldout_certificate
from archbound.network import Network
from archbound.opnorm import _opnorms, estimate_product, upper_product

#: The columns of the history's table that come from a record's own fields, in order.
RECORD_COLUMNS = (
    "record",
    "step",
    "lipschitz",
    "lipschitz_estimate",
    "train_cost",
    "max_train_residual",
    "delta",
    "seed",
    "seconds",
)

#: sum_{t >= 1} 1 / t^2 = pi^2 / 6, so delta_t = delta * SERIES / t^2 sums to delta.
SERIES = 6.0 / math.pi**2


def record_delta(delta: float, t: int) -> float:
    """The failure probability spent at record t (1-based): delta * 6 / (pi^2 t^2).

    Summed over t = 1, 2, ... it is delta, so any finite run spends less than delta.
    """
    t = check_scalar(t, "t", numbers.Integral, min_val=1)
    return delta * SERIES / (float(t) * float(t))


@dataclass(frozen=True)
class MonitorRecord:
    """What :meth:`NormMonitor.record` measured at one step.

    Attributes
    ----------
    record : int
        t, the 1-based index of the record in the run.
    step : int
        The caller's step (epoch, iteration, ...).
    widths : tuple of int
        [M0, M1, ..., M_L, Q] of the network recorded.
    norms : tuple of NormEstimate
        ||W_l|| for l = 1..L+1: estimate (a lower estimate) and certified upper bound,
        each with failure probability ``delta / (L + 1)`` (0 for exact norms).
    bias_norms : tuple of float
        |b_l| for l = 1..L+1.
    lipschitz : float
        prod_l upper_l >= Lip(f).
    lipschitz_estimate : float
        prod_l estimate_l (not a bound; shows how loose ``lipschitz`` is).
    train_cost : float
        C_train = mean_i |f(x_i) - y_i|^2.
    max_train_residual : float
        max_i |f(x_i) - y_i| (the largest offset r_i of the sample bound).
    delta : float
        delta_t, the failure probability spent at this record.
    seed : int
        The seed of this record's norm estimators (from the monitor's SeedSequence).
    bound : BoundSnapshot or None
        The sample bound, on the records that compute it.
    seconds : float
        Wall time of the record.
    heldout : HeldoutCertificate or None
        With ``heldout_delta``: the held-out certificate of the classifier argmax_j f(x)_j
        on the test set, at heldout_delta_t = heldout_delta 6 / (pi^2 t^2).
    """

    record: int
    step: int
    widths: tuple
    norms: tuple
    bias_norms: tuple
    lipschitz: float
    lipschitz_estimate: float
    train_cost: float
    max_train_residual: float
    delta: float
    seed: int
    bound: BoundSnapshot | None
    seconds: float
    heldout: HeldoutCertificate | None = None

    def to_dict(self) -> dict:
        """A JSON-safe dict (non-finite numbers become None); ``heldout`` only when set."""
        out = {
            "record": int(self.record),
            "step": int(self.step),
            "widths": [int(w) for w in self.widths],
            "norms": [n.to_dict() for n in self.norms],
            "bias_norms": [finite_or_none(b) for b in self.bias_norms],
            "lipschitz": finite_or_none(self.lipschitz),
            "lipschitz_estimate": finite_or_none(self.lipschitz_estimate),
            "train_cost": finite_or_none(self.train_cost),
            "max_train_residual": finite_or_none(self.max_train_residual),
            "delta": float(self.delta),
            "seed": int(self.seed),
            "bound": None if self.bound is None else self.bound.to_dict(),
            "seconds": finite_or_none(self.seconds),
        }
        if self.heldout is not None:
            out["heldout"] = self.heldout.to_dict()
        return out


def as_network(network) -> Network:
    """An :class:`archbound.Network`, or what the adapters convert into one."""
    if isinstance(network, Network):
        return network
    module = type(network).__module__ or ""
    if module.startswith("sklearn"):
        return Network.from_sklearn(network)
    if isinstance(network, Mapping) or module.startswith("torch") or is_torch_module(network):
        return Network.from_torch(network)
    raise DTypeError(
        "network must be an archbound.Network, a fitted scikit-learn MLPRegressor or "
        f"MLPClassifier, a torch nn.Module or a state_dict, got {type(network).__name__}"
    )


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
        Compute the sample bound on records 1, 1 + bound_every, 1 + 2 bound_every, ...
        Default: every record when a test set is given. Needs a test set.
    delta : float in (0, 1), default 1e-6
        Every upper bound of the whole history holds at once with probability >= 1 - delta
        (record t spends delta_t = delta 6 / (pi^2 t^2); see the module docstring).
    seed : int or numpy.random.Generator, optional
        Root of the SeedSequence from which every record draws a fresh seed.
    heldout_delta : float in (0, 1), optional
        With a test set of class labels (or one-hot rows): every record also gets the
        held-out certificate of its classifier's test error (:func:`archbound.heldout_bound`),
        record t at heldout_delta_t = heldout_delta 6 / (pi^2 t^2), so that the whole
        certified test-error curve holds at once with probability >= 1 - heldout_delta
        (a statement apart from ``delta``'s; both hold with probability >= 1 - delta -
        heldout_delta). The networks recorded must not be trained or chosen on the test set.

    Attributes
    ----------
    history : list of MonitorRecord
        One per call of :meth:`record`, in order.

    Notes
    -----
    A record costs one forward pass over the training set, the certified norms of the L + 1
    layers (:func:`archbound.opnorms`: SVD for layers with min(m, n) <= 64, Lanczos
    otherwise) and, on bound records, one nearest-neighbour search of the test set in the
    training set (:func:`archbound.nearest`) plus a forward pass of the test set.

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
        delta: float = 1e-6,
        seed: SeedLike = None,
        heldout_delta: float | None = None,
    ) -> None:
        self.X_train = check_array(X_train, "X_train", copy=True)
        self._Y_train = _check_targets(Y_train, "Y_train", self.X_train.shape[0])
        if (X_test is None) != (Y_test is None):
            raise ValueError("X_test and Y_test must be given together (or both left out)")
        self.X_test = self._Y_test = None
        if X_test is not None:
            self.X_test = check_array(X_test, "X_test", copy=True)
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
        self.delta = check_probability(delta, "delta")
        if heldout_delta is not None:
            heldout_delta = check_probability(heldout_delta, "heldout_delta")
            if X_test is None:
                raise ValueError("heldout_delta needs a test set: pass X_test and Y_test")
        self.heldout_delta = heldout_delta
        self._seeds = np.random.SeedSequence(check_seed(seed))
        self._targets: dict[int, tuple] = {}
        self.history: list[MonitorRecord] = []

    # ------------------------------------------------------------------ accounting
    @property
    def delta_spent(self) -> float:
        """sum_t delta_t over the records so far; always below ``delta``."""
        return math.fsum(r.delta for r in self.history)

    def _next_seed(self) -> int:
        return seed_from(self._seeds.spawn(1)[0])

    def _targets_for(self, q: int):
        """Y_train and Y_test with Q columns (labels one-hot encoded once per Q)."""
        if q not in self._targets:
            Y_train = _check_labels(self._Y_train, "Y_train", self.X_train.shape[0], q)
            Y_test = None
            if self._Y_test is not None and self.X_test is not None:
                Y_test = _check_labels(self._Y_test, "Y_test", self.X_test.shape[0], q)
            self._targets = {q: (Y_train, Y_test)}
        return self._targets[q]

    # --------------------------------------------------------------------- record
    def record(self, step: int, network: Any, *, threads: int | None = None) -> MonitorRecord:
        """Measure the network now and append a :class:`MonitorRecord` to the history.

        Parameters
        ----------
        step : int
            The caller's step (epoch, iteration, ...), stored as given.
        network : Network, MLPRegressor, MLPClassifier, torch nn.Module or state_dict
            The network now; converted by :meth:`Network.from_sklearn` or
            :meth:`Network.from_torch` when it is not a Network (each weight copied once).
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
            the adapters refuse.
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
        Y_train, Y_test = self._targets_for(net.output_dim)
        t = len(self.history) + 1
        delta_t = record_delta(self.delta, t)
        seed = self._next_seed()
        bound = None
        with_bound = self.bound_every is not None and (t - 1) % self.bound_every == 0
        if with_bound:
            # The lipschitz variant certifies the norms with opnorms(weights, delta_t, seed):
            # the same call as below, so the bound spends no failure probability of its own.
            inputs = BoundInputs(
                self.X_train, Y_train, self.X_test, Y_test, delta_t, seed, threads
            )
            cache = TrainingSetCache(inputs)
            report = _sample_bounds_batch(cache, [(net, "lipschitz")])[0]
            norms, residuals = list(report.norms), cache.residuals(net)
            bound = report.summary()
        else:
            norms = _opnorms(list(net.weights), delta=delta_t, seed=seed, threads=threads)
            residuals = np.linalg.norm(net._forward(self.X_train, threads) - Y_train, axis=1)
        item = MonitorRecord(
            record=t,
            step=int(step),
            widths=tuple(net.widths),
            norms=tuple(norms),
            bias_norms=tuple(float(np.linalg.norm(b)) for b in net.biases),
            lipschitz=upper_product(norms),
            lipschitz_estimate=estimate_product(norms),
            train_cost=float(np.mean(residuals**2)),
            max_train_residual=float(residuals.max()),
            delta=delta_t,
            seed=seed,
            bound=bound,
            seconds=time.perf_counter() - start,
            heldout=self._heldout(net, Y_test, t, threads),
        )
        self.history.append(item)
        return item

    def _heldout(self, net: Network, Y_test, t: int, threads: int):
        """The held-out certificate of record t (None without ``heldout_delta``)."""
        if self.heldout_delta is None or self.X_test is None or Y_test is None:
            return None
        outputs = net._forward(self.X_test, threads)
        errors = int(np.count_nonzero(np.argmax(outputs, 1) != np.argmax(Y_test, 1)))
        delta_t = record_delta(self.heldout_delta, t)
        return heldout_certificate(errors, self.X_test.shape[0], delta=delta_t)

    # -------------------------------------------------------------------- outputs
    def to_dict(self) -> dict:
        """The configuration and the history, JSON-safe (non-finite numbers become None)."""
        return {
            "delta": float(self.delta),
            "delta_spent": float(self.delta_spent),
            "bound_every": self.bound_every,
            "n_train": int(self.X_train.shape[0]),
            "n_test": None if self.X_test is None else int(self.X_test.shape[0]),
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


def history_series(history, label: str = "") -> dict:
    """Plain lists from a history, as :func:`archbound.plots.monitor_history` draws them.

    ``history`` is a list of :class:`MonitorRecord` or of their ``to_dict()`` forms.
    """
    rows = [r.to_dict() if isinstance(r, MonitorRecord) else r for r in history]
    layers = max([len(r["norms"]) for r in rows] + [0])

    def bound(r, key):
        return None if r["bound"] is None else r["bound"][key]

    return {
        "label": label,
        "steps": [r["step"] for r in rows],
        "norms": [
            [r["norms"][k]["upper"] if k < len(r["norms"]) else None for r in rows]
            for k in range(layers)
        ],
        "lipschitz": [r["lipschitz"] for r in rows],
        "train_cost": [r["train_cost"] for r in rows],
        "test_cost": [bound(r, "test_cost") for r in rows],
        "test_cost_bound": [bound(r, "test_cost_bound") for r in rows],
    }


__all__ = ["BoundSnapshot", "MonitorRecord", "NormMonitor", "as_network", "record_delta"]
