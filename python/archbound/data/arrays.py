"""User data from ``.npz``/``.npy`` files, without pickle: :func:`load_arrays` reads ``X`` with
``y`` (labels) or ``Y`` (targets) into an :class:`ArrayData` (docs/design.md §4.3)."""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archbound._validation import DTypeError, check_array, check_labels
from archbound.data.errors import DataError


@dataclass
class ArrayData:
    """Inputs with optional labels or targets, as read by :func:`load_arrays`.

    Attributes
    ----------
    X : ndarray of shape (n, M0), float64
    labels : ndarray of shape (n,), int64, or None
        From the key ``y``.
    Y : ndarray of shape (n, Q), float64, or None
        From the key ``Y``.
    path : str
    """

    X: np.ndarray
    labels: np.ndarray | None
    Y: np.ndarray | None
    path: str

    @property
    def has_targets(self) -> bool:
        return self.labels is not None or self.Y is not None

    def targets(self, n_classes=None) -> np.ndarray:
        """Y, or the labels one-hot encoded to ``n_classes`` columns (default max + 1)."""
        if self.Y is not None:
            if n_classes is not None and self.Y.shape[1] != n_classes:
                raise DataError(
                    f"{self.path}: Y has {self.Y.shape[1]} columns, but {n_classes} outputs "
                    "are expected"
                )
            return self.Y
        if self.labels is None:
            raise DataError(f"{self.path}: holds no targets: add `y` (labels) or `Y` (targets)")
        if n_classes is not None and self.labels.max() >= n_classes:
            raise DataError(
                f"{self.path}: labels go up to {self.labels.max()}, but only {n_classes} "
                "classes (outputs) are expected"
            )
        from archbound.construct import one_hot

        return one_hot(self.labels, n_classes)


def numpy_kind(path: Path) -> str | None:
    """ "npz", "npy", or None for anything else (a raw pickle included), from the magic bytes."""
    with open(path, "rb") as stream:
        magic = stream.read(6)
    if magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "npz"
    if magic == b"\x93NUMPY":
        return "npy"
    return None


def _pickle_refused(path, exc) -> DataError:
    return DataError(
        f"{path}: holds an object array (pickled Python objects), which is refused: "
        "archbound reads files with allow_pickle=False; save plain numeric arrays"
    )


def _numeric(array, path, key: str, ndim: int) -> np.ndarray:
    try:
        return check_array(array, f"{path}: {key!r}", ndim=ndim)
    except DTypeError as exc:
        raise DataError(str(exc)) from None
    except ValueError as exc:
        raise DataError(str(exc)) from None


def _labels(array, path) -> np.ndarray:
    try:
        return check_labels(array, f"{path}: 'y'")
    except DTypeError as exc:
        raise DataError(f"{exc}; store real-valued targets as 'Y', shape (n, Q)") from None
    except ValueError as exc:
        raise DataError(str(exc)) from None


def load_arrays(path) -> ArrayData:
    """Read inputs and targets from a ``.npz`` or ``.npy`` file, without pickle.

    Parameters
    ----------
    path : str or path-like
        A ``.npz`` with key ``X`` (shape (n, M0)) and either ``y`` (integer labels, shape
        (n,)) or ``Y`` (targets, shape (n, Q); a 1-D ``Y`` is one output), or a ``.npy``
        holding X alone.

    Returns
    -------
    ArrayData

    Raises
    ------
    DataError
        Missing file, object arrays, missing keys, wrong dtypes, NaN/inf, or shapes that do
        not match.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a .npz or .npy file")
    try:
        kind = numpy_kind(path)
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if kind is None:
        raise DataError(
            f"{path}: not a NumPy .npz or .npy file (pickles and other formats are refused)"
        )
    try:
        # np.load on an open stream, so that the file is closed whatever goes wrong
        with open(path, "rb") as stream:
            loaded = np.load(stream, allow_pickle=False)
            if isinstance(loaded, np.ndarray):
                return ArrayData(_numeric(loaded, path, "X", 2), None, None, str(path))
            with loaded as archive:
                return _arrays_from_npz(archive, path)
    except DataError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise _pickle_refused(path, exc) from None
        raise DataError(f"{path}: {' '.join(str(exc).split())}") from None
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt .{kind} file ({exc})") from None


def _arrays_from_npz(archive, path) -> ArrayData:
    keys = set(archive.files)
    if "X" not in keys:
        raise DataError(f"{path}: missing key 'X' (found: {', '.join(sorted(keys)) or 'nothing'})")
    if "y" in keys and "Y" in keys:
        raise DataError(f"{path}: holds both 'y' and 'Y'; keep one")
    X = _numeric(archive["X"], path, "X", 2)
    labels = Y = None
    if "y" in keys:
        labels = _labels(archive["y"], path)
        n_targets = labels.shape[0]
    elif "Y" in keys:
        raw = archive["Y"]
        if np.ndim(raw) == 1:
            raw = np.reshape(raw, (-1, 1))
        Y = _numeric(raw, path, "Y", 2)
        n_targets = Y.shape[0]
    if (labels is not None or Y is not None) and n_targets != X.shape[0]:
        raise DataError(
            f"{path}: X has {X.shape[0]} rows but {'y' if Y is None else 'Y'} has {n_targets}"
        )
    return ArrayData(X, labels, Y, str(path))


__all__ = ["ArrayData", "load_arrays"]
