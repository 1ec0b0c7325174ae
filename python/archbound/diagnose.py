"""A health check of a training set before a bound is computed (arXiv:2504.05695, §4.2 of
docs/design.md): can a zero-loss minimizer exist, how far apart are the samples, and how large
would the constructed minimizer's readout be?

Zero loss needs rank(X_0) = N <= M0; the readout of the constructed minimizer is
A = Y_0 X_0^+, whose norm grows as X becomes ill-conditioned, and every geometry bound
scales with the distances from test to training samples.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from archbound._json import finite_or_none
from archbound._validation import check_array, check_threads
from archbound.geometry import nearest
from archbound.linalg import pinv_info

MAX_EXAMPLES = 5


def _stats(values: np.ndarray) -> dict:
    if values.size == 0:
        return {"count": 0, "min": None, "median": None, "mean": None, "max": None}
    return {
        "count": int(values.size),
        "min": float(values.min()),
        "median": float(np.median(values)),
        "mean": float(values.mean()),
        "max": float(values.max()),
    }


def nearest_other(X: np.ndarray, queries: np.ndarray, *, rows: int = 512):
    """For each row index q in `queries`, the nearest other row of X (never q itself).

    Distances come from |a|^2 + |b|^2 - 2 a.b in blocks of `rows` queries (never a
    len(queries) x N matrix), then the chosen pair's distance is recomputed exactly, so a
    returned distance is never spoiled by cancellation.

    Returns
    -------
    distances : ndarray of shape (len(queries),)
    indices : ndarray of shape (len(queries),)
    """
    n = X.shape[0]
    squared = np.einsum("ij,ij->i", X, X)
    distances = np.empty(len(queries))
    indices = np.empty(len(queries), dtype=np.int64)
    for first in range(0, len(queries), rows):
        block = queries[first : first + rows]
        d2 = squared[block, None] + squared[None, :] - 2.0 * (X[block] @ X.T)
        d2[np.arange(len(block)), block] = np.inf
        best = np.argmin(d2, axis=1) if n > 1 else np.zeros(len(block), dtype=np.int64)
        indices[first : first + len(block)] = best
        distances[first : first + len(block)] = np.linalg.norm(X[block] - X[best], axis=1)
    return distances, indices


def _nearest(F_test: np.ndarray, F_train: np.ndarray, threads):
    """Test-to-training nearest neighbours, by archbound's geometry kernel."""
    distances, indices = nearest(F_test, F_train, threads=threads)
    return np.asarray(distances), np.asarray(indices)


def _row_groups(X: np.ndarray) -> dict:
    """Exact duplicate rows: bytes of the row -> list of indices (-0.0 counts as 0.0)."""
    groups = defaultdict(list)
    clean = X + 0.0
    for index, row in enumerate(clean):
        groups[row.tobytes()].append(index)
    return groups


def diagnose(
    X_train, Y_train=None, X_test=None, *, rcond=None, max_queries=10000, seed=0, threads=None
) -> dict:
    """Report whether a training set admits a zero-loss minimizer, and its geometry.

    Parameters
    ----------
    X_train : array_like of shape (N, M0)
    Y_train : array_like of shape (N, Q), optional
        Targets (one-hot labels for classification); needed for conflicting duplicates and
        the readout norm.
    X_test : array_like of shape (m, M0), optional
    rcond : float, optional
        Rank tolerance relative to sigma_max; default max(N, M0) * eps.
    max_queries : int
        Nearest-neighbour statistics use at most this many query samples (a seeded random
        subset), each searched against the whole training set.
    seed : int
        Seed of that subset.
    threads : int, optional
        OpenMP threads.

    Returns
    -------
    dict
        JSON-safe: ``n_train``, ``input_dim``, ``n_outputs``, ``rank``, ``sigma_max``,
        ``sigma_min`` (smallest of the min(N, M0) singular values), ``sigma_rank`` (the
        smallest one counted in the rank), ``condition_number`` (sigma_max / sigma_min,
        None when infinite), ``rank_tolerance``, ``singular_values`` (list),
        ``zero_loss_attainable`` and ``zero_loss_reason``, ``duplicates`` (exact duplicate
        training rows: ``groups``, ``redundant_samples``, ``conflicting_groups``,
        ``examples``), ``train_train`` (distance to the nearest *other* training sample:
        count, min, median, mean, max, and ``sampled``), ``test_train`` (distance from each
        test sample to its nearest training sample, ``exact_copies`` of training samples),
        ``readout_norm`` (||Y_0 X_0^+||_2, the spectral norm of the readout A that
        construct_minimizer would build; None without targets), ``readout_frobenius``, and
        ``least_squares_train_cost`` (the training loss of that readout, 0 when zero loss
        is attainable).
    """
    X = check_array(X_train, "X_train")
    n, m0 = X.shape
    Y = None
    if Y_train is not None:
        Y = check_array(Y_train, "Y_train")
        if Y.shape[0] != n:
            raise ValueError(f"Y_train has {Y.shape[0]} rows, but X_train has {n}")
    T = None
    if X_test is not None:
        T = check_array(X_test, "X_test")
        if T.shape[1] != m0:
            raise ValueError(f"X_test has {T.shape[1]} features, but X_train has {m0}")
    threads_arg = None if check_threads(threads) == 0 else threads
    info = pinv_info(X, rcond=rcond, threads=threads_arg)
    singular = np.linalg.svd(X, compute_uv=False)
    tolerance = (max(n, m0) * np.finfo(np.float64).eps if rcond is None else rcond) * singular[0]
    rank = int(info.rank)
    sigma_min = float(singular[-1]) if singular.size else 0.0
    condition = singular[0] / sigma_min if sigma_min > 0 else math.inf
    if rank == n:
        reason = f"rank(X) = N = {n} <= M0 = {m0}: a zero-loss minimizer exists"
    elif n > m0:
        reason = (
            f"N = {n} > M0 = {m0}: at most M0 samples can be fitted exactly; use "
            f"N <= rank = {rank}"
        )
    else:
        reason = (
            f"rank(X) = {rank} < N = {n}: the samples are linearly dependent "
            "(duplicates count); use N <= rank"
        )

    groups = _row_groups(X)
    duplicate_groups = [idx for idx in groups.values() if len(idx) > 1]
    conflicting = []
    if Y is not None:
        conflicting = [
            idx for idx in duplicate_groups if np.any(np.abs(Y[idx] - Y[idx[0]]).max(axis=1) > 0)
        ]
    duplicates = {
        "groups": len(duplicate_groups),
        "redundant_samples": int(sum(len(g) - 1 for g in duplicate_groups)),
        "conflicting_groups": len(conflicting) if Y is not None else None,
        "examples": [list(map(int, g)) for g in duplicate_groups[:MAX_EXAMPLES]],
        "conflicting_examples": [list(map(int, g)) for g in conflicting[:MAX_EXAMPLES]],
    }

    rng = np.random.default_rng(seed)
    queries = (
        np.arange(n) if n <= max_queries else np.sort(rng.choice(n, max_queries, replace=False))
    )
    train_train = _stats(nearest_other(X, queries)[0]) if n > 1 else _stats(np.empty(0))
    train_train["sampled"] = bool(n > max_queries)

    test_train = None
    if T is not None:
        rows = np.arange(T.shape[0])
        if T.shape[0] > max_queries:
            rows = np.sort(rng.choice(T.shape[0], max_queries, replace=False))
        distances, _ = _nearest(np.ascontiguousarray(T[rows]), X, threads_arg)
        test_train = _stats(distances)
        test_train["sampled"] = bool(T.shape[0] > max_queries)
        test_train["n_test"] = int(T.shape[0])
        test_train["exact_copies"] = int(sum((row + 0.0).tobytes() in groups for row in T))

    readout_norm = readout_frobenius = least_squares = None
    if Y is not None:
        coefficients = info.pinv @ Y  # X^+ Y = A^T, shape (M0, Q)
        readout_norm = float(np.linalg.norm(coefficients, 2))
        readout_frobenius = float(np.linalg.norm(coefficients))
        least_squares = float(np.mean(np.sum((X @ coefficients - Y) ** 2, axis=1)))

    return {
        "n_train": n,
        "input_dim": m0,
        "n_outputs": None if Y is None else int(Y.shape[1]),
        "rank": rank,
        "sigma_max": finite_or_none(singular[0]),
        "sigma_min": finite_or_none(sigma_min),
        "sigma_rank": finite_or_none(singular[rank - 1]) if rank > 0 else None,
        "condition_number": finite_or_none(condition),
        "rank_tolerance": finite_or_none(tolerance),
        "singular_values": [float(s) for s in singular],
        "zero_loss_attainable": bool(rank == n),
        "zero_loss_reason": reason,
        "duplicates": duplicates,
        "train_train": train_train,
        "test_train": test_train,
        "readout_norm": readout_norm,
        "readout_frobenius": readout_frobenius,
        "least_squares_train_cost": least_squares,
    }


__all__ = ["diagnose", "nearest_other"]
