"""Validation of the data a bound is computed on, once, at the public entry points.

:func:`check_bound_inputs` turns the arguments of a bound into one frozen
:class:`BoundInputs`, which the private code of the subpackage takes and trusts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archbound._validation import (
    check_array,
    check_labels,
    check_probability,
    check_seed,
    check_seed_argument,
    check_threads,
    is_one_dimensional,
)
from archbound.construct import _one_hot
from archbound.network import Network


@dataclass(frozen=True)
class BoundInputs:
    """The validated arguments of a bound: data, failure probability, seed and threads.

    Attributes
    ----------
    X_train : ndarray of shape (N, M0)
        C-contiguous float64, finite.
    Y_train : ndarray of shape (N, Q)
        Targets (integer labels arrive one-hot encoded).
    X_test : ndarray of shape (m, M0) or None
        None where only the training set is known (:func:`prepare_bounds`).
    Y_test : ndarray of shape (m, Q) or None
    delta : float
        In (0, 1).
    seed : int, numpy.random.Generator or None
        As given, checked: :meth:`draw_seed` draws the seed of one norm estimator from it.
    threads : int
        The core's convention: 0 for OpenMP's default.
    """

    X_train: np.ndarray
    Y_train: np.ndarray
    X_test: np.ndarray | None
    Y_test: np.ndarray | None
    delta: float
    seed: int | np.random.Generator | None
    threads: int

    @property
    def fixed_seed(self) -> bool:
        """Whether every draw gives the same seed (an int), so that norms can be reused."""
        return isinstance(self.seed, int)

    def test_set(self) -> tuple[np.ndarray, np.ndarray]:
        """(X_test, Y_test), of inputs validated with a test set."""
        if self.X_test is None or self.Y_test is None:
            raise ValueError("these bound inputs hold no test set")
        return self.X_test, self.Y_test

    def draw_seed(self) -> int:
        """The 63-bit seed of one norm estimator: the int seed itself, or a fresh draw from
        a Generator (or from the operating system's entropy, for None)."""
        return check_seed(self.seed)


def _check_job_network(net, first) -> None:
    """A network of a batch's jobs: an archbound.Network with the inputs and outputs of the
    first job's network."""
    if not isinstance(net, Network):
        raise TypeError(
            f"jobs: every network must be an archbound.Network, got {type(net).__name__}"
        )
    net._require_relu("the bounds")
    if net.input_dim != first.input_dim or net.output_dim != first.output_dim:
        raise ValueError(
            "jobs: every network must have the inputs and outputs of the first, "
            f"{first.input_dim} and {first.output_dim}"
        )


def _check_labels(Y, name: str, n_rows: int, q: int) -> np.ndarray:
    """2-D targets, or 1-D class labels (:func:`check_labels`) one-hot encoded to Q columns."""
    if is_one_dimensional(Y):
        return _one_hot(check_labels(Y, name, n_samples=n_rows, n_classes=q), q)
    Y = check_array(Y, name)
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
    net._require_relu("the bounds")
    X = check_array(X, f"X_{which}")
    if X.shape[1] != net.input_dim:
        raise ValueError(
            f"X_{which} has {X.shape[1]} features, but the network takes "
            f"M0 = {net.input_dim} inputs"
        )
    return X, _check_labels(Y, f"Y_{which}", X.shape[0], net.output_dim)


def check_bound_inputs(
    net, X_train, Y_train, X_test=None, Y_test=None, *, delta, seed, threads
) -> BoundInputs:
    """Validate the arguments of a bound against ``net``'s sizes: ``delta``, ``threads``,
    the training set, the test set (unless both are None), then ``seed``."""
    delta = check_probability(delta, "delta")
    threads = check_threads(threads)
    X_train, Y_train = _check_data(net, X_train, Y_train)
    if X_test is not None or Y_test is not None:
        X_test, Y_test = _check_data(net, X_test, Y_test, which="test")
    return BoundInputs(X_train, Y_train, X_test, Y_test, delta, check_seed_argument(seed), threads)
