"""Networks from files, without running code stored in them: :func:`load_model` reads
``Network.save``'s ``.npz``, or a PyTorch ``nn.Sequential`` of Linear/ReLU layers (state_dict
or module) with ``torch.load(..., weights_only=True)`` (docs/design.md §4.3).

The only module of :mod:`archbound.data` that imports model code (:mod:`archbound.network`).
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from archbound.data.arrays import _numpy_kind
from archbound.data.errors import DataError

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


__all__ = ["load_model"]
