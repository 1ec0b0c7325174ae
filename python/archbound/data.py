"""Reading datasets, arrays and models from disk, without pickle (docs/design.md §4.3).

- :func:`load_dataset`: the experiment's datasets, scaled to [0, 1] with integer labels:
  scikit-learn's digits (shipped inside the scikit-learn wheel), Fashion-MNIST from the
  Debian package ``dataset-fashion-mnist``, or any directory in MNIST's IDX format.
- :func:`read_idx`: a strict reader of one IDX file, gzipped or raw.
- :func:`load_arrays`: ``X`` with ``y`` (labels) or ``Y`` (targets) from ``.npz``/``.npy``.
- :func:`load_model`: a :class:`~archbound.Network` from ``Network.save``'s ``.npz``, or
  from a PyTorch ``nn.Sequential`` of Linear/ReLU layers (state_dict or module), read with
  ``torch.load(..., weights_only=True)``.

Every file is read with ``allow_pickle=False`` (NumPy) or ``weights_only=True`` (torch):
reading a file never runs code stored in it. Every failure raises :class:`DataError`, a
ValueError whose one-line message names the file and what was wrong.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archbound._validation import DTypeError, check_array

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
DATASETS = ("digits", "fashion-mnist")


class DataError(ValueError):
    """A file or dataset that cannot be read: missing, malformed, or of the wrong kind."""


# --------------------------------------------------------------------------- IDX format

# IDX type codes (http://yann.lecun.com/exdb/mnist/): data are big-endian.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 24


def _read_exactly(stream, n_bytes: int, path) -> bytes:
    """Read n_bytes and make sure nothing follows; reads at most n_bytes + 1 bytes."""
    parts, remaining = [], n_bytes + 1
    while remaining > 0:
        part = stream.read(min(remaining, _CHUNK))
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    data = b"".join(parts)
    if len(data) < n_bytes:
        raise DataError(
            f"{path}: truncated IDX file: the header promises {n_bytes} bytes of data, "
            f"the file holds {len(data)}"
        )
    if len(data) > n_bytes:
        raise DataError(
            f"{path}: malformed IDX file: more data than the header's dimensions allow "
            f"({n_bytes} bytes)"
        )
    return data


def _parse_idx(stream, path) -> np.ndarray:
    header = stream.read(4)
    if len(header) < 4:
        raise DataError(f"{path}: not an IDX file: shorter than its 4-byte magic number")
    if header[0] != 0 or header[1] != 0:
        raise DataError(
            f"{path}: not an IDX file: the magic number must start with two zero bytes, "
            f"got {header.hex()}"
        )
    code, ndim = header[2], header[3]
    if code not in _IDX_DTYPES:
        raise DataError(
            f"{path}: unknown IDX data type code 0x{code:02X} (known: "
            + ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
            + ")"
        )
    if ndim == 0:
        raise DataError(f"{path}: IDX file with 0 dimensions")
    dims_raw = stream.read(4 * ndim)
    if len(dims_raw) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header: {ndim} dimensions announced")
    dims = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
    dtype = _IDX_DTYPES[code]
    n_bytes = int(np.prod(dims, dtype=object)) * dtype.itemsize
    data = _read_exactly(stream, n_bytes, path)
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path) -> np.ndarray:
    """Read one file in the IDX format of MNIST, gzipped or raw.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip compression is recognised by its magic bytes, not by the name.

    Returns
    -------
    ndarray
        Of the shape in the header and the native-endian version of its dtype.

    Raises
    ------
    DataError
        If the file is missing, not IDX (magic number, type code), truncated, or longer
        than its header says, or if its gzip stream is corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if compressed:
                with gzip.GzipFile(fileobj=raw) as stream:
                    return _parse_idx(stream, path)
            return _parse_idx(raw, path)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt gzip stream ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None


_IDX_NAMES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def idx_shape(path) -> tuple:
    """The dimensions in an IDX file's header, without reading its data."""
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw) if compressed else raw
            header = stream.read(4)
            if len(header) < 4 or header[:2] != b"\0\0" or header[2] not in _IDX_DTYPES:
                raise DataError(f"{path}: not an IDX file (bad magic number)")
            dims = stream.read(4 * header[3])
            if len(dims) < 4 * header[3]:
                raise DataError(f"{path}: truncated IDX header")
            return tuple(int(d) for d in np.frombuffer(dims, dtype=">u4"))
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt gzip stream ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _find_idx(directory: Path, role: str) -> Path:
    for name in _IDX_NAMES[role]:
        for candidate in (directory / name, directory / (name + ".gz")):
            if candidate.is_file():
                return candidate
    raise DataError(
        f"{directory}: no {role.replace('_', ' ')} file: looked for "
        + ", ".join(f"{n}[.gz]" for n in _IDX_NAMES[role])
    )


def read_idx_directory(directory):
    """The four MNIST-format IDX files of a directory, unscaled.

    Returns
    -------
    X_train : ndarray of shape (N, rows * cols)
    y_train : ndarray of shape (N,), int64
    X_test : ndarray of shape (m, rows * cols)
    y_test : ndarray of shape (m,), int64
    """
    directory = Path(directory)
    arrays = {role: read_idx(_find_idx(directory, role)) for role in _IDX_NAMES}
    out = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim < 2:
            raise DataError(f"{directory}: {split} images must have >= 2 dimensions, got "
                            f"shape {images.shape}")
        if labels.ndim != 1:
            raise DataError(f"{directory}: {split} labels must be 1-dimensional, got shape "
                            f"{labels.shape}")
        if labels.dtype.kind not in "iu":
            raise DataError(f"{directory}: {split} labels must be integers, got {labels.dtype}")
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{directory}: {images.shape[0]} {split} images but {labels.shape[0]} labels"
            )
        if labels.size and labels.min() < 0:
            raise DataError(f"{directory}: negative {split} label {labels.min()}")
        out += [images.reshape(images.shape[0], -1), labels.astype(np.int64)]
    if out[0].shape[1] != out[2].shape[1]:
        raise DataError(
            f"{directory}: train images have {out[0].shape[1]} pixels, test images "
            f"{out[2].shape[1]}"
        )
    return tuple(out)


# ------------------------------------------------------------------------------ datasets


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
    """M0 of a dataset, from the IDX header alone (digits: 64)."""
    if isinstance(name_or_path, str) and name_or_path == "digits":
        return 64
    directory = _dataset_directory(name_or_path)
    return int(np.prod(idx_shape(_find_idx(directory, "train_images"))[1:], dtype=np.int64))


def load_dataset(name_or_path, *, max_train=None, max_test=None, seed=0, test_size=0.25,
                 clip=False):
    """Load a classification dataset scaled to [0, 1], with integer labels.

    Parameters
    ----------
    name_or_path : str or path-like
        ``"digits"``: scikit-learn's 8x8 digits (1797 samples, M0 = 64, pixel values
        0..16 divided by 16), split into train and test at random with ``seed``.
        ``"fashion-mnist"``: the IDX files that the Debian package ``dataset-fashion-mnist``
        installs under /usr/share/datasets/fashion-mnist (60000 + 10000 images, M0 = 784).
        A directory: MNIST-format IDX files (``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``,
        each optionally ``.gz``). uint8 pixels are divided by 255; other types are scaled
        by the training set's range (and the test set clipped to [0, 1]).
    max_train, max_test : int, optional
        Keep a random subset of this size (drawn with ``seed``, in random order); default
        all, in the file's order (digits: the seeded split's order).
    seed : int
        Seed of the digits split and of the subsets.
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
        Fashion-MNIST the message says how to install it.
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
        return (X_train[keep_train] / 16.0, y_train[keep_train],
                X_test[keep_test] / 16.0, y_test[keep_test])
    directory = _dataset_directory(name_or_path)
    X_train, y_train, X_test, y_test = read_idx_directory(directory)
    keep_train = _subset(len(y_train), max_train, train_rng, f"{directory} training set", clip)
    keep_test = _subset(len(y_test), max_test, test_rng, f"{directory} test set", clip)
    X_train, X_test = _scale(X_train[keep_train], X_test[keep_test])
    return X_train, y_train[keep_train], X_test, y_test[keep_test]


# -------------------------------------------------------------------------------- arrays


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


def _numpy_kind(path: Path) -> str | None:
    """"npz", "npy", or None for anything else (a raw pickle included), from the magic bytes."""
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
    array = np.asarray(array)
    if array.ndim != 1:
        raise DataError(f"{path}: 'y' must be 1-dimensional labels, got shape {array.shape}")
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(np.mod(array, 1) == 0):
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise DataError(
            f"{path}: 'y' must hold integer class labels, got dtype {array.dtype} (store "
            "real-valued targets as 'Y', shape (n, Q))"
        )
    if array.size and array.min() < 0:
        raise DataError(f"{path}: 'y' holds a negative label ({array.min()})")
    return array.astype(np.int64)


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
        kind = _numpy_kind(path)
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


# -------------------------------------------------------------------------------- models

_TORCH_SUFFIXES = {".pt", ".pth", ".ckpt", ".bin"}


def _is_torch_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("data.pkl") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def _load_torch(path: Path):
    try:
        import torch
    except ImportError:
        raise DataError(
            f"{path}: reading a PyTorch model needs torch: pip install 'archbound[torch]'"
        ) from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises UnpicklingError, RuntimeError, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{path}: torch.load(weights_only=True) refused the file ({first}); save "
            "model.state_dict() of an nn.Sequential of Linear and ReLU layers"
        ) from None
    if isinstance(obj, (torch.nn.Module, dict)):
        from archbound.network import Network

        try:  # the same conversion as Network.from_torch for objects in memory
            return Network.from_torch(obj)
        except ValueError as exc:
            raise DataError(f"{path}: {exc}") from None
    raise DataError(
        f"{path}: holds a {type(obj).__name__}; expected a state_dict or an nn.Sequential"
    )


def load_model(path):
    """Read a network from a file, without running code stored in it.

    Parameters
    ----------
    path : str or path-like
        ``.npz``: written by :meth:`archbound.Network.save`. ``.pt``/``.pth``/``.ckpt``/
        ``.bin`` (or any zip written by ``torch.save``): the ``state_dict`` of an
        ``nn.Sequential(Linear, ReLU, Linear, ..., ReLU, Linear)`` with keys ``0.weight``,
        ``0.bias``, ``2.weight``, ... (a state_dict does not record the parameter-free
        modules between the Linear layers; they are taken to be ReLU), or the
        ``nn.Sequential`` itself where ``weights_only=True`` allows it (only after
        ``torch.serialization.add_safe_globals``). Torch is an optional dependency:
        ``pip install 'archbound[torch]'``.

    Returns
    -------
    Network

    Raises
    ------
    DataError
        Missing or unreadable file, pickled content, or a model that is not a Linear/ReLU
        stack.
    """
    from archbound.network import Network

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a model file")
    if path.suffix.lower() in _TORCH_SUFFIXES or (
        path.suffix.lower() != ".npz" and _is_torch_zip(path)
    ):
        return _load_torch(path)
    try:
        if _numpy_kind(path) != "npz":
            raise DataError(
                f"{path}: not a .npz written by Network.save, nor a torch.save file (pickles "
                "and other formats are refused)"
            )
        with zipfile.ZipFile(path) as archive:  # a corrupt zip fails here, closing the file
            archive.namelist()
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a network saved by Network.save ({exc})") from None
    try:
        return Network.load(path)
    except DataError:
        raise
    except ValueError as exc:
        message = str(exc)
        raise DataError(message if str(path) in message else f"{path}: {message}") from None
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: not a network saved by Network.save ({exc})") from None


__all__ = [
    "DATASETS",
    "FASHION_MNIST_DIR",
    "ArrayData",
    "DataError",
    "dataset_input_dim",
    "idx_shape",
    "load_arrays",
    "load_dataset",
    "load_model",
    "read_idx",
    "read_idx_directory",
]
