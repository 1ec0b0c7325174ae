"""The Gaussian stochastic network Q = N(mu, diag sigma^2) and its prior (docs/certificates.md
§3.1)."""

from __future__ import annotations

import math
import numbers
import os
import zipfile
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from archbound._validation import check_array, check_scalar
from archbound.network import Network

_EPS = float(np.finfo(np.float64).eps)


def _arrays(values, name: str, ndim: int) -> tuple[np.ndarray, ...]:
    if isinstance(values, np.ndarray) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a list of {ndim}-D arrays, one per layer")
    out = []
    for index, value in enumerate(values):
        array = check_array(value, f"{name}[{index}]", ndim=ndim, copy=True)
        array.flags.writeable = False
        out.append(array)
    return tuple(out)


def gaussian_kl(mean, sigma, prior_mean, prior_sigma) -> float:
    """KL(N(mean, diag sigma^2) || N(prior_mean, prior_sigma^2 I)) in float64, rounded up.

    KL = sum_k [ ln(s0 / s_k) + (s_k^2 + (mu_k - mu0_k)^2) / (2 s0^2) - 1/2 ]. The sum is
    accumulated as (r^2 - 1 - 2 ln r) / 2 + d^2 / 2, with r = s_k / s0 and d = (mu_k - mu0_k)
    / s0, both >= 0 term by term, and then raised by 64 eps times itself plus 64 eps per term,
    which covers the rounding of the terms and of the sum.

    Parameters
    ----------
    mean, sigma, prior_mean : sequence of array_like
        Flattened or not, matching shapes (one entry per parameter group).
    prior_sigma : float
        s0 > 0, one scale for every parameter.

    Returns
    -------
    float
    """
    total, count = 0.0, 0
    log_s0 = math.log(prior_sigma)
    for mu, s, mu0 in zip(mean, sigma, prior_mean):
        mu = np.asarray(mu, dtype=np.float64).ravel()
        s = np.asarray(s, dtype=np.float64).ravel()
        mu0 = np.asarray(mu0, dtype=np.float64).ravel()
        r = s / prior_sigma
        log_r = np.log(s) - log_s0
        spread = np.maximum(0.5 * (r * r - 1.0) - log_r, 0.0)
        shift = 0.5 * np.square((mu - mu0) / prior_sigma)
        total += float(np.sum(spread)) + float(np.sum(shift))
        count += mu.size
    return total * (1 + 64 * _EPS) + 64 * _EPS * count


class GaussianPosterior:
    """A stochastic ReLU network: every weight and bias is independent and Gaussian.

    Q = N(mu, diag sigma^2) over the parameters of a :class:`archbound.Network`, and the
    prior P = N(mu_0, s_0^2 I) that its PAC-Bayes certificate is relative to.

    Parameters
    ----------
    mean : Network
        mu, the means of the weights and biases (also the deterministic "mean network").
    sigma_weights, sigma_biases : sequence of array_like
        sigma > 0, shaped as the network's weights and biases.
    prior_mean : Network
        mu_0, with the architecture of ``mean``.
    prior_sigma : float
        s_0 > 0.
    prior_indices : array_like of int, optional
        The rows of the training set that chose the prior (a data-dependent prior); the
        certificate must be computed on the other rows only (:meth:`bound_set`).
    n_train : int, optional
        The rows of the training set that ``prior_indices`` refers to.
    """

    def __init__(
        self,
        mean: Network,
        sigma_weights,
        sigma_biases,
        prior_mean: Network,
        prior_sigma: float,
        *,
        prior_indices=None,
        n_train: int | None = None,
    ):
        if not isinstance(mean, Network) or not isinstance(prior_mean, Network):
            raise TypeError("mean and prior_mean must be archbound.Network objects")
        if mean.widths != prior_mean.widths:
            raise ValueError(
                f"prior_mean has widths {prior_mean.widths}, but mean has {mean.widths}"
            )
        self.mean = mean
        self.prior_mean = prior_mean
        #: How :func:`archbound.pacbayes.fit_posterior` trained it (not saved to files).
        self.fit_info: Any = None
        self.sigma_weights = _arrays(sigma_weights, "sigma_weights", 2)
        self.sigma_biases = _arrays(sigma_biases, "sigma_biases", 1)
        for name, sigmas, means in (
            ("sigma_weights", self.sigma_weights, mean.weights),
            ("sigma_biases", self.sigma_biases, mean.biases),
        ):
            if len(sigmas) != len(means) or any(s.shape != m.shape for s, m in zip(sigmas, means)):
                raise ValueError(f"{name} must have the shapes of the network's parameters")
            if any((s <= 0).any() for s in sigmas):
                raise ValueError(f"{name} must be > 0")
        self.prior_sigma = check_scalar(
            prior_sigma, "prior_sigma", numbers.Real, min_val=0, include_boundaries="neither"
        )
        if prior_indices is None:
            self.prior_indices = None
            self.n_train = None if n_train is None else int(n_train)
        else:
            if n_train is None:
                raise ValueError("n_train is required with prior_indices")
            self.n_train = check_scalar(n_train, "n_train", numbers.Integral, min_val=1)
            indices = np.asarray(prior_indices, dtype=np.int64).ravel()
            if indices.size and (indices.min() < 0 or indices.max() >= self.n_train):
                raise ValueError(f"prior_indices must lie in [0, n_train = {self.n_train})")
            indices = np.unique(indices)
            indices.flags.writeable = False
            self.prior_indices = indices

    def __repr__(self) -> str:
        prior = "data" if self.prior_indices is not None else "given"
        return (
            f"GaussianPosterior(widths={self.mean.widths}, prior_sigma={self.prior_sigma:g}, "
            f"prior={prior!r})"
        )

    @property
    def n_parameters(self) -> int:
        """The number of weights and biases."""
        return int(sum(w.size + b.size for w, b in zip(self.mean.weights, self.mean.biases)))

    def kl(self) -> float:
        """KL(Q || P) in float64 from the current parameters, rounded up (:func:`gaussian_kl`)."""
        return gaussian_kl(
            [*self.mean.weights, *self.mean.biases],
            [*self.sigma_weights, *self.sigma_biases],
            [*self.prior_mean.weights, *self.prior_mean.biases],
            self.prior_sigma,
        )

    def bound_indices(self) -> np.ndarray | None:
        """The rows of the training set that the prior never saw (None: not recorded)."""
        if self.n_train is None:
            return None
        if self.prior_indices is None:
            return np.arange(self.n_train)
        keep = np.ones(self.n_train, dtype=bool)
        keep[self.prior_indices] = False
        return np.flatnonzero(keep)

    def bound_set(self, X, y):
        """The rows of the training set (X, y) that the certificate may use: those the prior
        never saw. X must be the training set of :func:`fit_posterior` (n_train rows)."""
        rows = self.bound_indices()
        if rows is None:
            return X, y
        if len(X) != self.n_train or len(y) != self.n_train:
            raise ValueError(
                f"X and y must be the training set of {self.n_train} rows, got {len(X)} "
                f"and {len(y)}"
            )
        return np.asarray(X)[rows], np.asarray(y)[rows]

    # --- files -----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the posterior to a .npz file (no pickle), as :meth:`Network.save` does."""
        arrays: dict[str, Any] = {
            "n_layers": np.array(len(self.mean.weights)),
            "prior_sigma": np.array(self.prior_sigma),
        }
        for i in range(len(self.mean.weights)):
            arrays[f"weight_{i}"] = self.mean.weights[i]
            arrays[f"bias_{i}"] = self.mean.biases[i]
            arrays[f"sigma_weight_{i}"] = self.sigma_weights[i]
            arrays[f"sigma_bias_{i}"] = self.sigma_biases[i]
            arrays[f"prior_weight_{i}"] = self.prior_mean.weights[i]
            arrays[f"prior_bias_{i}"] = self.prior_mean.biases[i]
        if self.n_train is not None:
            arrays["n_train"] = np.array(self.n_train, dtype=np.int64)
        if self.prior_indices is not None:
            arrays["prior_indices"] = self.prior_indices
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> GaussianPosterior:
        """Read a posterior written by :meth:`save`; pickled content is refused."""
        path = os.fspath(path)
        try:
            with open(path, "rb") as stream, np.load(stream, allow_pickle=False) as data:
                n = int(data["n_layers"])

                def layers(kind: str) -> list[np.ndarray]:
                    return [data[f"{kind}_{i}"] for i in range(n)]

                mean = Network(layers("weight"), layers("bias"))
                prior = Network(layers("prior_weight"), layers("prior_bias"))
                sigma_w, sigma_b = layers("sigma_weight"), layers("sigma_bias")
                prior_sigma = float(data["prior_sigma"])
                n_train = int(data["n_train"]) if "n_train" in data else None
                indices = data.get("prior_indices")
        except KeyError as exc:
            raise ValueError(
                f"path {path} is not a posterior saved by GaussianPosterior.save: missing {exc}"
            ) from None
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise ValueError(f"path {path} is not a readable .npz archive ({exc})") from None
        return cls(
            mean, sigma_w, sigma_b, prior, prior_sigma, prior_indices=indices, n_train=n_train
        )


__all__ = ["GaussianPosterior", "gaussian_kl"]
