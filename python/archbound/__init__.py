"""archbound: architecture-independent generalization bounds for deep ReLU networks.

Implements the constructions and bounds of "Architecture independent generalization bounds
for overparametrized deep ReLU networks" (arXiv:2504.05695) on a C++ core (Eigen + OpenMP).
"""

#: The version of the package, as in its metadata.
__version__ = "0.1.0"

# First: loads the core and SciPy's BLAS with short idle spins, before anything else does.
from archbound import _threads  # noqa: F401

# isort: split
from archbound import _backend
from archbound._validation import DTypeError, MemoryLimitError
from archbound.bounds import (
    BoundReport,
    BoundSnapshot,
    DiscrepancyReport,
    TrainingSet,
    cost_discrepancy_bound,
    cost_discrepancy_bound_batch,
    sample_bounds,
    sample_bounds_batch,
)
from archbound.capacity import CapacityReport, capacity_bounds
from archbound.certificates import HeldoutCertificate, heldout_bound, kl_inverse
from archbound.construct import ZeroLossUnattainable, construct_minimizer, one_hot
from archbound.geometry import AbsentClassWarning, chamfer, hausdorff, nearest
from archbound.linalg import PinvInfo, pinv, pinv_info
from archbound.monitor import MonitorRecord, NormMonitor
from archbound.network import Construction, Network
from archbound.opnorm import ConvergenceWarning, NormEstimate, opnorm, opnorms

__all__ = [
    "AbsentClassWarning",
    "BoundReport",
    "BoundSnapshot",
    "CapacityReport",
    "Construction",
    "ConvergenceWarning",
    "DTypeError",
    "DiscrepancyReport",
    "HeldoutCertificate",
    "MemoryLimitError",
    "MonitorRecord",
    "Network",
    "NormEstimate",
    "NormMonitor",
    "PinvInfo",
    "TrainingSet",
    "ZeroLossUnattainable",
    "__version__",
    "capacity_bounds",
    "chamfer",
    "construct_minimizer",
    "cost_discrepancy_bound",
    "cost_discrepancy_bound_batch",
    "hausdorff",
    "heldout_bound",
    "kl_inverse",
    "nearest",
    "one_hot",
    "opnorm",
    "opnorms",
    "pinv",
    "pinv_info",
    "sample_bounds",
    "sample_bounds_batch",
]

_backend.load()
