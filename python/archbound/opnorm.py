"""Operator norms with certified upper bounds (docs/design.md §2.3).

Power iteration and randomized SVD estimate ||W|| from below, so a Lipschitz bound built from
them can be smaller than the truth. Every estimate here comes with an upper bound that holds
with a stated probability (or always, for the exact method).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from archbound import _core
from archbound._json import finite_or_none
from archbound._validation import (
    check_array,
    check_probability,
    check_scalar,
    check_seed,
    check_threads,
    remembered,
    seed_from,
)

METHODS = ("auto", "exact", "lanczos", "power")

#: ``method="auto"`` takes the exact SVD when min(m, n) is at most this. Up to there the SVD
#: takes milliseconds and its bound is deterministic and tight (1 + 8 eps min(m, n)); beyond
#: it Lanczos is far faster (measured: 512 x 512, 3.5 ms against 71 ms for the SVD).
EXACT_MAX_DIM = 64


class ConvergenceWarning(UserWarning):
    """An iterative norm estimate reached max_iter before upper <= (1 + rtol) * estimate.

    The upper bound it returned is still certified at the requested delta; it is only looser.
    """


@dataclass(frozen=True)
class NormEstimate:
    """The spectral norm ||W|| = sigma_1(W) of a matrix, estimated and bounded.

    Attributes
    ----------
    estimate : float
        A lower estimate: the largest Ritz value (lanczos), Rayleigh quotient (power) or
        singular value (exact). It never exceeds ||W|| beyond rounding.
    upper : float
        An upper bound: ``||W|| <= upper`` with probability at least ``1 - delta`` over the
        random start vector (always, for the exact method).
    method : str
        ``"exact"``, ``"lanczos"`` or ``"power"``.
    iterations : int
        Products with W^T W (or W W^T); 0 for the exact method.
    converged : bool
        True when ``upper <= (1 + rtol) * estimate`` was reached, or when the Krylov space
        became invariant (then the estimate is exact up to rounding).
    delta : float
        Failure probability of ``upper``: 0 for the exact method.
    """

    estimate: float
    upper: float
    method: str
    iterations: int
    converged: bool
    delta: float

    @property
    def relative_gap(self) -> float:
        """upper / estimate - 1 (inf when the estimate is 0 but the upper bound is not)."""
        if self.estimate > 0:
            return self.upper / self.estimate - 1.0
        return 0.0 if self.upper == 0 else float("inf")

    def to_dict(self) -> dict:
        """A JSON-safe dict of the fields (a non-finite estimate or bound becomes None).

        Returns
        -------
        dict
            ``estimate``, ``upper``, ``method``, ``iterations``, ``converged``, ``delta``.
        """
        return {
            "estimate": finite_or_none(self.estimate),
            "upper": finite_or_none(self.upper),
            "method": self.method,
            "iterations": int(self.iterations),
            "converged": bool(self.converged),
            "delta": float(self.delta),
        }


def upper_product(norms: Iterable[NormEstimate]) -> float:
    """prod_l upper_l, a certified upper bound on the Lipschitz constant of a ReLU network.

    ReLU is 1-Lipschitz, so Lip(f) <= prod_l ||W_l|| <= prod_l upper_l (docs/design.md §2.5).
    """
    return float(np.prod([n.upper for n in norms]))


def estimate_product(norms: Iterable[NormEstimate]) -> float:
    """prod_l estimate_l: not a bound; beside :func:`upper_product`, it shows how loose it is."""
    return float(np.prod([n.estimate for n in norms]))


def _check_method(method) -> str:
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    return method


def _resolve_method(method: str, shape) -> str:
    if method != "auto":
        return method
    return "exact" if min(shape) <= EXACT_MAX_DIM else "lanczos"


def _check_max_iter(max_iter) -> int:
    """None -> 0, the core's default (lanczos: the operator's dimension; power: 10000).

    Larger values than 2**62 mean the same as 2**62 (no run gets near it) and fit the core's
    64-bit integer.
    """
    if max_iter is None:
        return 0
    return min(check_scalar(max_iter, "max_iter", numbers.Integral, min_val=1), 2**62)


def _layer_seeds(seed, count: int) -> list[int]:
    """Independent 63-bit seeds for `count` matrices, derived from one seed."""
    children = np.random.SeedSequence(check_seed(seed)).spawn(count)
    return [seed_from(child) for child in children]


def _estimate(result, delta: float) -> NormEstimate:
    """The core's NormResult as a NormEstimate.

    The core's fields are Python float, str, int and bool already. The fields are filled in
    as one dict: the frozen dataclass's ``__init__`` sets each through
    ``object.__setattr__``, a microsecond of a tiny call's few.
    """
    method = result.method
    estimate = object.__new__(NormEstimate)
    object.__setattr__(
        estimate,
        "__dict__",
        {
            "estimate": result.estimate,
            "upper": result.upper,
            "method": method,
            "iterations": result.iterations,
            "converged": result.converged,
            "delta": 0.0 if method == "exact" else delta,
        },
    )
    return estimate


def _warn_unconverged(estimates: Sequence[NormEstimate], rtol: float, names) -> None:
    late = [(name, e) for name, e in zip(names, estimates) if not e.converged]
    if not late:
        return
    detail = "; ".join(
        f"{name}: {e.iterations} iterations, upper/estimate - 1 = {e.relative_gap:.3g}"
        for name, e in late
    )
    warnings.warn(
        f"max_iter reached before upper <= (1 + rtol) * estimate with rtol = {rtol:g} "
        f"({detail}); the upper bounds are still certified, only looser. Raise max_iter or "
        f"rtol to silence this.",
        ConvergenceWarning,
        stacklevel=3,
    )


def opnorm(
    W,
    *,
    method: str = "auto",
    delta: float = 1e-6,
    rtol: float = 1e-2,
    max_iter: int | None = None,
    seed=None,
    threads: int | None = None,
) -> NormEstimate:
    """Spectral norm ||W|| of a matrix, with an upper bound certified at probability 1 - delta.

    Parameters
    ----------
    W : array_like of shape (m, n)
        Finite real matrix (float32 and integer input is converted to float64 once).
    method : {"auto", "exact", "lanczos", "power"}, default "auto"
        ``"auto"`` takes ``"exact"`` when ``min(m, n) <= 64`` and ``"lanczos"`` otherwise.

        - ``"exact"``: the largest singular value from an SVD (LAPACK's dgesdd, values only);
          ``upper = sigma_1 * (1 + 8 eps min(m, n))`` and ``delta = 0``.
        - ``"lanczos"``: Lanczos with full reorthogonalization on the smaller of W^T W and
          W W^T (dimension d = min(m, n)), from a uniform random unit vector. After k steps,
          P(theta_k <= (1 - eps) lambda_max) <= 1.648 sqrt(d) exp(-sqrt(eps) (2k - 1))
          (Kuczynski & Wozniakowski 1992, Thm 4.2), so with probability >= 1 - delta,
          ``||W|| <= upper = estimate / sqrt(1 - eps_k)``,
          ``eps_k = (ln(1.648 sqrt(d) / delta) / (2k - 1))^2``.
        - ``"power"``: the power method with the bound 0.824 sqrt(d) (1 - eps)^(k - 1/2)
          (ibid., Thm 3.1). It needs over ten times as many steps as Lanczos.
    delta : float, default 1e-6
        Failure probability of the upper bound, in (0, 1).
    rtol : float, default 1e-2
        Stop once ``upper <= (1 + rtol) * estimate``. For Lanczos and power this ratio
        depends on k, d and delta only, so the number of steps is known in advance (about
        67 for Lanczos at the defaults and d = 4096).
    max_iter : int, optional
        Most products with W^T W (or W W^T). Default: d for Lanczos (which then terminates
        exactly), 10000 for power. Reaching it first gives a :class:`ConvergenceWarning` and
        ``converged=False``, with an upper bound that is still certified at ``delta``.
    seed : int or numpy.random.Generator, optional
        Seeds the start vector; equal seeds give bitwise-equal results.
    threads : int, optional
        OpenMP threads; default ``OMP_NUM_THREADS``. The result does not depend on it.

    Returns
    -------
    NormEstimate

    Notes
    -----
    Each step takes one pass over W: ``W^T (W v)`` is computed by blocks of rows (of
    columns, for wide W) that stay in cache between the two products. Every upper bound is
    also clamped by ``||W||_F``, which is deterministic. When the Krylov space becomes
    invariant (a rank-r matrix after about r + 1 steps) or reaches dimension d, the largest
    Ritz value is exact up to rounding, and the upper bound is deterministic too.

    References
    ----------
    J. Kuczynski and H. Wozniakowski, "Estimating the largest eigenvalue by the power and
    Lanczos algorithms with a random start", SIAM J. Matrix Anal. Appl. 13(4), 1992.
    """
    W = check_array(W, "W")
    method, delta, rtol, iterations = _check_options(method, delta, rtol, max_iter)
    return _opnorm(W, method, delta, rtol, iterations, check_seed(seed), check_threads(threads))


@remembered
def _check_options(method, delta, rtol, max_iter) -> tuple[str, float, float, int]:
    """opnorm's method, delta, rtol and max_iter, validated (max_iter as the core takes it)."""
    return (
        _check_method(method),
        check_probability(delta, "delta"),
        check_scalar(rtol, "rtol", numbers.Real, min_val=0.0, include_boundaries="neither"),
        _check_max_iter(max_iter),
    )


def _opnorm(
    W: np.ndarray, method: str, delta: float, rtol: float, max_iter: int, seed: int, threads: int
) -> NormEstimate:
    """:func:`opnorm` on validated arguments (a finite C-contiguous float64 matrix, a 63-bit
    seed, the core's thread convention: 0 = default)."""
    resolved = _resolve_method(method, W.shape)
    estimate = _estimate(_core.opnorm(W, resolved, delta, rtol, max_iter, seed, threads), delta)
    if not estimate.converged:
        _warn_unconverged([estimate], rtol, ["W"])
    return estimate


def opnorms(
    weights: Sequence,
    *,
    delta: float = 1e-6,
    method: str = "auto",
    rtol: float = 1e-2,
    max_iter: int | None = None,
    seed=None,
    threads: int | None = None,
) -> list[NormEstimate]:
    """Spectral norms of several matrices (the layers of a network), certified together.

    Each matrix gets the failure probability ``delta / L`` (L matrices), so by the union
    bound all L upper bounds hold together with probability at least ``1 - delta``. Each
    gets its own seed, derived from ``seed`` by :class:`numpy.random.SeedSequence`. Small
    matrices are processed in parallel, large ones one after the other with every thread.

    Parameters
    ----------
    weights : sequence of array_like, each of shape (m_l, n_l)
        Finite real matrices.
    delta : float, default 1e-6
        Probability that any upper bound fails, in (0, 1).
    method, rtol, max_iter
        As in :func:`opnorm`, for every matrix (``"auto"`` resolves per matrix).
    seed : int or numpy.random.Generator, optional
        One seed for all matrices.
    threads : int, optional
        As in :func:`opnorm`.

    Returns
    -------
    list of NormEstimate, one per matrix, each with ``delta = delta / L`` (0 for exact).
    """
    if isinstance(weights, np.ndarray) or not isinstance(weights, Sequence):
        raise TypeError("weights must be a list of 2-D arrays, one per matrix")
    if len(weights) == 0:
        raise ValueError("weights is empty; it needs at least one matrix")
    arrays = [check_array(w, f"weights[{i}]") for i, w in enumerate(weights)]
    return _opnorms(
        arrays,
        method=_check_method(method),
        delta=check_probability(delta, "delta"),
        rtol=check_scalar(rtol, "rtol", numbers.Real, min_val=0.0, include_boundaries="neither"),
        max_iter=_check_max_iter(max_iter),
        seed=check_seed(seed),
        threads=check_threads(threads),
    )


def _opnorms(arrays, *, method="auto", delta=1e-6, rtol=1e-2, max_iter=0, seed=0, threads=0):
    """:func:`opnorms` on validated arguments: finite, C-contiguous float64 matrices (such as
    a Network's weights), a 63-bit seed and the core's thread convention (0 = default)."""
    seeds = _layer_seeds(seed, len(arrays))
    share = delta / len(arrays)
    methods = [_resolve_method(method, w.shape) for w in arrays]
    results = _core.opnorms(list(arrays), methods, share, rtol, max_iter, seeds, threads)
    estimates = [_estimate(r, share) for r in results]
    _warn_unconverged(estimates, rtol, [f"weights[{i}]" for i in range(len(arrays))])
    return estimates
