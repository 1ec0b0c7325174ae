"""The bound variants and what each needs from the network and the training set.

:func:`prepare_bounds` computes, once per network, variant and training set, the
:class:`BoundContext` that test samples are evaluated against (:mod:`.evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from archbound._backend import matmul
from archbound._validation import SeedLike
from archbound.bounds._cache import CoordinatesMap, FeatureSpace, TrainingSetCache
from archbound.bounds._checks import check_bound_inputs
from archbound.network import Network
from archbound.opnorm import _opnorm, upper_product

#: Every bound variant, the one definition the CLI, the experiment and the Dask path use.
VARIANTS = ("lipschitz", "projected", "coordinates", "linearized", "best")
#: The variants that never apply the network's weights to the test inputs: ``"best"`` takes
#: the per-sample minimum over those of them that apply to the network.
GEOMETRIC_VARIANTS = ("lipschitz", "projected", "coordinates")
#: The variants that need a network built by construct_minimizer(method='readout_first').
READOUT_FIRST_VARIANTS = ("projected", "coordinates", "linearized")
#: The variants that apply to any network: the complement of READOUT_FIRST_VARIANTS.
ANY_NETWORK_VARIANTS = tuple(v for v in VARIANTS if v not in READOUT_FIRST_VARIANTS)
#: Relative tolerance of the check that X_train, Y_train are the set the network was built on.
_TRAINING_SET_RTOL = 1e-6

#: The distances cost_discrepancy_bound can use in its transport term.
DISCREPANCY_DISTANCES = ("lipschitz", "coordinates")


def _readout(net: Network, variant: str) -> np.ndarray:
    """The readout A = Y_0 X_0^+ of a readout_first network; any other network is refused."""
    construction = net.construction
    if (
        construction is None
        or construction.method != "readout_first"
        or construction.readout is None
    ):
        raise ValueError(
            f"variant={variant!r} needs a network built by "
            "construct_minimizer(method='readout_first'), whose function is "
            "relu(A x + beta) - beta; use variant='lipschitz' (or 'best') for any other network"
        )
    return construction.readout


def _is_readout_first(net: Network) -> bool:
    c = net.construction
    return c is not None and c.method == "readout_first" and c.readout is not None


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


@dataclass(frozen=True, eq=False)
class BoundContext:
    """Everything about the network and the training set that a bound needs.

    Computed once by :func:`prepare_bounds`; evaluating test samples against it
    (:func:`evaluate_bounds`) is independent per sample, so test sets can be split in
    chunks (this is what :mod:`archbound.distributed` sends to its workers).

    Attributes
    ----------
    net : Network
    variant : str
        One of :data:`VARIANTS`.
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


def _check_variant(variant) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    return variant


def prepare_bounds(
    net: Network,
    X_train: ArrayLike,
    Y_train: ArrayLike,
    *,
    variant: str = "lipschitz",
    delta: float = 1e-6,
    seed: SeedLike = None,
    threads: int | None = None,
) -> BoundContext:
    """Validate the network and training set and compute the norms, alpha and features.

    Parameters are as in :func:`sample_bounds`.
    """
    _check_variant(variant)
    inputs = check_bound_inputs(net, X_train, Y_train, delta=delta, seed=seed, threads=threads)
    return _prepare_bounds(TrainingSetCache(inputs), net, variant)


def _prepare_bounds(cache: TrainingSetCache, net: Network, variant: str) -> BoundContext:
    """:func:`prepare_bounds` on validated inputs; ``cache`` holds what depends on the
    training set only (the projected basis, the coordinates map, the feature spaces) or on
    one network (its training outputs and certified norms), computed by the first context
    that needs it and reused by the others, so that contexts of one training set share
    their feature spaces (see :func:`_evaluate_groups`)."""
    delta = cache.inputs.delta
    residuals = cache.residuals(net)
    if variant != "best":
        context = _prepare(cache, net, variant, delta, residuals)
        if context is None:
            raise ValueError(
                f"variant='coordinates' needs X_train of full row rank, rank(X_train) = N = "
                f"{cache.inputs.X_train.shape[0]}: only then do the coordinates X_0^+ x "
                "determine A x; use variant='projected' (or 'best') for this training set"
            )
        return context
    # "best": every geometry-only variant that applies. The randomized norm certificates
    # (lipschitz, projected) share delta, so that all of them hold at once with
    # probability >= 1 - delta (coordinates' norm is an exact SVD).
    names = ["lipschitz", "projected"] if _is_readout_first(net) else ["lipschitz"]
    share = delta / len(names)
    components = [_prepare(cache, net, name, share, residuals) for name in names]
    first = components[0]
    assert first is not None  # lipschitz and projected always apply
    if _is_readout_first(net):
        coordinates = _prepare(cache, net, "coordinates", delta, residuals)
        if coordinates is not None:  # it applies only where rank(X_0) = N
            components.append(coordinates)
    return BoundContext(
        net,
        "best",
        first.alpha,
        list(first.norms),
        None,
        cache.inputs.Y_train,
        residuals,
        delta,
        components=tuple(c for c in components if c is not None),
    )


def _prepare(
    cache: TrainingSetCache, net: Network, variant: str, delta: float, residuals: np.ndarray
) -> BoundContext | None:
    """The context of one variant other than "best" (None: coordinates with rank < N)."""
    offsets, test_gap = None, 0.0
    if variant == "lipschitz":
        norms = cache.certified_norms(net, delta)
        alpha = upper_product(norms)
        space = cache.input_space()
    else:
        A = _readout(net, variant)
        if variant == "projected":
            space = cache.projected_space()
            _check_projected_basis(A, cache.basis())
            readout = np.ascontiguousarray(A, dtype=np.float64)
            norms = [_opnorm(readout, "auto", delta, 1e-2, 0, cache.inputs.draw_seed(), 0)]
            alpha = float(norms[0].upper)
        elif variant == "coordinates":
            coordinates = cache.coordinates_map()
            if coordinates is None:
                return None
            test_gap = _readout_gap(A, coordinates)
            coordinates_space = cache.coordinates_space()  # not None: the map exists
            assert coordinates_space is not None
            space = coordinates_space
            norm = coordinates.labels_norm
            norms, alpha = [norm], float(norm.upper)
            # Per training sample: ||Y_0|| |c(x_i) - e_i| + gap |x_i|.
            offsets = residuals + (
                norm.upper * coordinates.identity_gap + test_gap * coordinates.train_norms
            )
        else:  # linearized: |f(x) - f(x')| <= |A x - A x'| for any x, x'
            norms, alpha = [], 1.0
            space = cache.linearized_space(net, A)
    return BoundContext(
        net,
        variant,
        alpha,
        list(norms),
        space,
        cache.inputs.Y_train,
        residuals,
        delta,
        offsets=offsets,
        test_gap=test_gap,
    )
