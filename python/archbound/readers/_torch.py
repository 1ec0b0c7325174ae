"""What every torch reader shares: importing torch lazily, and converting a parameter once.

torch is imported only here, and only when a module (not a state_dict of arrays) is read.
"""

from __future__ import annotations

import sys

import numpy as np

TORCH_MISSING = "reading a torch.nn.Module needs torch: pip install 'archbound[torch]'"


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


def float64(value, key):
    """One fresh float64 NumPy copy of a parameter (torch tensor or array), on the CPU.

    A CPU tensor that NumPy can read is viewed and converted by NumPy (``astype`` copies),
    which is much faster than torch's own conversion on busy cores; any other tensor (on a
    GPU, or bfloat16) is converted by ``Tensor.to``, which then makes one new CPU tensor. A
    tensor on the meta device has no values and is refused.
    """
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        import torch

        tensor = value.detach()
        if tensor.device.type == "meta":
            raise ValueError(
                f"module: {key!r} is on the meta device, so it has shapes but no values; "
                "materialize the module (module.to_empty(device='cpu'), then "
                "load_state_dict) before reading it"
            )
        numpy_floats = (torch.float16, torch.float32, torch.float64)
        if tensor.device.type == "cpu" and tensor.dtype in numpy_floats:
            return tensor.numpy().astype(np.float64)
        return tensor.to(device="cpu", dtype=torch.float64).numpy()
    if isinstance(value, np.ndarray):
        return np.array(value, dtype=np.float64, order="C")
    raise ValueError(f"module: entry {key!r} is a {type(value).__name__}, not a tensor")


__all__ = ["TORCH_MISSING", "float64", "import_torch", "is_torch_module"]
