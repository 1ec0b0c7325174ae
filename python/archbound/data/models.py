"""Networks from files, without running code stored in them: :func:`load_model` reads
``Network.save``'s ``.npz``, or a PyTorch model (state_dict or module) with
``torch.load(..., weights_only=True)`` (docs/design.md §4.3), through
:func:`archbound.readers.as_network`.
"""

from __future__ import annotations

from pathlib import Path

from archbound.data.errors import DataError


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
        Missing or unreadable file, pickled content, or a model that is not a chain of
        Linear layers and one activation.
    """
    from archbound.readers import as_network

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    try:
        return as_network(path)
    except DataError:
        raise
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None


__all__ = ["load_model"]
