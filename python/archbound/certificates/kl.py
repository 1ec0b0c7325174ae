"""The binary relative entropy kl(q || p) and its upper inverse (docs/certificates.md §1).

kl(q || p) = q ln(q / p) + (1 - q) ln((1 - q) / (1 - p)), with 0 ln 0 = 0, is the rate of
the Chernoff bound for a mean of [0, 1] variables (Langford 2005, Theorem 3.3; Maurer 2004).
Every certificate of archbound inverts it: p is certified from an observed rate q through

    kl^{-1}(q, c) = sup { p in [q, 1] : kl(q || p) <= c }.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from archbound._validation import DTypeError

#: Bisection steps: [q, 1] halves to below 2^-60 of its length, under one float64 ulp at 1.
_STEPS = 64
#: Added to the bisection's upper end before the final check: it covers the rounding of the
#: float64 evaluation of kl near the root (a few ulps of p; the reference tests check this at
#: 50 digits) and keeps the answer within 1e-9 of the root.
_MARGIN = 1e-13


def binary_kl(q: ArrayLike, p: ArrayLike) -> np.ndarray:
    """kl(q || p) for Bernoulli rates, elementwise, with 0 ln 0 = 0.

    Parameters
    ----------
    q, p : array_like
        Rates in [0, 1], broadcast together.

    Returns
    -------
    ndarray of float64
        kl(q || p) >= 0; +inf where p is 0 or 1 and q differs from it.
    """
    q = np.asarray(q, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # q ln(q/p) and (1-q) ln((1-q)/(1-p)), each 0 when its weight is 0. Written as
        # log1p of the relative gap, (q - p)/p and (p - q)/(1 - p), whose rounding is
        # relative to p - q: ln q - ln p would cancel to an absolute error of eps |ln q|,
        # which near the root of kl = c moves p by up to 1e-12.
        # Far from the root (the ratios far from 1) the difference of logs is exact enough.
        gap_head, gap_tail = (q - p) / p, (p - q) / (1 - p)
        log_head = np.where(np.abs(gap_head) < 0.5, np.log1p(gap_head), np.log(q) - np.log(p))
        log_tail = np.where(
            np.abs(gap_tail) < 0.5, np.log1p(gap_tail), np.log1p(-q) - np.log1p(-p)
        )
        head = np.where(q > 0, q * log_head, 0.0)
        tail = np.where(q < 1, (1 - q) * log_tail, 0.0)
    return np.maximum(head + tail, 0.0)


def _check_rates(q: ArrayLike, c: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for value, name in ((q, "q"), (c, "c")):
        array = np.asarray(value)
        if array.dtype.kind not in "iuf":
            raise DTypeError(f"{name} must be real numbers, got dtype {array.dtype}")
        array = array.astype(np.float64)
        if np.isnan(array).any():
            raise ValueError(f"{name} holds NaN")
        arrays.append(array)
    q64, c64 = arrays
    if ((q64 < 0) | (q64 > 1)).any():
        raise ValueError(f"q must lie in [0, 1], got values from {q64.min()} to {q64.max()}")
    if (c64 < 0).any():
        raise ValueError(f"c must be >= 0, got {c64.min()}")
    try:
        q64, c64 = np.broadcast_arrays(q64, c64)
    except ValueError:
        raise ValueError(
            f"q of shape {q64.shape} and c of shape {c64.shape} do not broadcast together"
        ) from None
    return q64, c64


def kl_inverse(q: ArrayLike, c: ArrayLike) -> np.ndarray | float:
    """The upper inverse of the binary kl: sup { p in [q, 1] : kl(q || p) <= c }.

    The answer is an upper bound on the root that is never below it: a bisection keeps
    kl(q || lo) <= c < kl(q || hi), returns the upper end ``hi`` (never the midpoint, which
    lands below the root in about half of the cases), and nudges it up until the float64 kl
    at it exceeds c. It is within 1e-9 of the root (checked against 50-digit arithmetic).
    q = 1 gives 1; c = 0 gives q; q = 0 gives 1 - exp(-c), rounded up; c = inf gives 1.

    Parameters
    ----------
    q : array_like
        Observed rates in [0, 1].
    c : array_like
        Budgets >= 0 (such as ln(1/delta) / m), broadcast against q.

    Returns
    -------
    float or ndarray of float64
        A float for scalar inputs, else an array of the broadcast shape.

    References
    ----------
    Langford, "Tutorial on practical prediction theory for classification", JMLR 6 (2005),
    Theorem 3.3; Maurer, "A note on the PAC Bayesian theorem" (2004).
    """
    q64, c64 = _check_rates(q, c)
    scalar = q64.ndim == 0
    q64, c64 = np.atleast_1d(q64), np.atleast_1d(c64)
    result = np.ones(q64.shape)
    exact_q = c64 == 0
    result[exact_q] = q64[exact_q]
    zero = (q64 == 0) & (c64 > 0) & np.isfinite(c64)
    # kl(0 || p) = -ln(1 - p): the root is 1 - exp(-c); one ulp up covers its rounding.
    result[zero] = np.minimum(np.nextafter(-np.expm1(-c64[zero]), 2.0), 1.0)
    solve = (q64 > 0) & (q64 < 1) & (c64 > 0) & np.isfinite(c64)
    if solve.any():
        result[solve] = _bisect(q64[solve], c64[solve])
    return float(result[0]) if scalar else result


def _bisect(q: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The upper end of a bisection for kl(q || p) = c on [q, 1], for 0 < q < 1, 0 < c < inf,
    then nudged up until the float64 kl exceeds c (or p reaches 1)."""
    lo = q.copy()
    hi = np.ones_like(q)
    for _ in range(_STEPS):
        mid = lo + (hi - lo) / 2
        below = binary_kl(q, mid) <= c
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    hi = np.minimum(hi + _MARGIN, 1.0)
    # Verify: kl(q || hi) must exceed c (then hi is above the root, kl being increasing on
    # [q, 1]); otherwise step up.
    step = np.full_like(q, _MARGIN)
    for _ in range(64):
        short = (hi < 1) & (binary_kl(q, hi) <= c)
        if not short.any():
            break
        hi[short] = np.minimum(hi[short] + step[short], 1.0)
        step[short] *= 2
    return hi


__all__ = ["binary_kl", "kl_inverse"]
