"""What the bounds of one training set share: feature spaces and a cache with named methods.

A :class:`FeatureSpace` is the operator the geometry kernel runs on (a feature map and the
training set's features in it); :class:`TrainingSetCache` computes, once and on first use,
what depends on the training set alone (the projected basis, the coordinates map, the
feature spaces) or on one network of it (its training outputs, its certified norms), so that
the bounds of many networks of one training set share them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from archbound._backend import matmul
from archbound.bounds._checks import BoundInputs
from archbound.linalg import _pinv_info
from archbound.network import Network
from archbound.opnorm import NormEstimate, _opnorm, _opnorms


@dataclass(frozen=True, eq=False)
class FeatureSpace:
    """A feature map x -> x @ transform and the training set's features in it.

    Attributes
    ----------
    name : str
        The variant that defines it (``"lipschitz"``: the inputs themselves).
    transform : ndarray of shape (M0, d) or None
        None: the features are the inputs.
    train_features : ndarray of shape (N, d)
        G, the training set's features (C-contiguous).
    """

    name: str
    transform: np.ndarray | None
    train_features: np.ndarray

    def features(self, X: np.ndarray) -> np.ndarray:
        """F = X @ transform (X itself without a transform), for X of shape (n, M0)."""
        return X if self.transform is None else matmul(X, self.transform)


@dataclass(frozen=True)
class CoordinatesMap:
    """What ``"coordinates"`` needs from a training set of full row rank (rank = N).

    Attributes
    ----------
    pinv : ndarray of shape (M0, N)
        P = pinv(X_train), so that c(x) = X_0^+ x = x @ P.
    labels_norm : NormEstimate
        The certified ||Y_0|| (exact SVD of the N x Q labels).
    exact_readout : ndarray of shape (Q, M0)
        Y_0 X_0^+ = Y_train.T @ P.T.
    identity_gap : ndarray of shape (N,)
        |X_train P - I| by row: the rounding of c(x_i) = e_i.
    train_norms : ndarray of shape (N,)
        |x_i|.
    """

    pinv: np.ndarray
    labels_norm: NormEstimate
    exact_readout: np.ndarray
    identity_gap: np.ndarray
    train_norms: np.ndarray


class TrainingSetCache:
    """What the bounds of one training set share, each computed once, on first use.

    Parameters
    ----------
    inputs : BoundInputs
        The validated training set (and threads, delta and seed) it serves.
    """

    def __init__(self, inputs: BoundInputs):
        self.inputs = inputs
        self._basis: np.ndarray | None = None
        self._coordinates: CoordinatesMap | None = None
        self._coordinates_done = False
        self._spaces: dict[str, FeatureSpace] = {}
        self._linearized: dict[Network, FeatureSpace] = {}
        self._outputs: dict[Network, np.ndarray] = {}
        self._norms: dict[tuple[Network, float], list[NormEstimate]] = {}

    # -------------------------------------------------------------- training set only
    def basis(self) -> np.ndarray:
        """U (M0, r): the thin QR factor of X_0, an orthonormal basis of span(X_train)."""
        if self._basis is None:
            # SciPy's LAPACK runs on the BLAS the core uses (one thread pool, not two).
            Q, _ = scipy.linalg.qr(self.inputs.X_train.T, mode="economic", check_finite=False)
            self._basis = Q
        return self._basis

    def coordinates_map(self) -> CoordinatesMap | None:
        """The :class:`CoordinatesMap` of the training set, or None when rank(X_0) < N."""
        if not self._coordinates_done:
            self._coordinates = _coordinates_map(self.inputs)
            self._coordinates_done = True
        return self._coordinates

    def input_space(self) -> FeatureSpace:
        """The inputs themselves (``"lipschitz"``)."""
        if "lipschitz" not in self._spaces:
            X = self.inputs.X_train
            self._spaces["lipschitz"] = FeatureSpace("lipschitz", None, np.ascontiguousarray(X))
        return self._spaces["lipschitz"]

    def projected_space(self) -> FeatureSpace:
        """U^T x, the coordinates in :meth:`basis` (``"projected"``)."""
        if "projected" not in self._spaces:
            U = self.basis()
            G = np.ascontiguousarray(matmul(self.inputs.X_train, U))
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
            n = self.inputs.X_train.shape[0]
            self._spaces["coordinates"] = FeatureSpace("coordinates", coordinates.pinv, np.eye(n))
        return self._spaces["coordinates"]

    # ------------------------------------------------------------- one network of it
    def linearized_space(self, net: Network, readout: np.ndarray) -> FeatureSpace:
        """A x, the first layer of a readout_first network (``"linearized"``)."""
        if net not in self._linearized:
            transform = np.ascontiguousarray(readout.T)
            G = np.ascontiguousarray(matmul(self.inputs.X_train, transform))
            self._linearized[net] = FeatureSpace("linearized", transform, G)
        return self._linearized[net]

    def train_outputs(self, net: Network) -> np.ndarray:
        """f(X_train), of shape (N, Q)."""
        if net not in self._outputs:
            self._outputs[net] = net._forward(self.inputs.X_train, self.inputs.threads)
        return self._outputs[net]

    def residuals(self, net: Network) -> np.ndarray:
        """|f(x_i) - y_i| for every training sample, of shape (N,)."""
        return np.linalg.norm(self.train_outputs(net) - self.inputs.Y_train, axis=1)

    def certified_norms(self, net: Network, delta: float) -> list[NormEstimate]:
        """The certified norms of the network's layers with this delta (opnorms), computed
        once per network and delta when the seed is an int; a Generator or None draws anew
        on every call."""
        if not self.inputs.fixed_seed:
            return self._compute_norms(net, delta)
        key = (net, delta)
        if key not in self._norms:
            self._norms[key] = self._compute_norms(net, delta)
        return self._norms[key]

    def _compute_norms(self, net: Network, delta: float) -> list[NormEstimate]:
        seed = self.inputs.draw_seed()
        return _opnorms(net.weights, delta=delta, seed=seed, threads=self.inputs.threads)


def _coordinates_map(inputs: BoundInputs) -> CoordinatesMap | None:
    """The coordinates map of the training set, or None when rank(X_0) < N."""
    X_train, Y_train = inputs.X_train, inputs.Y_train
    n = X_train.shape[0]
    info = _pinv_info(X_train, -1.0, inputs.threads, report_estimates=True)
    if info.rank < n:
        return None
    P = info.pinv
    identity_gap = matmul(X_train, P)
    identity_gap[np.diag_indices(n)] -= 1.0
    return CoordinatesMap(
        pinv=P,
        labels_norm=_opnorm(Y_train, "exact", 1e-6, 1e-2, 0, 0, 0),
        exact_readout=matmul(Y_train.T, P.T),
        identity_gap=np.linalg.norm(identity_gap, axis=1),
        train_norms=np.sqrt(np.einsum("ij,ij->i", X_train, X_train)),
    )
