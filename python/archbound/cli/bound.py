"""``archbound bound``: certified per-sample bounds on a model's test error, in-process or on
a Dask cluster (:func:`archbound.distributed.client_for`)."""

from __future__ import annotations

import contextlib
import json

import click

from archbound._json import json_safe
from archbound.bounds import VARIANTS, variant_help
from archbound.cli.options import (
    data_file_option,
    debug_option,
    delta_option,
    model_option,
    seed_option,
    threads_option,
)
from archbound.cli.output import _format, _key_value_text


def _bound_table(report, net, sizes: tuple[int, int]) -> str:
    rows = [
        ("network", f"widths {net.widths} (L = {net.depth} hidden layers of {net.activation})"),
        ("data", f"N = {sizes[0]} training, m = {sizes[1]} test samples"),
        ("variant", f"{report.variant} (holds with probability >= 1 - {report.delta:g})"),
        ("Lipschitz constant", _format(report.lipschitz)),
    ]
    for index, norm in enumerate(report.norms[:12]):
        detail = (
            f"{norm.estimate:.6g} (certified <= {norm.upper:.6g}, {norm.method}, "
            f"{norm.iterations} iterations)"
        )
        rows.append((f"  ||W_{index + 1}||", detail))
    if len(report.norms) > 12:
        rows.append(("", f"... {len(report.norms) - 12} more layers"))
    summary = report.summary()
    mean_bound = f"{_format(summary.mean_bound)}  (ratio {_format(summary.mean_ratio, 'ratio')})"
    rows += [
        ("train cost C_train", _format(report.train_cost)),
        ("test cost C_test (true)", _format(report.test_cost)),
        (
            "test cost bound mean B^2",
            f"{_format(report.test_cost_bound)}  (ratio {_format(report.ratio, 'ratio')})",
        ),
        ("mean |f - y| (true)", _format(summary.mean_error)),
        ("mean bound B", mean_bound),
        ("max |f - y| (true)", _format(report.max_error)),
        ("uniform bound max B", _format(report.uniform_bound)),
        ("accuracy", _format(report.accuracy, "percent")),
        ("seconds", f"{report.seconds:.3f}"),
    ]
    if report.attained_by is not None:
        counts = report.attained_counts()
        rows.insert(
            -2, ("attained by", ", ".join(f"{k} {v}" for k, v in counts.items()) + " test samples")
        )
    return _key_value_text(rows)


def _matching(data, net, which: str):
    from archbound.data import DataError

    if data.X.shape[1] != net.input_dim:
        raise DataError(
            f"{data.path}: X has {data.X.shape[1]} features, but the model takes "
            f"M0 = {net.input_dim} inputs"
        )
    if not data.has_targets:
        raise DataError(f"{data.path}: the {which} file needs targets: 'y' (labels) or 'Y'")
    return data.targets(net.output_dim)


@click.command()
@model_option
@data_file_option(
    "--train",
    "train_path",
    ".npz with X and y (labels) or Y (targets): the training set.",
    required=True,
)
@data_file_option("--test", "test_path", ".npz with X and y or Y: the test set.", required=True)
@click.option(
    "--variant",
    type=click.Choice(list(VARIANTS)),
    default="lipschitz",
    show_default=True,
    help=variant_help(),
)
@delta_option
@seed_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--per-sample", is_flag=True, help="With --json: include the per-sample bounds.")
@threads_option
@click.option(
    "--scheduler",
    default=None,
    metavar="local|ADDRESS",
    help="Compute on Dask: 'local' starts a LocalCluster, an address (tcp://host:port) "
    "connects to a running scheduler. Needs archbound[distributed].",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="With --scheduler local: worker processes (default: one per core).",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=None,
    help="With --scheduler: test rows per task (default: about 64 MiB of inputs).",
)
@debug_option
def bound(
    model,
    train_path,
    test_path,
    variant,
    delta,
    seed,
    as_json,
    per_sample,
    threads,
    scheduler,
    workers,
    chunk_rows,
):
    """Certified per-sample bounds on a network's test error, with the true error beside
    them: |f(x~_j) - y~_j| <= B_j = min_i (Lip |x~_j - x_i| + |y~_j - y_i| + r_i)."""
    from archbound.bounds import sample_bounds
    from archbound.data import load_arrays, load_model

    net = load_model(model)
    train = load_arrays(train_path)
    test = load_arrays(test_path)
    Y_train = _matching(train, net, "training")
    Y_test = _matching(test, net, "test")
    data = (net, train.X, Y_train, test.X, Y_test)
    options = {"variant": variant, "delta": delta, "seed": seed, "threads": threads}
    if scheduler is None:
        if workers is not None or chunk_rows is not None:
            raise click.UsageError("--workers and --chunk-rows need --scheduler")
        report = sample_bounds(*data, **options)
    else:
        report = _distributed_bounds(
            *data,
            **options,
            scheduler=scheduler,
            workers=workers,
            chunk_rows=chunk_rows or "auto",
        )
    if as_json:
        out = {
            "model": str(model),
            "train": str(train_path),
            "test": str(test_path),
            "widths": net.widths,
            "n_train": int(train.X.shape[0]),
            **report.to_dict(per_sample=per_sample),
        }
        click.echo(json.dumps(json_safe(out), indent=1))
    else:
        click.echo(_bound_table(report, net, (train.X.shape[0], test.X.shape[0])))


def _distributed_bounds(net, X_train, Y_train, X_test, Y_test, *, scheduler, workers, **kwargs):
    """sample_bounds on a Dask cluster: a LocalCluster, or a running scheduler's address."""
    if scheduler != "local" and workers is not None:
        raise click.UsageError("--workers applies to --scheduler local only")
    from archbound import distributed
    from archbound.data import DataError

    with contextlib.ExitStack() as stack:
        try:
            client = stack.enter_context(distributed.client_for(scheduler, workers))
        except ImportError:
            raise DataError(
                "--scheduler needs Dask: pip install 'archbound[distributed]'"
            ) from None
        return distributed.sample_bounds_dask(
            net, X_train, Y_train, X_test, Y_test, client=client, progress=True, **kwargs
        )


__all__ = ["bound"]
