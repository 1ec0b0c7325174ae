"""Reading fitted scikit-learn MLPs as (weights, biases), for :meth:`Network.from_sklearn`.

One place converts scikit-learn models, and one module (:mod:`archbound._torch_reader`)
converts PyTorch models, for :meth:`archbound.Network.from_sklearn` and
:meth:`archbound.Network.from_torch`, which `archbound bound`'s loaders (archbound.data) also
call.
"""

from __future__ import annotations

import numpy as np

from archbound._validation import DTypeError


def sklearn_layers(estimator):
    """Torch-style (out, in) weights and biases of a fitted scikit-learn MLP with relu."""
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
    if estimator.activation != "relu":
        raise ValueError(
            f"estimator has activation={estimator.activation!r}; only 'relu' networks can be "
            "represented exactly"
        )
    output = getattr(estimator, "out_activation_", None)
    if output not in ("identity", "softmax", "logistic"):
        raise ValueError(
            f"estimator has the output activation {output!r} (loss={estimator.loss!r}); only "
            "an identity output (squared error), or a classifier's logits before softmax or "
            "logistic, is a ReLU network"
        )
    weights = [np.asarray(c, dtype=np.float64).T for c in estimator.coefs_]
    biases = [np.asarray(b, dtype=np.float64) for b in estimator.intercepts_]
    return weights, biases
