"""The torch spellings of the activation table (docs/design.md §2.7, §4.4).

Modules (``nn.GELU(approximate="tanh")``, ``nn.LeakyReLU(0.2)``, ...), functions
(``F.gelu``, ``torch.tanh``, ``F.leaky_relu(x, 0.2)``, their in-place ``_`` forms) and tensor
methods (``x.relu()``, ``x.tanh_()``) become one :class:`~archbound.Activation` each, with
the parameter read from the module's attributes or the call's arguments.
"""

from __future__ import annotations

import numbers

from archbound.activations import Activation, activation


class Unreadable(ValueError):
    """A spelling of an activation with arguments that archbound does not read."""


# torch.nn.functional's argument names after the input, in order.
_FUNCTIONS = {
    "relu": ("relu", ("inplace",)),
    "relu_": ("relu", ()),
    "leaky_relu": ("leaky_relu", ("negative_slope", "inplace")),
    "leaky_relu_": ("leaky_relu", ("negative_slope",)),
    "elu": ("elu", ("alpha", "inplace")),
    "elu_": ("elu", ("alpha",)),
    "gelu": ("gelu", ("approximate",)),
    "silu": ("silu", ("inplace",)),
    "softplus": ("softplus", ("beta", "threshold")),
    "tanh": ("tanh", ()),
    "tanh_": ("tanh", ()),
    "sigmoid": ("sigmoid", ()),
    "sigmoid_": ("sigmoid", ()),
    "hardtanh": ("hardtanh", ("min_val", "max_val", "inplace")),
    "hardtanh_": ("hardtanh", ("min_val", "max_val")),
    "relu6": ("relu6", ("inplace",)),
}
_METHODS = {"relu", "relu_", "tanh", "tanh_", "sigmoid", "sigmoid_"}
_SOFTPLUS_THRESHOLD = 20.0


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise Unreadable(f"its {what} is {value!r}, not a number fixed in forward")
    return float(value)


def _build(name: str, arguments: dict) -> Activation:
    """The Activation of a call or module with torch's argument names."""
    if name == "softplus":
        threshold = _number(arguments.get("threshold", _SOFTPLUS_THRESHOLD), "threshold")
        if threshold != _SOFTPLUS_THRESHOLD:
            raise Unreadable(
                f"softplus with threshold={threshold:g} switches to the identity where "
                "beta x > threshold; only the default threshold 20 is read"
            )
        return activation("softplus", beta=_number(arguments.get("beta", 1.0), "beta"))
    if name == "hardtanh":
        low = _number(arguments.get("min_val", -1.0), "min_val")
        high = _number(arguments.get("max_val", 1.0), "max_val")
        if (low, high) == (-1.0, 1.0):
            return activation("hardtanh")
        if (low, high) == (0.0, 6.0):
            return activation("relu6")
        raise Unreadable(
            f"hardtanh clips to [{low:g}, {high:g}]; only [-1, 1] (hardtanh) and [0, 6] "
            "(relu6) are read"
        )
    if name == "gelu":
        approximate = arguments.get("approximate", "none")
        if approximate not in ("none", "tanh"):
            raise Unreadable(f"gelu with approximate={approximate!r}")
        return activation("gelu", approximate=approximate)
    parameter = {"leaky_relu": "negative_slope", "elu": "alpha"}.get(name)
    if parameter is None:
        return activation(name)
    if parameter in arguments:
        return activation(name, **{parameter: _number(arguments[parameter], parameter)})
    return activation(name)


def function_table(torch) -> dict:
    """{callable: (activation name, argument names after the input)} for torch's functions."""
    functional = torch.nn.functional
    table = {}
    for function, entry in _FUNCTIONS.items():
        for namespace in (functional, torch, torch._C._nn):
            target = getattr(namespace, function, None)
            if target is not None:
                table[target] = entry
    return table


def activation_of_call(table: dict, node) -> tuple[Activation, bool] | None:
    """(activation, in place) of a call_function or call_method node, or None."""
    if node.op == "call_method":
        if node.target not in _METHODS:
            return None
        return activation(node.target.rstrip("_")), node.target.endswith("_")
    entry = table.get(node.target)
    if entry is None:
        return None
    name, names = entry
    arguments = dict(zip(names, node.args[1:]))
    arguments.update(node.kwargs)
    arguments.pop("input", None)
    inplace = getattr(node.target, "__name__", "").endswith("_") or bool(
        arguments.pop("inplace", False)
    )
    return _build(name, arguments), inplace


def activation_of_module(torch, module) -> tuple[Activation, bool] | None:
    """(activation, in place) of an activation layer whose forward is torch's own (a
    subclass that keeps it included), or None."""
    nn = torch.nn
    handlers = {
        nn.ReLU: lambda m: activation("relu"),
        nn.Tanh: lambda m: activation("tanh"),
        nn.Sigmoid: lambda m: activation("sigmoid"),
        nn.SiLU: lambda m: activation("silu"),
        nn.ReLU6: lambda m: activation("relu6"),
        nn.LeakyReLU: lambda m: activation("leaky_relu", negative_slope=m.negative_slope),
        nn.ELU: lambda m: activation("elu", alpha=m.alpha),
        nn.GELU: lambda m: _build("gelu", {"approximate": m.approximate}),
        nn.Softplus: lambda m: _build("softplus", {"beta": m.beta, "threshold": m.threshold}),
        nn.Hardtanh: lambda m: _build("hardtanh", {"min_val": m.min_val, "max_val": m.max_val}),
    }
    kind = type(module)
    for base in kind.__mro__:
        if base in handlers and kind.forward is getattr(base, "forward", None):
            return handlers[base](module), bool(getattr(module, "inplace", False))
    return None


__all__ = ["Unreadable", "activation_of_call", "activation_of_module", "function_table"]
