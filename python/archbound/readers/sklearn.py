"""Fitted scikit-learn MLPs as archbound layers: the reading behind
:meth:`Network.from_sklearn` and the ``sklearn`` reader of :func:`archbound.readers.as_network`.
"""

from __future__ import annotations

import numpy as np

from archbound._validation import DTypeError
from archbound.activations import Activation, activation

#: scikit-learn's hidden activations, by archbound's names.
SKLEARN_ACTIVATIONS = {
    "relu": "relu",
    "tanh": "tanh",
    "logistic": "sigmoid",
    "identity": "identity",
}


def is_sklearn_mlp(value) -> bool:
    """Whether ``value`` comes from scikit-learn (a fitted MLP or not), without importing it."""
    return (type(value).__module__ or "").startswith("sklearn")


def sklearn_layers(estimator) -> tuple[list, list, Activation]:
    """Torch-style (out, in) weights, biases and the activation of a fitted scikit-learn
    MLP."""
    try:
        from sklearn.neural_network import MLPClassifier, MLPRegressor
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        raise ValueError("estimator: reading a scikit-learn model needs scikit-learn") from None
    if not isinstance(estimator, (MLPRegressor, MLPClassifier)):
        raise DTypeError(
            "estimator must be a fitted sklearn.neural_network.MLPRegressor or "
            f"MLPClassifier, got {type(estimator).__name__}"
        )
    if not hasattr(estimator, "coefs_") or not hasattr(estimator, "intercepts_"):
        raise ValueError(
            f"estimator is an unfitted {type(estimator).__name__}: call fit or partial_fit "
            "before converting it"
        )
    if estimator.activation not in SKLEARN_ACTIVATIONS:
        raise ValueError(
            f"estimator has activation={estimator.activation!r}; archbound reads "
            f"{', '.join(map(repr, SKLEARN_ACTIVATIONS))}"
        )
    output = getattr(estimator, "out_activation_", None)
    if output not in ("identity", "softmax", "logistic"):
        raise ValueError(
            f"estimator has the output activation {output!r} (loss={estimator.loss!r}); only "
            "an identity output (squared error), or a classifier's logits before softmax or "
            "logistic, is a network with a linear output layer"
        )
    weights = [np.asarray(c, dtype=np.float64).T for c in estimator.coefs_]
    biases = [np.asarray(b, dtype=np.float64) for b in estimator.intercepts_]
    return weights, biases, activation(SKLEARN_ACTIVATIONS[estimator.activation])
