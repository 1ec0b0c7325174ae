"""The lipschitz sample bound of a monitor's records, over distances computed once.

At a bound record the monitor evaluates, for every test sample j (docs/design.md §2.5.2),

    B_j = min_i ( Lip |x~_j - x_i| + |y~_j - y_i| + r_i ),

where Lip and the training residuals r_i change along the run but the inputs and the targets
do not. So the m x N matrices of input distances |x~_j - x_i| and target distances
|y~_j - y_i| are computed once, on the first bound record, and each bound record is one
min-reduction over them with that record's Lip and r_i: exact, the same minimum the geometry
kernel takes (§2.4), without a nearest-neighbour search. Above
:data:`PRECOMPUTED_MAX_ENTRIES` entries (m N) the matrices are not kept and every bound
record runs the kernel instead.
"""

from __future__ import annotations

import math

import numpy as np

from archbound._backend import matmul
from archbound._validation import check_memory
from archbound.bounds import BoundSnapshot
from archbound.bounds.evaluate import BoundAggregates, BoundSamples
from archbound.bounds.reports import VIOLATION_SLACK
from archbound.geometry import _nearest

#: m N at most for the distance matrices to be kept (two float64 matrices: 64 MB at most).
PRECOMPUTED_MAX_ENTRIES = 4_000_000
#: A squared distance below this fraction of |f|^2 + |g|^2 (after centring) is recomputed
#: directly as |f - g|^2, as the geometry kernel does (cpp/geometry.cpp, kGuard).
_GUARD = 1.0 / 1024


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
    """

    def __init__(self, X_train: np.ndarray, X_test: np.ndarray) -> None:
        self.X_train, self.X_test = X_train, X_test
        self._distances: np.ndarray | None = None
        self._targets: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def precomputed(self) -> bool:
        """Whether the m x N matrices are kept (m N <= PRECOMPUTED_MAX_ENTRIES)."""
        return self.X_test.shape[0] * self.X_train.shape[0] <= PRECOMPUTED_MAX_ENTRIES

    def _target_distances(self, Y_train: np.ndarray, Y_test: np.ndarray) -> np.ndarray:
        """|y~_j - y_i|, of shape (m, N), computed once per pair of target arrays."""
        if (
            self._targets is None
            or self._targets[0] is not Y_train
            or self._targets[1] is not Y_test
        ):
            self._targets = (Y_train, Y_test, pairwise_distances(Y_test, Y_train))
        return self._targets[2]

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
        if not self.precomputed:
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
        if self._distances is None:
            m, n = self.X_test.shape[0], self.X_train.shape[0]
            check_memory(16.0 * m * n, f"the monitor's distance matrices ({m} x {n}, two)")
            self._distances = pairwise_distances(self.X_test, self.X_train)
        values = self._distances * lipschitz
        values += self._target_distances(Y_train, Y_test)
        values += residuals[None, :]
        return values.min(axis=1)


def snapshot(per_sample: np.ndarray, f_test: np.ndarray, Y_test: np.ndarray) -> BoundSnapshot:
    """The :class:`BoundSnapshot` of per-sample bounds beside the truth |f(x~_j) - y~_j|,
    as :meth:`BoundReport.summary` summarizes a report."""
    errors = np.linalg.norm(f_test - Y_test, axis=1)
    one_hot = bool(np.all((Y_test == 0) | (Y_test == 1)) and np.all(Y_test.sum(axis=1) == 1))
    hits = f_test.argmax(axis=1) == Y_test.argmax(axis=1) if one_hot else None
    empty = np.zeros(0)
    totals = BoundAggregates.of(BoundSamples(per_sample, empty, empty, errors, hits))
    slack = VIOLATION_SLACK * (1.0 + np.abs(errors))
    return BoundSnapshot(
        test_cost_bound=totals.test_cost_bound,
        test_cost=totals.test_cost,
        mean_bound=totals.mean_bound,
        mean_error=totals.mean_error,
        uniform_bound=totals.uniform_bound,
        max_error=totals.max_error,
        ratio=totals.test_cost_bound / totals.test_cost if totals.test_cost > 0 else math.inf,
        mean_ratio=totals.mean_bound / totals.mean_error if totals.mean_error > 0 else math.inf,
        accuracy=totals.accuracy,
        violations=int(np.sum(per_sample < errors - slack)),
    )


__all__ = ["PRECOMPUTED_MAX_ENTRIES", "FixedGeometry", "pairwise_distances", "snapshot"]
