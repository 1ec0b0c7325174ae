"""The bound variants, one registered class each, and the preparation of their contexts.

Each variant is a :class:`~archbound.bounds.registry.BoundVariant` registered under its
name; :func:`prepare_bounds` computes, once per network, variant and training set, the
:class:`BoundContext` that test samples are evaluated against (:mod:`.evaluate`). Adding a
variant is one class here (docs/design.md §2.5.3).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from archbound._backend import matmul
from archbound._validation import SeedLike
from archbound.activations import ACTIVATIONS
from archbound.bounds._cache import CoordinatesMap
from archbound.bounds.registry import (
    BoundContext,
    BoundVariant,
    get_variant,
    register,
    registered_variants,
    variant_names,
)
from archbound.bounds.training_set import TrainingSet
from archbound.network import Network
from archbound.opnorm import _opnorm, upper_product

#: Relative tolerance of the check that X_train, Y_train are the set the network was built on.
_TRAINING_SET_RTOL = 1e-6
#: The distances cost_discrepancy_bound can use in its transport term.
DISCREPANCY_DISTANCES = ("lipschitz", "coordinates")


def _readout(net: Network) -> np.ndarray:
    """The readout A = Y_0 X_0^+ of a readout_first network (checked by applies_to)."""
    construction = net.construction
    assert construction is not None and construction.readout is not None
    return construction.readout


class _ReadoutFirstVariant(BoundVariant):
    """A variant of networks built by construct_minimizer(method='readout_first')."""

    def applies_to(self, net: Network) -> str | None:
        reason = super().applies_to(net)
        if reason is not None:
            return reason
        c = net.construction
        if c is not None and c.method == "readout_first" and c.readout is not None:
            return None
        return (
            f"variant={self.name!r} needs a network built by "
            "construct_minimizer(method='readout_first'), whose function is "
            "relu(A x + beta) - beta; use variant='lipschitz' (or 'best') for any other network"
        )


def _check_projected_basis(A: np.ndarray, U: np.ndarray) -> None:
    """Check that the readout satisfies A = A U U^T for U, the thin QR factor of X_0."""
    # The rows of A = Y_0 X_0^+ lie in span(X_0), so A = A U U^T for any orthonormal U whose
    # span contains it: the thin QR factor of X_0 (of any rank). Checked, since it fails
    # for a training set other than the one the network was built on.
    leak = np.linalg.norm(A - matmul(matmul(A, U), U.T))
    if leak > 1e-8 * max(1.0, float(np.linalg.norm(A))):
        raise ValueError(
            "X_train is not the training set this network was built on: its readout A does "
            "not vanish on the orthogonal complement of span(X_train)"
        )


def _readout_gap(A: np.ndarray, coordinates: CoordinatesMap) -> float:
    """||A - Y_0 X_0^+||_F >= ||A - Y_0 X_0^+||: the rounding (or any other) difference
    between the network's stored readout A and Y_0 X_0^+ (about 1e-13 of the bound for a
    training set of moderate condition number); refused when it is larger than rounding."""
    gap = float(np.linalg.norm(A - coordinates.exact_readout))
    if gap > _TRAINING_SET_RTOL * max(1.0, float(np.linalg.norm(A))):
        raise ValueError(
            "X_train, Y_train are not the training set this network was built on: its "
            f"readout A differs from Y_0 X_0^+ by {gap:.3g} (Frobenius norm)"
        )
    return gap


@register
class Lipschitz(BoundVariant):
    name = "lipschitz"
    geometric = True
    randomized = True
    activations = frozenset(ACTIVATIONS)
    summary = "any network, any activation"
    doc = """F, G are the inputs and alpha = rho^L prod_l ||W_l||, the certified upper norms
    and the certified Lipschitz constant rho of the hidden activation (rho = 1 for ReLU).
    Test inputs enter only through distances |x~_j - x_i|; the weights only through their
    norms. Any network, any activation. Cost: L + 1 norm certificates (Lanczos) and one
    kernel pass, O(m N M0)."""

    def prepare(self, train, net, delta, residuals):
        norms = train.certified_norms(net, delta)
        return _context(
            train,
            net,
            self.name,
            net._lipschitz_of(upper_product(norms)),
            norms,
            residuals,
            delta,
            train.input_space(),
        )


@register
class Projected(_ReadoutFirstVariant):
    name = "projected"
    geometric = True
    randomized = True
    summary = "readout_first networks, ||A|| on the span of the training inputs"
    doc = """F, G are U^T x, the coordinates in an orthonormal basis U of span(training
    inputs), and alpha = ||A|| (certified); valid because A = A U U^T. Test inputs enter only
    through a map built from the training inputs (U). readout_first (ReLU) only. Cost: a thin QR,
    O(N^2 M0), one norm, O(m N M0) to project, and the kernel, O(m N^2)."""

    def prepare(self, train, net, delta, residuals):
        A = _readout(net)
        space = train.projected_space()
        _check_projected_basis(A, train.basis())
        readout = np.ascontiguousarray(A, dtype=np.float64)
        norm = _opnorm(readout, "auto", delta, 1e-2, 0, train.draw_seed(), train.threads)
        return _context(train, net, self.name, float(norm.upper), [norm], residuals, delta, space)


@register
class Coordinates(_ReadoutFirstVariant):
    name = "coordinates"
    geometric = True
    summary = "readout_first networks on X_train of full row rank, ||Y_0|| on X_0^+ x"
    doc = """for X_0 of full column rank (rank(X_train) = N <= M0), F is c(x~) = X_0^+ x~ in
    R^N, the test point's coordinates in the training set, G is the identity (c(x_i) = e_i)
    and alpha = ||Y_0||, the norm of the N x Q training labels (an exact SVD, rounded up).
    Valid because A = Y_0 X_0^+ annihilates what lies outside the row space of X, so A (x~ -
    x_i) = Y_0 (c(x~) - e_i) and |A (x~ - x_i)| <= ||Y_0|| |c(x~) - e_i|. It uses the
    training matrix (X_0^+), the norm of the training labels and the test inputs, never the
    network's weights or outputs. Note that A x~ = Y_0 c(x~) exactly: this variant sits
    between the geometric ones and ``"linearized"``; it keeps the test point's position
    relative to the training set, and trades the arrangement of the labels (Y_0 applied to
    c(x~) - e_i) for the single number ||Y_0||. So that it holds for the network's stored A
    and not only for the exact Y_0 X_0^+, it adds ||Y_0|| |X_0^+ x_i - e_i| + ||A - Y_0
    X_0^+||_F (|x_i| + |x~_j|), rounding terms about 1e-13 of the bound. readout_first
    (ReLU) only; refused (ValueError) when rank(X_train) < N. Cost: the generalized inverse once,
    O(N^2 M0), O(m N M0) for the coordinates, and the kernel, O(m N^2)."""

    def prepare(self, train, net, delta, residuals):
        coordinates = train.coordinates_map()
        space = train.coordinates_space()
        if coordinates is None or space is None:
            return None
        test_gap = _readout_gap(_readout(net), coordinates)
        norm = coordinates.labels_norm
        # Per training sample: ||Y_0|| |c(x_i) - e_i| + gap |x_i|.
        offsets = residuals + (
            norm.upper * coordinates.identity_gap + test_gap * coordinates.train_norms
        )
        return _context(
            train,
            net,
            self.name,
            float(norm.upper),
            [norm],
            residuals,
            delta,
            space,
            offsets=offsets,
            test_gap=test_gap,
        )

    def refusal(self, train):
        return (
            f"variant='coordinates' needs X_train of full row rank, rank(X_train) = N = "
            f"{train.n_samples}: only then do the coordinates X_0^+ x "
            "determine A x; use variant='projected' (or 'best') for this training set"
        )


@register
class Linearized(_ReadoutFirstVariant):
    name = "linearized"
    summary = "readout_first networks, the first layer A x applied to the test inputs"
    doc = """F, G are A x and alpha = 1, valid because relu(. + beta) - beta is 1-Lipschitz.
    It applies the network's first layer A to the test inputs. For one-hot labels (beta = 0
    and A x_i = y_i) the triangle inequality makes it exactly |A x~_j - y~_j|, the error of
    the unclipped linear predictor x -> A x, whenever the training set holds a sample of
    y~_j's class: it is tight by construction, not a geometric bound. readout_first (ReLU)
    only.
    Cost: O(m Q M0) and the kernel, O(m N Q)."""

    def prepare(self, train, net, delta, residuals):
        # |f(x) - f(x')| <= |A x - A x'| for any x, x'.
        space = train.linearized_space(net, _readout(net))
        return _context(train, net, self.name, 1.0, [], residuals, delta, space)


@register
class Best(BoundVariant):
    name = "best"
    geometric = True
    composite = True
    activations = frozenset(ACTIVATIONS)
    summary = "the per-sample minimum of the geometric variants that apply"
    doc = """the per-sample minimum over the geometric variants (:data:`GEOMETRIC_VARIANTS`)
    that apply to the network (lipschitz always, for every activation; projected for
    readout_first, a ReLU network; coordinates for readout_first with rank(X_train) = N).
    A minimum of valid upper bounds is a valid upper bound; the randomized certificates
    (lipschitz, projected) share delta, so the minimum holds with probability >= 1 - delta.
    It never applies the network's weights to the test inputs. ``report.attained_by`` says
    which component attains each sample. Cost: the sum of its components'."""

    def prepare(self, train, net, delta, residuals):
        parts = [
            v
            for v in registered_variants()
            if v.geometric and not v.composite and v.applies_to(net) is None
        ]
        # The randomized norm certificates share delta, so that all of them hold at once
        # with probability >= 1 - delta (an exact certificate spends none).
        share = delta / max(1, sum(v.randomized for v in parts))
        components = [
            v.prepare(train, net, share if v.randomized else delta, residuals) for v in parts
        ]
        found = tuple(c for c in components if c is not None)  # None: refused by this set
        first = found[0]  # lipschitz, which applies to every network and training set
        return BoundContext(
            net,
            self.name,
            first.alpha,
            list(first.norms),
            None,
            train.Y_train,
            residuals,
            delta,
            components=found,
        )


def _context(train, net, name, alpha, norms, residuals, delta, space, **extra) -> BoundContext:
    return BoundContext(
        net, name, alpha, list(norms), space, train.Y_train, residuals, delta, **extra
    )


#: Every bound variant, in the registry's order: the one definition the CLI, the
#: experiment, the results schema and the Dask path use.
VARIANTS = variant_names()
#: The variants that never apply the network's weights to the test inputs and that
#: ``"best"`` takes the per-sample minimum over (those of them that apply to the network).
GEOMETRIC_VARIANTS = tuple(
    v.name for v in registered_variants() if v.geometric and not v.composite
)
#: The variants that need a network built by construct_minimizer(method='readout_first').
READOUT_FIRST_VARIANTS = tuple(
    v.name for v in registered_variants() if isinstance(v, _ReadoutFirstVariant)
)
#: The variants that apply to any network: the complement of READOUT_FIRST_VARIANTS.
ANY_NETWORK_VARIANTS = tuple(v for v in VARIANTS if v not in READOUT_FIRST_VARIANTS)


def prepare_bounds(
    net: Network,
    X_train: ArrayLike | TrainingSet,
    Y_train: ArrayLike | None = None,
    *,
    variant: str = "lipschitz",
    delta: float | None = None,
    seed: SeedLike = None,
    threads: int | None = None,
) -> BoundContext:
    """Validate the network and training set and compute the norms, alpha and features.

    Parameters are as in :func:`~archbound.sample_bounds` (``X_train`` may be a
    :class:`TrainingSet`).
    """
    chosen = get_variant(variant)
    train = TrainingSet.of(net, X_train, Y_train, delta=delta, seed=seed, threads=threads)
    return prepare_context(train, net, chosen.name)


def prepare_context(train: TrainingSet, net: Network, variant: str) -> BoundContext:
    """:func:`prepare_bounds` on a validated training set; ``train`` holds what depends on
    the training set only (the projected basis, the coordinates map, the feature spaces) or
    on one network (its training outputs and certified norms), computed by the first context
    that needs it and reused by the others, so that contexts of one training set share
    their feature spaces (see :func:`~archbound.bounds.evaluate.evaluate_groups`)."""
    chosen = get_variant(variant)
    reason = chosen.applies_to(net)
    if reason is not None:
        raise ValueError(reason)
    context = chosen.prepare(train, net, train.delta, train.residuals(net))
    if context is None:
        raise ValueError(chosen.refusal(train))
    return context
