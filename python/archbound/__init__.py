"""archbound: architecture-independent generalization bounds for deep ReLU networks.

Implements the constructions and bounds of "Architecture independent generalization bounds
for overparametrized deep ReLU networks" (arXiv:2504.05695) on a C++ core (Eigen + OpenMP).
"""

__version__ = "0.1.0"

from archbound import _backend
from archbound._validation import DTypeError
from archbound.construct import ZeroLossUnattainable, construct_minimizer, one_hot
from archbound.linalg import pinv, pinv_info
from archbound.network import Construction, Network

__all__ = [
    "__version__",
    "Construction",
    "DTypeError",
    "Network",
    "ZeroLossUnattainable",
    "construct_minimizer",
    "one_hot",
    "pinv",
    "pinv_info",
]

_backend.load()
