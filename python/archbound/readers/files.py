"""Networks from files, without running code stored in them: ``Network.save``'s ``.npz``,
and ``torch.save`` files read with ``torch.load(..., weights_only=True)``
(docs/design.md §4.3).

Errors are :class:`archbound.data.DataError` (a ValueError) naming the path.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

from archbound.data.errors import DataError

TORCH_SUFFIXES = {".pt", ".pth", ".ckpt", ".bin"}


def is_path(value) -> bool:
    """A str or path-like that names a model file: an existing file, or a name that ends
    in ``.npz`` or a torch suffix (which is then reported missing)."""
    if not isinstance(value, (str, os.PathLike)):
        return False
    path = Path(value)
    return path.suffix.lower() in TORCH_SUFFIXES | {".npz"} or path.exists()


def _existing(value) -> Path:
    path = Path(value)
    if not path.exists():
        raise DataError(f"{path}: no such file (network: a path to a model file)")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a model file")
    return path


def _is_torch_zip(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("data.pkl") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def is_torch_file(value) -> bool:
    """A path named like a torch.save file, or a zip that torch.save wrote."""
    if not is_path(value):
        return False
    path = Path(value)
    suffix = path.suffix.lower()
    if suffix in TORCH_SUFFIXES:
        return True
    return suffix != ".npz" and path.is_file() and _is_torch_zip(path)


def read_torch_file(value):
    """A network from a torch.save file: a state_dict, or a module that ``weights_only=True``
    allows; read by the state_dict or torch module reader."""
    path = _existing(value)
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
            "model.state_dict() of an nn.Sequential of Linear and activation layers"
        ) from None
    if isinstance(obj, (torch.nn.Module, dict)):
        from archbound.readers.torch_network import read_torch

        try:
            return read_torch(obj)
        except ValueError as exc:
            raise DataError(f"{path}: {exc}") from None
    raise DataError(
        f"{path}: holds a {type(obj).__name__}; expected a state_dict or an nn.Sequential"
    )


def read_npz(value):
    """A network from a ``.npz`` written by :meth:`archbound.Network.save`."""
    from archbound.data.arrays import numpy_kind
    from archbound.network import Network

    path = _existing(value)
    try:
        if numpy_kind(path) != "npz":
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


__all__ = ["TORCH_SUFFIXES", "is_path", "is_torch_file", "read_npz", "read_torch_file"]
