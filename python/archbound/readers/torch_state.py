"""The state_dict of an ``nn.Sequential(Linear, ReLU, ..., Linear)`` as archbound layers."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping

import numpy as np

from archbound.readers._torch import float64 as _float64

_STATE_KEY = re.compile(r"^(?:(?P<prefix>.*)\.)?(?P<index>\d+)\.(?P<kind>weight|bias)$")
_NORM_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def state_dict_layers(state: Mapping):
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


__all__ = ["state_dict_layers"]
