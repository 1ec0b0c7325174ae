"""Torch modules and state_dicts as :class:`~archbound.Network` objects: the ``torch_module``
and ``state_dict`` readers, and :meth:`Network.from_torch`."""

from __future__ import annotations

from collections.abc import Mapping

from archbound.network import Network


def _adopted(weights, biases, activation) -> Network:
    try:
        return Network._adopt(weights, biases, activation)
    except ValueError as exc:
        raise ValueError(f"module: {exc}") from None


def read_torch_module(module) -> Network:
    from archbound.readers.torch_module import module_layers

    return _adopted(*module_layers(module))


def read_state_dict(state) -> Network:
    from archbound.activations import RELU
    from archbound.readers.torch_state import state_dict_layers

    weights, biases = state_dict_layers(state)
    return _adopted(weights, biases, RELU)


def read_torch(module) -> Network:
    """A torch module or its state_dict (what :meth:`Network.from_torch` takes)."""
    return read_state_dict(module) if isinstance(module, Mapping) else read_torch_module(module)


__all__ = ["read_state_dict", "read_torch", "read_torch_module"]
