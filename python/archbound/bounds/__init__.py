"""Generalization bounds that do not depend on depth or width (docs/design.md §2.5).

Every bound is computed from the data by one geometry kernel (:func:`archbound.nearest`)
and the certified operator norms (:func:`archbound.opnorms`), and reported beside the
true error it bounds.

The subpackage by job: :mod:`._checks` (the validated inputs, :class:`BoundInputs`),
:mod:`._cache` (the feature spaces and what one training set shares), :mod:`.reports` (the
result types), :mod:`.variants` (the variants and their preparation from the network and
training set), :mod:`.evaluate` (the kernel on test samples and the aggregates),
:mod:`.sample` (:func:`sample_bounds`) and :mod:`.discrepancy`
(:func:`cost_discrepancy_bound`).
"""

from archbound.bounds._cache import FeatureSpace, TrainingSetCache
from archbound.bounds._checks import BoundInputs, check_bound_inputs
from archbound.bounds.discrepancy import (
    cost_discrepancy_bound,
    cost_discrepancy_bound_batch,
    output_radius,
)
from archbound.bounds.evaluate import (
    BoundAggregates,
    BoundSamples,
    component_names,
    evaluate_bounds,
    report_from_samples,
)
from archbound.bounds.reports import (
    BOUND_COLUMNS,
    BoundReport,
    BoundSnapshot,
    DiscrepancyReport,
)
from archbound.bounds.sample import sample_bounds, sample_bounds_batch
from archbound.bounds.variants import (
    ANY_NETWORK_VARIANTS,
    DISCREPANCY_DISTANCES,
    GEOMETRIC_VARIANTS,
    READOUT_FIRST_VARIANTS,
    VARIANTS,
    BoundContext,
    prepare_bounds,
)

__all__ = [
    "ANY_NETWORK_VARIANTS",
    "BOUND_COLUMNS",
    "DISCREPANCY_DISTANCES",
    "GEOMETRIC_VARIANTS",
    "READOUT_FIRST_VARIANTS",
    "VARIANTS",
    "BoundAggregates",
    "BoundContext",
    "BoundInputs",
    "BoundReport",
    "BoundSamples",
    "BoundSnapshot",
    "DiscrepancyReport",
    "FeatureSpace",
    "TrainingSetCache",
    "check_bound_inputs",
    "component_names",
    "cost_discrepancy_bound",
    "cost_discrepancy_bound_batch",
    "evaluate_bounds",
    "output_radius",
    "prepare_bounds",
    "report_from_samples",
    "sample_bounds",
    "sample_bounds_batch",
]
