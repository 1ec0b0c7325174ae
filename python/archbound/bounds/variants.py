"""The bound variants and what each needs from the network and the training set.

:func:`prepare_bounds` computes, once per network, variant and training set, the
:class:`BoundContext` that test samples are evaluated against (:mod:`.evaluate`).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from archbound._backend import matmul
from archbound._validation import check_probability, check_seed, check_threads
from archbound.bounds._checks import _check_data
from archbound.linalg import pinv_info
from archbound.network import Network
from archbound.opnorm import _opnorms, opnorm

#: Every bound variant, the one definition the CLI, the experiment and the Dask path use.
VARIANTS = ("lipschitz", "projected", "coordinates", "linearized", "best")
#: The variants that never apply the network's weights to the test inputs: ``"best"`` takes
#: the per-sample minimum over those of them that apply to the network.
GEOMETRIC_VARIANTS = ("lipschitz", "projected", "coordinates")
#: The variants that need a network built by construct_minimizer(method='readout_first').
READOUT_FIRST_VARIANTS = ("projected", "coordinates", "linearized")
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


def _projected_basis(A: np.ndarray, X_train: np.ndarray, U: np.ndarray) -> np.ndarray:
    """U (M0, r), the thin QR factor of X_0, checked to satisfy A = A U U^T."""
    # The rows of A = Y_0 X_0^+ lie in span(X_0), so A = A U U^T for any orthonormal U whose
    # span contains it: the thin QR factor of X_0 (of any rank). Checked, since it fails
    # for a training set other than the one the network was built on.
    leak = np.linalg.norm(A - matmul(matmul(A, U), U.T))
    if leak > 1e-8 * max(1.0, np.linalg.norm(A)):
        raise ValueError(
            "X_train is not the training set this network was built on: its readout A does "
            "not vanish on the orthogonal complement of span(X_train)"
        )
    return U


def _coordinates_map(X_train: np.ndarray, Y_train: np.ndarray, threads):
    """What ``"coordinates"`` needs from the training set alone, or None when rank(X_0) < N:
    (P, norm, Y_0 P^T, |X_train P - I| by row, |x_i|), with P = pinv(X_train) of shape
    (M0, N), so that the coordinates of x are c(x) = X_0^+ x = x @ P, and norm the certified
    ||Y_0|| (exact SVD of the N x Q labels)."""
    n = X_train.shape[0]
    info = pinv_info(X_train, threads=threads)
    if info.rank < n:
        return None
    P = info.pinv
    identity_gap = matmul(X_train, P)
    identity_gap[np.diag_indices(n)] -= 1.0
    return (
        P,
        opnorm(Y_train, method="exact"),
        matmul(Y_train.T, P.T),
        np.linalg.norm(identity_gap, axis=1),
        np.sqrt(np.einsum("ij,ij->i", X_train, X_train)),
    )


def _coordinates_parts(A: np.ndarray, X_train: np.ndarray, shared):
    """(P, norm, gap, offsets) of ``"coordinates"`` for the readout A, or None when
    rank(X_0) < N: gap = ||A - Y_0 X_0^+||_F >= ||A - Y_0 X_0^+||, the rounding (or any
    other) difference between the network's stored readout and Y_0 X_0^+, and the
    per-training-sample offsets ||Y_0|| |c(x_i) - e_i| + gap |x_i| (both about 1e-13 of
    the bound for a training set of moderate condition number).
    """
    if shared is None:
        return None
    P, norm, exact_readout, identity_gap, train_norms = shared
    gap = float(np.linalg.norm(A - exact_readout))
    if gap > _TRAINING_SET_RTOL * max(1.0, float(np.linalg.norm(A))):
        raise ValueError(
            "X_train, Y_train are not the training set this network was built on: its "
            f"readout A differs from Y_0 X_0^+ by {gap:.3g} (Frobenius norm)"
        )
    return P, norm, gap, norm.upper * identity_gap + gap * train_norms


@dataclass
class BoundContext:
    """Everything about the network and the training set that a bound needs.

    Computed once by :func:`prepare_bounds`; evaluating test samples against it
    (:func:`evaluate_bounds`) is independent per sample, so test sets can be split in
    chunks (this is what :mod:`archbound.distributed` sends to its workers).
    """

    net: Network
    variant: str
    alpha: float
    norms: list
    transform: np.ndarray | None  # features = x @ transform (None: the inputs)
    train_features: np.ndarray | None
    Y_train: np.ndarray
    residuals: np.ndarray
    delta: float
    offsets: np.ndarray | None = None  # the kernel's r_i (None: the residuals)
    test_gap: float = 0.0  # B_j += test_gap * |x~_j| ("coordinates": its rounding term)
    components: list | None = None  # "best": the contexts it takes the minimum over

    def features(self, X: np.ndarray) -> np.ndarray:
        return X if self.transform is None else matmul(X, self.transform)


def prepare_bounds(
    net, X_train, Y_train, *, variant="lipschitz", delta=1e-6, seed=None, threads=None
) -> BoundContext:
    """Validate the network and training set and compute the norms, alpha and features.

    Parameters are as in :func:`sample_bounds`.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    delta = check_probability(delta, "delta")
    check_threads(threads)
    X_train, Y_train = _check_data(net, X_train, Y_train)
    residuals = np.linalg.norm(net._forward(X_train, check_threads(threads)) - Y_train, axis=1)
    return _prepare_bounds(net, X_train, Y_train, residuals, variant, delta, seed, threads, {})


def _prepare_bounds(net, X_train, Y_train, residuals, variant, delta, seed, threads, shared):
    """:func:`prepare_bounds` on validated arrays. ``shared`` holds what depends on the
    training set only (the projected basis, the coordinates map, the training features),
    computed by the first network that needs it and reused by the others, so that contexts
    of one training set share their feature spaces (see :func:`_evaluate_groups`)."""
    if variant != "best":
        context = _prepare(net, X_train, Y_train, residuals, variant, delta, seed, threads, shared)
        if context is None:
            raise ValueError(
                f"variant='coordinates' needs X_train of full row rank, rank(X_train) = N = "
                f"{X_train.shape[0]}: only then do the coordinates X_0^+ x determine A x; use "
                "variant='projected' (or 'best') for this training set"
            )
        return context
    # "best": every geometry-only variant that applies. The randomized norm certificates
    # (lipschitz, projected) share delta, so that all of them hold at once with
    # probability >= 1 - delta (coordinates' norm is an exact SVD).
    names = ["lipschitz", "projected"] if _is_readout_first(net) else ["lipschitz"]
    share = delta / len(names)
    components = [
        _prepare(net, X_train, Y_train, residuals, name, share, seed, threads, shared)
        for name in names
    ]
    if _is_readout_first(net):
        coordinates = _prepare(
            net, X_train, Y_train, residuals, "coordinates", delta, seed, threads, shared
        )
        if coordinates is not None:  # it applies only where rank(X_0) = N
            components.append(coordinates)
    first = components[0]
    return BoundContext(
        net,
        "best",
        first.alpha,
        list(first.norms),
        None,
        None,
        Y_train,
        residuals,
        delta,
        components=components,
    )


def _certified_norms(net, delta, seed, threads, shared):
    """opnorms of the network's layers with this delta and seed, computed once per network
    when the seed is an int (a Generator or None draws anew on every call, as before)."""

    def compute():
        return _opnorms(
            net.weights, delta=delta, seed=check_seed(seed), threads=check_threads(threads)
        )

    if not isinstance(seed, numbers.Integral):
        return compute()
    key = ("norms", id(net), delta, seed)
    if key not in shared:
        shared[key] = compute()
    return shared[key]


def _train_outputs(net, X_train, threads, shared):
    """f(X_train), computed once per network of the training set that ``shared`` serves."""
    key = ("outputs", id(net))
    if key not in shared:
        shared[key] = net._forward(X_train, check_threads(threads))
    return shared[key]


def _prepare(net, X_train, Y_train, residuals, variant, delta, seed, threads, shared):
    """The context of one variant other than "best" (None: coordinates with rank < N)."""
    offsets, test_gap = None, 0.0
    if variant == "lipschitz":
        norms = _certified_norms(net, delta, seed, threads, shared)
        alpha = float(np.prod([n.upper for n in norms]))
        transform = None
    else:
        A = _readout(net, variant)
        if variant == "projected":
            if "basis" not in shared:
                # SciPy's LAPACK runs on the BLAS the core uses (one thread pool, not two).
                Q, _ = scipy.linalg.qr(X_train.T, mode="economic", check_finite=False)
                shared["basis"] = Q
            transform = _projected_basis(A, X_train, shared["basis"])
            norms = [opnorm(A, delta=delta, seed=seed)]
            alpha = float(norms[0].upper)
        elif variant == "coordinates":
            if "coordinates" not in shared:
                shared["coordinates"] = _coordinates_map(X_train, Y_train, threads)
            parts = _coordinates_parts(A, X_train, shared["coordinates"])
            if parts is None:
                return None
            transform, norm, test_gap, extra = parts
            norms, alpha = [norm], float(norm.upper)
            offsets = residuals + extra
        else:  # linearized: |f(x) - f(x')| <= |A x - A x'| for any x, x'
            norms, alpha, transform = [], 1.0, np.ascontiguousarray(A.T)
    context = BoundContext(
        net,
        variant,
        alpha,
        list(norms),
        transform,
        None,
        Y_train,
        residuals,
        delta,
        offsets=offsets,
        test_gap=test_gap,
    )
    key = ("features", variant if variant != "linearized" else id(net))
    if key not in shared:
        if variant == "coordinates":  # c(x_i) = e_i; rounding of X_0^+ x_i is in the offsets
            shared[key] = np.eye(X_train.shape[0])
        else:
            shared[key] = np.ascontiguousarray(context.features(X_train))
    context.train_features = shared[key]
    return context
