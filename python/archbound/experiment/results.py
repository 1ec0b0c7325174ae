"""What :func:`~archbound.experiment.run_experiment` returns: :class:`ExperimentResults`.

The typed content of results.json, every level a record of
:mod:`archbound.experiment.records`; :meth:`ExperimentResults.to_dict` is the one writer
of results.json's content (schema: ``results.schema.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archbound._json import json_safe
from archbound.experiment.capacity import CapacitySection
from archbound.experiment.certify import CertificatesSection
from archbound.experiment.config import ExperimentConfig
from archbound.experiment.records import OMIT_NONE, Record, RunRecord
from archbound.experiment.summary import SummaryRecord
from archbound.experiment.trained import TrainedSection


@dataclass(frozen=True)
class DatasetRecord(Record):
    """The data of the sweep (results.json's ``dataset``).

    Attributes
    ----------
    name : str
        ``"digits"``, ``"mnist"``, ``"fashion-mnist"`` or the IDX directory.
    input_dim : int
        M0.
    n_classes : int
        Q.
    n_pool : int
        The training pool: the largest N (the subsets are nested).
    n_test : int
        Test samples used.
    """

    name: str
    input_dim: int
    n_classes: int
    n_pool: int
    n_test: int


@dataclass(frozen=True)
class ExperimentResults(Record):
    """The results of the sweep, typed all the way down.

    Attributes
    ----------
    version : int
        The version of results.json (:data:`archbound.experiment.RESULTS_VERSION`).
    archbound_version : str
    created : str
        ISO 8601 time (UTC) of the run.
    seconds : float or None
        Wall time of the whole run.
    config : ExperimentConfig
        The resolved options; results.json records those of
        :meth:`ExperimentConfig.results_dict`.
    dataset : DatasetRecord
    runs : list of RunRecord
        One per N.
    trained : TrainedSection or None
        With ``--trained`` only.
    capacity : CapacitySection or None
        With ``--capacity`` only.
    certificates : CertificatesSection or None
        With ``--certify`` only.
    summary : SummaryRecord
    """

    version: int
    archbound_version: str
    created: str
    seconds: float | None
    config: ExperimentConfig
    dataset: DatasetRecord
    runs: list[RunRecord]
    trained: TrainedSection | None = field(default=None, metadata=OMIT_NONE)
    capacity: CapacitySection | None = field(default=None, metadata=OMIT_NONE)
    certificates: CertificatesSection | None = field(default=None, metadata=OMIT_NONE)
    summary: SummaryRecord = field(default_factory=lambda: SummaryRecord([], {}))

    def to_dict(self) -> dict[str, Any]:
        """The content of results.json (JSON-safe; the schema's keys, in order)."""
        out = super().to_dict()
        out["config"] = json_safe(self.config.results_dict())
        return out


__all__ = ["DatasetRecord", "ExperimentResults"]
