"""The typed records of results.json's ``runs``: one dataclass per object of the schema.

Each record is built from what the sweep measured (a :class:`~archbound.BoundReport`, a
:class:`~archbound.DiscrepancyReport`, a network's test outputs) and written by its
``to_dict``, whose keys and their order are those of ``results.schema.json``
(``#/$defs/run``, ``network``, ``test``, ``bound``, ``discrepancy``). Every float goes
through :func:`archbound._json.finite_or_none`: a number that is not finite is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from archbound._json import finite_or_none

#: The columns of results.csv taken from each run (:class:`RunRecord`'s ``to_dict``).
RUN_COLUMNS = ("n_train", "rank", "condition_number", "readout_norm", "status")
#: The keys of a network's bound in the trained section of results.json (those of
#: :class:`archbound.BoundSnapshot` that the sweep's :class:`BoundRecord` also has).
TRAINED_BOUND_KEYS = (
    "test_cost_bound",
    "ratio",
    "mean_bound",
    "mean_ratio",
    "uniform_bound",
    "violations",
)


@dataclass
class TestRecord:
    """The truth on the test set (``#/$defs/test``).

    Attributes
    ----------
    test_cost : float or None
        C_test = mean_j |f(x~_j) - y~_j|^2.
    mean_error : float or None
        mean_j |f(x~_j) - y~_j|.
    max_error : float or None
        max_j |f(x~_j) - y~_j|.
    accuracy : float or None
        The fraction of test samples whose largest output is their label.
    """

    __test__ = False  # not a pytest test class, whatever its name

    test_cost: float | None
    mean_error: float | None
    max_error: float | None
    accuracy: float | None

    @classmethod
    def from_errors(cls, errors, accuracy) -> TestRecord:
        """From the per-sample errors |f(x~_j) - y~_j| (ndarray of shape (m,))."""
        errors = np.asarray(errors)
        return cls(
            test_cost=finite_or_none(np.mean(errors**2)),
            mean_error=finite_or_none(errors.mean()),
            max_error=finite_or_none(errors.max()),
            accuracy=finite_or_none(accuracy),
        )

    def to_dict(self) -> dict:
        return {
            "test_cost": self.test_cost,
            "mean_error": self.mean_error,
            "max_error": self.max_error,
            "accuracy": self.accuracy,
        }


@dataclass
class BoundRecord:
    """One bound variant of one network (``#/$defs/bound``).

    Attributes
    ----------
    test_cost_bound : float or None
        mean_j B_j^2.
    ratio : float or None
        test_cost_bound / test_cost.
    mean_bound : float or None
        mean_j B_j.
    mean_ratio : float or None
        mean B / mean error (1 would be exact).
    uniform_bound : float or None
        max_j B_j.
    lipschitz : float or None
        The Lipschitz constant alpha used.
    violations : int
        Test samples with B_j < |f(x~_j) - y~_j| (beyond a 1e-9 relative slack): 0 unless
        something is wrong.
    seconds : float or None
    attained_by : dict or None
        For ``best``: component variant -> number of test samples it attains.
    """

    test_cost_bound: float | None
    ratio: float | None
    mean_bound: float | None
    mean_ratio: float | None
    uniform_bound: float | None
    lipschitz: float | None
    violations: int
    seconds: float | None
    attained_by: dict | None = None

    @classmethod
    def from_report(cls, report) -> BoundRecord:
        """From a :class:`~archbound.BoundReport` (its ``seconds`` included)."""
        summary = report.summary()
        return cls(
            test_cost_bound=finite_or_none(summary.test_cost_bound),
            ratio=finite_or_none(summary.ratio),
            mean_bound=finite_or_none(summary.mean_bound),
            mean_ratio=finite_or_none(summary.mean_ratio),
            uniform_bound=finite_or_none(summary.uniform_bound),
            lipschitz=finite_or_none(report.lipschitz),
            violations=summary.violations,
            seconds=finite_or_none(report.seconds),
            attained_by=None if report.attained_by is None else report.attained_counts(),
        )

    def to_dict(self) -> dict:
        extra = {} if self.attained_by is None else {"attained_by": self.attained_by}
        return extra | {
            "test_cost_bound": self.test_cost_bound,
            "ratio": self.ratio,
            "mean_bound": self.mean_bound,
            "mean_ratio": self.mean_ratio,
            "uniform_bound": self.uniform_bound,
            "lipschitz": self.lipschitz,
            "violations": self.violations,
            "seconds": self.seconds,
        }


@dataclass
class DiscrepancyBoundRecord:
    """The a-priori bound on |C_test - C_train| with one transport distance.

    Attributes
    ----------
    bound : float or None
    ratio : float or None
        bound / the true |C_test - C_train| (None where that is 0).
    transport_term, train_term : float or None
        The two terms of the bound.
    seconds : float or None
    """

    bound: float | None
    ratio: float | None
    transport_term: float | None
    train_term: float | None
    seconds: float | None

    @classmethod
    def from_report(cls, report, true) -> DiscrepancyBoundRecord:
        """From a :class:`~archbound.DiscrepancyReport` and the true discrepancy."""
        return cls(
            bound=finite_or_none(report.bound),
            ratio=finite_or_none(report.bound / true) if true else None,
            transport_term=finite_or_none(report.transport_term),
            train_term=finite_or_none(report.train_term),
            seconds=finite_or_none(report.seconds),
        )

    def to_dict(self) -> dict:
        return {
            "bound": self.bound,
            "ratio": self.ratio,
            "transport_term": self.transport_term,
            "train_term": self.train_term,
            "seconds": self.seconds,
        }


@dataclass
class DiscrepancyRecord:
    """The cost discrepancy of one network beside its a-priori bounds (``#/$defs/discrepancy``).

    Attributes
    ----------
    true : float or None
        |C_test - C_train|, from the measured test cost.
    bounds : dict
        Distance (:data:`archbound.bounds.DISCREPANCY_DISTANCES`) ->
        :class:`DiscrepancyBoundRecord`.
    """

    true: float | None
    bounds: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"true": self.true, "bounds": {k: v.to_dict() for k, v in self.bounds.items()}}


@dataclass
class NetworkRecord:
    """One network of the sweep (``#/$defs/network``).

    Attributes
    ----------
    construction : str
        ``"readout_first"`` or ``"readout_last"``.
    depth : int
        L, the number of hidden layers.
    width : int
        M, the width of every hidden layer.
    widths : list of int
        [M0, M, ..., M, Q].
    train_loss : float or None
        C_train.
    max_train_error : float or None
        max_i |f(x_i) - y_i|.
    zero_loss : bool
        max_i |f(x_i) - y_i| <= 1e-6 (1 + max |y~|).
    test : TestRecord
    bounds : dict
        Variant -> :class:`BoundRecord`.
    seconds : float or None
        Construction, forward pass and every bound of this network.
    discrepancy : DiscrepancyRecord or None
    """

    construction: str
    depth: int
    width: int
    widths: list
    train_loss: float | None
    max_train_error: float | None
    zero_loss: bool
    test: TestRecord
    bounds: dict = field(default_factory=dict)
    seconds: float | None = None
    discrepancy: DiscrepancyRecord | None = None

    @classmethod
    def from_network(
        cls, net, construction, depth, width, output, Y_test, y_test
    ) -> NetworkRecord:
        """The truth of a constructed network, from its test outputs.

        Parameters
        ----------
        net : Network
            Built by :func:`archbound.construct_minimizer` (``net.construction`` is set).
        construction : str
        depth, width : int
        output : ndarray of shape (m, Q)
            ``net.forward(X_test)``.
        Y_test : ndarray of shape (m, Q)
        y_test : ndarray of shape (m,)
            The labels.
        """
        errors = np.linalg.norm(output - Y_test, axis=1)
        built = net.construction
        scale = 1.0 + float(np.abs(Y_test).max())
        return cls(
            construction=construction,
            depth=depth,
            width=width,
            widths=net.widths,
            train_loss=finite_or_none(built.train_loss),
            max_train_error=finite_or_none(built.max_train_error),
            zero_loss=bool(built.max_train_error <= 1e-6 * scale),
            test=TestRecord.from_errors(errors, np.mean(output.argmax(axis=1) == y_test)),
        )

    def to_dict(self) -> dict:
        out = {
            "construction": self.construction,
            "depth": self.depth,
            "width": self.width,
            "widths": self.widths,
            "train_loss": self.train_loss,
            "max_train_error": self.max_train_error,
            "zero_loss": self.zero_loss,
            "test": self.test.to_dict(),
            "bounds": {k: v.to_dict() for k, v in self.bounds.items()},
            "seconds": self.seconds,
        }
        if self.discrepancy is not None:
            out["discrepancy"] = self.discrepancy.to_dict()
        return out


@dataclass
class RunRecord:
    """One training-set size N of the sweep (``#/$defs/run``).

    Attributes
    ----------
    n_train : int
        N.
    rank : int
    sigma_max, sigma_min, condition_number : float or None
        Of the N x M0 training matrix.
    readout_norm : float or None
        ||Y X^+||, the spectral norm of readout_first's readout (None when skipped).
    status : str
        ``"ok"``, or ``"skipped"`` when rank < N (zero loss unattainable).
    reason : str or None
    networks : list of NetworkRecord
    """

    n_train: int
    rank: int
    sigma_max: float | None
    sigma_min: float | None
    condition_number: float | None
    readout_norm: float | None = None
    status: str = "ok"
    reason: str | None = None
    networks: list = field(default_factory=list)

    @classmethod
    def from_pinv_info(cls, n_train, info) -> RunRecord:
        """From :func:`archbound.pinv_info` of the training matrix."""
        return cls(
            n_train=n_train,
            rank=int(info.rank),
            sigma_max=finite_or_none(info.sigma_max),
            sigma_min=finite_or_none(info.sigma_min),
            condition_number=finite_or_none(info.condition_number),
        )

    def to_dict(self) -> dict:
        return {
            "n_train": self.n_train,
            "rank": self.rank,
            "sigma_max": self.sigma_max,
            "sigma_min": self.sigma_min,
            "condition_number": self.condition_number,
            "readout_norm": self.readout_norm,
            "status": self.status,
            "reason": self.reason,
            "networks": [net.to_dict() for net in self.networks],
        }


__all__ = [
    "RUN_COLUMNS",
    "TRAINED_BOUND_KEYS",
    "BoundRecord",
    "DiscrepancyBoundRecord",
    "DiscrepancyRecord",
    "NetworkRecord",
    "RunRecord",
    "TestRecord",
]
