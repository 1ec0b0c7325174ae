"""The typed records of results.json: one dataclass per object of the schema.

Each record is built from what the sweep measured (a :class:`~archbound.BoundReport`, a
:class:`~archbound.DiscrepancyReport`, a network's test outputs) and written by the one
:meth:`Record.to_dict`, whose keys and their order are the record's fields, those of
``results.schema.json`` (``#/$defs/run``, ``network``, ``test``, ``bound``,
``discrepancy``). Every float goes through :func:`archbound._json.finite_or_none`: a
number that is not finite is None.

The columns of results.csv are defined here too, once: the fields of each record marked
:data:`IN_CSV`, in their order (:meth:`Record.csv_columns`, :data:`CSV_COLUMNS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from archbound._json import finite_or_none, json_safe
from archbound.bounds import DISCREPANCY_DISTANCES
from archbound.bounds.reports import VIOLATION_SLACK

#: Field metadata: the field is a column of results.csv.
IN_CSV = {"csv": True}
#: Field metadata: the field is left out of ``to_dict`` when it is None.
OMIT_NONE = {"omit_none": True}


class Record:
    """A dataclass of results.json: one ``to_dict`` and the columns of results.csv.

    Subclasses are dataclasses; ``to_dict`` writes every field in order (records, lists
    and dicts of records recursively, through :func:`archbound._json.json_safe`), leaving
    out a field marked :data:`OMIT_NONE` when it is None, and writing first a field whose
    metadata has ``first``; the fields marked :data:`IN_CSV` are the record's columns of
    results.csv.
    """

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-safe dict (the schema's keys, in order)."""
        out = {}
        for item in sorted(fields(self), key=lambda item: not item.metadata.get("first")):
            value = getattr(self, item.name)
            if value is None and item.metadata.get("omit_none"):
                continue
            out[item.name] = json_safe(value)
        return out

    @classmethod
    def csv_fields(cls) -> list[str]:
        """The fields marked :data:`IN_CSV`, in order."""
        return [item.name for item in fields(cls) if item.metadata.get("csv")]

    @classmethod
    def csv_columns(cls) -> list[str]:
        """The record's columns of results.csv (its :meth:`csv_fields` unless overridden)."""
        return cls.csv_fields()

    def csv_values(self) -> dict[str, Any]:
        """The record's values in results.csv, column -> value."""
        return {name: getattr(self, name) for name in self.csv_fields()}


@dataclass
class TestRecord(Record):
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

    test_cost: float | None = field(metadata=IN_CSV)
    mean_error: float | None = field(metadata=IN_CSV)
    max_error: float | None = field(metadata=IN_CSV)
    accuracy: float | None = field(metadata=IN_CSV)

    @classmethod
    def from_errors(cls, errors: Any, accuracy: Any) -> TestRecord:
        """From the per-sample errors |f(x~_j) - y~_j| (ndarray of shape (m,))."""
        errors = np.asarray(errors)
        return cls(
            test_cost=finite_or_none(np.mean(errors**2)),
            mean_error=finite_or_none(errors.mean()),
            max_error=finite_or_none(errors.max()),
            accuracy=finite_or_none(accuracy),
        )


@dataclass
class BoundSummaryRecord(Record):
    """What a bound says over the test set, shared by the sweep's and the trained section's.

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
    """

    test_cost_bound: float | None = field(metadata=IN_CSV)
    ratio: float | None = field(metadata=IN_CSV)
    mean_bound: float | None = field(metadata=IN_CSV)
    mean_ratio: float | None = field(metadata=IN_CSV)
    uniform_bound: float | None = field(metadata=IN_CSV)


def relative_excess(per_sample: Any, errors: Any) -> tuple[float | None, int]:
    """The mean relative excess of a bound over the truth, mean_j (B_j - e_j) / e_j.

    Not the same number as mean B / mean error - 1 (the excess of the means): it weighs
    every test sample alike, so samples with a small error e_j weigh more.

    Parameters
    ----------
    per_sample : ndarray of shape (m,)
        The bounds B_j.
    errors : ndarray of shape (m,)
        The truths e_j = |f(x~_j) - y~_j|.

    Returns
    -------
    mean_relative_excess : float or None
        Over the samples with e_j > :data:`~archbound.bounds.reports.VIOLATION_SLACK`
        (1e-9); None when there is none.
    zero_error_samples : int
        The samples left out: their error is zero up to rounding, and a relative excess
        over it is not defined.
    """
    per_sample = np.asarray(per_sample, dtype=np.float64)
    errors = np.asarray(errors, dtype=np.float64)
    kept = errors > VIOLATION_SLACK
    excluded = int(errors.size - np.count_nonzero(kept))
    if not kept.any():
        return None, excluded
    excess = (per_sample[kept] - errors[kept]) / errors[kept]
    return finite_or_none(excess.mean()), excluded


@dataclass
class BoundRecord(BoundSummaryRecord):
    """One bound variant of one network (``#/$defs/bound``): the fields of
    :class:`BoundSummaryRecord`, then these.

    Attributes
    ----------
    mean_relative_excess : float or None
        mean_j (B_j - e_j) / e_j over the test samples with e_j > 0 (0 would be exact;
        :func:`relative_excess`). Not ``mean_ratio - 1``, the excess of the means.
    zero_error_samples : int
        Test samples with e_j = 0 (up to rounding), left out of ``mean_relative_excess``.
    lipschitz : float or None
        The Lipschitz constant alpha used.
    violations : int
        Test samples with B_j < |f(x~_j) - y~_j| (beyond a 1e-9 relative slack): 0 unless
        something is wrong.
    seconds : float or None
    attained_by : dict or None
        For ``best``: component variant -> number of test samples it attains (written
        first).
    """

    mean_relative_excess: float | None = field(metadata=IN_CSV)
    zero_error_samples: int = field(metadata=IN_CSV)
    lipschitz: float | None = field(metadata=IN_CSV)
    violations: int = field(metadata=IN_CSV)
    seconds: float | None
    attained_by: dict[str, int] | None = field(
        default=None, kw_only=True, metadata={**OMIT_NONE, "first": True}
    )

    @classmethod
    def from_report(cls, report: Any) -> BoundRecord:
        """From a :class:`~archbound.BoundReport` (its ``seconds`` included)."""
        summary = report.summary()
        shared = {
            item.name: finite_or_none(getattr(summary, item.name))
            for item in fields(BoundSummaryRecord)
        }
        excess, zero_error = relative_excess(report.per_sample, report.errors)
        return cls(
            **shared,
            mean_relative_excess=excess,
            zero_error_samples=zero_error,
            lipschitz=finite_or_none(report.lipschitz),
            violations=summary.violations,
            seconds=finite_or_none(report.seconds),
            attained_by=None if report.attained_by is None else report.attained_counts(),
        )

    @classmethod
    def csv_columns(cls) -> list[str]:
        return super().csv_columns() + ["bound_seconds", "attained_by"]

    def csv_values(self) -> dict[str, Any]:
        values = super().csv_values()
        values["bound_seconds"] = self.seconds
        # "lipschitz:0;projected:12;coordinates:437"
        values["attained_by"] = (
            None
            if self.attained_by is None
            else ";".join(f"{k}:{v}" for k, v in self.attained_by.items())
        )
        return values


@dataclass
class DiscrepancyBoundRecord(Record):
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
    def from_report(cls, report: Any, true: float | None) -> DiscrepancyBoundRecord:
        """From a :class:`~archbound.DiscrepancyReport` and the true discrepancy."""
        return cls(
            bound=finite_or_none(report.bound),
            ratio=finite_or_none(report.bound / true) if true else None,
            transport_term=finite_or_none(report.transport_term),
            train_term=finite_or_none(report.train_term),
            seconds=finite_or_none(report.seconds),
        )


def _discrepancy_prefix(distance: str) -> str:
    """The CSV prefix of a distance: ``discrepancy`` (lipschitz), ``discrepancy_<distance>``."""
    return "discrepancy" if distance == "lipschitz" else f"discrepancy_{distance}"


@dataclass
class DiscrepancyRecord(Record):
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
    bounds: dict[str, DiscrepancyBoundRecord] = field(default_factory=dict)

    @classmethod
    def csv_columns(cls) -> list[str]:
        """``true_discrepancy``, then the bound and ratio of every distance."""
        out = ["true_discrepancy"]
        for distance in DISCREPANCY_DISTANCES:
            prefix = _discrepancy_prefix(distance)
            out += [f"{prefix}_bound", f"{prefix}_ratio"]
        return out

    def csv_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {"true_discrepancy": self.true}
        for distance, bound in self.bounds.items():
            prefix = _discrepancy_prefix(distance)
            values[f"{prefix}_bound"] = bound.bound
            values[f"{prefix}_ratio"] = bound.ratio
        return values


@dataclass
class NetworkRecord(Record):
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

    construction: str = field(metadata=IN_CSV)
    depth: int = field(metadata=IN_CSV)
    width: int = field(metadata=IN_CSV)
    widths: list[int]
    train_loss: float | None = field(metadata=IN_CSV)
    max_train_error: float | None = field(metadata=IN_CSV)
    zero_loss: bool = field(metadata=IN_CSV)
    test: TestRecord
    bounds: dict[str, BoundRecord] = field(default_factory=dict)
    seconds: float | None = None
    discrepancy: DiscrepancyRecord | None = field(default=None, metadata=OMIT_NONE)

    @classmethod
    def from_network(
        cls,
        net: Any,
        construction: str,
        depth: int,
        width: int,
        output: np.ndarray,
        Y_test: np.ndarray,
        y_test: np.ndarray,
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


@dataclass
class RunRecord(Record):
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

    n_train: int = field(metadata=IN_CSV)
    rank: int = field(metadata=IN_CSV)
    sigma_max: float | None
    sigma_min: float | None
    condition_number: float | None = field(metadata=IN_CSV)
    readout_norm: float | None = field(default=None, metadata=IN_CSV)
    status: str = field(default="ok", metadata=IN_CSV)
    reason: str | None = None
    networks: list[NetworkRecord] = field(default_factory=list)

    @classmethod
    def from_pinv_info(cls, n_train: int, info: Any) -> RunRecord:
        """From :func:`archbound.pinv_info` of the training matrix."""
        return cls(
            n_train=n_train,
            rank=int(info.rank),
            sigma_max=finite_or_none(info.sigma_max),
            sigma_min=finite_or_none(info.sigma_min),
            condition_number=finite_or_none(info.condition_number),
        )


#: The columns of results.csv: one row per (N, network, variant).
CSV_COLUMNS = [
    *RunRecord.csv_columns(),
    *NetworkRecord.csv_columns(),
    *TestRecord.csv_columns(),
    "variant",
    *BoundRecord.csv_columns(),
    *DiscrepancyRecord.csv_columns(),
]

__all__ = [
    "CSV_COLUMNS",
    "IN_CSV",
    "OMIT_NONE",
    "BoundRecord",
    "BoundSummaryRecord",
    "DiscrepancyBoundRecord",
    "DiscrepancyRecord",
    "NetworkRecord",
    "Record",
    "RunRecord",
    "TestRecord",
    "relative_excess",
]
