"""Risk certificates beside the paper's bound: ``archbound experiment --certify``.

One ReLU network of widths M0-[600, 600]-Q is trained on the whole training set, in two
phases: the mean of a data-dependent prior on a random half (cross-entropy, SGD), then a
Gaussian posterior around it on all of it (:func:`archbound.pacbayes.fit_posterior`,
objective "quad"). For that network, one table sets side by side:

- its test error (the mean network, the deterministic predictor), and the stochastic
  network's test error (a Monte-Carlo estimate);
- the held-out certificate of the mean network on the test set (:func:`heldout_bound`);
- the PAC-Bayes-kl certificate of the stochastic network on the half the prior never saw
  (:func:`pacbayes_certificate`);
- the paper's lipschitz sample bound, on the squared loss of one-hot targets (its truth is
  the test cost C_test);
- the classic bounds of :func:`archbound.capacity_bounds` on the 0-1 error.

results.json gets ``certificates`` (``#/$defs/certificates`` of results.schema.json), and
the figure ``certificates.png`` shows every bound and its truth on one log axis.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from archbound._json import finite_or_none
from archbound.experiment.records import Record

#: The trained architecture's hidden widths.
CERTIFY_HIDDEN = [600, 600]


@dataclass(frozen=True)
class CertifySettings:
    """The knobs of the certification run (defaults: about PBB's MNIST set-up, fewer epochs)."""

    hidden: tuple[int, ...] = tuple(CERTIFY_HIDDEN)
    prior_epochs: int = 5
    epochs: int = 1
    prior_sigma: float = 0.03
    prior_fraction: float = 0.5
    learning_rate: float = 0.005
    prior_learning_rate: float = 0.01
    momentum: float = 0.95
    objective: str = "quad"
    draws: int = 5_000
    block: int = 64
    test_draws: int = 1_000
    delta: float = 0.05
    delta_mc: float = 0.01
    delta_test: float = 0.01
    heldout_delta: float = 0.05
    capacity_delta: float = 0.05
    #: The margin quantile of the classic margin bounds: above the training error, so that
    #: the margin gamma is positive.
    margin_quantile: float = 0.25
    max_bound_test: int = 2_000
    seed: int = 0

    @classmethod
    def quick(cls) -> CertifySettings:
        """The smoke test of ``--quick``: one epoch each, 500 draws."""
        return cls(prior_epochs=1, epochs=1, draws=500, test_draws=200, max_bound_test=200)


@dataclass
class CertificateRow(Record):
    """One line of the comparison: a number and what it certifies.

    Attributes
    ----------
    name : str
    predictor : str
        "mean network" (deterministic) or "stochastic network".
    quantity : str
        What is bounded: "0-1 error" or "squared loss".
    value : float or None
        The bound (or, for rows of kind "truth", the measured value).
    truth : float or None
        The measured quantity it bounds, on the test set.
    kind : str
        "certificate" (holds with probability >= 1 - delta), "bound" (the paper's and the
        classic ones), or "truth".
    """

    name: str
    predictor: str
    quantity: str
    value: float | None
    truth: float | None
    kind: str


@dataclass
class CertificatesSection(Record):
    """results.json's ``certificates``: the run's set-up, timings and the comparison."""

    dataset: str
    widths: list[int]
    n_train: int
    n_prior: int
    n_bound: int
    n_test: int
    settings: dict[str, Any]
    test_error: float
    stochastic_test_error: float
    heldout: dict[str, Any]
    pacbayes: dict[str, Any]
    rows: list[CertificateRow]
    seconds: dict[str, float] = field(default_factory=dict)


def run_certificates(
    dataset, *, settings: CertifySettings | None = None, threads: int | None = None, progress=None
) -> CertificatesSection:
    """Train the network, fit its posterior and compute every certificate and bound.

    Parameters
    ----------
    dataset : str or path
        As :func:`archbound.data.load_dataset` takes it ("fashion-mnist", "digits", a
        directory).
    settings : CertifySettings, optional
    threads : int, optional
        Threads for torch and the core.
    progress : callable, optional
        Called with a description of each step.

    Returns
    -------
    CertificatesSection
    """
    from archbound import capacity_bounds, heldout_bound
    from archbound.bounds import sample_bounds
    from archbound.construct import one_hot
    from archbound.data import load_dataset
    from archbound.pacbayes import (
        fit_posterior,
        initial_network,
        pacbayes_certificate,
        stochastic_errors,
    )

    settings = settings or CertifySettings()
    say = progress or (lambda text: None)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    X_train, y_train, X_test, y_test = load_dataset(dataset, seed=settings.seed)
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    widths = [X_train.shape[1], *settings.hidden, n_classes]
    seconds["load"] = time.perf_counter() - start

    say("training the prior and the posterior")
    posterior = fit_posterior(
        initial_network(widths, settings.seed),
        X_train,
        y_train,
        prior="data",
        prior_fraction=settings.prior_fraction,
        prior_sigma=settings.prior_sigma,
        objective=settings.objective,
        epochs=settings.epochs,
        prior_epochs=settings.prior_epochs,
        learning_rate=settings.learning_rate,
        prior_learning_rate=settings.prior_learning_rate,
        momentum=settings.momentum,
        seed=settings.seed,
        threads=threads,
    )
    info = posterior.fit_info
    seconds["prior_training"] = info.prior_seconds
    seconds["posterior_training"] = info.posterior_seconds
    network = posterior.mean

    say("certificates")
    start = time.perf_counter()
    predictions = np.argmax(network.forward(X_test, threads=threads), axis=1)
    test_error = float(np.mean(predictions != y_test))
    heldout = heldout_bound(predictions, None, y_test, delta=settings.heldout_delta)
    seconds["heldout"] = time.perf_counter() - start

    X_bound, y_bound = posterior.bound_set(X_train, y_train)
    block = min(settings.block, X_bound.shape[0])
    pacbayes = pacbayes_certificate(
        posterior,
        X_bound,
        y_bound,
        delta=settings.delta,
        delta_mc=settings.delta_mc,
        draws=settings.draws,
        block=block,
        X_test=X_test,
        y_test=y_test,
        delta_test=settings.delta_test,
        seed=settings.seed,
        threads=threads,
    )
    seconds["monte_carlo"] = pacbayes.seconds["monte_carlo"]
    start = time.perf_counter()
    test_block = min(settings.block, X_test.shape[0])
    stochastic_test = float(
        np.mean(
            stochastic_errors(
                posterior,
                X_test,
                y_test,
                draws=settings.test_draws,
                block=test_block,
                seed=settings.seed + 1,
                threads=threads,
            )
            / test_block
        )
    )
    seconds["stochastic_test_error"] = time.perf_counter() - start

    say("the paper's bound and the classic bounds")
    start = time.perf_counter()
    rng = np.random.default_rng(settings.seed)
    keep = np.sort(rng.permutation(X_test.shape[0])[: settings.max_bound_test])
    lipschitz = sample_bounds(
        network,
        X_train,
        one_hot(y_train, n_classes),
        X_test[keep],
        one_hot(y_test[keep], n_classes),
        variant="lipschitz",
        seed=settings.seed,
        threads=threads,
    )
    seconds["lipschitz"] = time.perf_counter() - start
    start = time.perf_counter()
    capacity = capacity_bounds(
        network,
        X_train,
        y_train,
        delta=settings.capacity_delta,
        margin_quantile=settings.margin_quantile,
        seed=settings.seed,
        threads=threads,
    )
    seconds["capacity"] = time.perf_counter() - start

    stochastic = "stochastic network"
    mean = "mean network"
    rows = [
        CertificateRow("test error", mean, "0-1 error", test_error, test_error, "truth"),
        CertificateRow(
            "stochastic test error",
            stochastic,
            "0-1 error",
            stochastic_test,
            stochastic_test,
            "truth",
        ),
        CertificateRow(
            "held-out (binomial tail)", mean, "0-1 error", heldout.bound, test_error, "certificate"
        ),
        CertificateRow(
            "PAC-Bayes-kl", stochastic, "0-1 error", pacbayes.bound, stochastic_test, "certificate"
        ),
        CertificateRow(
            "lipschitz (paper)",
            mean,
            "squared loss",
            lipschitz.test_cost_bound,
            lipschitz.test_cost,
            "bound",
        ),
    ]
    for name, attribute in (
        ("VC dimension", "vc_bound"),
        ("Bartlett et al. 2017", "bartlett_bound"),
        ("Neyshabur et al. 2018", "neyshabur_bound"),
    ):
        value = finite_or_none(getattr(capacity, attribute, None))
        rows.append(CertificateRow(name, mean, "0-1 error", value, test_error, "bound"))
    return CertificatesSection(
        dataset=str(dataset),
        widths=widths,
        n_train=int(X_train.shape[0]),
        n_prior=info.n_prior,
        n_bound=info.n_bound,
        n_test=int(X_test.shape[0]),
        settings={
            k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.__dict__.items()
        },
        test_error=test_error,
        stochastic_test_error=stochastic_test,
        heldout=heldout.to_dict(),
        pacbayes=pacbayes.to_dict(),
        rows=rows,
        seconds=seconds,
    )


def table(section: CertificatesSection) -> str:
    """The terminal table of the comparison."""
    from archbound.cli.output import format_table

    lines = [
        f"certificates: {section.dataset}, widths {section.widths}; prior trained on "
        f"{section.n_prior} rows, PAC-Bayes bound on the other {section.n_bound}, "
        f"held-out on {section.n_test} test points"
    ]
    body = []
    for row in section.rows:
        value = "n/a" if row.value is None else f"{row.value:.4g}"
        truth = "" if row.truth is None or row.kind == "truth" else f"{row.truth:.4g}"
        ratio = (
            f"{row.value / row.truth:.3g}"
            if row.kind != "truth" and row.value and row.truth
            else ""
        )
        body.append([row.name, row.predictor, row.quantity, value, truth, ratio, row.kind])
    lines.append(
        format_table(["", "predictor", "bounds", "value", "truth", "ratio", "kind"], body)
    )
    pb = section.pacbayes
    ledger = ", ".join(f"{k} {v:g}" for k, v in pb["ledger"]["parts"].items())
    lines.append(
        f"PAC-Bayes: KL {pb['kl']:.5g}, n {pb['n']}, {pb['draws']} draws of {pb['block']} "
        f"points: e_M {pb['mc_error']:.4f} -> {pb['mc_upper']:.4f} (MC) -> {pb['bound']:.4f}"
    )
    lines.append(f"delta ledger: {ledger} (sum {pb['ledger']['total']:g})")
    lines.append("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in section.seconds.items()))
    return "\n".join(lines)


def figure(section: CertificatesSection, out_dir: str | Path) -> Path:
    """certificates.png: every bound and its truth on one log axis, the 0-1 line marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in section.rows if r.kind != "truth" and r.value is not None]
    values = [float(r.value or 0.0) for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.6))
    positions = np.arange(len(rows))[::-1]
    colors = {"certificate": "tab:green", "bound": "tab:red"}
    for y, row, value in zip(positions, rows, values):
        ax.scatter(value, y, marker="o", color=colors[row.kind], zorder=3)
        if row.truth:
            ax.scatter(row.truth, y, marker="|", s=200, color="black", zorder=3)
            ax.plot([row.truth, value], [y, y], color=colors[row.kind], lw=1)
    ax.axvline(1.0, color="gray", ls="--", lw=1)
    ax.text(
        1.0,
        positions.max() + 0.6,
        " 0-1 line (vacuous for error)",
        color="gray",
        va="center",
        fontsize=8,
    )
    ax.set_xscale("log")
    ax.set_yticks(positions)
    ax.set_yticklabels([f"{r.name} ({r.predictor}, {r.quantity})" for r in rows], fontsize=8)
    ax.set_xlabel("bound (dot) and its truth on the test set (bar)")
    ax.set_title(f"{section.dataset}, widths {section.widths}", fontsize=9)
    ax.set_ylim(-0.8, positions.max() + 1.2)
    fig.tight_layout()
    path = Path(out_dir) / "certificates.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


__all__ = [
    "CertificateRow",
    "CertificatesSection",
    "CertifySettings",
    "figure",
    "run_certificates",
    "table",
]
