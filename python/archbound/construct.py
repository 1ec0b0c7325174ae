"""Zero-loss minimizers built layer by layer, without gradient descent (docs/design.md §2.2)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from archbound import _core
from archbound._validation import (
    DTypeError,
    SeedLike,
    check_2d_pair,
    check_labels,
    check_memory,
    check_scalar,
    check_seed,
    check_threads,
)
from archbound.linalg import _check_rcond
from archbound.network import Construction, Network

METHODS = ("readout_first", "readout_last")


class ZeroLossUnattainable(ValueError):
    """The training set admits no zero-loss network of this construction: rank(X) < N.

    Attributes
    ----------
    n_samples, input_dim, rank : int
        N, M0 and rank(X_0).
    residual : float
        The least-squares training loss, mean_i |f(x_i) - y_i|^2.
    """

    def __init__(self, message, *, n_samples, input_dim, rank, residual):
        super().__init__(message)
        self.n_samples = n_samples
        self.input_dim = input_dim
        self.rank = rank
        self.residual = residual


def one_hot(labels: ArrayLike, n_classes: int | None = None) -> np.ndarray:
    """One-hot encode integer class labels.

    Parameters
    ----------
    labels : array_like of shape (N,)
        Non-negative integers, or floats that are whole numbers (``2.0`` is class 2).
    n_classes : int, optional
        Q; default ``max(labels) + 1``.

    Returns
    -------
    ndarray of shape (N, Q), float64

    Raises
    ------
    DTypeError
        Non-numeric labels (a TypeError and a ValueError).
    ValueError
        Empty labels, a fraction, NaN or inf, a negative label, or one >= ``n_classes``.
    """
    if n_classes is not None:
        n_classes = check_scalar(n_classes, "n_classes", numbers.Integral, min_val=1)
    checked = check_labels(labels, "labels", n_classes=n_classes)
    return _one_hot(checked, int(checked.max()) + 1 if n_classes is None else n_classes)


def _one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """:func:`one_hot` of validated int64 labels in 0..n_classes-1, without re-checking them."""
    check_memory(8.0 * labels.shape[0] * n_classes, f"n_classes = {n_classes}: the one-hot array")
    out = np.zeros((labels.shape[0], n_classes))
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def _check_widths(widths, *, minimum: int, needed: str) -> list[int]:
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__len__"):
        raise DTypeError("widths must be a list of hidden-layer widths [M_1, ..., M_L]")
    widths = list(widths)
    if len(widths) == 0:
        raise ValueError("widths is empty: a network needs at least one hidden layer (L >= 1)")
    for index, width in enumerate(widths):
        width = check_scalar(width, f"widths[{index}]", numbers.Integral)
        if width < minimum:
            raise ValueError(
                f"widths[{index}] = {width} is too small: every hidden width must be >= "
                f"{needed} = {minimum} for this method"
            )
    return [int(w) for w in widths]


def construct_minimizer(
    X: ArrayLike,
    Y: ArrayLike,
    widths: Sequence[int],
    *,
    method: str = "readout_first",
    allow_residual: bool = False,
    seed: SeedLike = None,
    rcond: float | None = None,
    threads: int | None = None,
) -> Network:
    """Build a zero-training-loss ReLU network in closed form (arXiv:2504.05695).

    Parameters
    ----------
    X : array_like of shape (N, M0)
        Training inputs.
    Y : array_like of shape (N, Q)
        Training targets (for classification, :func:`one_hot` labels).
    widths : sequence of int
        Hidden widths [M_1, ..., M_L], L >= 1.
    method : {"readout_first", "readout_last"}
        ``"readout_first"``: the paper's architecture-independent minimizer,
        f(x) = relu(A x + beta) - beta with A = Y_0 X_0^+, whatever the depth and widths;
        needs every M_l >= Q. ``"readout_last"``: seeded random partial isometries with
        biases that keep the ReLUs inactive on the training set, then a least-squares
        readout; needs every M_l >= N.
    allow_residual : bool
        If rank(X) < N, return the least-squares network (with its training loss on
        ``network.construction``) instead of raising.
    seed : int or numpy.random.Generator, optional
        Seed of readout_last's random layers.
    rcond : float, optional
        Rank tolerance of the generalized inverse (see :func:`archbound.pinv`).
    threads : int, optional
        OpenMP threads.

    Returns
    -------
    Network
        With ``network.construction`` describing the construction.

    Raises
    ------
    ZeroLossUnattainable
        If rank(X) < N (including N > M0) and ``allow_residual`` is False.
    """
    X, Y = check_2d_pair(X, Y)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    n, m0 = X.shape
    q = Y.shape[1]
    if method == "readout_first":
        widths = _check_widths(widths, minimum=q, needed="Q")
    else:
        widths = _check_widths(widths, minimum=n, needed="N")
    sizes = [m0] + widths + [q]
    # The core's weights and the Network's copies of them, plus one M_l x N activation.
    weights = 8.0 * sum(float(a) * b for a, b in zip(sizes[:-1], sizes[1:]))
    check_memory(2 * weights + 16.0 * max(widths) * n, f"widths = {widths}: the network")
    rcond = _check_rcond(rcond)
    n_threads = check_threads(threads)
    # The seed is validated (and drawn) even where readout_first does not use it.
    drawn = check_seed(seed) if seed is not None or method == "readout_last" else 0
    if method == "readout_first":
        raw = _core.readout_first(X, Y, widths, rcond, n_threads)
    else:
        raw = _core.readout_last(X, Y, widths, drawn, rcond, n_threads)
    network = Network._trusted(raw.weights, raw.biases)
    residual = network._forward(X, n_threads) - Y
    errors = np.linalg.norm(residual, axis=1)
    rank = int(raw.input_rank)
    construction = Construction(
        method=method,
        rank=rank,
        n_samples=n,
        train_loss=float(np.mean(errors**2)),
        max_train_error=float(errors.max()),
        readout=np.array(raw.readout) if method == "readout_first" else None,
        beta=float(raw.beta) if method == "readout_first" else None,
        seed=drawn if method == "readout_last" else None,
    )
    if rank < n and not allow_residual:
        reason = f"N = {n} > M0 = {m0}" if n > m0 else "the samples are linearly dependent"
        raise ZeroLossUnattainable(
            f"zero training loss needs rank(X) = N, but rank(X) = {rank} < N = {n} "
            f"({reason}; M0 = {m0}). The least-squares network has training loss "
            f"{construction.train_loss:.6g}; pass allow_residual=True to get it.",
            n_samples=n,
            input_dim=m0,
            rank=rank,
            residual=construction.train_loss,
        )
    network.construction = construction
    return network
