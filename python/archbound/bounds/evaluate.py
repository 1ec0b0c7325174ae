"""Evaluating the bounds of prepared contexts on test samples: one pass of the geometry
kernel per feature space, the truth beside them, and the aggregate :class:`BoundReport`."""

from __future__ import annotations

import math

import numpy as np

from archbound._validation import check_array, check_threads
from archbound.bounds._checks import _check_data
from archbound.bounds.reports import BoundReport
from archbound.bounds.variants import BoundContext
from archbound.geometry import _nearest


def _is_one_hot(Y: np.ndarray) -> bool:
    return bool(np.all((Y == 0) | (Y == 1)) and np.all(Y.sum(axis=1) == 1))


def _geometry(contexts: list, X_test: np.ndarray, Y_test: np.ndarray, threads) -> list:
    """(B_j, the attaining i, the feature distance) for contexts other than "best" that share
    one feature space (transform and training features): the test features are computed
    once and every context is one objective of a single pass of the kernel."""
    first = contexts[0]
    F_test = np.ascontiguousarray(first.features(X_test))
    offsets = np.stack([c.residuals if c.offsets is None else c.offsets for c in contexts])
    result = _nearest(
        F_test,
        first.train_features,
        [c.alpha for c in contexts],
        Y_test,
        first.Y_train,
        offsets,
        None,
        None,
        min(256, len(F_test)),
        check_threads(threads),
    )
    test_norms = None
    out = []
    for k, context in enumerate(contexts):
        values = np.array(result.values[:, k])
        if context.test_gap > 0:
            if test_norms is None:
                test_norms = np.sqrt(np.einsum("ij,ij->i", X_test, X_test))
            values += context.test_gap * test_norms
        out.append((values, np.array(result.indices[:, k]), np.array(result.distances[:, k])))
    return out


def _evaluate_groups(contexts: list, X_test: np.ndarray, Y_test: np.ndarray, threads) -> list:
    """:func:`_geometry` for any contexts of one training set (``"best"`` included): those
    that share a feature space go through the kernel together. Returns one
    (values, index, distances, attained_by) per context."""
    leaves = []
    for context in contexts:
        leaves.extend(context.components or [context])
    groups: dict = {}
    for leaf in leaves:
        key = (id(leaf.transform), id(leaf.train_features))
        groups.setdefault(key, []).append(leaf)
    results = {}
    for group in groups.values():
        for leaf, parts in zip(group, _geometry(group, X_test, Y_test, threads)):
            results[id(leaf)] = parts
    out = []
    for context in contexts:
        if context.components is None:
            out.append((*results[id(context)], None))
            continue
        parts = [results[id(c)] for c in context.components]
        values = np.stack([p[0] for p in parts])
        which = np.argmin(values, axis=0)  # the first component on ties
        rows = np.arange(values.shape[1])
        out.append(
            (
                values[which, rows],
                np.stack([p[1] for p in parts])[which, rows],
                np.stack([p[2] for p in parts])[which, rows],
                which.astype(np.int8),
            )
        )
    return out


def _truth(net, X_test, Y_test, threads, test_outputs) -> dict:
    """The reported truth: |f(x~_j) - y~_j| and, for one-hot targets, argmax agreement."""
    if test_outputs is None:
        f_test = net._forward(X_test, check_threads(threads))
    else:
        f_test = check_array(test_outputs, "test_outputs")
        if f_test.shape != Y_test.shape:
            raise ValueError(
                f"test_outputs must have shape {Y_test.shape} (m, Q), got {f_test.shape}"
            )
    hits = None
    if _is_one_hot(Y_test):
        hits = f_test.argmax(axis=1) == Y_test.argmax(axis=1)
    return {"errors": np.linalg.norm(f_test - Y_test, axis=1), "hits": hits}


def evaluate_bounds(
    context: BoundContext, X_test, Y_test, *, threads=None, test_outputs=None
) -> dict:
    """Per-sample bounds and errors for a batch of test samples.

    ``test_outputs`` (m, Q), if given, is f(X_test) computed before; it only serves the
    reported truth (the bound never evaluates f on the test set).

    Returns a dict of arrays of shape (m,): ``per_sample``, ``nearest_index``,
    ``distances``, ``errors``, ``hits`` (argmax agreement, or None when the targets
    are not one-hot), and for ``"best"`` ``attained_by`` (int8: the index in
    ``context.components`` of the variant attaining each B_j).
    """
    X_test, Y_test = _check_data(context.net, X_test, Y_test, which="test")
    out = _truth(context.net, X_test, Y_test, threads, test_outputs)
    values, index, distances, attained_by = _evaluate_groups([context], X_test, Y_test, threads)[0]
    out.update(per_sample=values, nearest_index=index, distances=distances)
    if attained_by is not None:
        out["attained_by"] = attained_by
    return out


def report_from_samples(context: BoundContext, samples: dict, seconds: float) -> BoundReport:
    """Aggregate per-sample results (from :func:`evaluate_bounds`) into a BoundReport."""
    values, errors = samples["per_sample"], samples["errors"]
    test_cost = float(np.mean(errors**2))
    bound = float(np.mean(values**2))
    mean_error = float(errors.mean())
    hits = samples.get("hits")
    return BoundReport(
        variant=context.variant,
        per_sample=values,
        nearest_index=samples["nearest_index"],
        distances=samples["distances"],
        errors=errors,
        train_cost=float(np.mean(context.residuals**2)),
        test_cost=test_cost,
        test_cost_bound=bound,
        uniform_bound=float(values.max()),
        max_error=float(errors.max()),
        ratio=bound / test_cost if test_cost > 0 else math.inf,
        mean_ratio=float(values.mean()) / mean_error if mean_error > 0 else math.inf,
        accuracy=None if hits is None else float(np.mean(hits)),
        lipschitz=context.alpha,
        norms=list(context.norms),
        delta=context.delta,
        seconds=seconds,
        argmax_test_index=int(np.argmax(values)),
        components=component_names(context),
        attained_by=samples.get("attained_by"),
    )


def component_names(context: BoundContext) -> tuple:
    """The variants a ``"best"`` context takes the minimum over (empty for the others)."""
    return tuple(c.variant for c in context.components or ())
