"""``archbound certify``: the held-out certificate of a model file, and with ``--pacbayes``
the PAC-Bayes-kl certificate of a Gaussian posterior fitted around it (docs/certificates.md)."""

from __future__ import annotations

import json
import time

import click

from archbound._json import json_safe
from archbound.cli.options import (
    data_file_option,
    debug_option,
    model_option,
    seed_option,
    threads_option,
)
from archbound.cli.output import _key_value_text

_probability = click.FloatRange(0, 1, min_open=True, max_open=True)


def _labels_of(data, which: str):
    import numpy as np

    from archbound.data import DataError

    if data.labels is not None:
        return data.labels
    if data.Y is not None:
        return np.argmax(data.Y, axis=1)
    raise DataError(f"{data.path}: the {which} file needs class labels 'y' (or one-hot 'Y')")


def _heldout_rows(cert, what: str) -> list[tuple[str, str]]:
    return [
        (f"{what}: test error", f"{cert.errors} / {cert.m} = {cert.error_rate:.4%}"),
        (
            f"{what}: held-out certificate",
            f"<= {cert.bound:.4%} with probability >= 1 - {cert.delta:g} (binomial tail)",
        ),
        ("  kl form, Hoeffding", f"{cert.kl_bound:.4%}, {cert.hoeffding_bound:.4%}"),
    ]


@click.command()
@model_option
@data_file_option("--test", "test_path", ".npz with X and y: the held-out set.", required=True)
@click.option(
    "--delta",
    type=_probability,
    default=0.05,
    show_default=True,
    help="Failure probability of each certificate (the PAC-Bayes ledger splits it).",
)
@click.option(
    "--pacbayes",
    is_flag=True,
    help="Fit a Gaussian posterior around the model (needs torch and --train) and "
    "print its PAC-Bayes-kl certificate.",
)
@data_file_option("--train", "train_path", ".npz with X and y: the training set (--pacbayes).")
@click.option(
    "--prior",
    type=click.Choice(["data", "init"]),
    default="data",
    show_default=True,
    help="data: train the prior's mean on half of --train, from a seeded initialisation of "
    "the model's architecture; init: the model itself is the prior's mean (only sound for "
    "a model that never saw --train).",
)
@click.option("--epochs", type=click.IntRange(min=0), default=3, show_default=True)
@click.option("--prior-epochs", type=click.IntRange(min=0), default=3, show_default=True)
@click.option(
    "--prior-sigma", type=click.FloatRange(0, min_open=True), default=0.03, show_default=True
)
@click.option(
    "--draws",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Monte-Carlo weight draws.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the certificates as JSON.")
@seed_option
@threads_option
@debug_option
def certify(
    model,
    test_path,
    delta,
    pacbayes,
    train_path,
    prior,
    epochs,
    prior_epochs,
    prior_sigma,
    draws,
    as_json,
    seed,
    threads,
):
    """Risk certificates: with probability >= 1 - delta, the error on new data is at most p."""
    from archbound.certificates import heldout_bound
    from archbound.data import load_arrays
    from archbound.readers import as_network

    net = as_network(model)
    test = load_arrays(test_path)
    y_test = _labels_of(test, "test")
    heldout = heldout_bound(net, test.X, y_test, delta=delta, threads=threads)
    out: dict = {"model": str(model), "widths": net.widths, "heldout": heldout.to_dict()}
    rows = [("network", f"widths {net.widths}")] + _heldout_rows(heldout, "model")
    if pacbayes:
        if train_path is None:
            raise click.UsageError("--pacbayes needs --train")
        from archbound.pacbayes import fit_posterior, initial_network, pacbayes_certificate

        train = load_arrays(train_path)
        y_train = _labels_of(train, "training")
        start = time.perf_counter()
        # A data prior starts from a seeded initialisation of the model's architecture: the
        # model itself may have seen every row of --train, the bound set included.
        start_from = initial_network(net.widths, seed) if prior == "data" else net
        posterior = fit_posterior(
            start_from,
            train.X,
            y_train,
            prior=prior,
            epochs=epochs,
            prior_epochs=prior_epochs,
            prior_sigma=prior_sigma,
            seed=seed,
            threads=threads,
        )
        X_bound, y_bound = posterior.bound_set(train.X, y_train)
        cert = pacbayes_certificate(
            posterior,
            X_bound,
            y_bound,
            delta=delta,
            draws=draws,
            X_test=test.X,
            y_test=y_test,
            seed=seed,
            threads=threads,
        )
        info = posterior.fit_info
        total = time.perf_counter() - start
        out["pacbayes"] = cert.to_dict()
        out["fit"] = info.__dict__
        ledger = ", ".join(f"{k} {v:g}" for k, v in cert.ledger.parts.items())
        rows += [
            (
                "PAC-Bayes-kl certificate",
                f"<= {cert.bound:.4%} (stochastic network) with "
                f"probability >= 1 - {cert.ledger.total:g}",
            ),
            (
                "  bound set",
                f"n = {cert.n} points the prior never saw "
                f"(prior: {info.prior}, {info.n_prior} points)",
            ),
            ("  KL(Q || P)", f"{cert.kl:.6g}"),
            (
                "  Monte Carlo",
                f"{cert.draws} draws of {cert.block} points: "
                f"{cert.mc_error:.4%} -> {cert.mc_upper:.4%}",
            ),
            ("  delta ledger", f"{ledger} (sum {cert.ledger.total:g})"),
        ]
        if cert.mean_network is not None:
            rows += _heldout_rows(cert.mean_network, "mean network")
        rows.append(
            (
                "seconds",
                f"prior {info.prior_seconds:.1f}, posterior "
                f"{info.posterior_seconds:.1f}, Monte Carlo "
                f"{cert.seconds['monte_carlo']:.1f}, total {total:.1f}",
            )
        )
    if as_json:
        click.echo(json.dumps(json_safe(out), indent=1))
    else:
        click.echo(_key_value_text(rows))
