"""Generalization bounds that do not depend on depth or width (docs/design.md §2.5).

Every bound is computed from the data by one geometry kernel (:func:`archbound.nearest`)
and the certified operator norms (:func:`archbound.opnorms`), and reported beside the
true error it bounds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from archbound._json import finite_or_none as _finite_or_none
from archbound._validation import check_array, check_probability, check_seed, check_threads
from archbound.geometry import _nearest
from archbound.linalg import pinv_info
from archbound.network import Network
from archbound.opnorm import NormEstimate, _opnorms, opnorm

#: Every bound variant, the one definition the CLI, the experiment and the Dask path use.
VARIANTS = ("lipschitz", "projected", "coordinates", "linearized", "best")
#: The variants that never apply the network's weights to the test inputs: ``"best"`` takes
#: the per-sample minimum over those of them that apply to the network.
GEOMETRIC_VARIANTS = ("lipschitz", "projected", "coordinates")
#: The variants that need a network built by construct_minimizer(method='readout_first').
READOUT_FIRST_VARIANTS = ("projected", "coordinates", "linearized")
#: Relative tolerance of the check that X_train, Y_train are the set the network was built on.
_TRAINING_SET_RTOL = 1e-6


@dataclass
class BoundReport:
    """Per-sample bounds |f(x~_j) - y~_j| <= B_j and their aggregates, beside the truth.

    Attributes
    ----------
    variant : str
        One of :data:`VARIANTS` (see :func:`sample_bounds`).
    per_sample : ndarray of shape (m,)
        B_j = min_i (alpha |F_j - G_i| + |y~_j - y_i| + r_i) (``"coordinates"`` adds its
        rounding terms; ``"best"`` is the minimum over its components).
    nearest_index : ndarray of shape (m,)
        The training sample i attaining B_j.
    distances : ndarray of shape (m,)
        |F_j - G_i| in the variant's feature space, for that i (for ``"best"``, in the
        feature space of the component that attains B_j).
    errors : ndarray of shape (m,)
        The truth, |f(x~_j) - y~_j|.
    train_cost, test_cost : float
        Mean squared errors C_train and C_test.
    test_cost_bound : float
        mean_j B_j^2 >= C_test.
    uniform_bound, max_error : float
        max_j B_j >= max_j |f(x~_j) - y~_j|.
    ratio : float
        test_cost_bound / test_cost.
    mean_ratio : float
        mean B / mean error.
    accuracy : float or None
        Argmax agreement on the test set, when Y is one-hot.
    lipschitz : float
        alpha: the certified Lipschitz constant used (1 for ``"linearized"``, ||Y_0|| for
        ``"coordinates"``; for ``"best"``, that of its ``"lipschitz"`` component,
        prod_l ||W_l||).
    norms : list of NormEstimate
        The operator norms behind alpha.
    delta : float
        The bound holds with probability >= 1 - delta (over the norm estimators' draws).
    seconds : float
        Wall time.
    argmax_test_index : int
        The test sample attaining ``uniform_bound``.
    components : tuple of str
        ``"best"`` only: the variants it took the minimum over (empty otherwise).
    attained_by : ndarray of int8, shape (m,), or None
        ``"best"`` only: ``components[attained_by[j]]`` attains B_j (the first on ties).
    """

    variant: str
    per_sample: np.ndarray
    nearest_index: np.ndarray
    distances: np.ndarray
    errors: np.ndarray
    train_cost: float
    test_cost: float
    test_cost_bound: float
    uniform_bound: float
    max_error: float
    ratio: float
    mean_ratio: float
    accuracy: float | None
    lipschitz: float
    norms: list = field(default_factory=list)
    delta: float = 0.0
    seconds: float = 0.0
    argmax_test_index: int | None = None
    components: tuple = ()
    attained_by: np.ndarray | None = None

    @property
    def n_test(self) -> int:
        return int(self.per_sample.shape[0])

    def attained_counts(self) -> dict | None:
        """``"best"`` only: component name -> number of test samples it attains (else None)."""
        if self.attained_by is None:
            return None
        counts = np.bincount(
            np.asarray(self.attained_by, dtype=np.int64), minlength=len(self.components)
        )
        return {name: int(c) for name, c in zip(self.components, counts)}

    def to_dict(self, *, per_sample: bool = False) -> dict:
        """A JSON-safe summary (non-finite numbers become None)."""
        out = {
            "variant": self.variant,
            "n_test": self.n_test,
            "train_cost": _finite_or_none(self.train_cost),
            "test_cost": _finite_or_none(self.test_cost),
            "test_cost_bound": _finite_or_none(self.test_cost_bound),
            "uniform_bound": _finite_or_none(self.uniform_bound),
            "max_error": _finite_or_none(self.max_error),
            "ratio": _finite_or_none(self.ratio),
            "mean_ratio": _finite_or_none(self.mean_ratio),
            "mean_bound": _finite_or_none(self.per_sample.mean()),
            "mean_error": _finite_or_none(self.errors.mean()),
            "mean_distance": _finite_or_none(self.distances.mean()),
            "accuracy": None if self.accuracy is None else float(self.accuracy),
            "lipschitz": _finite_or_none(self.lipschitz),
            "norms": [
                {
                    "estimate": float(n.estimate),
                    "upper": float(n.upper),
                    "method": n.method,
                    "iterations": int(n.iterations),
                    "converged": bool(n.converged),
                    "delta": float(n.delta),
                }
                for n in self.norms
            ],
            "delta": float(self.delta),
            "seconds": float(self.seconds),
        }
        if self.attained_by is not None:
            out["components"] = list(self.components)
            out["attained_by"] = self.attained_counts()
        if per_sample:
            out["per_sample"] = [float(v) for v in self.per_sample]
            out["nearest_index"] = [int(v) for v in self.nearest_index]
            out["errors"] = [float(v) for v in self.errors]
            if self.attained_by is not None:
                out["attained_by_sample"] = [self.components[int(k)] for k in self.attained_by]
        return out


@dataclass
class DiscrepancyReport:
    """The a-priori bound |C_test - C_train| <= bound, beside the true discrepancy.

    Attributes
    ----------
    bound : float
        transport_term + train_term.
    transport_term : float
        mean_j (Lip |x~_j - x_pi(j)| + |y~_j - y_pi(j)|)
        (R(|x~_j|) + R(|x_pi(j)|) + |y~_j| + |y_pi(j)|).
    train_term : float
        |mean_j l(z_pi(j)) - C_train| (0 for a zero-loss minimizer).
    discrepancy : float or None
        The truth |C_test - C_train|, when computed (``evaluate_truth=True``).
    train_cost, test_cost : float
        C_train, and C_test (None unless evaluated).
    lipschitz : float
        Product of the certified layer norms.
    norms : list of NormEstimate
    nearest_index : ndarray of shape (m,)
        pi(j).
    delta, seconds : float
    distance : str
        The distance in the transport term: ``"lipschitz"`` (the paper's form,
        Lip |x~ - x|) or ``"coordinates"`` (||Y_0|| |c(x~) - e_i|, readout_first only).
    alpha : float
        The weight of that distance: Lip, or the certified ||Y_0||.
    """

    bound: float
    transport_term: float
    train_term: float
    discrepancy: float | None
    train_cost: float
    test_cost: float | None
    lipschitz: float
    norms: list
    nearest_index: np.ndarray
    delta: float
    seconds: float
    distance: str = "lipschitz"
    alpha: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.discrepancy is None or self.discrepancy == 0:
            return None
        return self.bound / self.discrepancy

    def to_dict(self) -> dict:
        return {
            "bound": _finite_or_none(self.bound),
            "transport_term": _finite_or_none(self.transport_term),
            "train_term": _finite_or_none(self.train_term),
            "discrepancy": None if self.discrepancy is None else float(self.discrepancy),
            "ratio": None if self.ratio is None else _finite_or_none(self.ratio),
            "train_cost": float(self.train_cost),
            "test_cost": None if self.test_cost is None else float(self.test_cost),
            "lipschitz": _finite_or_none(self.lipschitz),
            "norms": [
                {"estimate": float(n.estimate), "upper": float(n.upper), "method": n.method}
                for n in self.norms
            ],
            "delta": float(self.delta),
            "seconds": float(self.seconds),
            "distance": self.distance,
            "alpha": None if self.alpha is None else _finite_or_none(self.alpha),
        }


#: The distances cost_discrepancy_bound can use in its transport term.
DISCREPANCY_DISTANCES = ("lipschitz", "coordinates")


def _check_labels(Y, name: str, n_rows: int, q: int) -> np.ndarray:
    """2-D targets, or 1-D integer labels that are one-hot encoded to Q columns."""
    try:
        array = np.asarray(Y) if not isinstance(Y, (str, bytes)) else Y
    except ValueError:  # ragged input: check_array names it
        array = Y
    if isinstance(array, np.ndarray) and array.ndim == 1 and array.dtype.kind in "iu":
        if array.size and (array.min() < 0 or array.max() >= q):
            raise ValueError(f"{name} holds class labels outside 0..{q - 1}")
        from archbound.construct import one_hot

        array = one_hot(array, q) if array.size else array
    Y = check_array(array, name)
    if Y.shape[0] != n_rows:
        raise ValueError(f"{name} has {Y.shape[0]} rows, but its inputs have {n_rows} samples")
    if Y.shape[1] != q:
        raise ValueError(f"{name} has {Y.shape[1]} columns, but the network has Q = {q} outputs")
    return Y


def _check_data(net, X, Y, which: str = "train"):
    """Validate one (X, Y) pair against the network's input and output sizes."""
    if not isinstance(net, Network):
        raise TypeError(f"net must be an archbound.Network, got {type(net).__name__}")
    X = check_array(X, f"X_{which}")
    if X.shape[1] != net.input_dim:
        raise ValueError(
            f"X_{which} has {X.shape[1]} features, but the network takes "
            f"M0 = {net.input_dim} inputs"
        )
    return X, _check_labels(Y, f"Y_{which}", X.shape[0], net.output_dim)


def _is_one_hot(Y: np.ndarray) -> bool:
    return bool(np.all((Y == 0) | (Y == 1)) and np.all(Y.sum(axis=1) == 1))


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
    leak = np.linalg.norm(A - (A @ U) @ U.T)
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
    identity_gap = X_train @ P
    identity_gap[np.diag_indices(n)] -= 1.0
    return (
        P,
        opnorm(Y_train, method="exact"),
        Y_train.T @ P.T,
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
        return X if self.transform is None else X @ self.transform


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


def _prepare(net, X_train, Y_train, residuals, variant, delta, seed, threads, shared):
    """The context of one variant other than "best" (None: coordinates with rank < N)."""
    offsets, test_gap = None, 0.0
    if variant == "lipschitz":
        norms = _opnorms(
            net.weights, delta=delta, seed=check_seed(seed), threads=check_threads(threads)
        )
        alpha = float(np.prod([n.upper for n in norms]))
        transform = None
    else:
        A = _readout(net, variant)
        if variant == "projected":
            if "basis" not in shared:
                shared["basis"] = np.linalg.qr(X_train.T, mode="reduced")[0]
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


def _geometry(contexts: list, X_test: np.ndarray, Y_test: np.ndarray, threads) -> list:
    """(B_j, the attaining i, the feature distance) for contexts other than "best" that share
    one feature space (transform and training features): the test features are computed
    once and every context is one objective of a single pass of the kernel."""
    first = contexts[0]
    F_test = np.ascontiguousarray(first.features(X_test))
    offsets = np.stack([c.residuals if c.offsets is None else c.offsets for c in contexts])
    result = _nearest(
        F_test,
        first.train_features,
        [c.alpha for c in contexts],
        Y_test,
        first.Y_train,
        offsets,
        None,
        None,
        min(256, len(F_test)),
        check_threads(threads),
    )
    test_norms = None
    out = []
    for k, context in enumerate(contexts):
        values = np.array(result.values[:, k])
        if context.test_gap > 0:
            if test_norms is None:
                test_norms = np.sqrt(np.einsum("ij,ij->i", X_test, X_test))
            values += context.test_gap * test_norms
        out.append((values, np.array(result.indices[:, k]), np.array(result.distances[:, k])))
    return out


def _evaluate_groups(contexts: list, X_test: np.ndarray, Y_test: np.ndarray, threads) -> list:
    """:func:`_geometry` for any contexts of one training set (``"best"`` included): those
    that share a feature space go through the kernel together. Returns one
    (values, index, distances, attained_by) per context."""
    leaves = []
    for context in contexts:
        leaves.extend(context.components or [context])
    groups: dict = {}
    for leaf in leaves:
        key = (id(leaf.transform), id(leaf.train_features))
        groups.setdefault(key, []).append(leaf)
    results = {}
    for group in groups.values():
        for leaf, parts in zip(group, _geometry(group, X_test, Y_test, threads)):
            results[id(leaf)] = parts
    out = []
    for context in contexts:
        if context.components is None:
            out.append((*results[id(context)], None))
            continue
        parts = [results[id(c)] for c in context.components]
        values = np.stack([p[0] for p in parts])
        which = np.argmin(values, axis=0)  # the first component on ties
        rows = np.arange(values.shape[1])
        out.append(
            (
                values[which, rows],
                np.stack([p[1] for p in parts])[which, rows],
                np.stack([p[2] for p in parts])[which, rows],
                which.astype(np.int8),
            )
        )
    return out


def _truth(net, X_test, Y_test, threads, test_outputs) -> dict:
    """The reported truth: |f(x~_j) - y~_j| and, for one-hot targets, argmax agreement."""
    if test_outputs is None:
        f_test = net._forward(X_test, check_threads(threads))
    else:
        f_test = check_array(test_outputs, "test_outputs")
        if f_test.shape != Y_test.shape:
            raise ValueError(
                f"test_outputs must have shape {Y_test.shape} (m, Q), got {f_test.shape}"
            )
    hits = None
    if _is_one_hot(Y_test):
        hits = f_test.argmax(axis=1) == Y_test.argmax(axis=1)
    return {"errors": np.linalg.norm(f_test - Y_test, axis=1), "hits": hits}


def evaluate_bounds(
    context: BoundContext, X_test, Y_test, *, threads=None, test_outputs=None
) -> dict:
    """Per-sample bounds and errors for a batch of test samples.

    ``test_outputs`` (m, Q), if given, is f(X_test) computed before; it only serves the
    reported truth (the bound never evaluates f on the test set).

    Returns a dict of arrays of shape (m,): ``per_sample``, ``nearest_index``,
    ``distances``, ``errors``, ``hits`` (argmax agreement, or None when the targets
    are not one-hot), and for ``"best"`` ``attained_by`` (int8: the index in
    ``context.components`` of the variant attaining each B_j).
    """
    X_test, Y_test = _check_data(context.net, X_test, Y_test, which="test")
    out = _truth(context.net, X_test, Y_test, threads, test_outputs)
    values, index, distances, attained_by = _evaluate_groups([context], X_test, Y_test, threads)[0]
    out.update(per_sample=values, nearest_index=index, distances=distances)
    if attained_by is not None:
        out["attained_by"] = attained_by
    return out


def report_from_samples(context: BoundContext, samples: dict, seconds: float) -> BoundReport:
    """Aggregate per-sample results (from :func:`evaluate_bounds`) into a BoundReport."""
    values, errors = samples["per_sample"], samples["errors"]
    test_cost = float(np.mean(errors**2))
    bound = float(np.mean(values**2))
    mean_error = float(errors.mean())
    hits = samples.get("hits")
    return BoundReport(
        variant=context.variant,
        per_sample=values,
        nearest_index=samples["nearest_index"],
        distances=samples["distances"],
        errors=errors,
        train_cost=float(np.mean(context.residuals**2)),
        test_cost=test_cost,
        test_cost_bound=bound,
        uniform_bound=float(values.max()),
        max_error=float(errors.max()),
        ratio=bound / test_cost if test_cost > 0 else math.inf,
        mean_ratio=float(values.mean()) / mean_error if mean_error > 0 else math.inf,
        accuracy=None if hits is None else float(np.mean(hits)),
        lipschitz=context.alpha,
        norms=list(context.norms),
        delta=context.delta,
        seconds=seconds,
        argmax_test_index=int(np.argmax(values)),
        components=component_names(context),
        attained_by=samples.get("attained_by"),
    )


def component_names(context: BoundContext) -> tuple:
    """The variants a ``"best"`` context takes the minimum over (empty for the others)."""
    return tuple(c.variant for c in context.components or ())


def sample_bounds(
    net,
    X_train,
    Y_train,
    X_test,
    Y_test,
    *,
    variant="lipschitz",
    delta=1e-6,
    seed=None,
    threads=None,
    test_outputs=None,
) -> BoundReport:
    """Per-sample test-error bounds of a ReLU network, with the truth beside them.

    For every test sample, |f(x~_j) - y~_j| <= B_j = min_i (alpha |F_j - G_i| +
    |y~_j - y_i| + r_i), by the triangle inequality through training sample i, where
    r_i = |f(x_i) - y_i| are the training residuals (docs/design.md §2.5.2, arXiv:2504.05695).
    Aggregates: C_test <= mean_j B_j^2 and max_j |f(x~_j) - y~_j| <= max_j B_j.

    The variants differ in the features F (test) and G (training) and the weight alpha.
    For each: what it computes; whether it applies the network's weights to the test
    inputs; which networks it applies to; its cost (m test samples, N training samples,
    M0 inputs, Q outputs). A is the readout Y_0 X_0^+ of a readout_first network, whose
    function is f(x) = relu(A x + beta) - beta.

    - ``"lipschitz"``: F, G are the inputs and alpha = prod_l ||W_l||, the certified upper
      norms. Test inputs enter only through distances |x~_j - x_i|; the weights only
      through their norms. Any network. Cost: L + 1 norm certificates (Lanczos) and one
      kernel pass, O(m N M0).
    - ``"projected"``: F, G are U^T x, the coordinates in an orthonormal basis U of
      span(training inputs), and alpha = ||A|| (certified); valid because A = A U U^T.
      Test inputs enter only through a map built from the training inputs (U).
      readout_first only. Cost: a thin QR, O(N^2 M0), one norm, O(m N M0) to project,
      and the kernel, O(m N^2).
    - ``"coordinates"``: for X_0 of full column rank (rank(X_train) = N <= M0), F is
      c(x~) = X_0^+ x~ in R^N, the test point's coordinates in the training set, G is the
      identity (c(x_i) = e_i) and alpha = ||Y_0||, the norm of the N x Q training labels
      (an exact SVD, rounded up). Valid because A = Y_0 X_0^+ annihilates what lies
      outside the row space of X, so A (x~ - x_i) = Y_0 (c(x~) - e_i) and
      |A (x~ - x_i)| <= ||Y_0|| |c(x~) - e_i|. It uses the training matrix (X_0^+), the
      norm of the training labels and the test inputs, never the network's weights or
      outputs. Note that A x~ = Y_0 c(x~) exactly: this variant sits between the
      geometric ones and ``"linearized"``; it keeps the test point's position relative
      to the training set, and trades the arrangement of the labels (Y_0 applied to
      c(x~) - e_i) for the single number ||Y_0||. So that it holds for the network's
      stored A and not only for the exact Y_0 X_0^+, it adds ||Y_0|| |X_0^+ x_i - e_i| +
      ||A - Y_0 X_0^+||_F (|x_i| + |x~_j|), rounding terms about 1e-13 of the bound.
      readout_first only; refused (ValueError) when rank(X_train) < N. Cost: the
      generalized inverse once, O(N^2 M0), O(m N M0) for the coordinates, and the kernel,
      O(m N^2).
    - ``"linearized"``: F, G are A x and alpha = 1, valid because relu(. + beta) - beta is
      1-Lipschitz. It applies the network's first layer A to the test inputs. For one-hot
      labels (beta = 0 and A x_i = y_i) the triangle inequality makes it exactly
      |A x~_j - y~_j|, the error of the unclipped linear predictor x -> A x, whenever the
      training set holds a sample of y~_j's class: it is tight by construction, not a
      geometric bound. readout_first only. Cost: O(m Q M0) and the kernel, O(m N Q).
    - ``"best"``: the per-sample minimum over the variants of :data:`GEOMETRIC_VARIANTS`
      that apply to the network (lipschitz always; projected for readout_first;
      coordinates for readout_first with rank(X_train) = N). A minimum of valid upper
      bounds is a valid upper bound; the randomized certificates (lipschitz, projected)
      share delta, so the minimum holds with probability >= 1 - delta. It never applies
      the network's weights to the test inputs. ``report.attained_by`` says which
      component attains each sample. Cost: the sum of its components'.

    Per sample, ``"linearized"`` <= ``"projected"`` and <= ``"coordinates"``,
    ``"projected"`` <= ``"lipschitz"`` (up to the norm certificates), and ``"best"`` <=
    each of its components.

    Parameters
    ----------
    net : Network
    X_train : array_like of shape (N, M0)
    Y_train : array_like of shape (N, Q), or (N,) integer labels
    X_test : array_like of shape (m, M0)
    Y_test : array_like of shape (m, Q), or (m,) integer labels
    variant : {"lipschitz", "projected", "coordinates", "linearized", "best"}
        See above.
    delta : float in (0, 1)
        Failure probability of the randomized norm certificates: the bound holds with
        probability >= 1 - delta.
    seed : int or numpy.random.Generator, optional
        Seed of the norm estimators.
    threads : int, optional
        OpenMP threads.
    test_outputs : array_like of shape (m, Q), optional
        f(X_test), if already computed (for example for several variants): saves a forward
        pass. It only enters the reported truth; the bound B_j never uses f on test samples.

    Returns
    -------
    BoundReport
    """
    start = time.perf_counter()
    context = prepare_bounds(
        net, X_train, Y_train, variant=variant, delta=delta, seed=seed, threads=threads
    )
    samples = evaluate_bounds(context, X_test, Y_test, threads=threads, test_outputs=test_outputs)
    return report_from_samples(context, samples, time.perf_counter() - start)


def sample_bounds_batch(
    jobs,
    X_train,
    Y_train,
    X_test,
    Y_test,
    *,
    delta=1e-6,
    seed=None,
    threads=None,
    test_outputs=None,
) -> list[BoundReport]:
    """:func:`sample_bounds` for several (network, variant) pairs on one training and test set.

    Each report equals the one ``sample_bounds(net, ..., variant=variant)`` returns with the
    same ``delta`` and ``seed``, but what depends on the data only is computed once: the
    validation, the projected basis and the coordinates map, the test features of each
    feature space, and one pass of the geometry kernel per feature space, with one
    objective (alpha, offsets) per network and variant. This is how the experiment bounds
    every architecture of one training-set size.

    Parameters
    ----------
    jobs : sequence of (Network, str)
        The networks, all with the same input and output sizes, and a variant for each.
    X_train, Y_train, X_test, Y_test, delta, seed, threads
        As in :func:`sample_bounds`.
    test_outputs : sequence of array_like of shape (m, Q) or None, optional
        f(X_test) for each job, where already computed.

    Returns
    -------
    list of BoundReport
        In the order of ``jobs``. Each report's ``seconds`` is the batch's wall time shared
        equally among the jobs.
    """
    start = time.perf_counter()
    jobs = list(jobs)
    if not jobs:
        return []
    if test_outputs is None:
        test_outputs = [None] * len(jobs)
    test_outputs = list(test_outputs)
    if len(test_outputs) != len(jobs):
        raise ValueError(f"test_outputs has {len(test_outputs)} entries for {len(jobs)} jobs")
    delta = check_probability(delta, "delta")
    check_threads(threads)
    first = jobs[0][0]
    X_train, Y_train = _check_data(first, X_train, Y_train)
    X_test, Y_test = _check_data(first, X_test, Y_test, which="test")
    for net, variant in jobs:
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        if (
            not isinstance(net, Network)
            or net.widths[0] != first.widths[0]
            or (net.output_dim != first.output_dim)
        ):
            raise ValueError(
                "jobs: every network must be an archbound.Network with the "
                f"inputs and outputs of the first, {first.widths[0]} and "
                f"{first.output_dim}"
            )
    shared: dict = {}
    residuals: dict = {}
    contexts = []
    for net, variant in jobs:
        if id(net) not in residuals:
            residuals[id(net)] = np.linalg.norm(
                net._forward(X_train, check_threads(threads)) - Y_train, axis=1
            )
        contexts.append(
            _prepare_bounds(
                net, X_train, Y_train, residuals[id(net)], variant, delta, seed, threads, shared
            )
        )
    evaluated = _evaluate_groups(contexts, X_test, Y_test, threads)
    truths: dict = {}
    reports = []
    for (net, _), context, outputs, parts in zip(jobs, contexts, test_outputs, evaluated):
        key = id(net) if outputs is None else id(outputs)
        if key not in truths:
            truths[key] = _truth(net, X_test, Y_test, threads, outputs)
        samples = dict(truths[key])
        values, index, distances, attained_by = parts
        samples.update(per_sample=values, nearest_index=index, distances=distances)
        if attained_by is not None:
            samples["attained_by"] = attained_by
        reports.append(report_from_samples(context, samples, 0.0))
    seconds = (time.perf_counter() - start) / len(jobs)
    for report in reports:
        report.seconds = seconds
    return reports


def output_radius(norms: list[NormEstimate], net: Network, s: np.ndarray) -> np.ndarray:
    """R(s) >= |f(x)| for |x| = s: s_0 = s, s_l = ||W_l|| s_{l-1} + |b_l|."""
    radius = np.asarray(s, dtype=np.float64)
    for norm, bias in zip(norms, net.biases):
        radius = norm.upper * radius + np.linalg.norm(bias)
    return radius


def cost_discrepancy_bound(
    net,
    X_train,
    Y_train,
    X_test,
    Y_test,
    *,
    delta=1e-6,
    seed=None,
    evaluate_truth=True,
    threads=None,
    distance="lipschitz",
) -> DiscrepancyReport:
    """A-priori bound on |C_test - C_train| that never evaluates f on the test set.

    With l(z) = |f(x) - y|^2, Lip = prod_l ||W_l|| (certified) and the output radius
    R(s) (s_0 = s, s_l = ||W_l|| s_{l-1} + |b_l|), for pi(j) the training sample nearest
    to test sample j in the metric d(x~, x_i) + |y~ - y_i|:

        |C_test - C_train| <= mean_j (d(x~_j, x_pi(j)) + |y~_j - y_pi(j)|)
                                  (R(|x~_j|) + R(|x_pi(j)|) + |y~_j| + |y_pi(j)|)
                              + |mean_j l(z_pi(j)) - C_train|

    where d is either distance below (docs/design.md §2.5.6, arXiv:2504.05695). This is the
    a-priori form of the paper's abstract: the norms, the biases (through R) and the
    geometry, with f evaluated on the training set only.

    Proof. For any assignment pi, C_test - C_train = mean_j (l(z~_j) - l(z_pi(j))) +
    (mean_j l(z_pi(j)) - C_train). With a = f(x~) - y~ and b = f(x) - y,
    |l(z~) - l(z)| = | |a| - |b| | (|a| + |b|) <= |a - b| (|a| + |b|), where
    |a - b| <= |f(x~) - f(x)| + |y~ - y|, |a| <= R(|x~|) + |y~| and |b| <= R(|x|) + |y|
    (R bounds |f(x)| layer by layer: |relu(W h + b)| <= ||W|| |h| + |b|). It remains to
    bound |f(x~) - f(x_i)| <= d(x~, x_i):

    - ``distance="lipschitz"`` (any network; the paper's form): d = Lip |x~ - x_i|,
      since ReLU is 1-Lipschitz.
    - ``distance="coordinates"`` (readout_first, rank(X_train) = N): f(x) =
      relu(A x + beta) - beta is 1-Lipschitz in A x, and A = Y_0 X_0^+ vanishes outside
      the row space of X, so |f(x~) - f(x_i)| <= |A (x~ - x_i)| = |Y_0 (c(x~) - e_i)|
      <= ||Y_0|| |c(x~) - e_i|, with c(x~) = X_0^+ x~ the coordinates of
      :func:`sample_bounds`' ``"coordinates"`` variant. Writing the network's stored A as
      Y_0 X_0^+ + E adds the rounding terms ||Y_0|| |X_0^+ x_i - e_i| +
      ||E||_F (|x_i| + |x~|) to d, as there. Nothing else changes, so the bound holds for
      this d too; it is tighter whenever ||Y_0|| |c(x~) - e_i| < Lip |x~ - x_i|, which is
      typical since ||Y_0|| |c - e_i| does not grow with the condition number of X as
      Lip = ||Y_0 X_0^+|| does.

    Parameters
    ----------
    net : Network
    X_train, Y_train, X_test, Y_test : array_like
        As in :func:`sample_bounds`.
    delta : float in (0, 1)
        Failure probability of the norm certificates.
    seed : int or numpy.random.Generator, optional
    evaluate_truth : bool
        Also evaluate f on the test set, only to report the true discrepancy beside the
        bound (the bound itself does not use it).
    threads : int, optional
    distance : {"lipschitz", "coordinates"}
        The distance d in the transport term (see the proof).

    Returns
    -------
    DiscrepancyReport
    """
    return cost_discrepancy_bound_batch(
        [(net, distance)],
        X_train,
        Y_train,
        X_test,
        Y_test,
        delta=delta,
        seed=seed,
        evaluate_truth=evaluate_truth,
        threads=threads,
    )[0]


def cost_discrepancy_bound_batch(
    jobs,
    X_train,
    Y_train,
    X_test,
    Y_test,
    *,
    delta=1e-6,
    seed=None,
    evaluate_truth=True,
    threads=None,
) -> list[DiscrepancyReport]:
    """:func:`cost_discrepancy_bound` for several (network, distance) pairs on one training
    and test set, as :func:`sample_bounds_batch` does for the sample bounds: one pass of the
    geometry kernel per feature space, one objective per job. Each report equals the
    single call's; its ``seconds`` is the batch's wall time shared equally.
    """
    start = time.perf_counter()
    jobs = list(jobs)
    if not jobs:
        return []
    delta = check_probability(delta, "delta")
    check_threads(threads)
    first = jobs[0][0]
    X_train, Y_train = _check_data(first, X_train, Y_train)
    X_test, Y_test = _check_data(first, X_test, Y_test, which="test")
    for net, distance in jobs:
        if distance not in DISCREPANCY_DISTANCES:
            raise ValueError(f"distance must be one of {DISCREPANCY_DISTANCES}, got {distance!r}")
        if not isinstance(net, Network):
            raise TypeError(f"net must be an archbound.Network, got {type(net).__name__}")
        if net.input_dim != first.input_dim or net.output_dim != first.output_dim:
            raise ValueError("jobs: every network must have the inputs and outputs of the first")
    shared: dict = {}
    losses: dict = {}
    zeros = np.zeros(X_train.shape[0])
    contexts = []
    for net, distance in jobs:
        if id(net) not in losses:
            losses[id(net)] = np.sum(
                (net._forward(X_train, check_threads(threads)) - Y_train) ** 2, axis=1
            )
        # Offsets 0: the transport term pairs test and training samples by distance alone.
        context = _prepare(net, X_train, Y_train, zeros, distance, delta, seed, threads, shared)
        if context is None:
            raise ValueError(
                "distance='coordinates' needs X_train of full row rank, rank(X_train) = N = "
                f"{X_train.shape[0]}; use distance='lipschitz' for this training set"
            )
        contexts.append(context)
    evaluated = _evaluate_groups(contexts, X_test, Y_test, threads)
    test_norms = np.linalg.norm(X_test, axis=1)
    train_norms = np.linalg.norm(X_train, axis=1)
    test_label_norms = np.linalg.norm(Y_test, axis=1)
    train_label_norms = np.linalg.norm(Y_train, axis=1)
    reports, certified = [], {}
    for (net, distance), context, (_, pi, feature_distance, _) in zip(jobs, contexts, evaluated):
        train_losses = losses[id(net)]
        train_cost = float(train_losses.mean())
        if id(net) not in certified:  # the norms "lipschitz" certifies, for R and Lip
            certified[id(net)] = (
                context.norms
                if distance == "lipschitz"
                else _opnorms(
                    net.weights, delta=delta, seed=check_seed(seed), threads=check_threads(threads)
                )
            )
        lipschitz_norms = certified[id(net)]
        lip = float(np.prod([n.upper for n in lipschitz_norms]))
        if distance == "lipschitz":
            x_gap = lip * feature_distance
        else:  # ||Y_0|| |c(x~) - e_i| plus the rounding terms of "coordinates"
            x_gap = (
                context.alpha * feature_distance
                + context.offsets[pi]
                + context.test_gap * test_norms
            )
        y_gap = np.linalg.norm(Y_test - Y_train[pi], axis=1)
        spread = (
            output_radius(lipschitz_norms, net, test_norms)
            + output_radius(lipschitz_norms, net, train_norms)[pi]
            + test_label_norms
            + train_label_norms[pi]
        )
        transport = float(np.mean((x_gap + y_gap) * spread))
        train_term = abs(float(train_losses[pi].mean()) - train_cost)
        discrepancy = test_cost = None
        if evaluate_truth:
            test_cost = float(
                np.mean(
                    np.sum((net._forward(X_test, check_threads(threads)) - Y_test) ** 2, axis=1)
                )
            )
            discrepancy = abs(test_cost - train_cost)
        reports.append(
            DiscrepancyReport(
                bound=transport + train_term,
                transport_term=transport,
                train_term=train_term,
                discrepancy=discrepancy,
                train_cost=train_cost,
                test_cost=test_cost,
                lipschitz=lip,
                norms=list(lipschitz_norms),
                nearest_index=pi,
                delta=delta,
                seconds=0.0,
                distance=distance,
                alpha=lip if distance == "lipschitz" else context.alpha,
            )
        )
    seconds = (time.perf_counter() - start) / len(jobs)
    for report in reports:
        report.seconds = seconds
    return reports
