"""The feature spaces the geometry kernel runs on, and the coordinates map of a training set.

A :class:`FeatureSpace` is the operator the geometry kernel runs on (a feature map and the
training set's features in it); :class:`~archbound.bounds.TrainingSet` computes them once
per training set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archbound._backend import matmul
from archbound.linalg import _pinv_info
from archbound.opnorm import NormEstimate, _opnorm


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


def coordinates_map(
    X_train: np.ndarray, Y_train: np.ndarray, threads: int
) -> CoordinatesMap | None:
    """The coordinates map of a validated training set, or None when rank(X_0) < N."""
    n = X_train.shape[0]
    info = _pinv_info(X_train, -1.0, threads, report_estimates=True)
    if info.rank < n:
        return None
    P = info.pinv
    identity_gap = matmul(X_train, P)
    identity_gap[np.diag_indices(n)] -= 1.0
    return CoordinatesMap(
        pinv=P,
        labels_norm=_opnorm(Y_train, "exact", 1e-6, 1e-2, 0, 0, threads),
        exact_readout=matmul(Y_train.T, P.T),
        identity_gap=np.linalg.norm(identity_gap, axis=1),
        train_norms=np.sqrt(np.einsum("ij,ij->i", X_train, X_train)),
    )
