"""Validation of the data a bound is computed on, shared by every entry point of the package."""

from __future__ import annotations

import time

import numpy as np

from archbound._validation import check_array, check_probability, check_threads
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


def _check_labels(Y, name: str, n_rows: int, q: int) -> np.ndarray:
    """2-D targets, or 1-D integer labels that are one-hot encoded to Q columns."""
    try:
        array = np.asarray(Y) if not isinstance(Y, (str, bytes)) else Y
    except ValueError:  # ragged input: check_array names it
        array = Y
    if isinstance(array, np.ndarray) and array.ndim == 1 and array.dtype.kind in "iu":
        if array.size and (array.min() < 0 or array.max() >= q):
            raise ValueError(f"{name} holds class labels outside 0..{q - 1}")
        from archbound.construct import one_hot

        array = one_hot(array, q) if array.size else array
    Y = check_array(array, name)
    if Y.shape[0] != n_rows:
        raise ValueError(f"{name} has {Y.shape[0]} rows, but its inputs have {n_rows} samples")
    if Y.shape[1] != q:
        raise ValueError(f"{name} has {Y.shape[1]} columns, but the network has Q = {q} outputs")
    return Y


def _check_classes(Y: np.ndarray, name: str) -> np.ndarray:
    """The class of each row of validated (n, Q) targets that are one-hot rows (1-D integer
    labels arrive here one-hot encoded by :func:`_check_labels`): ndarray of shape (n,)."""
    classes = Y.argmax(axis=1)
    one_hot = np.zeros_like(Y)
    one_hot[np.arange(Y.shape[0]), classes] = 1.0
    if not np.array_equal(Y, one_hot):
        raise ValueError(
            f"{name} must hold class labels (integers in 0..Q-1) or one-hot rows; a row with "
            "another value than one 1 and zeros elsewhere has no class"
        )
    return classes


def _check_data(net, X, Y, which: str = "train"):
    """Validate one (X, Y) pair against the network's input and output sizes."""
    if not isinstance(net, Network):
        raise TypeError(f"net must be an archbound.Network, got {type(net).__name__}")
    X = check_array(X, f"X_{which}")
    if X.shape[1] != net.input_dim:
        raise ValueError(
            f"X_{which} has {X.shape[1]} features, but the network takes "
            f"M0 = {net.input_dim} inputs"
        )
    return X, _check_labels(Y, f"Y_{which}", X.shape[0], net.output_dim)


def _check_batch(jobs, X_train, Y_train, X_test, Y_test, delta, threads, check_job):
    """The validation the batch entry points share: ``delta``, ``threads``, both data sets
    against the first job's network, then ``check_job(net, name, first)`` for each
    (network, name) job. Returns (delta, X_train, Y_train, X_test, Y_test)."""
    delta = check_probability(delta, "delta")
    check_threads(threads)
    first = jobs[0][0]
    X_train, Y_train = _check_data(first, X_train, Y_train)
    X_test, Y_test = _check_data(first, X_test, Y_test, which="test")
    for net, name in jobs:
        check_job(net, name, first)
    return delta, X_train, Y_train, X_test, Y_test


def _share_seconds(reports: list, start: float) -> list:
    """Set each report's ``seconds`` to the batch's wall time since ``start`` shared equally."""
    seconds = (time.perf_counter() - start) / len(reports)
    for report in reports:
        report.seconds = seconds
    return reports
