"""Validation of the data a bound is computed on, once, at the public entry points.

:class:`~archbound.bounds.TrainingSet` validates a training set with :func:`check_data`;
the private code of the subpackage takes it and trusts it.
"""

from __future__ import annotations

import numpy as np

from archbound._validation import (
    check_array,
    check_labels,
    is_one_dimensional,
)
from archbound.construct import _one_hot
from archbound.network import Network


def _check_job_network(net, first) -> None:
    """A network of a batch's jobs: an archbound.Network with the inputs and outputs of the
    first job's network."""
    if not isinstance(net, Network):
        raise TypeError(
            f"jobs: every network must be an archbound.Network, got {type(net).__name__}"
        )
    if net.input_dim != first.input_dim or net.output_dim != first.output_dim:
        raise ValueError(
            "jobs: every network must have the inputs and outputs of the first, "
            f"{first.input_dim} and {first.output_dim}"
        )


def check_labels_for(Y, name: str, n_rows: int, q: int | None) -> np.ndarray:
    """2-D targets, or 1-D class labels (:func:`check_labels`) one-hot encoded to Q columns
    (``q``; None: the largest label plus one, and 2-D targets of any width)."""
    if is_one_dimensional(Y):
        labels = check_labels(Y, name, n_samples=n_rows, n_classes=q)
        n_classes = q if q is not None else int(labels.max(initial=-1)) + 1
        return _one_hot(labels, n_classes)
    Y = check_array(Y, name)
    if Y.shape[0] != n_rows:
        raise ValueError(f"{name} has {Y.shape[0]} rows, but its inputs have {n_rows} samples")
    if q is not None and Y.shape[1] != q:
        raise ValueError(f"{name} has {Y.shape[1]} columns, but the network has Q = {q} outputs")
    return Y


def check_classes(Y: np.ndarray, name: str) -> np.ndarray:
    """The class of each row of validated (n, Q) targets that are one-hot rows (1-D integer
    labels arrive here one-hot encoded by :func:`check_labels_for`): ndarray of shape (n,)."""
    classes = Y.argmax(axis=1)
    one_hot = np.zeros_like(Y)
    one_hot[np.arange(Y.shape[0]), classes] = 1.0
    if not np.array_equal(Y, one_hot):
        raise ValueError(
            f"{name} must hold class labels (integers in 0..Q-1) or one-hot rows; a row with "
            "another value than one 1 and zeros elsewhere has no class"
        )
    return classes


def check_data(net, X, Y, which: str = "train"):
    """Validate one (X, Y) pair against the network's input and output sizes."""
    if not isinstance(net, Network):
        raise TypeError(f"net must be an archbound.Network, got {type(net).__name__}")
    X = check_array(X, f"X_{which}")
    if X.shape[1] != net.input_dim:
        raise ValueError(
            f"X_{which} has {X.shape[1]} features, but the network takes "
            f"M0 = {net.input_dim} inputs"
        )
    return X, check_labels_for(Y, f"Y_{which}", X.shape[0], net.output_dim)
