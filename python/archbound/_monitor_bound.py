"""The lipschitz sample bound of a monitor's records, over distances computed once.

At a bound record the monitor evaluates, for every test sample j (docs/design.md §2.5.2),

    B_j = min_i ( Lip |x~_j - x_i| + |y~_j - y_i| + r_i ),

where Lip and the training residuals r_i change along the run but the inputs and the targets
do not. So the m x N matrices of input distances |x~_j - x_i| and target distances
|y~_j - y_i| are computed once, on the first bound record, and each bound record is one
min-reduction over them with that record's Lip and r_i: the minimum the geometry kernel takes
(§2.4), without a nearest-neighbour search. Above :data:`PRECOMPUTED_MAX_ENTRIES` entries (m N)
the matrices are not kept and every bound record runs the kernel instead.

The matrices are kept in float32, each entry rounded up (the next float32 above the float64
value), and so are Lip and r_i: half the memory traffic of float64. Every sum and product of
the reduction then rounds a non-negative value, so the float64 minimum of the three-term
sums is at most (1 - u)^-3 times the float32 one (u = 2^-24), plus 3 2^-126 for a processor
that flushes subnormal results to zero; the bound returned is min_i v_ji (1 + 4u) + 2^-124,
an upper bound on the float64 B_j, at most 2.4e-7 of it above. A Lip or an offset of 2^100
or more (never met in practice) runs the kernel instead. A monitor with
``precision="float64"`` keeps the matrices in float64 and reduces them exactly as the float64
sample bound does.
"""

from __future__ import annotations

import numpy as np

from archbound._backend import matmul
from archbound._monitor_forward import Outputs
from archbound._validation import _all_finite, check_memory
from archbound.bounds import BoundSnapshot
from archbound.bounds.evaluate import BoundAggregates, BoundSamples
from archbound.geometry import _nearest

#: m N at most for the distance matrices to be kept (three float32 matrices with the
#: reduction's buffer: 48 MB at most).
PRECOMPUTED_MAX_ENTRIES = 4_000_000
#: float32's unit roundoff.
_U32 = 2.0**-24
#: Lip and offsets below this reduce in float32; larger ones run the kernel.
_FLOAT32_LIMIT = 2.0**100
#: A squared distance below this fraction of |f|^2 + |g|^2 (after centring) is recomputed
#: directly as |f - g|^2, as the geometry kernel does (cpp/geometry.cpp, kGuard).
_GUARD = 1.0 / 1024


def float32_above(values) -> np.ndarray:
    """The float32 values at or above ``values`` (float64, non-negative, finite): the nearest
    float32, moved one step up where it rounded down."""
    values = np.asarray(values, dtype=np.float64)
    out = values.astype(np.float32)
    below = out.astype(np.float64) < values
    out[below] = np.nextafter(out[below], np.float32(np.inf))
    return out


def pairwise_distances(F: np.ndarray, G: np.ndarray) -> np.ndarray:
    """|F_j - G_i| for every pair, of shape (m, N): one matrix product on data centred at
    G's mean, |f|^2 + |g|^2 - 2 <f, g> clamped at zero, and the entries where that formula
    cancels (below 1/1024 of |f|^2 + |g|^2) recomputed directly, as in the kernel."""
    centre = G.mean(axis=0) if G.shape[0] else np.zeros(G.shape[1])
    Fc, Gc = F - centre, G - centre
    f2 = np.einsum("ij,ij->i", Fc, Fc)
    g2 = np.einsum("ij,ij->i", Gc, Gc)
    scale = f2[:, None] + g2[None, :]
    squared = scale - 2.0 * matmul(Fc, np.ascontiguousarray(Gc.T))
    rows, cols = np.nonzero(squared < _GUARD * scale)
    if rows.size:
        diff = F[rows] - G[cols]
        squared[rows, cols] = np.einsum("ij,ij->i", diff, diff)
    np.maximum(squared, 0.0, out=squared)
    return np.sqrt(squared, out=squared)


class FixedGeometry:
    """The invariant parts of the lipschitz sample bound over one training and test set.

    Parameters
    ----------
    X_train : ndarray of shape (N, M0)
    X_test : ndarray of shape (m, M0)
        Validated inputs; never changed.
    precision : {"auto", "float64"}
        The monitor's: ``"auto"`` keeps the matrices in float32, each entry rounded up;
        ``"float64"`` in float64.
    """

    def __init__(self, X_train: np.ndarray, X_test: np.ndarray, precision: str = "auto") -> None:
        self.X_train, self.X_test = X_train, X_test
        self._float64 = precision == "float64"
        self._distances: np.ndarray | None = None
        self._buffer: np.ndarray | None = None
        self._finite = False
        self._targets: tuple[np.ndarray, np.ndarray, np.ndarray, bool] | None = None

    @property
    def precomputed(self) -> bool:
        """Whether the m x N matrices are kept (m N <= PRECOMPUTED_MAX_ENTRIES)."""
        return self.X_test.shape[0] * self.X_train.shape[0] <= PRECOMPUTED_MAX_ENTRIES

    def _target_distances(self, Y_train: np.ndarray, Y_test: np.ndarray) -> np.ndarray:
        """|y~_j - y_i| rounded up to float32, of shape (m, N), computed once per pair of
        target arrays."""
        if (
            self._targets is None
            or self._targets[0] is not Y_train
            or self._targets[1] is not Y_test
        ):
            distances = pairwise_distances(Y_test, Y_train)
            if not self._float64:
                distances = float32_above(distances)
            self._targets = (Y_train, Y_test, distances, _all_finite(distances))
        return self._targets[2]

    def _fits(self, Y_train: np.ndarray, Y_test: np.ndarray) -> bool:
        """Whether the kept matrices are finite in float32 (computed here the first time):
        distances of 2^128 or more run the kernel."""
        if self._distances is None:
            m, n = self.X_test.shape[0], self.X_train.shape[0]
            itemsize = 8.0 if self._float64 else 4.0
            check_memory(
                3 * itemsize * m * n, f"the monitor's distance matrices ({m} x {n}, three)"
            )
            distances = pairwise_distances(self.X_test, self.X_train)
            self._distances = distances if self._float64 else float32_above(distances)
            self._buffer = np.empty_like(self._distances)
            self._finite = _all_finite(self._distances)
        self._target_distances(Y_train, Y_test)
        assert self._targets is not None
        return self._finite and self._targets[3]

    def bounds(
        self,
        lipschitz: float,
        residuals: np.ndarray,
        Y_train: np.ndarray,
        Y_test: np.ndarray,
        threads: int,
    ) -> np.ndarray:
        """B_j for every test sample, of shape (m,).

        Parameters
        ----------
        lipschitz : float
            Lip, a certified upper bound on the network's Lipschitz constant.
        residuals : ndarray of shape (N,)
            r_i = |f(x_i) - y_i|.
        Y_train : ndarray of shape (N, Q)
        Y_test : ndarray of shape (m, Q)
            The targets, the same arrays at every record (one pair per Q).
        threads : int
            OpenMP threads of the kernel, when the matrices are not kept.
        """
        largest = max(lipschitz, float(residuals.max()) if residuals.size else 0.0)
        reducible = self._float64 or largest < _FLOAT32_LIMIT
        if not (self.precomputed and reducible and self._fits(Y_train, Y_test)):
            result = _nearest(
                self.X_test,
                self.X_train,
                [lipschitz],
                Y_test,
                Y_train,
                residuals[None, :],
                None,
                None,
                0,
                threads,
                with_distances=False,
            )
            return np.array(result.values[:, 0])
        assert self._distances is not None and self._buffer is not None
        if self._float64:
            values = np.multiply(self._distances, lipschitz, out=self._buffer)
            values += self._target_distances(Y_train, Y_test)
            values += residuals[None, :]
            return values.min(axis=1)
        values = np.multiply(self._distances, float32_above(lipschitz), out=self._buffer)
        values += self._target_distances(Y_train, Y_test)
        values += float32_above(residuals)[None, :]
        smallest = values.min(axis=1).astype(np.float64)
        return smallest * (1.0 + 4.0 * _U32) + 2.0**-124


def snapshot(
    per_sample: np.ndarray, test: Outputs, Y_test: np.ndarray, labels: np.ndarray | None
) -> BoundSnapshot:
    """The :class:`BoundSnapshot` of per-sample bounds beside the truth |f(x~_j) - y~_j|
    (from float32 outputs an estimate; the violations are counted against its certified
    lower bound), with the accuracy of the predicted ``labels`` (None: targets not one-hot)."""
    errors, lower, _ = test.distances(Y_test)
    hits = None if labels is None else labels == Y_test.argmax(axis=1)
    empty = np.zeros(0)
    totals = BoundAggregates.of(BoundSamples(per_sample, empty, empty, errors, hits))
    return BoundSnapshot.of(totals, per_sample, errors, truth_lower=lower)


__all__ = [
    "PRECOMPUTED_MAX_ENTRIES",
    "FixedGeometry",
    "float32_above",
    "pairwise_distances",
    "snapshot",
]
