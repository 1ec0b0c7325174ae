"""Train/test geometry: nearest training samples, Chamfer and Hausdorff distances.

One kernel (docs/design.md §2.4) computes, for every test sample j,

    B_j = min_i ( alpha |F_j - G_i| + |y~_j - y_i| + r_i )

and its argmin, which is what every sample bound of arXiv:2504.05695 needs: with alpha the
Lipschitz constant of the network, r_i its training residuals and y the labels, B_j bounds
|f(x~_j) - y~_j| by the triangle inequality through training sample i.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from numpy.typing import ArrayLike

from archbound import _core
from archbound._validation import (
    FLOATS,
    check_array,
    check_labels,
    check_memory,
    check_scalar,
    check_threads,
    is_one_dimensional,
    remembered,
)


class AbsentClassWarning(UserWarning):
    """Some test samples belong to a class that has no training sample.

    Their class-conditional distance is ``inf`` and their index ``-1``.
    """


def _check_block_size(block_size) -> int:
    if isinstance(block_size, str):
        if block_size != "auto":
            raise ValueError(f"block_size must be 'auto' or a positive int, got {block_size!r}")
        return 0
    return check_scalar(block_size, "block_size", numbers.Integral, min_val=1)


def _check_labels(
    y_test, y_train, m: int, n: int, dtype
) -> tuple[np.ndarray | None, np.ndarray | None]:
    if (y_test is None) != (y_train is None):
        given, missing = ("y_test", "y_train") if y_train is None else ("y_train", "y_test")
        raise ValueError(f"{given} was given without {missing}; pass both label arrays or neither")
    if y_test is None:
        return None, None
    labels = []
    for value, name, rows in ((y_test, "y_test", m), (y_train, "y_train", n)):
        if is_one_dimensional(value):  # one label per sample
            value = np.reshape(value, (-1, 1))
        array = check_array(value, name, dtypes=(dtype,), allow_empty=True)
        if array.shape[0] != rows:
            raise ValueError(f"{name} has {array.shape[0]} rows, expected {rows} (one per sample)")
        labels.append(array)
    if labels[0].shape[1] != labels[1].shape[1]:
        raise ValueError(
            f"y_test and y_train must have the same number of columns, got "
            f"{labels[0].shape[1]} and {labels[1].shape[1]}"
        )
    return labels[0], labels[1]


def _check_offsets(offsets, n: int, dtype) -> np.ndarray | None:
    if offsets is None:
        return None
    offsets = check_array(offsets, "offsets", ndim=1, dtypes=(dtype,))
    if offsets.shape[0] != n:
        raise ValueError(
            f"offsets has length {offsets.shape[0]}, expected {n} (one per training sample)"
        )
    if (offsets < 0).any():
        raise ValueError(f"offsets must be >= 0, got a minimum of {offsets.min()}")
    return offsets


def _check_classes(
    classes_test, classes_train, m: int, n: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    if (classes_test is None) != (classes_train is None):
        given, missing = (
            ("classes_test", "classes_train")
            if classes_train is None
            else ("classes_train", "classes_test")
        )
        raise ValueError(f"{given} was given without {missing}; pass both class arrays or neither")
    if classes_test is None:
        return None, None
    return (
        check_labels(classes_test, "classes_test", n_samples=m, allow_negative=True),
        check_labels(classes_train, "classes_train", n_samples=n, allow_negative=True),
    )


@remembered
def _kernel_arguments(
    alpha: float, block_size, threads, m: int, n: int, d: int, q: int, itemsize: int
) -> tuple[np.ndarray, int, int]:
    """alphas, block and threads of one objective's kernel call, from a validated alpha:
    block_size and threads validated, and the call's memory guard passed."""
    block = _check_block_size(block_size)
    threads = check_threads(threads)
    # Tiles never hold more than m test samples: a larger block_size means the same as m.
    block = min(block, m)
    check_memory(
        _core.nearest_workspace_bytes(m, n, d, q, 1, block, threads, itemsize),
        "nearest with block_size = {} and threads = {}",
        block_size,
        threads or "default",
    )
    alphas = np.array([alpha], dtype=np.float32 if itemsize == 4 else np.float64)
    alphas.flags.writeable = False  # shared by the calls that remember it
    return alphas, block, threads


def _check_extras(
    y_test, y_train, offsets, classes_test, classes_train, m: int, n: int, dtype
) -> tuple[np.ndarray | None, ...]:
    """nearest's optional arrays, validated: labels, offsets and classes, in that order."""
    y_test, y_train = _check_labels(y_test, y_train, m, n, dtype)
    offsets = _check_offsets(offsets, n, dtype)
    classes_test, classes_train = _check_classes(classes_test, classes_train, m, n)
    return y_test, y_train, offsets, classes_test, classes_train


def nearest(
    F_test: ArrayLike,
    F_train: ArrayLike,
    *,
    alpha: float = 1.0,
    y_test: ArrayLike | None = None,
    y_train: ArrayLike | None = None,
    offsets: ArrayLike | None = None,
    classes_test: ArrayLike | None = None,
    classes_train: ArrayLike | None = None,
    block_size: int | str = "auto",
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest training sample of every test sample in a weighted feature-label metric.

    Computes, for every test sample j (docs/design.md §2.4; arXiv:2504.05695),

    ``B_j = min_i ( alpha * |F_test[j] - F_train[i]| + |y_test[j] - y_train[i]| + offsets[i] )``

    and the minimizing i, with Euclidean norms. Without labels and offsets, and with
    ``alpha=1``, this is the nearest-neighbour distance.

    Parameters
    ----------
    F_test : array_like of shape (m, d)
        Test features.
    F_train : array_like of shape (N, d)
        Training features. If both feature arrays are float32 the computation runs in
        float32; otherwise everything is converted to float64. Labels and offsets are
        converted to the same dtype.
    alpha : float, default 1.0
        Weight of the feature distance, finite and >= 0.
    y_test, y_train : array_like of shape (m, Q) and (N, Q), optional
        Labels (1-D arrays count as Q = 1). Pass both or neither.
    offsets : array_like of shape (N,), optional
        Per-training-sample offsets r_i >= 0, such as training residuals.
    classes_test, classes_train : array_like of int, shape (m,) and (N,), optional
        Integer class labels (floats that are whole numbers count as integers). When
        given, i ranges only over the training samples of test sample j's class. A test
        sample whose class has no training sample gets ``inf`` and index ``-1``,
        with an :class:`AbsentClassWarning`.
    block_size : int or "auto", default "auto"
        Test samples per tile ("auto": 256). Changing it changes rounding only.
    threads : int, optional
        OpenMP threads; default ``OMP_NUM_THREADS``. The result does not depend on it.

    Returns
    -------
    values : ndarray of shape (m,)
        ``B_j``, float32 or float64 as described under ``F_train``.
    indices : ndarray of int64, shape (m,)
        The minimizing training index, the lowest one on ties (``-1`` where none).

    Notes
    -----
    The m x N distance matrix is never formed: test tiles meet blocks of training samples
    in one GEMM each, ``|f|^2 + |g|^2 - 2 <f, g>`` on data centred at the training mean,
    and squared distances below 1/32 (float32) or 1/1024 (float64) of ``|f|^2 + |g|^2``
    are recomputed directly from the differences, so duplicates and data far from the
    origin keep full relative accuracy. For d <= 8 and for the labels, differences are
    summed directly. Memory beyond the inputs: a centred copy of ``F_train`` (packed in
    panels of 48 float32 or 24 float64 samples on AVX-512), O(m) for the results, and
    about ``block_size * (d + 480)`` values per thread.
    """
    F_test = check_array(F_test, "F_test", dtypes=FLOATS)
    F_train = check_array(F_train, "F_train", dtypes=FLOATS)
    if F_test.dtype != F_train.dtype:  # float32 only when both are
        F_test = F_test.astype(np.float64, copy=False)
        F_train = F_train.astype(np.float64, copy=False)
    (m, d), (n, d_train) = F_test.shape, F_train.shape
    if d != d_train:
        raise ValueError(
            f"F_test and F_train must have the same number of features (columns), got "
            f"{d} and {d_train}"
        )
    alpha = check_scalar(alpha, "alpha", numbers.Real, min_val=0.0)
    if (
        y_test is None
        and y_train is None
        and offsets is None
        and classes_test is None
        and classes_train is None
    ):
        q = 0  # the plain nearest neighbour
    else:
        y_test, y_train, offsets, classes_test, classes_train = _check_extras(
            y_test, y_train, offsets, classes_test, classes_train, m, n, F_test.dtype.type
        )
        q = 0 if y_train is None else y_train.shape[1]
    alphas, block, threads = _kernel_arguments(
        alpha, block_size, threads, m, n, d, q, F_train.itemsize
    )
    result = _nearest(
        F_test,
        F_train,
        alphas,
        y_test,
        y_train,
        None if offsets is None else offsets[None, :],
        classes_test,
        classes_train,
        block,
        threads,
        with_distances=False,
    )
    # Views of the (m, 1) results, which only this call holds: no copy.
    return result.values.ravel(), result.indices.ravel()


def _nearest(
    F_test: np.ndarray,
    F_train: np.ndarray,
    alphas: ArrayLike,
    y_test: np.ndarray | None,
    y_train: np.ndarray | None,
    offsets: np.ndarray | None,
    classes_test: np.ndarray | None,
    classes_train: np.ndarray | None,
    block: int,
    threads: int,
    *,
    with_distances: bool = True,
):
    """The kernel on validated, C-contiguous arrays of one float dtype, for K objectives.

    ``alphas`` (K values, or a C-contiguous array of F_test's dtype) has shape (K,) and
    ``offsets`` (K, N) or None. Returns the core's result,
    whose ``values``, ``indices`` and ``distances`` (|F_j - G_i| at the minimizer; empty
    without ``with_distances``) have shape (m, K).
    """
    kernel = _core.nearest_float32 if F_test.dtype.char == "f" else _core.nearest_float64
    if type(alphas) is not np.ndarray:
        alphas = np.array(alphas, dtype=F_test.dtype)
    result = kernel(
        F_test,
        F_train,
        alphas,
        y_test,
        y_train,
        offsets,
        classes_test,
        classes_train,
        block,
        threads,
        with_distances,
    )
    if classes_test is not None and ((indices := result.indices) < 0).any():
        missing = (indices < 0).any(axis=1)
        absent = np.unique(classes_test[missing])
        shown = ", ".join(str(c) for c in absent[:10]) + (", ..." if absent.size > 10 else "")
        warnings.warn(
            f"{int(missing.sum())} test samples belong to classes with no training "
            f"sample ({shown}); their distance is inf and their index -1",
            AbsentClassWarning,
            stacklevel=3,
        )
    return result


def _point_sets(A, B):
    A = check_array(A, "A", dtypes=FLOATS)
    B = check_array(B, "B", dtypes=FLOATS)
    dtype = np.float32 if A.dtype == B.dtype == np.float32 else np.float64
    if A.shape[1] != B.shape[1]:
        raise ValueError(
            f"A and B must have the same number of features (columns), got {A.shape[1]} and "
            f"{B.shape[1]}"
        )
    return A.astype(dtype, copy=False), B.astype(dtype, copy=False)


def _directed(A, B):
    """min_b |a - b| for every row a of A."""
    result = _nearest(A, B, [1.0], None, None, None, None, None, 0, 0, with_distances=False)
    return result.values[:, 0]


def chamfer(A: ArrayLike, B: ArrayLike, *, symmetric: bool = False) -> float:
    """Chamfer distance between two point sets (rows), with Euclidean (not squared) distances.

    One-sided: ``mean over a in A of min over b in B of |a - b|``. Symmetric: the average of
    the two one-sided distances, ``(chamfer(A, B) + chamfer(B, A)) / 2``.

    Parameters
    ----------
    A : array_like of shape (n_A, d)
    B : array_like of shape (n_B, d)
    symmetric : bool, default False

    Returns
    -------
    float
    """
    A, B = _point_sets(A, B)
    forward = float(np.mean(_directed(A, B), dtype=np.float64))
    if not symmetric:
        return forward
    return 0.5 * (forward + float(np.mean(_directed(B, A), dtype=np.float64)))


def hausdorff(A: ArrayLike, B: ArrayLike) -> float:
    """Hausdorff distance between two point sets (rows): the larger directed max-min distance.

    ``max( max_a min_b |a - b|, max_b min_a |a - b| )``, Euclidean.

    Parameters
    ----------
    A : array_like of shape (n_A, d)
    B : array_like of shape (n_B, d)

    Returns
    -------
    float
    """
    A, B = _point_sets(A, B)
    return float(max(_directed(A, B).max(), _directed(B, A).max()))
