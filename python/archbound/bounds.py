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

from archbound._validation import check_array, check_probability, check_threads
from archbound.geometry import nearest
from archbound.network import Network
from archbound.opnorm import NormEstimate, opnorm, opnorms

VARIANTS = ("lipschitz", "projected", "linearized")


def _finite_or_none(value):
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass
class BoundReport:
    """Per-sample bounds |f(x~_j) - y~_j| <= B_j and their aggregates, beside the truth.

    Attributes
    ----------
    variant : str
        ``"lipschitz"``, ``"projected"`` or ``"linearized"``.
    per_sample : ndarray of shape (m,)
        B_j = min_i (alpha |F_j - G_i| + |y~_j - y_i| + r_i).
    nearest_index : ndarray of shape (m,)
        The training sample i attaining B_j.
    distances : ndarray of shape (m,)
        |F_j - G_i| in the variant's feature space, for that i.
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
        alpha: the certified Lipschitz constant used (1 for ``"linearized"``).
    norms : list of NormEstimate
        The operator norms behind alpha.
    delta : float
        The bound holds with probability >= 1 - delta (over the norm estimators' draws).
    seconds : float
        Wall time.
    argmax_test_index : int
        The test sample attaining ``uniform_bound``.
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

    @property
    def n_test(self) -> int:
        return int(self.per_sample.shape[0])

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
        if per_sample:
            out["per_sample"] = [float(v) for v in self.per_sample]
            out["nearest_index"] = [int(v) for v in self.nearest_index]
            out["errors"] = [float(v) for v in self.errors]
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
        }


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
        raise ValueError(
            f"{name} has {Y.shape[0]} rows, but its inputs have {n_rows} samples"
        )
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


def _readout_first_parts(net: Network, X_train: np.ndarray, variant: str):
    """The readout A of a readout_first network, and for "projected" an orthonormal U with
    span(U) containing span(training inputs)."""
    construction = net.construction
    if construction is None or construction.method != "readout_first":
        raise ValueError(
            f"variant={variant!r} needs a network built by "
            "construct_minimizer(method='readout_first'), whose function is "
            "relu(A x + beta) - beta; use variant='lipschitz' for any other network"
        )
    A = construction.readout
    if variant == "linearized":
        return A, None  # |f(x) - f(x')| <= |A x - A x'| for any x, x'
    # The rows of A = Y_0 X_0^+ lie in span(X_0), so A = A U U^T for any orthonormal U whose
    # span contains it: the thin QR factor of X_0 (of any rank). Checked, since it fails
    # for a training set other than the one the network was built on.
    U = np.linalg.qr(X_train.T, mode="reduced")[0]
    leak = np.linalg.norm(A - (A @ U) @ U.T)
    if leak > 1e-8 * max(1.0, np.linalg.norm(A)):
        raise ValueError(
            "X_train is not the training set this network was built on: its readout A does "
            "not vanish on the orthogonal complement of span(X_train)"
        )
    return A, U


def _row_distances(F: np.ndarray, G: np.ndarray, index: np.ndarray, rows: int = 65536):
    """|F_j - G_index[j]| for every j, in chunks so that no m x d temporary is made."""
    out = np.empty(F.shape[0])
    for first in range(0, F.shape[0], rows):
        last = min(first + rows, F.shape[0])
        out[first:last] = np.linalg.norm(F[first:last] - G[index[first:last]], axis=1)
    return out


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
    train_features: np.ndarray
    Y_train: np.ndarray
    residuals: np.ndarray
    delta: float

    def features(self, X: np.ndarray) -> np.ndarray:
        return X if self.transform is None else X @ self.transform


def prepare_bounds(net, X_train, Y_train, *, variant="lipschitz", delta=1e-6, seed=None,
                   threads=None) -> BoundContext:
    """Validate the network and training set and compute the norms, alpha and features.

    Parameters are as in :func:`sample_bounds`.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    delta = check_probability(delta, "delta")
    check_threads(threads)
    X_train, Y_train = _check_data(net, X_train, Y_train)
    residuals = np.linalg.norm(net.forward(X_train, threads=threads) - Y_train, axis=1)
    if variant == "lipschitz":
        norms = opnorms(list(net.weights), delta=delta, seed=seed)
        alpha = float(np.prod([n.upper for n in norms]))
        transform = None
    else:
        A, U = _readout_first_parts(net, X_train, variant)
        if variant == "projected":
            norms = [opnorm(A, delta=delta, seed=seed)]
            alpha = float(norms[0].upper)
            transform = U
        else:
            norms, alpha, transform = [], 1.0, np.ascontiguousarray(A.T)
    context = BoundContext(net, variant, alpha, list(norms), transform, X_train, Y_train,
                           residuals, delta)
    context.train_features = np.ascontiguousarray(context.features(X_train))
    return context


def evaluate_bounds(context: BoundContext, X_test, Y_test, *, threads=None,
                    test_outputs=None) -> dict:
    """Per-sample bounds and errors for a batch of test samples.

    ``test_outputs`` (m, Q), if given, is f(X_test) computed before; it only serves the
    reported truth (the bound never evaluates f on the test set).

    Returns a dict of arrays of shape (m,): ``per_sample``, ``nearest_index``,
    ``distances``, ``errors``, and ``hits`` (argmax agreement, or None when the targets
    are not one-hot).
    """
    X_test, Y_test = _check_data(context.net, X_test, Y_test, which="test")
    if test_outputs is None:
        f_test = context.net.forward(X_test, threads=threads)
    else:
        f_test = check_array(test_outputs, "test_outputs")
        if f_test.shape != Y_test.shape:
            raise ValueError(f"test_outputs must have shape {Y_test.shape} (m, Q), got "
                             f"{f_test.shape}")
    errors = np.linalg.norm(f_test - Y_test, axis=1)
    F_test = np.ascontiguousarray(context.features(X_test))
    values, index = nearest(
        F_test, context.train_features, alpha=context.alpha, y_test=Y_test,
        y_train=context.Y_train, offsets=context.residuals, threads=threads,
    )
    hits = None
    if _is_one_hot(Y_test):
        hits = f_test.argmax(axis=1) == Y_test.argmax(axis=1)
    return {
        "per_sample": values,
        "nearest_index": index,
        "distances": _row_distances(F_test, context.train_features, index),
        "errors": errors,
        "hits": hits,
    }


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
    )


def sample_bounds(
    net, X_train, Y_train, X_test, Y_test, *, variant="lipschitz", delta=1e-6, seed=None,
    threads=None, test_outputs=None,
) -> BoundReport:
    """Per-sample test-error bounds of a ReLU network, with the truth beside them.

    For every test sample, |f(x~_j) - y~_j| <= B_j = min_i (alpha |F_j - G_i| +
    |y~_j - y_i| + r_i), by the triangle inequality through training sample i, where
    r_i = |f(x_i) - y_i| are the training residuals (docs/design.md §2.5.2, arXiv:2504.05695).
    Aggregates: C_test <= mean_j B_j^2 and max_j |f(x~_j) - y~_j| <= max_j B_j.

    Parameters
    ----------
    net : Network
    X_train : array_like of shape (N, M0)
    Y_train : array_like of shape (N, Q), or (N,) integer labels
    X_test : array_like of shape (m, M0)
    Y_test : array_like of shape (m, Q), or (m,) integer labels
    variant : {"lipschitz", "projected", "linearized"}
        ``"lipschitz"`` (any network): F, G are the inputs and alpha = prod_l ||W_l||,
        with certified upper norms. ``"projected"`` (readout_first only): F, G are the
        coordinates U^T x in an orthonormal basis U of span(training inputs), and
        alpha = ||A||, valid because A = A U U^T. ``"linearized"`` (readout_first only):
        F, G are A x and alpha = 1, valid because relu(. + beta) - beta is 1-Lipschitz.
        Each is at least as tight as the one before.
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
    context = prepare_bounds(net, X_train, Y_train, variant=variant, delta=delta, seed=seed,
                             threads=threads)
    samples = evaluate_bounds(context, X_test, Y_test, threads=threads,
                              test_outputs=test_outputs)
    return report_from_samples(context, samples, time.perf_counter() - start)


def output_radius(norms: list[NormEstimate], net: Network, s: np.ndarray) -> np.ndarray:
    """R(s) >= |f(x)| for |x| = s: s_0 = s, s_l = ||W_l|| s_{l-1} + |b_l|."""
    radius = np.asarray(s, dtype=np.float64)
    for norm, bias in zip(norms, net.biases):
        radius = norm.upper * radius + np.linalg.norm(bias)
    return radius


def cost_discrepancy_bound(
    net, X_train, Y_train, X_test, Y_test, *, delta=1e-6, seed=None, evaluate_truth=True,
    threads=None,
) -> DiscrepancyReport:
    """A-priori bound on |C_test - C_train| that never evaluates f on the test set.

    With l(z) = |f(x) - y|^2, Lip = prod_l ||W_l|| (certified) and the output radius
    R(s) (s_0 = s, s_l = ||W_l|| s_{l-1} + |b_l|), for pi(j) the training sample nearest
    to test sample j in the metric Lip |x~ - x| + |y~ - y|:

        |C_test - C_train| <= mean_j (Lip |x~_j - x_pi(j)| + |y~_j - y_pi(j)|)
                                  (R(|x~_j|) + R(|x_pi(j)|) + |y~_j| + |y_pi(j)|)
                              + |mean_j l(z_pi(j)) - C_train|

    (docs/design.md §2.5.6, arXiv:2504.05695).

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

    Returns
    -------
    DiscrepancyReport
    """
    start = time.perf_counter()
    delta = check_probability(delta, "delta")
    check_threads(threads)
    X_train, Y_train = _check_data(net, X_train, Y_train)
    X_test, Y_test = _check_data(net, X_test, Y_test, which="test")
    norms = opnorms(list(net.weights), delta=delta, seed=seed)
    lip = float(np.prod([n.upper for n in norms]))

    train_losses = np.sum((net.forward(X_train, threads=threads) - Y_train) ** 2, axis=1)
    train_cost = float(train_losses.mean())
    _, pi = nearest(X_test, X_train, alpha=lip, y_test=Y_test, y_train=Y_train,
                    threads=threads)
    x_gap = _row_distances(X_test, X_train, pi)
    y_gap = np.linalg.norm(Y_test - Y_train[pi], axis=1)
    radius_test = output_radius(norms, net, np.linalg.norm(X_test, axis=1))
    radius_train = output_radius(norms, net, np.linalg.norm(X_train, axis=1))[pi]
    spread = (radius_test + radius_train + np.linalg.norm(Y_test, axis=1)
              + np.linalg.norm(Y_train[pi], axis=1))
    transport = float(np.mean((lip * x_gap + y_gap) * spread))
    train_term = abs(float(train_losses[pi].mean()) - train_cost)

    discrepancy = test_cost = None
    if evaluate_truth:
        test_cost = float(np.mean(np.sum((net.forward(X_test, threads=threads) - Y_test) ** 2,
                                         axis=1)))
        discrepancy = abs(test_cost - train_cost)
    return DiscrepancyReport(
        bound=transport + train_term,
        transport_term=transport,
        train_term=train_term,
        discrepancy=discrepancy,
        train_cost=train_cost,
        test_cost=test_cost,
        lipschitz=lip,
        norms=list(norms),
        nearest_index=pi,
        delta=delta,
        seconds=time.perf_counter() - start,
    )
