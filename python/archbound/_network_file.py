"""The ``.npz`` file of a :class:`~archbound.Network`: what :meth:`Network.save` writes and
:meth:`Network.load` reads, without pickle."""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from typing import Any

import numpy as np

from archbound.activations import RELU, Activation
from archbound.network import Construction


def network_arrays(network) -> dict[str, Any]:
    """The named arrays of ``network``'s file: layers, activation, construction record."""
    # Any: NumPy's stubs type np.savez's **kwds together with its allow_pickle flag.
    arrays: dict[str, Any] = {
        "n_layers": np.array(len(network.weights)),
        "activation": np.array(json.dumps(network.activation.to_dict())),
    }
    for index, (w, b) in enumerate(zip(network.weights, network.biases)):
        arrays[f"weight_{index}"] = w
        arrays[f"bias_{index}"] = b
    c = network.construction
    if c is not None:
        arrays["construction_method"] = np.array(c.method)
        arrays["construction_numbers"] = np.array(
            [
                c.rank,
                c.n_samples,
                c.train_loss,
                c.max_train_error,
                np.nan if c.beta is None else c.beta,
            ]
        )
        if c.seed is not None:
            arrays["construction_seed"] = np.array(c.seed, dtype=np.int64)
        if c.readout is not None:
            arrays["construction_readout"] = c.readout
    return arrays


def _saved_activation(data) -> Activation:
    """The activation stored by :meth:`Network.save` (ReLU when the entry is absent)."""
    if "activation" not in data:
        return RELU
    try:
        return Activation.parse(json.loads(str(data["activation"])))
    except (json.JSONDecodeError, TypeError) as exc:
        raise ValueError(f"unreadable activation entry ({exc})") from None


def _construction(data) -> Construction | None:
    if "construction_method" not in data:
        return None
    rank, n, loss, max_err, beta = data["construction_numbers"]
    return Construction(
        method=str(data["construction_method"]),
        rank=int(rank),
        n_samples=int(n),
        train_loss=float(loss),
        max_train_error=float(max_err),
        readout=data.get("construction_readout"),
        beta=None if np.isnan(beta) else float(beta),
        seed=int(data["construction_seed"]) if "construction_seed" in data else None,
    )


def read_network_file(path: str | os.PathLike):
    """(weights, biases, activation, construction) of a file written by Network.save, or a
    ValueError naming the path."""
    path = os.fspath(path)
    try:
        # The file is opened here, not by np.load, which leaks its handle when the zip
        # archive is truncated.
        with open(path, "rb") as stream, np.load(stream, allow_pickle=False) as data:
            n_layers = int(data["n_layers"])
            weights = [data[f"weight_{i}"] for i in range(n_layers)]
            biases = [data[f"bias_{i}"] for i in range(n_layers)]
            return weights, biases, _saved_activation(data), _construction(data)
    except KeyError as exc:
        raise ValueError(
            f"path {path} is not a network saved by Network.save: missing {exc}"
        ) from None
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, OSError) as exc:
        # A truncated or damaged archive: zipfile and np.load fail in many ways.
        raise ValueError(
            f"path {path} is not a network saved by Network.save: truncated or corrupt "
            f".npz archive ({exc or type(exc).__name__})"
        ) from None
    except TypeError as exc:  # an entry of the wrong shape or kind, such as n_layers
        raise ValueError(f"path {path} is not a network saved by Network.save: {exc}") from None
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ValueError(
                f"path {path} holds object arrays or pickled data, which are refused (no pickle)"
            ) from None
        raise ValueError(f"path {path} is not a network saved by Network.save: {exc}") from None


__all__ = ["network_arrays", "read_network_file"]
