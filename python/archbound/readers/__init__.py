"""One home for reading networks: :func:`as_network` and its registry of readers.

Each :class:`Reader` says its name, what it accepts, whether it can read an object
(``can_read``, cheap and without importing optional packages) and how (``read``).
:func:`as_network` asks them in the order of :data:`READERS`; an object that none of them
can read is a TypeError naming what is accepted. :meth:`archbound.Network.from_torch`,
:meth:`archbound.Network.from_sklearn`, :class:`archbound.NormMonitor`, ``archbound bound``
and :func:`archbound.data.load_model` all read through here.

The modules: :mod:`.sklearn` (scikit-learn MLPs), :mod:`.torch_module` with
:mod:`.torch_fx` and :mod:`.torch_activations` (torch modules, read with torch.fx),
:mod:`.torch_state` (state_dicts), :mod:`.files` (``.npz`` and torch files), and
:mod:`._torch` (what the torch readers share). None imports this package at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from archbound._validation import DTypeError
from archbound.network import Network
from archbound.readers import files
from archbound.readers._torch import import_torch, is_torch_module
from archbound.readers.sklearn import is_sklearn_mlp
from archbound.readers.torch_network import read_state_dict, read_torch, read_torch_module


@dataclass(frozen=True)
class Reader:
    """One way into a :class:`~archbound.Network`.

    Attributes
    ----------
    name : str
        Short name (``"sklearn"``, ``"torch_module"``, ...).
    accepts : str
        What it reads, as error messages list it.
    can_read : callable (object) -> bool
        Whether this reader is the one for the object (it may still refuse its content).
    read : callable (object) -> Network
        The conversion; ValueError (naming the argument) for content it cannot represent.
    """

    name: str
    accepts: str
    can_read: Callable[[Any], bool]
    read: Callable[[Any], Network]


def _sklearn(estimator) -> Network:
    from archbound.readers.sklearn import sklearn_layers

    weights, biases, activation = sklearn_layers(estimator)
    return Network(weights, biases, activation=activation)


READERS: tuple[Reader, ...] = (
    Reader("network", "an archbound.Network", lambda o: isinstance(o, Network), lambda o: o),
    Reader(
        "sklearn",
        "a fitted scikit-learn MLPClassifier or MLPRegressor",
        is_sklearn_mlp,
        _sklearn,
    ),
    Reader(
        "torch_module",
        "a torch.nn.Module whose forward is a chain",
        lambda o: is_torch_module(o) or (type(o).__module__ or "").startswith("torch"),
        read_torch_module,
    ),
    Reader(
        "state_dict", "a state_dict (mapping)", lambda o: isinstance(o, Mapping), read_state_dict
    ),
    Reader("torch_file", "a torch.save file path", files.is_torch_file, files.read_torch_file),
    Reader("npz", "a .npz path written by Network.save", files.is_path, files.read_npz),
)


def reader_for(obj) -> Reader:
    """The first reader of :data:`READERS` that can read ``obj``; TypeError if none."""
    for reader in READERS:
        if reader.can_read(obj):
            return reader
    accepted = ", ".join(r.accepts for r in READERS)
    raise DTypeError(f"network must be {accepted}; got {type(obj).__name__}")


def as_network(obj) -> Network:
    """A :class:`~archbound.Network` read from ``obj`` by the one reader that takes it.

    Parameters
    ----------
    obj : Network, MLPClassifier, MLPRegressor, torch.nn.Module, mapping, str or path-like
        An archbound Network (returned as it is); a fitted scikit-learn MLP (relu, tanh,
        logistic or identity); a torch module whose forward chains Linear layers and one
        activation of :data:`archbound.activations.ACTIVATIONS` (read with torch.fx); the
        state_dict of an ``nn.Sequential(Linear, ReLU, ..., Linear)``; a path to a
        ``.pt``/``.pth``/``.ckpt``/``.bin`` file written by ``torch.save`` (read with
        ``weights_only=True``); or a path to a ``.npz`` written by
        :meth:`archbound.Network.save`.

    Returns
    -------
    Network

    Raises
    ------
    TypeError
        ``obj`` is none of these, naming what is accepted (a :class:`DTypeError`, also a
        ValueError).
    ValueError
        A reader refuses the content (naming ``estimator``, ``module`` or the path; files
        raise :class:`archbound.data.DataError`, a ValueError).
    """
    return reader_for(obj).read(obj)


__all__ = ["READERS", "Reader", "as_network", "import_torch", "read_torch", "reader_for"]
