"""A strict reader of MNIST's IDX format (http://yann.lecun.com/exdb/mnist/), gzipped or raw:
one file (:func:`read_idx`), its header alone (:func:`idx_shape`), and the four files of an
MNIST-format directory (:func:`read_idx_directory`)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from archbound._validation import check_labels
from archbound.data.errors import DataError

# IDX type codes (http://yann.lecun.com/exdb/mnist/): data are big-endian.
_IDX_DTYPES: dict[int, np.dtype] = {
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
            raise DataError(
                f"{directory}: {split} images must have >= 2 dimensions, got shape {images.shape}"
            )
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{directory}: {images.shape[0]} {split} images but {labels.shape[0]} labels"
            )
        try:
            labels = check_labels(labels, f"{directory}: {split} labels")
        except ValueError as exc:  # DTypeError included
            raise DataError(str(exc)) from None
        out += [images.reshape(images.shape[0], -1), labels]
    if out[0].shape[1] != out[2].shape[1]:
        raise DataError(
            f"{directory}: train images have {out[0].shape[1]} pixels, test images "
            f"{out[2].shape[1]}"
        )
    return tuple(out)


__all__ = ["idx_shape", "read_idx", "read_idx_directory"]
