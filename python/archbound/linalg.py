"""The generalized inverse of a training matrix (docs/design.md §2.1)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from archbound import _core
from archbound._validation import check_array, check_scalar, check_threads


@dataclass(frozen=True)
class PinvInfo:
    """A generalized inverse with what was learned computing it.

    Attributes
    ----------
    pinv : ndarray of shape (n_features, n_samples)
        The Moore-Penrose inverse.
    rank : int
        Number of singular values above ``rcond * sigma_max``.
    sigma_max, sigma_min : float
        Largest and smallest singular values: exact on the SVD path. On the thin-QR path,
        Lanczos estimates on R^T R and (R^T R)^-1 (to about 1e-10 relative; sigma_max from
        below, sigma_min from above).
    fast_path : bool
        True when the thin-QR path was taken (full rank and well conditioned).
    """

    pinv: np.ndarray
    rank: int
    sigma_max: float
    sigma_min: float
    fast_path: bool

    @property
    def condition_number(self) -> float:
        """sigma_max / sigma_min (inf when sigma_min is 0)."""
        return self.sigma_max / self.sigma_min if self.sigma_min > 0 else float("inf")


def _check_rcond(rcond) -> float:
    if rcond is None:
        return -1.0
    return check_scalar(rcond, "rcond", numbers.Real, min_val=0.0)


def pinv_info(a: ArrayLike, *, rcond: float | None = None, threads: int | None = None) -> PinvInfo:
    """Moore-Penrose inverse of a 2-D array, with its rank and extreme singular values.

    Parameters
    ----------
    a : array_like of shape (m, n)
        Finite real matrix.
    rcond : float, optional
        Singular values at or below ``rcond * sigma_max`` count as zero. Default
        ``max(m, n) * eps``, as in :func:`numpy.linalg.pinv`.
    threads : int, optional
        OpenMP threads; default ``OMP_NUM_THREADS``.

    Returns
    -------
    PinvInfo

    Notes
    -----
    A matrix of full rank whose estimated condition number is below
    ``1 / (10 * max(rcond, sqrt(eps)))`` (about 6.7e6 by default) takes the thin-QR path,
    ``a = Q R`` and ``a^+ = R^{-1} Q^T`` (for wide ``a``, the same on ``a^T``). Every other
    matrix takes the SVD path, ``a^+ = V S^+ U^T``.
    """
    a = check_array(a, "a")
    return _pinv_info(a, _check_rcond(rcond), check_threads(threads), report_estimates=True)


def _pinv_info(a: np.ndarray, rcond: float, threads: int, *, report_estimates: bool) -> PinvInfo:
    """pinv_info on validated arguments (rcond -1 for the default, threads 0 for OpenMP's);
    without `report_estimates`, the thin-QR path's sigma estimates are only as close (about
    1e-3 relative) as the path decision needs."""
    result = _core.pinv(a, rcond, threads, report_estimates)
    return PinvInfo(
        np.ascontiguousarray(result.pinv.T),
        int(result.rank),
        result.sigma_max,
        result.sigma_min,
        result.fast_path,
    )


def pinv(a: ArrayLike, *, rcond: float | None = None, threads: int | None = None) -> np.ndarray:
    """Moore-Penrose inverse of a 2-D array, with the semantics of :func:`numpy.linalg.pinv`.

    Parameters
    ----------
    a : array_like of shape (m, n)
        Finite real matrix.
    rcond : float, optional
        Relative cutoff for small singular values; default ``max(m, n) * eps``.
    threads : int, optional
        OpenMP threads; default ``OMP_NUM_THREADS``.

    Returns
    -------
    ndarray of shape (n, m)

    See Also
    --------
    pinv_info : the same, with the rank and the extreme singular values.

    Notes
    -----
    The path (thin QR or SVD) is decided by the rule of :func:`pinv_info`, from Lanczos
    estimates of the extreme singular values that stop once the decision is clear (about
    1e-3 relative, against the rule's factor-10 margin) instead of converging to about
    1e-10, which pinv_info reports. The two agree but for a matrix whose condition number
    lies within about that distance of the threshold.
    """
    a = check_array(a, "a")
    # The matrix alone: no PinvInfo to build, which is a measurable part of a small call.
    result = _core.pinv(a, _check_rcond(rcond), check_threads(threads), False)
    return np.ascontiguousarray(result.pinv.T)
