"""Certified layer norms along a training run: Lanczos anchors and drift bounds between them.

The monitor (docs/design.md §2.5.7) certifies ||W_l|| at every record. A certified Lanczos run
(Kuczynski & Wozniakowski 1992) costs tens of passes over W; between two of them, the triangle
inequality and ||.|| <= ||.||_F give, for the anchor s of layer l (the last record at which
its norm was certified by Lanczos, with upper bound U_s),

    ||W_t|| <= ||W_s|| + ||W_t - W_s|| <= U_s + ||W_t - W_s||_F,

which costs one pass over W and holds whenever the anchor's certificate holds: it spends no
failure probability of its own. A layer is anchored afresh when the drift ||W_t - W_s||_F
passes ``rtol * U_s``. Layers small enough for the exact SVD (min(m, n) <= 64) get it at every
record, deterministically.

The failure probability is spent per anchor event (a record at which at least one layer runs
Lanczos): event a = 1, 2, ... spends delta_a = delta 6 / (pi^2 a^2), shared evenly by the
layers it anchors. Every start vector is drawn afresh, independently of the weights and of
everything before, so the chance that event a's certificates fail is at most delta_a whatever
happened before it, and by the union bound all of them hold at once with probability at least
sum_a delta_a = delta. Every upper bound of the history is an anchor's certificate or one of its
drift bounds, so they all hold together with that probability.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from archbound._validation import seed_from
from archbound.opnorm import NormEstimate, _opnorms, _resolve_method

#: sum_{a >= 1} 1 / a^2 = pi^2 / 6, so delta_a = delta * SERIES / a^2 sums to delta.
SERIES = 6.0 / math.pi**2
_EPS = float(np.finfo(np.float64).eps)


def series_delta(delta: float, index: int) -> float:
    """delta * 6 / (pi^2 index^2): the share of event ``index`` (1-based) of a series that
    spends ``delta`` in all."""
    return delta * SERIES / (float(index) * float(index))


def frobenius_upper(matrix: np.ndarray) -> float:
    """An upper bound on ||A||_F from its float64 entries, rounded up.

    The sum of n squares has relative rounding error at most gamma_n <= n eps (any order of
    summation; Higham 2002, §3.1), the square root and the difference that made A at most a
    few eps more; (1 + (n + 4) eps) covers them all.
    """
    flat = matrix.reshape(-1)
    # einsum's own loop: a threaded BLAS dot costs far more than the pass on a busy machine.
    value = math.sqrt(float(np.einsum("i,i->", flat, flat)))
    return math.nextafter(value * (1.0 + (flat.size + 4) * _EPS), math.inf)


@dataclass(frozen=True)
class Anchor:
    """The last Lanczos certificate of one layer: its weights then, and the certificate.

    Attributes
    ----------
    weight : ndarray of shape (M_l, M_{l-1})
        W_s, read-only (the network's own array, never written).
    norm : NormEstimate
        Its certified norm (``method="lanczos"`` or ``"power"``).
    """

    weight: np.ndarray
    norm: NormEstimate


@dataclass(frozen=True)
class MeasuredNorms:
    """The norms of one record (:meth:`AnchoredNorms.measure`).

    Attributes
    ----------
    norms : list of NormEstimate
        One per layer: ``"exact"``, ``"lanczos"`` at an anchor, ``"drift"`` between anchors.
    delta : float
        The failure probability spent at this record (0 without a new anchor).
    seed : int or None
        The seed of this record's Lanczos runs; None without one.
    anchored : tuple of int
        The (0-based) layers anchored at this record.
    """

    norms: list
    delta: float
    seed: int | None
    anchored: tuple


class AnchoredNorms:
    """Certified norms of a network's layers at successive records of a run.

    Parameters
    ----------
    delta : float in (0, 1)
        Every certificate of every record holds at once with probability >= 1 - delta.
    rtol : float > 0
        A layer is anchored afresh (a new Lanczos certificate) once its drift
        ||W_t - W_s||_F passes ``rtol`` times its anchor's upper bound U_s.
    seeds : numpy.random.SeedSequence
        Spawns one seed per anchor event, and the start of the estimates' vectors.

    Attributes
    ----------
    anchor_events : int
        The records so far that ran Lanczos.
    """

    def __init__(self, delta: float, rtol: float, seeds: np.random.SeedSequence) -> None:
        self.delta, self.rtol = delta, rtol
        self._seeds = seeds
        self._anchors: list[Anchor | None] = []
        self._vectors: list[np.ndarray | None] = []
        self._shapes: list[tuple] = []
        self.anchor_events = 0

    def measure(self, weights: Sequence[np.ndarray], threads: int) -> MeasuredNorms:
        """The certified norm of every layer of ``weights`` (finite float64, C-contiguous).

        A network of other shapes than the previous record's starts afresh.
        """
        shapes = [w.shape for w in weights]
        if shapes != self._shapes:
            self._shapes = shapes
            self._anchors = [None] * len(weights)
            self._vectors = [None] * len(weights)
        norms: list[NormEstimate | None] = [None] * len(weights)
        exact = [i for i, w in enumerate(weights) if _resolve_method("auto", w.shape) == "exact"]
        if exact:
            results = _opnorms([weights[i] for i in exact], method="exact", threads=threads)
            for i, result in zip(exact, results):
                norms[i] = result
        estimates = self._power_estimates(weights, exact)
        due = []
        for i, w in enumerate(weights):
            anchor = self._anchors[i]
            if i in exact:
                continue
            if anchor is None:
                due.append(i)
                continue
            drift = frobenius_upper(w - anchor.weight)
            if not drift <= self.rtol * anchor.norm.upper:
                due.append(i)
                continue
            upper = anchor.norm.upper + drift
            upper = math.nextafter(upper * (1.0 + 2 * _EPS), math.inf)
            estimate = max(estimates[i], anchor.norm.estimate - drift, 0.0)
            norms[i] = NormEstimate(
                estimate=estimate,
                upper=upper,
                method="drift",
                iterations=0,
                converged=True,
                delta=anchor.norm.delta,
            )
        if not due:
            return MeasuredNorms(list(norms), 0.0, None, ())
        self.anchor_events += 1
        delta = series_delta(self.delta, self.anchor_events)
        seed = seed_from(self._seeds.spawn(1)[0])
        results = _opnorms([weights[i] for i in due], delta=delta, seed=seed, threads=threads)
        for i, result in zip(due, results):
            norms[i] = result
            self._anchors[i] = Anchor(weights[i], result)
        return MeasuredNorms(list(norms), delta, seed, tuple(due))

    def _power_estimates(self, weights, exact) -> list[float]:
        """|W_t v| for each layer's running unit vector v, a lower bound on ||W_t|| whatever
        v is; then one power step, v <- W^T W v / |W^T W v|, so that v follows the top
        right singular vector along the run (it never enters an upper bound)."""
        out = [0.0] * len(weights)
        for i, w in enumerate(weights):
            if i in exact:
                continue
            v = self._vectors[i]
            if v is None:
                v = np.random.default_rng(self._seeds.spawn(1)[0]).standard_normal(w.shape[1])
                v /= np.linalg.norm(v)
            image = w @ v
            out[i] = float(np.linalg.norm(image))
            back = w.T @ image
            size = float(np.linalg.norm(back))
            self._vectors[i] = back / size if size > 0 and math.isfinite(size) else v
        return out


__all__ = ["SERIES", "Anchor", "AnchoredNorms", "MeasuredNorms", "frobenius_upper", "series_delta"]
