"""One training set, many bounds: :class:`TrainingSet`, the validated data and its cache.

Every bound of archbound is computed against one training set (X_train, Y_train), with a
failure probability delta, a seed for the norm estimators and a number of threads. A
:class:`TrainingSet` validates them once and computes, on first use and once only, what
the bounds of that training set share: what depends on the training set alone (the
projected basis, the coordinates map, the feature spaces) and what depends on one network
of it (its training outputs, its certified norms).
"""

from __future__ import annotations

from typing import cast

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike

from archbound._backend import matmul
from archbound._validation import (
    SeedLike,
    check_array,
    check_probability,
    check_seed,
    check_seed_argument,
    check_threads,
)
from archbound.bounds._cache import CoordinatesMap, FeatureSpace, coordinates_map
from archbound.bounds._checks import check_data, check_labels_for
from archbound.network import Network
from archbound.opnorm import NormEstimate, _opnorms

#: delta when neither the call nor the training set gives one.
DEFAULT_DELTA = 1e-6


class TrainingSet:
    """A validated training set and the cache of everything its bounds share.

    Build one and pass it as ``X_train`` (with ``Y_train=None``) to :func:`sample_bounds`,
    :func:`sample_bounds_batch`, :func:`cost_discrepancy_bound` and its batch form,
    :func:`archbound.capacity_bounds` or :class:`archbound.NormMonitor`: the bounds of many
    networks, variants and test sets then share one validation, one projected basis, one
    coordinates map, the training outputs and the certified norms of each network.
    Those functions build one from ``(X_train, Y_train, delta, seed, threads)`` when given
    arrays.

    Parameters
    ----------
    X_train : array_like of shape (N, M0)
        The training inputs (finite; converted to C-contiguous float64).
    Y_train : array_like of shape (N, Q), or (N,) int labels
        The targets; integer labels are one-hot encoded to Q columns, Q being
        ``network.output_dim``, or the largest label plus one without a network.
    network : Network, optional
        A network whose input and output sizes the data must have (checked here with
        errors that name X_train and Y_train); every network used with the training set
        is checked against its sizes anyway.
    delta : float in (0, 1), default 1e-6
        Failure probability of the randomized norm certificates.
    seed : int or numpy.random.Generator, optional
        Seed of the norm estimators. An int gives the same seed to every estimator, so
        that norms are computed once per network and delta; a Generator (or None, fresh
        entropy) draws a new seed for each.
    threads : int, optional
        OpenMP threads of every computation on this training set (default: OpenMP's).

    Attributes
    ----------
    X_train : ndarray of shape (N, M0)
    Y_train : ndarray of shape (N, Q)
    delta : float
    seed : int, numpy.random.Generator or None
    threads : int
        The core's convention: 0 for OpenMP's default.

    Examples
    --------
    >>> import numpy as np, archbound
    >>> rng = np.random.default_rng(0)
    >>> X, labels = rng.standard_normal((20, 30)), np.arange(20) % 3
    >>> Y = archbound.one_hot(labels, 3)
    >>> net = archbound.construct_minimizer(X, Y, widths=[8], method="readout_first")
    >>> train = archbound.TrainingSet(X, labels, network=net, seed=0)
    >>> Xt, test_labels = rng.standard_normal((5, 30)), np.arange(5) % 3
    >>> reports = [
    ...     archbound.sample_bounds(net, train, None, Xt, test_labels, variant=v)
    ...     for v in ("lipschitz", "projected")
    ... ]
    >>> bool(np.all(reports[1].per_sample >= reports[1].errors))
    True
    """

    def __init__(
        self,
        X_train: ArrayLike,
        Y_train: ArrayLike,
        *,
        network: Network | None = None,
        delta: float = DEFAULT_DELTA,
        seed: SeedLike = None,
        threads: int | None = None,
    ) -> None:
        self.delta = check_probability(delta, "delta")
        self.threads = check_threads(threads)
        if network is not None:
            self.X_train, self.Y_train = check_data(network, X_train, Y_train)
        else:
            self.X_train = check_array(X_train, "X_train")
            self.Y_train = check_labels_for(Y_train, "Y_train", self.X_train.shape[0], None)
        self.seed = check_seed_argument(seed)
        self._basis: np.ndarray | None = None
        self._coordinates: CoordinatesMap | None = None
        self._coordinates_done = False
        self._spaces: dict[str, FeatureSpace] = {}
        self._linearized: dict[Network, FeatureSpace] = {}
        self._outputs: dict[Network, np.ndarray] = {}
        self._norms: dict[tuple[Network, float], list[NormEstimate]] = {}

    @classmethod
    def of(
        cls,
        net: Network,
        X_train: ArrayLike | TrainingSet,
        Y_train: ArrayLike | None,
        *,
        delta: float | None = None,
        seed: SeedLike = None,
        threads: int | None = None,
    ) -> TrainingSet:
        """The training set of a bound's arguments ``(net, X_train, Y_train, delta, seed,
        threads)``: ``X_train`` itself when it is a TrainingSet (then ``Y_train``,
        ``delta``, ``seed`` and ``threads`` must be None, since it carries its own),
        otherwise one built from the arrays and checked against ``net``'s sizes.

        Parameters
        ----------
        net : Network
            The network the training set serves.
        X_train : array_like of shape (N, M0), or TrainingSet
        Y_train : array_like of shape (N, Q), or (N,) int labels; None with a TrainingSet
        delta : float in (0, 1), optional
            Default 1e-6; None with a TrainingSet.
        seed : int or numpy.random.Generator, optional
        threads : int, optional

        Returns
        -------
        TrainingSet

        Raises
        ------
        TypeError
            ``net`` is not an archbound.Network.
        ValueError
            A TrainingSet with another argument beside it, or one whose sizes differ from
            ``net``'s; any error of the constructor.
        """
        if not isinstance(net, Network):
            raise TypeError(f"net must be an archbound.Network, got {type(net).__name__}")
        if not isinstance(X_train, TrainingSet):
            return cls(
                X_train,
                cast(ArrayLike, Y_train),  # None is refused there, naming Y_train
                network=net,
                delta=DEFAULT_DELTA if delta is None else delta,
                seed=seed,
                threads=threads,
            )
        given = [
            name
            for name, value in (
                ("Y_train", Y_train),
                ("delta", delta),
                ("seed", seed),
                ("threads", threads),
            )
            if value is not None
        ]
        if given:
            raise ValueError(
                f"X_train is a TrainingSet, which carries its own targets, delta, seed and "
                f"threads: leave {', '.join(given)} out (None)"
            )
        X_train.check_network(net)
        return X_train

    # -------------------------------------------------------------- validation
    @property
    def n_samples(self) -> int:
        """N, the number of training samples."""
        return int(self.X_train.shape[0])

    @property
    def fixed_seed(self) -> bool:
        """Whether every draw gives the same seed (an int), so that norms can be reused."""
        return isinstance(self.seed, int)

    def draw_seed(self) -> int:
        """The 63-bit seed of one norm estimator: the int seed itself, or a fresh draw from
        a Generator (or from the operating system's entropy, for None)."""
        return check_seed(self.seed)

    def check_network(self, net: Network, name: str = "net") -> None:
        """Check that ``net`` is an archbound.Network with the training set's input and
        output sizes (M0 and Q); raise TypeError or ValueError naming ``name`` otherwise.

        Parameters
        ----------
        net : Network
        name : str
            The argument's name in the error messages.
        """
        if not isinstance(net, Network):
            raise TypeError(f"{name} must be an archbound.Network, got {type(net).__name__}")
        m0, q = self.X_train.shape[1], self.Y_train.shape[1]
        if net.input_dim != m0 or net.output_dim != q:
            raise ValueError(
                f"{name} takes {net.input_dim} inputs and gives {net.output_dim} outputs, "
                f"but the training set has M0 = {m0} features and Q = {q} target columns"
            )

    def check_test_set(
        self, net: Network, X_test: ArrayLike, Y_test: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray]:
        """(X_test, Y_test) validated against ``net``'s sizes, as the training set is.

        Parameters
        ----------
        net : Network
        X_test : array_like of shape (m, M0)
        Y_test : array_like of shape (m, Q), or (m,) int labels

        Returns
        -------
        X_test : ndarray of shape (m, M0)
        Y_test : ndarray of shape (m, Q)
        """
        return check_data(net, X_test, Y_test, which="test")

    # -------------------------------------------------------------- training set only
    def basis(self) -> np.ndarray:
        """U (M0, r): the thin QR factor of X_0, an orthonormal basis of span(X_train)."""
        if self._basis is None:
            # SciPy's LAPACK runs on the BLAS the core uses (one thread pool, not two).
            Q, _ = scipy.linalg.qr(self.X_train.T, mode="economic", check_finite=False)
            self._basis = Q
        return self._basis

    def coordinates_map(self) -> CoordinatesMap | None:
        """The :class:`CoordinatesMap` of the training set, or None when rank(X_0) < N."""
        if not self._coordinates_done:
            self._coordinates = coordinates_map(self.X_train, self.Y_train, self.threads)
            self._coordinates_done = True
        return self._coordinates

    def input_space(self) -> FeatureSpace:
        """The inputs themselves (``"lipschitz"``)."""
        if "lipschitz" not in self._spaces:
            X = np.ascontiguousarray(self.X_train)
            self._spaces["lipschitz"] = FeatureSpace("lipschitz", None, X)
        return self._spaces["lipschitz"]

    def projected_space(self) -> FeatureSpace:
        """U^T x, the coordinates in :meth:`basis` (``"projected"``)."""
        if "projected" not in self._spaces:
            U = self.basis()
            G = np.ascontiguousarray(matmul(self.X_train, U))
            self._spaces["projected"] = FeatureSpace("projected", U, G)
        return self._spaces["projected"]

    def coordinates_space(self) -> FeatureSpace | None:
        """c(x) = X_0^+ x, with c(x_i) = e_i (``"coordinates"``); None when rank(X_0) < N.

        The rounding of X_0^+ x_i against e_i is in the offsets of the variant.
        """
        if "coordinates" not in self._spaces:
            coordinates = self.coordinates_map()
            if coordinates is None:
                return None
            n = self.n_samples
            self._spaces["coordinates"] = FeatureSpace("coordinates", coordinates.pinv, np.eye(n))
        return self._spaces["coordinates"]

    # ------------------------------------------------------------- one network of it
    def linearized_space(self, net: Network, readout: np.ndarray) -> FeatureSpace:
        """A x, the first layer of a readout_first network (``"linearized"``).

        Parameters
        ----------
        net : Network
        readout : ndarray of shape (Q, M0)
            Its readout A.
        """
        if net not in self._linearized:
            transform = np.ascontiguousarray(readout.T)
            G = np.ascontiguousarray(matmul(self.X_train, transform))
            self._linearized[net] = FeatureSpace("linearized", transform, G)
        return self._linearized[net]

    def train_outputs(self, net: Network) -> np.ndarray:
        """f(X_train), of shape (N, Q).

        Parameters
        ----------
        net : Network
        """
        if net not in self._outputs:
            self._outputs[net] = net._forward(self.X_train, self.threads)
        return self._outputs[net]

    def residuals(self, net: Network) -> np.ndarray:
        """|f(x_i) - y_i| for every training sample, of shape (N,).

        Parameters
        ----------
        net : Network
        """
        return np.linalg.norm(self.train_outputs(net) - self.Y_train, axis=1)

    def certified_norms(self, net: Network, delta: float) -> list[NormEstimate]:
        """The certified norms of the network's layers with this delta (opnorms), computed
        once per network and delta when the seed is an int; a Generator or None draws anew
        on every call.

        Parameters
        ----------
        net : Network
        delta : float
            The failure probability of the certificates, all layers together.
        """
        if not self.fixed_seed:
            return self._compute_norms(net, delta)
        key = (net, delta)
        if key not in self._norms:
            self._norms[key] = self._compute_norms(net, delta)
        return self._norms[key]

    def _compute_norms(self, net: Network, delta: float) -> list[NormEstimate]:
        seed = self.draw_seed()
        return _opnorms(net.weights, delta=delta, seed=seed, threads=self.threads)

    def __repr__(self) -> str:
        n, m0 = self.X_train.shape
        return (
            f"TrainingSet(N={n}, M0={m0}, Q={self.Y_train.shape[1]}, delta={self.delta:g}, "
            f"seed={self.seed!r}, threads={self.threads})"
        )
