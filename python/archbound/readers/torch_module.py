"""PyTorch modules as archbound networks: the reading behind :meth:`Network.from_torch`.

A module is read from its ``torch.fx`` graph by :mod:`.torch_fx` (``torch.fx.Tracer``,
with stack traces, so that a refusal names the line of the user's ``forward``). Every
parameter is converted once, to a float64 NumPy array that nobody else holds, which
:meth:`Network._adopt` takes over without copying again.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np

from archbound._validation import DTypeError, check_array
from archbound.activations import Activation
from archbound.readers._torch import import_torch
from archbound.readers.torch_fx import read_chain


def module_layers(module) -> tuple[list, list, Activation]:
    """(weights, biases, activation), freshly converted, of a chain module."""
    torch = import_torch()
    if not isinstance(module, torch.nn.Module):
        raise DTypeError(
            f"module is a {type(module).__name__}; expected a torch.nn.Module or its state_dict"
        )
    if any(isinstance(module, kind) for kind in _layer_types(torch)):
        raise ValueError(
            f"module is a {type(module).__name__}, one layer; a network chains Linear layers "
            "and activations (an nn.Sequential or an nn.Module whose forward calls them in turn)"
        )
    return read_chain(torch, module)


def _layer_types(torch):
    nn = torch.nn
    return (nn.Linear, nn.ReLU, nn.BatchNorm1d, nn.Dropout, nn.Flatten, nn.Identity)


def check_example(network, module, example_input) -> None:
    """Check ``example_input`` against a network read from ``module`` (see from_torch).

    Each sample must flatten to ``network.input_dim`` values; for a module (not a
    state_dict), the module's output on ``example_input`` must match the network's output on
    the flattened samples, to sqrt(eps) of the module's output dtype, relative to the largest
    output.
    """
    if hasattr(example_input, "detach"):  # a tensor: the module takes it as it is
        torch = import_torch()
        tensor = example_input
        values = example_input.detach().to(device="cpu", dtype=torch.float64).numpy()
    else:
        tensor = None
        values = np.asarray(example_input)
    if values.ndim < 2:
        raise ValueError(
            f"example_input must have a batch dimension first, shape (n, ...), got shape "
            f"{values.shape}"
        )
    values = check_array(values, "example_input", ndim=values.ndim)
    flat = values.reshape(values.shape[0], -1)
    if flat.shape[1] != network.input_dim:
        raise ValueError(
            f"example_input has samples of shape {values.shape[1:]} ({flat.shape[1]} values "
            f"each), but the network read from module takes M0 = {network.input_dim} inputs"
        )
    if isinstance(module, Mapping):
        return
    torch = import_torch()
    parameter = next(itertools.chain(module.parameters(), module.buffers()), None)
    if tensor is None:
        tensor = torch.as_tensor(values)
    if parameter is not None:
        tensor = tensor.to(device=parameter.device, dtype=parameter.dtype)
    with torch.no_grad():
        output = module(tensor)
    if not hasattr(output, "detach") or tuple(output.shape) != (flat.shape[0], network.output_dim):
        raise ValueError(
            f"example_input: module returns {getattr(output, 'shape', type(output).__name__)}, "
            f"but the network read from it returns shape ({flat.shape[0]}, {network.output_dim})"
        )
    tolerance = float(np.sqrt(torch.finfo(output.dtype).eps))
    expected = output.detach().to(device="cpu", dtype=torch.float64).numpy()
    got = network.forward(flat)
    scale = max(float(np.abs(expected).max()), np.finfo(np.float64).tiny)
    error = float(np.abs(got - expected).max()) / scale
    if not error <= tolerance:
        raise ValueError(
            f"example_input: the network read from module differs from module(example_input) "
            f"by {error:.3g} relative to the largest output (tolerance {tolerance:.3g} for "
            f"{output.dtype}); its forward does something the graph does not show"
        )


__all__ = ["check_example", "module_layers"]
