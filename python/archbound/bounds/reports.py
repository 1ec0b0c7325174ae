"""The results of the bounds: :class:`BoundReport` (per-sample bounds beside the truth) and
:class:`DiscrepancyReport` (the a-priori bound on |C_test - C_train|)."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from archbound._json import finite_or_none as _finite_or_none

#: Test samples whose bound lies below the truth by more than this relative slack count as
#: violations (0 unless a certificate failed): 1e-9 (1 + |f(x~_j) - y~_j|).
VIOLATION_SLACK = 1e-9

#: The fields of a :class:`BoundSnapshot`, in the order of its ``to_dict`` and of the
#: monitor's table columns (``violations``, the one integer, last).
BOUND_COLUMNS = (
    "test_cost_bound",
    "test_cost",
    "mean_bound",
    "mean_error",
    "uniform_bound",
    "max_error",
    "ratio",
    "mean_ratio",
    "accuracy",
    "violations",
)


def ratio_of(bound: float, truth: float) -> float:
    """bound / truth, inf where the truth is 0."""
    return bound / truth if truth > 0 else math.inf


class BoundTotals(Protocol):
    """The aggregates a :class:`BoundSnapshot` is made of (a :class:`BoundReport`, or the
    aggregates of per-sample arrays)."""

    @property
    def test_cost_bound(self) -> float: ...
    @property
    def test_cost(self) -> float: ...
    @property
    def uniform_bound(self) -> float: ...
    @property
    def max_error(self) -> float: ...
    @property
    def accuracy(self) -> float | None: ...


@dataclass(frozen=True)
class BoundSnapshot:
    """The summary of a sample bound, beside the truth (:meth:`BoundReport.summary`).

    B_j = min_i (alpha |F_j - G_i| + |y~_j - y_i| + r_i) >= |f(x~_j) - y~_j|, with r_i the
    training residuals (docs/design.md §2.5.2).

    Attributes
    ----------
    test_cost_bound : float
        mean_j B_j^2 >= test_cost.
    test_cost : float
        The true C_test = mean_j |f(x~_j) - y~_j|^2.
    mean_bound, mean_error : float
        mean_j B_j and mean_j |f(x~_j) - y~_j|.
    uniform_bound, max_error : float
        max_j B_j >= max_j |f(x~_j) - y~_j|.
    ratio : float
        test_cost_bound / test_cost.
    mean_ratio : float
        mean_bound / mean_error.
    accuracy : float or None
        Argmax agreement, when the test targets are one-hot.
    violations : int
        Test samples with B_j below the truth (beyond rounding, :data:`VIOLATION_SLACK`): 0
        unless the certificate failed.

    See Also
    --------
    BoundReport : the per-sample bounds it summarizes.
    """

    test_cost_bound: float
    test_cost: float
    mean_bound: float
    mean_error: float
    uniform_bound: float
    max_error: float
    ratio: float
    mean_ratio: float
    accuracy: float | None
    violations: int

    def to_dict(self) -> dict:
        """A JSON-safe dict, keys in the order of :data:`BOUND_COLUMNS`.

        Returns
        -------
        dict
            Non-finite numbers become None.
        """
        out = {k: _finite_or_none(getattr(self, k)) for k in BOUND_COLUMNS if k != "violations"}
        out["violations"] = int(self.violations)
        return out

    @classmethod
    def of(
        cls,
        totals: BoundTotals,
        per_sample: np.ndarray,
        errors: np.ndarray,
        *,
        truth_lower: np.ndarray | None = None,
    ) -> BoundSnapshot:
        """The snapshot of per-sample bounds beside the truth: the one place its ratios and
        its violation count are defined.

        Parameters
        ----------
        totals : BoundTotals
            test_cost_bound, test_cost, uniform_bound, max_error and accuracy.
        per_sample : ndarray of shape (m,)
            B_j.
        errors : ndarray of shape (m,)
            The truth |f(x~_j) - y~_j| (mean_error is their mean).
        truth_lower : ndarray of shape (m,), optional
            A lower bound on the truth to count the violations against, where ``errors`` is
            an estimate (a float32 evaluation); default ``errors``.

        Returns
        -------
        BoundSnapshot
        """
        per_sample = np.asarray(per_sample, dtype=np.float64)
        errors = np.asarray(errors, dtype=np.float64)
        lower = errors if truth_lower is None else np.asarray(truth_lower, dtype=np.float64)
        slack = VIOLATION_SLACK * (1.0 + np.abs(lower))
        mean_bound, mean_error = float(per_sample.mean()), float(errors.mean())
        return cls(
            test_cost_bound=totals.test_cost_bound,
            test_cost=totals.test_cost,
            mean_bound=mean_bound,
            mean_error=mean_error,
            uniform_bound=totals.uniform_bound,
            max_error=totals.max_error,
            ratio=ratio_of(totals.test_cost_bound, totals.test_cost),
            mean_ratio=ratio_of(mean_bound, mean_error),
            accuracy=totals.accuracy,
            violations=int(np.sum(per_sample < lower - slack)),
        )


@dataclass(frozen=True)
class BoundReport:
    """Per-sample bounds |f(x~_j) - y~_j| <= B_j and their aggregates, beside the truth.

    Attributes
    ----------
    variant : str
        One of :data:`VARIANTS` (see :func:`sample_bounds`).
    per_sample : ndarray of shape (m,)
        B_j = min_i (alpha |F_j - G_i| + |y~_j - y_i| + r_i) (``"coordinates"`` adds its
        rounding terms; ``"best"`` is the minimum over its components).
    nearest_index : ndarray of shape (m,)
        The training sample i attaining B_j.
    distances : ndarray of shape (m,)
        |F_j - G_i| in the variant's feature space, for that i (for ``"best"``, in the
        feature space of the component that attains B_j).
    errors : ndarray of shape (m,)
        The truth, |f(x~_j) - y~_j|.
    train_cost, test_cost : float
        Mean squared errors C_train and C_test.
    test_cost_bound : float
        mean_j B_j^2 >= C_test.
    uniform_bound, max_error : float
        max_j B_j >= max_j |f(x~_j) - y~_j|.
    ratio : float
        test_cost_bound / test_cost.
    mean_ratio : float
        mean B / mean error.
    accuracy : float or None
        Argmax agreement on the test set, when Y is one-hot.
    lipschitz : float
        alpha: the certified Lipschitz constant used (1 for ``"linearized"``, ||Y_0|| for
        ``"coordinates"``, rho^L prod_l ||W_l|| for ``"lipschitz"`` with rho the activation's
        Lipschitz constant; for ``"best"``, that of its ``"lipschitz"`` component).
    norms : list of NormEstimate
        The operator norms behind alpha.
    delta : float
        The bound holds with probability >= 1 - delta (over the norm estimators' draws).
    seconds : float
        Wall time.
    argmax_test_index : int
        The test sample attaining ``uniform_bound``.
    components : tuple of str
        ``"best"`` only: the variants it took the minimum over (empty otherwise).
    attained_by : ndarray of int8, shape (m,), or None
        ``"best"`` only: ``components[attained_by[j]]`` attains B_j (the first on ties).
    """

    variant: str
    per_sample: np.ndarray
    nearest_index: np.ndarray
    distances: np.ndarray
    errors: np.ndarray
    train_cost: float
    test_cost: float
    test_cost_bound: float
    uniform_bound: float
    max_error: float
    ratio: float
    mean_ratio: float
    accuracy: float | None
    lipschitz: float
    norms: list = field(default_factory=list)
    delta: float = 0.0
    seconds: float = 0.0
    argmax_test_index: int | None = None
    components: tuple = ()
    attained_by: np.ndarray | None = None

    @property
    def n_test(self) -> int:
        """m, the number of test samples."""
        return int(self.per_sample.shape[0])

    def summary(self) -> BoundSnapshot:
        """The aggregates beside the truth, and the number of violations.

        Returns
        -------
        BoundSnapshot
        """
        return BoundSnapshot.of(self, self.per_sample, self.errors)

    def attained_counts(self) -> dict | None:
        """``"best"`` only: component name -> number of test samples it attains (else None)."""
        if self.attained_by is None:
            return None
        counts = np.bincount(
            np.asarray(self.attained_by, dtype=np.int64), minlength=len(self.components)
        )
        return {name: int(c) for name, c in zip(self.components, counts)}

    def to_dict(self, *, per_sample: bool = False) -> dict:
        """A JSON-safe summary (non-finite numbers become None).

        Parameters
        ----------
        per_sample : bool, default False
            Also list every test sample's bound, nearest training sample and error (and,
            for ``"best"``, the component that attains it).

        Returns
        -------
        dict
        """
        summary = self.summary()
        out = {
            "variant": self.variant,
            "n_test": self.n_test,
            "train_cost": _finite_or_none(self.train_cost),
            "test_cost": _finite_or_none(self.test_cost),
            "test_cost_bound": _finite_or_none(self.test_cost_bound),
            "uniform_bound": _finite_or_none(self.uniform_bound),
            "max_error": _finite_or_none(self.max_error),
            "ratio": _finite_or_none(self.ratio),
            "mean_ratio": _finite_or_none(self.mean_ratio),
            "mean_bound": _finite_or_none(summary.mean_bound),
            "mean_error": _finite_or_none(summary.mean_error),
            "mean_distance": _finite_or_none(self.distances.mean()),
            "accuracy": None if self.accuracy is None else float(self.accuracy),
            "lipschitz": _finite_or_none(self.lipschitz),
            "norms": [n.to_dict() for n in self.norms],
            "delta": float(self.delta),
            "seconds": float(self.seconds),
        }
        if self.attained_by is not None:
            out["components"] = list(self.components)
            out["attained_by"] = self.attained_counts()
        if per_sample:
            out["per_sample"] = [float(v) for v in self.per_sample]
            out["nearest_index"] = [int(v) for v in self.nearest_index]
            out["errors"] = [float(v) for v in self.errors]
            if self.attained_by is not None:
                out["attained_by_sample"] = [self.components[int(k)] for k in self.attained_by]
        return out


@dataclass(frozen=True)
class DiscrepancyReport:
    """The a-priori bound |C_test - C_train| <= bound, beside the true discrepancy.

    Attributes
    ----------
    bound : float
        transport_term + train_term.
    transport_term : float
        mean_j (Lip |x~_j - x_pi(j)| + |y~_j - y_pi(j)|)
        (R(|x~_j|) + R(|x_pi(j)|) + |y~_j| + |y_pi(j)|).
    train_term : float
        |mean_j l(z_pi(j)) - C_train| (0 for a zero-loss minimizer).
    discrepancy : float or None
        The truth |C_test - C_train|, when computed (``evaluate_truth=True``).
    train_cost, test_cost : float
        C_train, and C_test (None unless evaluated).
    lipschitz : float
        Product of the certified layer norms.
    norms : list of NormEstimate
    nearest_index : ndarray of shape (m,)
        pi(j).
    delta, seconds : float
    distance : str
        The distance in the transport term: ``"lipschitz"`` (the paper's form,
        Lip |x~ - x|) or ``"coordinates"`` (||Y_0|| |c(x~) - e_i|, readout_first only).
    alpha : float
        The weight of that distance: Lip, or the certified ||Y_0||.
    """

    bound: float
    transport_term: float
    train_term: float
    discrepancy: float | None
    train_cost: float
    test_cost: float | None
    lipschitz: float
    norms: list
    nearest_index: np.ndarray
    delta: float
    seconds: float
    distance: str = "lipschitz"
    alpha: float | None = None

    @property
    def ratio(self) -> float | None:
        """bound / discrepancy (None when the truth is not evaluated, or is 0)."""
        if self.discrepancy is None or self.discrepancy == 0:
            return None
        return self.bound / self.discrepancy

    def to_dict(self) -> dict:
        """A JSON-safe summary (non-finite numbers become None).

        Returns
        -------
        dict
        """
        return {
            "bound": _finite_or_none(self.bound),
            "transport_term": _finite_or_none(self.transport_term),
            "train_term": _finite_or_none(self.train_term),
            "discrepancy": None if self.discrepancy is None else float(self.discrepancy),
            "ratio": None if self.ratio is None else _finite_or_none(self.ratio),
            "train_cost": float(self.train_cost),
            "test_cost": None if self.test_cost is None else float(self.test_cost),
            "lipschitz": _finite_or_none(self.lipschitz),
            "norms": [n.to_dict() for n in self.norms],
            "delta": float(self.delta),
            "seconds": float(self.seconds),
            "distance": self.distance,
            "alpha": None if self.alpha is None else _finite_or_none(self.alpha),
        }


def share_seconds(reports: list, start: float) -> list:
    """The reports, each with ``seconds`` the batch's wall time since ``start`` shared
    equally."""
    seconds = (time.perf_counter() - start) / len(reports) if reports else 0.0
    return [dataclasses.replace(report, seconds=seconds) for report in reports]
