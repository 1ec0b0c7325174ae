"""The registry of bound variants: one object per variant, looked up by name.

A variant is one subclass of :class:`BoundVariant`, registered with :func:`register`: it
says its name, which networks it applies to (:meth:`BoundVariant.applies_to`), whether it
is geometric, how it prepares the :class:`BoundContext` that test samples are evaluated
against, and its doc paragraph. The names, the CLI's choices and help, the
:func:`~archbound.sample_bounds` docstring, the results schema's enum and the components
of ``"best"`` all read the registry (docs/design.md §2.5.3).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from archbound.bounds._cache import FeatureSpace
from archbound.network import Network

if TYPE_CHECKING:  # the training set imports nothing from here; only the annotations do
    from archbound.bounds.training_set import TrainingSet


@dataclass(frozen=True, eq=False)
class BoundContext:
    """Everything about the network and the training set that a bound needs.

    Computed once by :func:`~archbound.bounds.prepare_bounds`; evaluating test samples
    against it (:func:`~archbound.bounds.evaluate_bounds`) is independent per sample, so
    test sets can be split in chunks (this is what :mod:`archbound.distributed` sends to
    its workers).

    Attributes
    ----------
    net : Network
    variant : str
        A registered variant's name (:data:`~archbound.bounds.VARIANTS`).
    alpha : float
        The weight of the feature distance.
    norms : list of NormEstimate
        The certified norms behind alpha.
    space : FeatureSpace or None
        The features F and G (None for ``"best"``, whose components have their own).
    Y_train : ndarray of shape (N, Q)
    residuals : ndarray of shape (N,)
        |f(x_i) - y_i|.
    delta : float
    offsets : ndarray of shape (N,) or None
        The kernel's r_i (None: the residuals).
    test_gap : float
        B_j += test_gap |x~_j| (``"coordinates"``: its rounding term).
    components : tuple of BoundContext or None
        ``"best"``: the contexts it takes the minimum over.
    """

    net: Network
    variant: str
    alpha: float
    norms: list
    space: FeatureSpace | None
    Y_train: np.ndarray
    residuals: np.ndarray
    delta: float
    offsets: np.ndarray | None = None
    test_gap: float = 0.0
    components: tuple[BoundContext, ...] | None = None

    @property
    def kernel_offsets(self) -> np.ndarray:
        """r_i of the kernel: the offsets, or the training residuals."""
        return self.residuals if self.offsets is None else self.offsets


class BoundVariant:
    """One bound variant: subclass it, set the class attributes, implement :meth:`prepare`
    and decorate the class with :func:`register`.

    Attributes
    ----------
    name : str
        The name users pass as ``variant=``.
    geometric : bool
        True when the bound never applies the network's weights to the test inputs.
    composite : bool
        True for ``"best"``, the minimum over the other geometric variants.
    randomized : bool
        True when its certificate is randomized and spends the failure probability delta
        (``"best"`` splits delta among its randomized components).
    activations : frozenset of str
        The hidden activations (names of :data:`archbound.activations.ACTIVATIONS`) of the
        networks it applies to; :meth:`applies_to` refuses the others.
    summary : str
        One line for the command line's help.
    doc : str
        Its paragraph of the :func:`~archbound.sample_bounds` docstring: what it computes,
        whether it applies the network's weights to the test inputs, which networks it
        applies to, its cost.
    """

    name: ClassVar[str]
    geometric: ClassVar[bool] = False
    composite: ClassVar[bool] = False
    randomized: ClassVar[bool] = False
    activations: ClassVar[frozenset[str]] = frozenset({"relu"})
    summary: ClassVar[str]
    doc: ClassVar[str]

    def applies_to(self, net: Network) -> str | None:
        """None when the variant applies to ``net``, otherwise the reason it does not (a
        sentence for a ValueError that names the variant, and the activation when that is
        the reason)."""
        sigma = net.activation
        if sigma.name not in self.activations:
            return (
                f"variant={self.name!r} does not hold for activation {sigma}: it holds for "
                f"{', '.join(sorted(self.activations))} hidden layers only; use "
                "variant='lipschitz' (or 'best'), which holds for every activation"
            )
        return None

    def prepare(
        self, train: TrainingSet, net: Network, delta: float, residuals: np.ndarray
    ) -> BoundContext | None:
        """The :class:`BoundContext` of ``net`` on the training set, for a network it
        applies to; None when the training set does not admit the variant (then
        :meth:`refusal` says why)."""
        raise NotImplementedError

    def refusal(self, train: TrainingSet) -> str:
        """Why :meth:`prepare` returned None for this training set."""
        return f"variant={self.name!r} does not apply to this training set"

    def __repr__(self) -> str:
        return f"<bound variant {self.name!r}>"


_REGISTRY: dict[str, BoundVariant] = {}


def register(cls: type[BoundVariant]) -> type[BoundVariant]:
    """Class decorator: add one instance of the variant to the registry, under its name."""
    name = cls.name
    if name in _REGISTRY:
        raise ValueError(f"a bound variant named {name!r} is registered already")
    _REGISTRY[name] = cls()
    return cls


def get_variant(name: object) -> BoundVariant:
    """The registered variant called ``name``; ValueError naming it for an unknown name."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"variant must be one of {variant_names()}, got {name!r}")
    return _REGISTRY[name]


def registered_variants() -> tuple[BoundVariant, ...]:
    """Every registered variant, in the order of registration."""
    return tuple(_REGISTRY.values())


def variant_names() -> tuple[str, ...]:
    """The names of the registered variants, in the order of registration."""
    return tuple(_REGISTRY)


def variant_catalogue(indent: str = "    ") -> str:
    """The variants' doc paragraphs as a reStructuredText bullet list (docstrings)."""
    items = []
    for variant in registered_variants():
        text = textwrap.fill(
            f'- ``"{variant.name}"``: ' + " ".join(variant.doc.split()),
            width=92 - len(indent),
            subsequent_indent="  ",
            break_on_hyphens=False,
        )
        items.append(textwrap.indent(text, indent))
    return "\n".join(items)


def variant_help() -> str:
    """One line per variant for the command line's help."""
    return "; ".join(f"{v.name}: {v.summary}" for v in registered_variants()) + "."
