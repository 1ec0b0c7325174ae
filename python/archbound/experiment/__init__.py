"""The paper's experiment: zero-loss minimizers over a sweep of N, depth and width.

For each training-set size N (nested random subsets of one training pool), the experiment
checks N <= rank(X), builds readout_first for every architecture of the sweep (L hidden
layers of width M, for every L in ``depths`` and M in ``widths``) and readout_last wherever
M >= N, verifies zero training loss, measures the true test error and computes every
requested bound variant beside it, with the a-priori bound on |C_test - C_train|
(arXiv:2504.05695, docs/design.md §2.5 and §4).

One module per job:

- :mod:`~archbound.experiment.config`: :class:`ExperimentConfig`, its defaults,
  :func:`resolve` and :func:`plan`;
- :mod:`~archbound.experiment.run`: :func:`run_experiment`, the sweep, which returns an
  :class:`ExperimentResults`;
- :mod:`~archbound.experiment.results`: :class:`ExperimentResults`, the typed content of
  results.json, whose ``to_dict`` is that content;
- :mod:`~archbound.experiment.records`: the typed records of that content (run, network,
  test, bound, discrepancy), their base :class:`Record` with the one ``to_dict``, and the
  columns of results.csv (:data:`CSV_COLUMNS`);
- :mod:`~archbound.experiment.summary`: :func:`summarize`, the per-N means;
- :mod:`~archbound.experiment.figures`: bound_vs_n.png and architectures.png;
- :mod:`~archbound.experiment.report`: results.csv (:func:`csv_rows`) and
  :func:`write_results`;
- :mod:`~archbound.experiment.trained`: ``--trained``, networks trained by gradient
  descent beside the constructed minimizer, and the records of that section;
- :mod:`~archbound.experiment.capacity`: ``--capacity``, the classic capacity bounds of
  every network beside the paper's (docs/capacity.md), and their record;
- :mod:`~archbound.experiment.schema`: :data:`RESULTS_SCHEMA`, read from
  ``results.schema.json``.

results.json
------------
Its layout is defined once, by the JSON Schema (draft 2020-12) shipped beside this module,
``archbound/experiment/results.schema.json``, whose ``description`` fields say what every
value means. In short: ``version``, ``archbound_version``, ``created``, ``seconds``;
``config`` (the resolved options); ``dataset`` (M0, Q, the pool and test sizes); ``runs``,
one per N, each with its training matrix's rank and conditioning and its ``networks``,
each with the truth (``test``), one ``bounds`` entry per variant and the ``discrepancy``
bounds; ``summary`` (means over the architectures per N, and the average mean B / mean
error of each variant); ``trained`` with ``--trained`` only; and ``capacity`` with
``--capacity`` only. Every number that is not
finite is written as null.

results.csv has one row per (N, network, variant) with the columns of :data:`CSV_COLUMNS`
(a skipped N gets one row with ``status`` = skipped); the discrepancy columns repeat on
every row of a network.
"""

from __future__ import annotations

from archbound.experiment.config import (
    ANY_NETWORK_VARIANTS,
    CONSTRUCTIONS,
    DEFAULT_DEPTHS,
    DEFAULT_N_TRAIN,
    DEFAULT_WIDTHS,
    DEFAULT_WIDTHS_LARGE,
    QUICK,
    ExperimentConfig,
    plan,
    resolve,
)
from archbound.experiment.figures import figures
from archbound.experiment.records import (
    CSV_COLUMNS,
    BoundRecord,
    DiscrepancyBoundRecord,
    DiscrepancyRecord,
    NetworkRecord,
    Record,
    RunRecord,
    TestRecord,
)
from archbound.experiment.report import csv_rows, write_results
from archbound.experiment.results import DatasetRecord, ExperimentResults
from archbound.experiment.run import run_experiment
from archbound.experiment.schema import RESULTS_SCHEMA, RESULTS_VERSION
from archbound.experiment.summary import SummaryRecord, summarize

__all__ = [
    "ANY_NETWORK_VARIANTS",
    "CONSTRUCTIONS",
    "CSV_COLUMNS",
    "DEFAULT_DEPTHS",
    "DEFAULT_N_TRAIN",
    "DEFAULT_WIDTHS",
    "DEFAULT_WIDTHS_LARGE",
    "QUICK",
    "RESULTS_SCHEMA",
    "RESULTS_VERSION",
    "BoundRecord",
    "DatasetRecord",
    "DiscrepancyBoundRecord",
    "DiscrepancyRecord",
    "ExperimentConfig",
    "ExperimentResults",
    "NetworkRecord",
    "Record",
    "RunRecord",
    "SummaryRecord",
    "TestRecord",
    "csv_rows",
    "figures",
    "plan",
    "resolve",
    "run_experiment",
    "summarize",
    "write_results",
]
