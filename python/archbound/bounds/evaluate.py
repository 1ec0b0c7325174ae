"""Evaluating the bounds of prepared contexts on test samples: one pass of the geometry
kernel per feature space, the truth beside them, and the aggregate :class:`BoundReport`.

The feature space (:class:`~archbound.bounds._cache.FeatureSpace`) is the operator and the
kernel pass the solver: :func:`evaluate_groups` hands every context of one feature space to
one pass, which returns a :class:`SampleBounds` per context.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from archbound._validation import check_threads
from archbound.bounds._cache import FeatureSpace
from archbound.bounds._checks import check_data
from archbound.bounds.registry import BoundContext
from archbound.bounds.reports import BoundReport, ratio_of
from archbound.geometry import _nearest
from archbound.network import Network

#: The kernel decides its block size (docs/design.md §2.4.2): 0 asks for its default.
_CORE_BLOCK_SIZE = 0
#: The per-sample arrays of :class:`BoundSamples` that a :class:`BoundReport` keeps, with
#: their dtypes (``attained_by`` for ``"best"`` only).
PER_SAMPLE_ARRAYS = {
    "per_sample": np.float64,
    "errors": np.float64,
    "nearest_index": np.int64,
    "distances": np.float64,
    "attained_by": np.int8,
}


@dataclass(frozen=True)
class SampleBounds:
    """The bounds B_j of one context on every test sample, from the kernel.

    Attributes
    ----------
    per_sample : ndarray of shape (m,)
        B_j.
    nearest_index : ndarray of shape (m,)
        The training sample i attaining B_j.
    distances : ndarray of shape (m,)
        |F_j - G_i| for that i.
    attained_by : ndarray of int8, shape (m,), or None
        ``"best"`` only: the index in ``context.components`` of the variant attaining B_j.
    """

    per_sample: np.ndarray
    nearest_index: np.ndarray
    distances: np.ndarray
    attained_by: np.ndarray | None = None


@dataclass(frozen=True)
class Truth:
    """The reported truth on the test set.

    Attributes
    ----------
    errors : ndarray of shape (m,)
        |f(x~_j) - y~_j|.
    hits : ndarray of bool, shape (m,), or None
        Argmax agreement, when the targets are one-hot.
    """

    errors: np.ndarray
    hits: np.ndarray | None


@dataclass(frozen=True)
class BoundSamples:
    """Per-sample bounds and errors of a batch of test samples (:func:`evaluate_bounds`).

    Attributes
    ----------
    per_sample, nearest_index, distances, attained_by : ndarray
        As in :class:`SampleBounds`.
    errors, hits : ndarray
        As in :class:`Truth`.
    """

    per_sample: np.ndarray
    nearest_index: np.ndarray
    distances: np.ndarray
    errors: np.ndarray
    hits: np.ndarray | None
    attained_by: np.ndarray | None = None

    @classmethod
    def of(cls, bounds: SampleBounds, truth: Truth) -> BoundSamples:
        """The bounds of one context beside the truth."""
        return cls(
            **{k: getattr(bounds, k) for k in PER_SAMPLE_ARRAYS if k != "errors"},
            errors=truth.errors,
            hits=truth.hits,
        )


@dataclass(frozen=True)
class BoundAggregates:
    """The aggregates of a :class:`BoundReport` over the test set.

    Attributes
    ----------
    test_cost, test_cost_bound : float
        mean_j |f(x~_j) - y~_j|^2 and mean_j B_j^2.
    mean_bound, mean_error : float
        mean_j B_j and mean_j |f(x~_j) - y~_j|.
    uniform_bound : float
        max_j B_j.
    argmax_test_index : int
        The test sample attaining it.
    max_error : float
        max_j |f(x~_j) - y~_j|.
    accuracy : float or None
        Argmax agreement, when the targets are one-hot.
    """

    test_cost: float
    test_cost_bound: float
    mean_bound: float
    mean_error: float
    uniform_bound: float
    argmax_test_index: int
    max_error: float
    accuracy: float | None

    @classmethod
    def of(cls, samples: BoundSamples) -> BoundAggregates:
        """The aggregates of per-sample results held in memory."""
        values, errors = samples.per_sample, samples.errors
        return cls(
            test_cost=float(np.mean(errors**2)),
            test_cost_bound=float(np.mean(values**2)),
            mean_bound=float(values.mean()),
            mean_error=float(errors.mean()),
            uniform_bound=float(values.max()),
            argmax_test_index=int(np.argmax(values)),
            max_error=float(errors.max()),
            accuracy=None if samples.hits is None else float(np.mean(samples.hits)),
        )


def _is_one_hot(Y: np.ndarray) -> bool:
    return bool(np.all((Y == 0) | (Y == 1)) and np.all(Y.sum(axis=1) == 1))


def _kernel_pass(
    space: FeatureSpace, contexts: list, X_test: np.ndarray, Y_test: np.ndarray, threads: int
) -> list[SampleBounds]:
    """B_j for contexts other than "best" that share one feature space: the test features
    are computed once and every context is one objective of a single pass of the kernel."""
    F_test = np.ascontiguousarray(space.features(X_test))
    offsets = np.stack([c.kernel_offsets for c in contexts])
    result = _nearest(
        F_test,
        space.train_features,
        [c.alpha for c in contexts],
        Y_test,
        contexts[0].Y_train,
        offsets,
        None,
        None,
        _CORE_BLOCK_SIZE,
        threads,
    )
    test_norms = None
    out = []
    for k, context in enumerate(contexts):
        values = np.array(result.values[:, k])
        if context.test_gap > 0:
            if test_norms is None:
                test_norms = np.sqrt(np.einsum("ij,ij->i", X_test, X_test))
            values += context.test_gap * test_norms
        out.append(
            SampleBounds(values, np.array(result.indices[:, k]), np.array(result.distances[:, k]))
        )
    return out


def evaluate_groups(
    contexts: list, X_test: np.ndarray, Y_test: np.ndarray, threads: int
) -> list[SampleBounds]:
    """:func:`_kernel_pass` for any contexts of one training set (``"best"`` included):
    those that share a feature space go through the kernel together. Returns one
    :class:`SampleBounds` per context, in order."""
    leaves: list[BoundContext] = []
    for context in contexts:
        for leaf in context.components or (context,):
            if not any(leaf is seen for seen in leaves):
                leaves.append(leaf)
    groups: dict[FeatureSpace, list[BoundContext]] = {}
    for leaf in leaves:
        assert leaf.space is not None  # only "best" has none, and it is no leaf
        groups.setdefault(leaf.space, []).append(leaf)
    results: list[tuple[BoundContext, SampleBounds]] = []
    for space, group in groups.items():
        results.extend(zip(group, _kernel_pass(space, group, X_test, Y_test, threads)))

    def result_of(leaf: BoundContext) -> SampleBounds:
        return next(bounds for context, bounds in results if context is leaf)

    out = []
    for context in contexts:
        if context.components is None:
            out.append(result_of(context))
            continue
        parts = [result_of(c) for c in context.components]
        values = np.stack([p.per_sample for p in parts])
        which = np.argmin(values, axis=0)  # the first component on ties
        rows = np.arange(values.shape[1])
        out.append(
            SampleBounds(
                values[which, rows],
                np.stack([p.nearest_index for p in parts])[which, rows],
                np.stack([p.distances for p in parts])[which, rows],
                which.astype(np.int8),
            )
        )
    return out


def _truth(
    net: Network, X_test: np.ndarray, Y_test: np.ndarray, threads: int, f_test=None
) -> Truth:
    """|f(x~_j) - y~_j| and, for one-hot targets, argmax agreement; ``f_test`` is f(X_test)
    when already computed (validated, of Y_test's shape)."""
    if f_test is None:
        f_test = net._forward(X_test, threads)
    hits = None
    if _is_one_hot(Y_test):
        hits = f_test.argmax(axis=1) == Y_test.argmax(axis=1)
    return Truth(np.linalg.norm(f_test - Y_test, axis=1), hits)


def evaluate_bounds(
    context: BoundContext, X_test: ArrayLike, Y_test: ArrayLike, *, threads: int | None = None
) -> BoundSamples:
    """Per-sample bounds and errors for a batch of test samples.

    Parameters
    ----------
    context : BoundContext
        From :func:`prepare_bounds`.
    X_test : array_like of shape (m, M0)
    Y_test : array_like of shape (m, Q), or (m,) int labels
    threads : int, optional
        OpenMP threads.

    Returns
    -------
    BoundSamples
        ``per_sample``, ``nearest_index``, ``distances``, ``errors``, ``hits`` (argmax
        agreement, or None when the targets are not one-hot), and for ``"best"``
        ``attained_by`` (int8: the index in ``context.components`` of the variant attaining
        each B_j).
    """
    threads = check_threads(threads)
    X, Y = check_data(context.net, X_test, Y_test, which="test")
    return _evaluate(context, X, Y, threads)


def _evaluate(
    context: BoundContext, X_test: np.ndarray, Y_test: np.ndarray, threads: int
) -> BoundSamples:
    """:func:`evaluate_bounds` on validated arguments."""
    truth = _truth(context.net, X_test, Y_test, threads)
    bounds = evaluate_groups([context], X_test, Y_test, threads)[0]
    return BoundSamples.of(bounds, truth)


def report_from_samples(
    context: BoundContext,
    samples: BoundSamples,
    seconds: float,
    totals: BoundAggregates | None = None,
) -> BoundReport:
    """Aggregate per-sample results (from :func:`evaluate_bounds`) into a BoundReport.

    The one place a BoundReport is built, for the in-process and the chunked paths alike;
    ``totals`` are the aggregates when already reduced (chunk by chunk), otherwise
    :meth:`BoundAggregates.of` the samples.
    """
    if totals is None:
        totals = BoundAggregates.of(samples)
    bound, test_cost = totals.test_cost_bound, totals.test_cost
    return BoundReport(
        **{k: getattr(samples, k) for k in PER_SAMPLE_ARRAYS},
        variant=context.variant,
        train_cost=float(np.mean(context.residuals**2)),
        test_cost=test_cost,
        test_cost_bound=bound,
        uniform_bound=totals.uniform_bound,
        max_error=totals.max_error,
        ratio=ratio_of(bound, test_cost),
        mean_ratio=ratio_of(totals.mean_bound, totals.mean_error),
        accuracy=totals.accuracy,
        lipschitz=context.alpha,
        norms=list(context.norms),
        delta=context.delta,
        seconds=seconds,
        argmax_test_index=totals.argmax_test_index,
        components=component_names(context),
    )


def component_names(context: BoundContext) -> tuple:
    """The variants a ``"best"`` context takes the minimum over (empty for the others)."""
    return tuple(c.variant for c in context.components or ())


__all__ = [
    "PER_SAMPLE_ARRAYS",
    "BoundAggregates",
    "BoundSamples",
    "SampleBounds",
    "component_names",
    "evaluate_bounds",
    "report_from_samples",
]
