"""PyTorch models as archbound layers: the reading behind :meth:`Network.from_torch`.

A module is read from its ``torch.fx`` graph (``torch.fx.Tracer``, with stack traces, so
that a refusal names the line of the user's ``forward``). The graph must be a chain from
the input to the output: Linear layers and ReLUs, with flattening, identities, eval-mode
dropout and eval-mode BatchNorm1d between them. Eval-mode BatchNorm1d is the affine map
h -> s h + t with s = gamma / sqrt(var + eps) and t = beta - s mu, folded exactly into the
Linear before it (W' = diag(s) W, b' = s b + t) or, after a ReLU or on the input, into the
Linear after it (W' = W diag(s), b' = W t + b). Two Linear layers without a ReLU between are
refused rather than multiplied together, so that the network's layers, and the norms
recorded for them, are the module's own.

Every parameter is converted once, to a float64 NumPy array that nobody else holds, which
:meth:`Network._adopt` takes over without copying again. torch is imported only here, and
only when a module (not a state_dict of arrays) is read.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Mapping

import numpy as np

from archbound._validation import DTypeError, check_array

TORCH_MISSING = "reading a torch.nn.Module needs torch: pip install 'archbound[torch]'"

_STATE_KEY = re.compile(r"^(?:(?P<prefix>.*)\.)?(?P<index>\d+)\.(?P<kind>weight|bias)$")
_NORM_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def import_torch():
    """The torch module, or an ImportError that names the ``archbound[torch]`` extra."""
    try:
        import torch
    except ImportError:
        raise ImportError(TORCH_MISSING) from None
    return torch


def is_torch_module(value) -> bool:
    """Whether ``value`` is a torch.nn.Module, without importing torch."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.nn.Module)


def _float64(value, key):
    """One fresh float64 NumPy copy of a parameter (torch tensor or array), on the CPU.

    A CPU tensor that NumPy can read is viewed and converted by NumPy (``astype`` copies),
    which is much faster than torch's own conversion on busy cores; any other tensor (on a
    GPU, or bfloat16) is converted by ``Tensor.to``, which then makes one new CPU tensor.
    """
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        import torch

        tensor = value.detach()
        numpy_floats = (torch.float16, torch.float32, torch.float64)
        if tensor.device.type == "cpu" and tensor.dtype in numpy_floats:
            return tensor.numpy().astype(np.float64)
        return tensor.to(device="cpu", dtype=torch.float64).numpy()
    if isinstance(value, np.ndarray):
        return np.array(value, dtype=np.float64, order="C")
    raise ValueError(f"module: entry {key!r} is a {type(value).__name__}, not a tensor")


def torch_layers(module) -> tuple[list, list]:
    """(weights, biases), freshly converted, of a chain module or of a state_dict."""
    if isinstance(module, Mapping):
        return _state_dict_layers(module)
    torch = import_torch()
    if not isinstance(module, torch.nn.Module):
        raise DTypeError(
            f"module is a {type(module).__name__}; expected a torch.nn.Module or its state_dict"
        )
    if any(isinstance(module, kind) for kind in _layer_types(torch)):
        raise ValueError(
            f"module is a {type(module).__name__}, one layer; a network chains Linear layers "
            "and ReLUs (an nn.Sequential or an nn.Module whose forward calls them in turn)"
        )
    from archbound._torch_chain import read_chain

    return read_chain(torch, module)


def _layer_types(torch):
    nn = torch.nn
    return (nn.Linear, nn.ReLU, nn.BatchNorm1d, nn.Dropout, nn.Flatten, nn.Identity)


def _state_dict_layers(state: Mapping):
    """Layers of an nn.Sequential(Linear, ReLU, ..., Linear) from its state_dict.

    A state_dict does not record the parameter-free modules between the Linear layers;
    they are taken to be ReLU (the keys must be 0, 2, 4, ...: one module between layers).
    """
    layers: dict[int, dict[str, np.ndarray]] = {}
    prefixes = set()
    for key, value in state.items():
        match = _STATE_KEY.match(str(key))
        if match is None:
            hint = ""
            if str(key).rsplit(".", 1)[-1] in _NORM_BUFFERS:
                hint = (
                    " (a batch norm buffer: a state_dict cannot say where batch norm sits; "
                    "pass the module itself)"
                )
            raise ValueError(
                f"module: unexpected state_dict key {key!r}{hint}: expected the keys of an "
                "nn.Sequential of Linear and ReLU layers ('0.weight', '0.bias', '2.weight', ...)"
            )
        prefixes.add(match["prefix"])
        layers.setdefault(int(match["index"]), {})[match["kind"]] = _float64(value, key)
    if len(prefixes) > 1:
        raise ValueError(f"module: state_dict mixes several modules: {sorted(map(str, prefixes))}")
    if not layers:
        raise ValueError("module: empty state_dict")
    indices = sorted(layers)
    for before, after in itertools.pairwise(indices):
        if after - before != 2:
            raise ValueError(
                f"module: layers {before} and {after} of the nn.Sequential are not separated "
                "by exactly one parameter-free module: expected Linear, ReLU, Linear, ReLU, ..."
            )
    weights, biases = [], []
    for index in indices:
        if "weight" not in layers[index]:
            raise ValueError(f"module: layer {index} has a bias but no weight")
        weight = layers[index]["weight"]
        if weight.ndim != 2:
            raise ValueError(
                f"module: layer {index}'s weight has shape {weight.shape}; only Linear layers "
                "(2-D weights) are supported (batch norm and convolutions are not)"
            )
        weights.append(weight)
        biases.append(layers[index].get("bias", np.zeros(weight.shape[0])))
    return weights, biases


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


__all__ = ["TORCH_MISSING", "check_example", "import_torch", "is_torch_module", "torch_layers"]
