"""Training a Gaussian posterior with PyTorch (docs/certificates.md §3.2), the
``archbound[torch]`` extra.

The training objective is kept apart from the certificate: whatever it optimises, the
certificate is recomputed afterwards from the final parameters (:func:`pacbayes_certificate`).
The objectives are those of Perez-Ortiz et al. (JMLR 2021), on the bounded cross-entropy
l(x, y) = min(-ln p_y(x), ln(1/p_min)) / ln(1/p_min) in [0, 1]; with
kappa = (KL + ln(2 sqrt(n) / delta)) / n:

- ``"quad"``:    (sqrt(l + kappa / 2) + sqrt(kappa / 2))^2;
- ``"classic"``: l + sqrt(kappa / 2);
- ``"lambda"``:  l / (1 - lambda/2) + kappa / (lambda (1 - lambda/2)), lambda in (0, 1) learnt.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from archbound._validation import (
    check_array,
    check_labels,
    check_probability,
    check_scalar,
    check_seed,
)
from archbound.network import Network
from archbound.pacbayes.posterior import GaussianPosterior
from archbound.readers import as_network, import_torch


def _quad(loss, kappa, lam):
    return (loss + kappa / 2).sqrt().add(kappa.div(2).sqrt()).square()


def _classic(loss, kappa, lam):
    return loss + (kappa / 2).sqrt()


def _lambda(loss, kappa, lam):
    return loss / (1 - lam / 2) + kappa / (lam * (1 - lam / 2))


#: The training objectives by name: (bounded loss, kappa, lambda) -> tensor.
OBJECTIVES: dict[str, Callable] = {"quad": _quad, "classic": _classic, "lambda": _lambda}
#: Where the prior's mean comes from.
PRIORS = ("init", "data")


@dataclass(frozen=True)
class FitInfo:
    """How :func:`fit_posterior` trained a posterior.

    Attributes
    ----------
    prior, objective : str
    n_prior, n_bound : int
        The rows that trained the prior's mean, and those left for the bound.
    prior_epochs, epochs : int
    prior_seconds, posterior_seconds : float
    prior_train_error : float or None
        The prior mean's error on its own split (data prior only).
    final_objective : float
        The mean objective over the last epoch (float32, for information only).
    """

    prior: str
    objective: str
    n_prior: int
    n_bound: int
    prior_epochs: int
    epochs: int
    prior_seconds: float
    posterior_seconds: float
    prior_train_error: float | None
    final_objective: float


def initial_network(widths: list[int], seed: int = 0) -> Network:
    """A seeded network of these widths, initialised as torch.nn.Linear is by default:
    weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)). It depends on no data, so it
    may start the training of a data-dependent prior."""
    rng = np.random.default_rng(seed)
    weights, biases = [], []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        scale = 1.0 / np.sqrt(fan_in)
        weights.append(rng.uniform(-scale, scale, (fan_out, fan_in)))
        biases.append(rng.uniform(-scale, scale, fan_out))
    return Network(weights, biases)


def _layers_of(torch, network: Network):
    return [
        torch.tensor(np.asarray(a, dtype=np.float32))
        for pair in zip(network.weights, network.biases)
        for a in pair
    ]


def _forward(params, h):
    layers = len(params) // 2
    for index in range(layers):
        h = h @ params[2 * index].T + params[2 * index + 1]
        if index + 1 < layers:
            h = h.relu()
    return h


def _batches(torch, n: int, batch_size: int, generator):
    order = torch.randperm(n, generator=generator)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _train_prior(torch, params, X, y, *, epochs, batch_size, learning_rate, momentum, generator):
    """Plain cross-entropy training of the prior's mean on its split (SGD with momentum)."""
    params = [p.clone().requires_grad_(True) for p in params]
    optimizer = torch.optim.SGD(params, lr=learning_rate, momentum=momentum)
    for _ in range(epochs):
        for rows in _batches(torch, X.shape[0], batch_size, generator):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(_forward(params, X[rows]), y[rows])
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        error = float((_forward(params, X).argmax(1) != y).float().mean())
    return [p.detach() for p in params], error


def fit_posterior(
    network_or_module,
    X,
    y,
    *,
    prior: str = "data",
    prior_fraction: float = 0.5,
    prior_sigma: float = 0.03,
    objective: str = "quad",
    epochs: int = 3,
    prior_epochs: int = 3,
    batch_size: int = 250,
    learning_rate: float = 0.005,
    prior_learning_rate: float = 0.01,
    momentum: float = 0.95,
    p_min: float = 1e-4,
    delta: float = 0.025,
    seed=0,
    threads: int | None = None,
) -> GaussianPosterior:
    """Train a Gaussian posterior Q = N(mu, diag sigma^2) over a ReLU network's parameters.

    Parameters
    ----------
    network_or_module : Network, torch module, or what :func:`~archbound.readers.as_network` reads
        The architecture, and the starting point: the prior's mean (``prior="init"``) or the
        start of its training (``prior="data"``). It must not depend on the bound set.
    X : array_like of shape (N, M0)
        The training set.
    y : array_like of shape (N,)
        Class labels in [0, Q).
    prior : {"data", "init"}, default "data"
        ``"data"``: the prior's mean is trained (cross-entropy, SGD) on a random
        ``prior_fraction`` of the rows, recorded in :attr:`GaussianPosterior.prior_indices`,
        and the certificate uses the other rows only. ``"init"``: the prior's mean is the
        given network, and every row is left for the bound.
    prior_fraction : float, default 0.5
    prior_sigma : float, default 0.03
        s_0, the prior's scale; also the posterior's initial sigma.
    objective : {"quad", "classic", "lambda"}, default "quad"
        See the module docstring; n is the size of the bound set.
    epochs, prior_epochs : int, default 3
        Passes over all N rows (posterior) and over the prior's rows.
    batch_size : int, default 250
    learning_rate, prior_learning_rate, momentum : float
        SGD with momentum, as Perez-Ortiz et al.
    p_min : float, default 1e-4
        The bounded cross-entropy's floor on probabilities.
    delta : float, default 0.025
        The delta inside the training objective (the certificate has its own).
    seed : int, default 0
        Seeds the split, the batches and the training noise.
    threads : int, optional
        torch's intra-op threads during the fit (restored after).

    Returns
    -------
    GaussianPosterior
        With ``fit_info`` (:class:`FitInfo`) set.

    References
    ----------
    Perez-Ortiz, Rivasplata, Shawe-Taylor & Szepesvari, "Tighter risk certificates for
    neural networks", JMLR 22 (2021); Dziugaite & Roy, UAI 2017; Blundell et al., "Weight
    uncertainty in neural networks", ICML 2015 (the reparametrisation).
    """
    torch = import_torch()
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {list(PRIORS)}, got {prior!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {list(OBJECTIVES)}, got {objective!r}")
    network = as_network(network_or_module)
    X = check_array(X, "X", dtypes=(np.float32, np.float64))
    labels = check_labels(y, "y", n_samples=X.shape[0], n_classes=network.output_dim)
    if X.shape[1] != network.input_dim:
        raise ValueError(f"X has {X.shape[1]} features, but the network takes {network.input_dim}")
    prior_fraction = check_probability(prior_fraction, "prior_fraction")
    prior_sigma = check_scalar(
        prior_sigma, "prior_sigma", numbers.Real, min_val=0, include_boundaries="neither"
    )
    epochs = check_scalar(epochs, "epochs", numbers.Integral, min_val=0)
    prior_epochs = check_scalar(prior_epochs, "prior_epochs", numbers.Integral, min_val=0)
    batch_size = check_scalar(batch_size, "batch_size", numbers.Integral, min_val=1)
    p_min = check_probability(p_min, "p_min")
    delta = check_probability(delta, "delta")
    seed = check_seed(seed)
    n_total = X.shape[0]

    rng = np.random.default_rng(seed)
    prior_rows = None
    n_bound = n_total
    if prior == "data":
        n_prior = round(prior_fraction * n_total)
        if not 1 <= n_prior < n_total - 7:
            raise ValueError(
                f"prior_fraction {prior_fraction:g} of {n_total} rows leaves no prior or "
                "fewer than 8 rows for the bound"
            )
        prior_rows = np.sort(rng.permutation(n_total)[:n_prior])
        n_bound = n_total - n_prior

    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        generator = torch.Generator().manual_seed(int(seed))
        Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        yt = torch.from_numpy(labels)
        start = time.perf_counter()
        prior_params = _layers_of(torch, network)
        prior_error = None
        if prior_rows is not None:
            rows = torch.from_numpy(prior_rows)
            prior_params, prior_error = _train_prior(
                torch,
                prior_params,
                Xt[rows],
                yt[rows],
                epochs=prior_epochs,
                batch_size=batch_size,
                learning_rate=prior_learning_rate,
                momentum=momentum,
                generator=generator,
            )
        prior_seconds = time.perf_counter() - start

        start = time.perf_counter()
        mu = [p.clone().requires_grad_(True) for p in prior_params]
        rho0 = math.log(math.expm1(prior_sigma))
        rho = [torch.full_like(p, rho0).requires_grad_(True) for p in prior_params]
        lam = torch.zeros((), requires_grad=True)  # lambda = sigmoid(lam), "lambda" only
        optimizer = torch.optim.SGD([*mu, *rho, lam], lr=learning_rate, momentum=momentum)
        confidence = math.log(2 * math.sqrt(n_bound) / delta)
        floor = math.log(p_min)
        rule = OBJECTIVES[objective]
        last = []
        for epoch in range(epochs):
            values = []
            for rows in _batches(torch, n_total, batch_size, generator):
                optimizer.zero_grad()
                sigmas = [torch.nn.functional.softplus(r) for r in rho]
                sampled = [
                    m + s * torch.randn(m.shape, generator=generator) for m, s in zip(mu, sigmas)
                ]
                logp = torch.log_softmax(_forward(sampled, Xt[rows]), dim=1).clamp(min=floor)
                loss = -logp.gather(1, yt[rows, None]).mean() / -floor
                kl = sum(
                    (
                        torch.log(prior_sigma / s)
                        + (s.square() + (m - m0).square()) / (2 * prior_sigma**2)
                        - 0.5
                    ).sum()
                    for m, s, m0 in zip(mu, sigmas, prior_params)
                )
                kappa = (kl + confidence) / n_bound
                value = rule(loss, kappa, torch.sigmoid(lam))
                value.backward()
                optimizer.step()
                values.append(float(value.detach()))
            if epoch == epochs - 1:
                last = values
        posterior_seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(previous_threads)

    def numpy64(tensors):
        return [t.detach().numpy().astype(np.float64) for t in tensors]

    mean = numpy64(mu)
    sigma = numpy64(torch.nn.functional.softplus(r) for r in rho)
    prior_arrays = numpy64(prior_params)
    posterior = GaussianPosterior(
        Network(mean[0::2], mean[1::2]),
        sigma[0::2],
        sigma[1::2],
        Network(prior_arrays[0::2], prior_arrays[1::2]),
        prior_sigma,
        prior_indices=prior_rows,
        n_train=n_total,
    )
    posterior.fit_info = FitInfo(
        prior=prior,
        objective=objective,
        n_prior=n_total - n_bound,
        n_bound=n_bound,
        prior_epochs=int(prior_epochs) if prior_rows is not None else 0,
        epochs=int(epochs),
        prior_seconds=prior_seconds,
        posterior_seconds=posterior_seconds,
        prior_train_error=prior_error,
        final_objective=float(np.mean(last)) if last else float("nan"),
    )
    return posterior


__all__ = ["OBJECTIVES", "PRIORS", "FitInfo", "fit_posterior", "initial_network"]
