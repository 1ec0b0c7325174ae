"""Generalization bounds that do not depend on depth or width (docs/design.md §2.5).

Every bound is computed from the data by one geometry kernel (:func:`archbound.nearest`)
and the certified operator norms (:func:`archbound.opnorms`), and reported beside the
true error it bounds.

The subpackage by job: :mod:`.training_set` (:class:`TrainingSet`, the validated training
set and the cache of what its bounds share), :mod:`._checks` (validation of data against a
network), :mod:`._cache` (the feature spaces), :mod:`.reports` (the result types),
:mod:`.registry` (the registry of variants, :class:`BoundVariant`), :mod:`.variants` (the
variants, one class each, and their preparation), :mod:`.evaluate` (the kernel on test
samples and the aggregates), :mod:`.sample` (:func:`sample_bounds`) and
:mod:`.discrepancy` (:func:`cost_discrepancy_bound`).
"""

from archbound.bounds._cache import FeatureSpace
from archbound.bounds._checks import check_classes, check_data, check_labels_for
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
from archbound.bounds.registry import (
    BoundContext,
    BoundVariant,
    get_variant,
    register,
    registered_variants,
    variant_catalogue,
    variant_help,
    variant_names,
)
from archbound.bounds.reports import (
    BOUND_COLUMNS,
    BoundReport,
    BoundSnapshot,
    DiscrepancyReport,
)
from archbound.bounds.sample import sample_bounds, sample_bounds_batch
from archbound.bounds.training_set import TrainingSet
from archbound.bounds.variants import (
    ANY_NETWORK_VARIANTS,
    DISCREPANCY_DISTANCES,
    GEOMETRIC_VARIANTS,
    READOUT_FIRST_VARIANTS,
    VARIANTS,
    prepare_bounds,
    prepare_context,
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
    "BoundReport",
    "BoundSamples",
    "BoundSnapshot",
    "BoundVariant",
    "DiscrepancyReport",
    "FeatureSpace",
    "TrainingSet",
    "check_classes",
    "check_data",
    "check_labels_for",
    "component_names",
    "cost_discrepancy_bound",
    "cost_discrepancy_bound_batch",
    "evaluate_bounds",
    "get_variant",
    "output_radius",
    "prepare_bounds",
    "prepare_context",
    "register",
    "registered_variants",
    "report_from_samples",
    "sample_bounds",
    "sample_bounds_batch",
    "variant_catalogue",
    "variant_help",
    "variant_names",
]
