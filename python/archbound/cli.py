"""The `archbound` command line."""

from __future__ import annotations

import sys
import time

import click
import numpy as np


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="archbound")
def main():
    """Architecture-independent generalization bounds for deep ReLU networks."""


@main.command()
@click.option("--n-train", default=50, show_default=True, help="Training samples (N <= rank = 61).")
@click.option("--seed", default=0, show_default=True)
def demo(n_train, seed):
    """Build readout_first on scikit-learn's digits; show zero loss and architecture independence."""
    from sklearn.datasets import load_digits

    import archbound

    digits = load_digits()
    X = digits.data / 16.0
    Y = archbound.one_hot(digits.target, 10)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    n = min(n_train, X.shape[1])
    train, test = order[:n], order[n:]
    click.echo(f"digits: N = {n} training samples, M0 = {X.shape[1]}, {len(test)} test samples")
    outputs = []
    for widths in ([10], [64, 64], [2048, 10, 300], [10] * 16):
        start = time.perf_counter()
        net = archbound.construct_minimizer(X[train], Y[train], widths)
        out = net(X[test])
        outputs.append(out)
        acc = np.mean(out.argmax(1) == digits.target[test])
        click.echo(
            f"  widths {str(widths):<22} train loss {net.construction.train_loss:.2e}  "
            f"test accuracy {acc:.3f}  ({time.perf_counter() - start:.2f} s)"
        )
    spread = max(np.abs(o - outputs[0]).max() for o in outputs)
    click.echo(f"largest difference between architectures on the test set: {spread:.1e}")
    sys.exit(0)
