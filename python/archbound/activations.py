"""The activation functions of a network's hidden layers: one table (docs/design.md §2.7).

Each row of :data:`ACTIVATIONS` states an activation under torch's ``nn.functional`` name,
its parameter (torch's names: ``negative_slope``, ``alpha``, ``beta``, ``approximate``),
its NumPy forward (the oracle of the core's forward pass, used by :mod:`archbound.reference`),
its derivative, a certified Lipschitz constant, |sigma(0)|, and whether it is piecewise
linear. Every constant is an upper bound: its closed form (or, where the supremum has no
closed form, its value at the root of sigma'' computed to 50 digits) is written as a
decimal rounded up, and the float is the next one above that decimal
(:func:`math.nextafter`), so that no float rounding can land below the supremum.

An :class:`Activation` is one row with its parameter's value: what a
:class:`~archbound.Network` carries for its hidden layers.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import special


def _up(value: float | str) -> float:
    """The float just above ``value``: an upper bound on a decimal rounded up (the decimal's
    nearest float may lie below it) or on a float quotient (rounded to nearest)."""
    return math.nextafter(float(value), math.inf)


# Suprema, as decimals rounded up (derivations in docs/design.md §2.7).
_GELU_SUP = "1.128904145185155"  # Phi(sqrt 2) + 1 / (e sqrt(pi)) = 1.12890414518515478...
_GELU_TANH_SUP = "1.128993068658772"  # sigma' at x = 1.41850400879..., 1.12899306865877176...
_SILU_SUP = "1.099839320128867"  # sigma' at x tanh(x/2) = 2, 1.09983932012886691...
_LOG_2 = "0.6931471805599454"  # log 2 = 0.69314718055994530...
_GELU_TANH_C = math.sqrt(2.0 / math.pi)
_GELU_TANH_K = 0.044715


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return special.expit(x)


def _softplus(x: np.ndarray, beta: float) -> np.ndarray:
    """log(1 + exp(beta x)) / beta, without overflow: max(bx, 0) + log1p(exp(-|bx|))."""
    z = beta * x
    return (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / beta


def _gelu_tanh_parts(x: np.ndarray):
    u = _GELU_TANH_C * (x + _GELU_TANH_K * x**3)
    return u, np.tanh(u)


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + _gelu_tanh_parts(x)[1])


def _gelu_tanh_derivative(x: np.ndarray) -> np.ndarray:
    _, t = _gelu_tanh_parts(x)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _GELU_TANH_C * (1 + 3 * _GELU_TANH_K * x * x)


def _gelu(x: np.ndarray) -> np.ndarray:
    """x Phi(x), with Phi(x) = erfc(-x / sqrt 2) / 2 (no cancellation for negative x)."""
    return 0.5 * x * special.erfc(-x * np.sqrt(0.5))


def _gelu_derivative(x: np.ndarray) -> np.ndarray:
    return 0.5 * special.erfc(-x * np.sqrt(0.5)) + x * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)


def _elu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


@dataclass(frozen=True)
class ActivationKind:
    """One row of the activation table.

    Attributes
    ----------
    name : str
        torch's ``nn.functional`` name.
    code : int
        The core's number for it (``_core.forward_float64``'s ``activation``).
    parameter : str or None
        The name of its one numeric parameter (torch's), or None.
    default : float or None
        The parameter's default (torch's).
    piecewise_linear : bool
        Whether sigma is piecewise linear (the VC bounds of Bartlett et al. need it).
    forward : callable (x, parameter) -> ndarray
        The NumPy oracle, elementwise, in x's float dtype.
    derivative : callable (x, parameter) -> ndarray
        sigma', elementwise (at a kink, the right derivative).
    lipschitz : callable (parameter) -> float
        A certified upper bound on sup |sigma'|.
    abs_at_zero : callable (parameter) -> float
        An upper bound on |sigma(0)| (exact where it is 0).
    doc : str
        One line: the formula.
    """

    name: str
    code: int
    parameter: str | None
    default: float | None
    piecewise_linear: bool
    forward: Callable[[np.ndarray, float], np.ndarray] = field(repr=False)
    derivative: Callable[[np.ndarray, float], np.ndarray] = field(repr=False)
    lipschitz: Callable[[float], float] = field(repr=False)
    abs_at_zero: Callable[[float], float] = field(repr=False)
    doc: str = ""


def _one(_: float) -> float:
    return 1.0


def _zero(_: float) -> float:
    return 0.0


_ROWS = (
    ActivationKind(
        "relu", 0, None, None, True,
        lambda x, _: np.maximum(x, 0),
        lambda x, _: (x >= 0).astype(x.dtype),
        _one, _zero, "max(x, 0)",
    ),
    ActivationKind(
        "leaky_relu", 1, "negative_slope", 0.01, True,
        lambda x, a: np.where(x > 0, x, a * x),
        lambda x, a: np.where(x >= 0, 1.0, a).astype(x.dtype),
        lambda a: max(1.0, abs(a)), _zero, "x for x > 0, negative_slope * x otherwise",
    ),
    ActivationKind(
        "elu", 2, "alpha", 1.0, False,
        _elu,
        lambda x, a: np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0))).astype(x.dtype),
        lambda a: max(1.0, abs(a)), _zero, "x for x > 0, alpha (exp(x) - 1) otherwise",
    ),
    ActivationKind(
        "gelu", 3, None, None, False,
        lambda x, _: _gelu(x),
        lambda x, _: _gelu_derivative(x),
        lambda _: _up(_GELU_SUP), _zero, "x Phi(x), Phi the standard normal CDF (erf)",
    ),
    ActivationKind(
        "gelu_tanh", 4, None, None, False,
        lambda x, _: _gelu_tanh(x),
        lambda x, _: _gelu_tanh_derivative(x),
        lambda _: _up(_GELU_TANH_SUP), _zero,
        "x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2: gelu(approximate='tanh')",
    ),
    ActivationKind(
        "silu", 5, None, None, False,
        lambda x, _: x * _sigmoid(x),
        lambda x, _: _sigmoid(x) * (1 + x * (1 - _sigmoid(x))),
        lambda _: _up(_SILU_SUP), _zero, "x sigmoid(x)",
    ),
    ActivationKind(
        "softplus", 6, "beta", 1.0, False,
        _softplus,
        lambda x, b: _sigmoid(b * x),
        _one, lambda b: _up(_up(_LOG_2) / b), "log(1 + exp(beta x)) / beta",
    ),
    ActivationKind(
        "tanh", 7, None, None, False,
        lambda x, _: np.tanh(x),
        lambda x, _: 1 - np.tanh(x) ** 2,
        _one, _zero, "tanh(x)",
    ),
    ActivationKind(
        "sigmoid", 8, None, None, False,
        lambda x, _: _sigmoid(x),
        lambda x, _: _sigmoid(x) * (1 - _sigmoid(x)),
        lambda _: 0.25, lambda _: 0.5, "1 / (1 + exp(-x))",
    ),
    ActivationKind(
        "hardtanh", 9, None, None, True,
        lambda x, _: np.clip(x, -1, 1),
        lambda x, _: ((x >= -1) & (x < 1)).astype(x.dtype),
        _one, _zero, "min(max(x, -1), 1)",
    ),
    ActivationKind(
        "relu6", 10, None, None, True,
        lambda x, _: np.clip(x, 0, 6),
        lambda x, _: ((x >= 0) & (x < 6)).astype(x.dtype),
        _one, _zero, "min(max(x, 0), 6)",
    ),
    ActivationKind(
        "identity", 11, None, None, True,
        lambda x, _: x,
        lambda x, _: np.ones_like(x),
        _one, _zero, "x",
    ),
)  # fmt: skip

#: The activation table, by name.
ACTIVATIONS: Mapping[str, ActivationKind] = {row.name: row for row in _ROWS}


@dataclass(frozen=True)
class Activation:
    """An activation of the table with its parameter's value: sigma of a network's hidden
    layers.

    Build one with :func:`activation` (or :meth:`Activation.parse`), which validates.

    Attributes
    ----------
    name : str
        A key of :data:`ACTIVATIONS`. ``"gelu_tanh"`` is torch's
        ``gelu(approximate="tanh")``.
    parameter : float or None
        The value of the row's parameter (negative_slope, alpha or beta), None for those
        without one.
    """

    name: str
    parameter: float | None = None

    @property
    def kind(self) -> ActivationKind:
        """The row of :data:`ACTIVATIONS`."""
        return ACTIVATIONS[self.name]

    @property
    def lipschitz(self) -> float:
        """A certified upper bound on the Lipschitz constant of sigma, sup |sigma'|."""
        return self.kind.lipschitz(self._value)

    @property
    def abs_at_zero(self) -> float:
        """An upper bound on |sigma(0)| (0 exactly where sigma(0) = 0)."""
        return self.kind.abs_at_zero(self._value)

    @property
    def piecewise_linear(self) -> bool:
        return self.kind.piecewise_linear

    @property
    def is_relu(self) -> bool:
        return self.name == "relu"

    @property
    def code(self) -> int:
        """The core's number for it."""
        return self.kind.code

    @property
    def _value(self) -> float:
        return 0.0 if self.parameter is None else self.parameter

    def forward(self, x: np.ndarray) -> np.ndarray:
        """sigma(x) elementwise, in NumPy (the oracle)."""
        return self.kind.forward(np.asarray(x), self._value)

    def derivative(self, x: np.ndarray) -> np.ndarray:
        """sigma'(x) elementwise, in NumPy."""
        return self.kind.derivative(np.asarray(x), self._value)

    def to_dict(self) -> dict:
        """{'name': ..., plus the parameter under torch's name where there is one}."""
        out: dict = {"name": self.name}
        if self.kind.parameter is not None:
            out[self.kind.parameter] = self.parameter
        return out

    def __str__(self) -> str:
        if self.kind.parameter is None:
            return self.name
        return f"{self.name}({self.kind.parameter}={self.parameter!r})"

    @classmethod
    def parse(cls, value) -> Activation:
        """An Activation from itself, a name, or a :meth:`to_dict` mapping."""
        if isinstance(value, Activation):
            return value
        if isinstance(value, str):
            return activation(value)
        if isinstance(value, Mapping) and "name" in value:
            params = {k: v for k, v in value.items() if k != "name"}
            return activation(value["name"], **params)
        raise TypeError(
            "activation must be an archbound.Activation, a name "
            f"({', '.join(ACTIVATIONS)}) or a dict with a 'name', got {type(value).__name__}"
        )


def activation(name: str, **parameters) -> Activation:
    """A validated :class:`Activation`, with torch's names for the parameter.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`: relu, leaky_relu, elu, gelu, gelu_tanh, silu, softplus,
        tanh, sigmoid, hardtanh, relu6, identity.
    **parameters
        ``negative_slope`` (leaky_relu, default 0.01), ``alpha`` (elu, default 1.0),
        ``beta`` (softplus, > 0, default 1.0), ``approximate`` (gelu: ``"none"`` or
        ``"tanh"``, which gives ``gelu_tanh``).

    Returns
    -------
    Activation

    Raises
    ------
    ValueError
        An unknown name or parameter, or a parameter out of range.
    """
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}")
    parameters = dict(parameters)
    if name in ("gelu", "gelu_tanh") and "approximate" in parameters:
        approximate = parameters.pop("approximate")
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu's approximate must be 'none' or 'tanh', got {approximate!r}")
        if name == "gelu" and approximate == "tanh":
            name = "gelu_tanh"
        elif name == "gelu_tanh" and approximate == "none":
            raise ValueError("gelu_tanh is gelu(approximate='tanh'); approximate='none' is gelu")
    kind = ACTIVATIONS[name]
    allowed = () if kind.parameter is None else (kind.parameter,)
    unknown = sorted(set(parameters) - set(allowed))
    if unknown:
        takes = f"takes {kind.parameter!r}" if kind.parameter else "takes no parameter"
        raise ValueError(f"activation {name} {takes}, got {', '.join(map(repr, unknown))}")
    if kind.parameter is None:
        return Activation(name)
    value = parameters.get(kind.parameter, kind.default)
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
    ):
        raise ValueError(f"{name}'s {kind.parameter} must be a finite number, got {value!r}")
    value = float(value)
    if name == "softplus" and not value > 0:
        raise ValueError(f"softplus's beta must be > 0, got {value!r}")
    return Activation(name, value)


RELU = Activation("relu")

__all__ = ["ACTIVATIONS", "RELU", "Activation", "ActivationKind", "activation"]
