"""The ``archbound`` command line: ``experiment``, ``bound`` and ``diagnose``.

Exit codes: 0 on success, 2 for a usage or input error (a missing file or key, a shape
that does not match, a refused object array: one line on stderr, no traceback), 1 for an
internal error. ``--debug`` (before or after the command name) prints the traceback.
"""

from __future__ import annotations

import json
import math
import os
import sys
import traceback
from pathlib import Path

import click
import numpy as np

from archbound._json import json_safe
from archbound.bounds import VARIANTS

INPUT_ERRORS = (ValueError, OSError)  # DataError, DTypeError, ZeroLossUnattainable, ...


class _Main(click.Group):
    """A group that turns exceptions into one line and an exit code (2 input, 1 internal)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except (KeyboardInterrupt, EOFError):
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence of the CLI
            debug = bool((ctx.obj or {}).get("debug"))
            code = 2 if isinstance(exc, INPUT_ERRORS) else 1
            if debug:
                traceback.print_exc(file=sys.stderr)
            message = " ".join(str(exc).split()) or type(exc).__name__
            if code == 2:
                click.echo(f"Error: {message}", err=True)
            else:
                hint = "" if debug else " (run with --debug for the traceback)"
                click.echo(f"Internal error: {type(exc).__name__}: {message}{hint}", err=True)
            ctx.exit(code)


def _set_debug(ctx, _param, value):
    if value:
        ctx.find_root().ensure_object(dict)["debug"] = True


_debug_option = click.option(
    "--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
    help="Show the traceback of an error.",
)


class _IntList(click.ParamType):
    """A comma-separated list of positive integers: ``25,50,100``."""

    name = "N,N,..."

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        try:
            values = [int(part) for part in str(value).replace(" ", "").split(",") if part]
        except ValueError:
            self.fail(f"expected comma-separated integers, got {value!r}", param, ctx)
        if not values or min(values) < 1:
            self.fail(f"expected positive integers, got {value!r}", param, ctx)
        return values


class _Variants(click.ParamType):
    name = "VARIANT,..."

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        values = [part for part in str(value).replace(" ", "").split(",") if part]
        unknown = [v for v in values if v not in VARIANTS]
        if unknown:
            self.fail(f"unknown variant(s) {', '.join(unknown)}: choose from "
                      f"{', '.join(VARIANTS)}", param, ctx)
        return values


def _format(value, kind: str = "g") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if kind == "ratio":
        return f"{value:.2f}"
    if kind == "percent":
        return f"{100 * value:.1f}%"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(value)
    return f"{value:.3g}"


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table with right-aligned columns."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    line = "  ".join(str(h).rjust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).rjust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(out)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="archbound")
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
@click.pass_context
def main(ctx, debug):
    """Architecture-independent generalization bounds for deep ReLU networks
    (arXiv:2504.05695).

    \b
    archbound experiment   the paper's experiment: bound vs true error over N, depth, width
    archbound bound        a certified bound on a model's test error, on your data
    archbound diagnose     a data health check: rank, conditioning, distances, duplicates
    """
    ctx.ensure_object(dict)["debug"] = debug


# ---------------------------------------------------------------------------- experiment


def _discrepancy_ratio(row: dict, distance: str):
    return (row.get("discrepancy") or {}).get("bounds", {}).get(distance, {}).get("ratio")


def _summary_table(results: dict) -> str:
    from archbound.bounds import DISCREPANCY_DISTANCES

    variants = results["config"]["variants"]
    runs = {run["n_train"]: run for run in results["runs"]}
    headers = (["N", "rank", "cond", "construction", "nets", "test cost", "mean|f-y|", "acc",
                "spread"] + [f"{v} B/err" for v in variants]
               + [f"a-priori {d} /true" for d in DISCREPANCY_DISTANCES])
    rows = []
    for row in results["summary"]["by_n"]:
        run = runs[row["n_train"]]
        rows.append(
            [row["n_train"], run["rank"], _format(run["condition_number"]), row["construction"],
             row["n_networks"], _format(row["test_cost"]), _format(row["mean_error"]),
             _format(row["accuracy"], "percent"), _format(row["test_cost_spread"])]
            + [_format(row["bounds"].get(v, {}).get("mean_ratio"), "ratio") for v in variants]
            + [_format(_discrepancy_ratio(row, d)) for d in DISCREPANCY_DISTANCES]
        )
    lines = [format_table(headers, rows)]
    for run in results["runs"]:
        if run["status"] != "ok":
            lines.append(f"N = {run['n_train']} skipped: {run['reason']}")
    average = results["summary"]["average_mean_ratio"]
    for construction, values in average.items():
        text = ", ".join(f"{v} {values[v]:.2f}" for v in variants if v in values)
        lines.append(f"average mean B / mean |f-y| over N, {construction}: {text}")
    lines.append(
        "B/err = mean_j B_j / mean_j |f(x_j) - y_j| (1 = tight); a-priori D /true = "
        "cost_discrepancy_bound (distance D, f never evaluated on the test set) / "
        "|C_test - C_train|; spread = (max - min) / mean of the test cost across "
        "architectures."
    )
    lines += [""] + _reading(results)
    return "\n".join(lines)


def _trained_table(results: dict) -> str:
    """Trained networks (t) beside the readout_first minimizer (c) of the same N and widths."""
    headers = ["N", "hidden", "epochs", "train cost t", "test cost t/c", "acc t/c",
               "Lip t/c", "lip bound t/c", "B/err t/c"]
    rows = []
    for run in results["trained"]["runs"]:
        for net in run["networks"]:
            t, c = net["trained"], net["constructed"] or {}

            def pair(get, kind="g", t=t, c=c):
                return f"{_format(get(t), kind)} / {_format(get(c) if c else None, kind)}"

            rows.append([
                run["n_train"], "-".join(map(str, net["hidden"])), net["epochs"],
                _format(t["train_loss"]),
                pair(lambda d: d["test"]["test_cost"]),
                pair(lambda d: d["test"]["accuracy"], "percent"),
                pair(lambda d: d["lipschitz"]),
                pair(lambda d: d["bound"]["test_cost_bound"]),
                pair(lambda d: d["bound"]["mean_ratio"], "ratio"),
            ])
    return "\n".join([
        ("trained (t: MLPRegressor, Adam, squared loss) beside constructed (c: readout_first, "
         "same N and hidden widths):"),
        format_table(headers, rows),
        ("Lip = product of the certified layer norms; lip bound = mean_j B_j^2 of the "
         "lipschitz variant (training residuals as offsets); B/err = mean B / mean |f - y|."),
    ])


def _span(values, kind="g") -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    low, high = min(values), max(values)
    return _format(low, kind) if low == high else f"{_format(low, kind)} to {_format(high, kind)}"


def _reading(results: dict) -> list[str]:
    """A short, honest reading of the table (what each variant measures, and why)."""
    from archbound.bounds import GEOMETRIC_VARIANTS

    rows = [r for r in results["summary"]["by_n"] if r["construction"] == "readout_first"]
    if not rows:
        return []
    variants = results["config"]["variants"]
    ok = [run for run in results["runs"] if run["status"] == "ok"]

    def ratios(variant):
        return _span([r["bounds"].get(variant, {}).get("mean_ratio") for r in rows], "ratio")

    out = ["Reading (readout_first):"]
    geometric = [v for v in variants if v in GEOMETRIC_VARIANTS + ("best",)]
    if geometric:
        out.append("- geometry-only (never apply the network's weights to the test inputs): "
                   + "; ".join(f"{v} B/err {ratios(v)}" for v in geometric) + " over N.")
    if "linearized" in variants:
        out.append(f"- linearized (B/err {ratios('linearized')}) applies the first layer A to "
                   "the test inputs: for one-hot labels it equals |A x - y|, the error of the "
                   "unclipped linear predictor, so its ratio only measures how much the ReLU "
                   "clip helps; it is not a geometric bound.")
    out.append("- a-priori cost-discrepancy bound / true |C_test - C_train|: "
               + "; ".join(f"{d} distance {_span([_discrepancy_ratio(r, d) for r in rows])}"
                           for d in ("lipschitz", "coordinates")) + ".")
    if ok:
        first, last = ok[0], ok[-1]
        out.append(
            f"- the peak near N = M0 = {results['dataset']['input_dim']}: from N = "
            f"{first['n_train']} to {last['n_train']}, cond(X) grows from "
            f"{_format(first['condition_number'])} to {_format(last['condition_number'])} "
            f"and ||Y X^+|| from {_format(first['readout_norm'])} to "
            f"{_format(last['readout_norm'])}; the minimum-norm interpolant bends to fit "
            "every label, its test cost rises, and the bounds that multiply input distances "
            "by ||Y X^+|| (lipschitz, projected) rise much faster.")
    spread = max((r["test_cost_spread"] or 0.0) for r in rows)
    out.append(f"- architecture independence holds exactly for readout_first, whose function "
               f"is relu(A x + beta) - beta for every depth and width (largest spread of its "
               f"test cost across architectures: {_format(spread)}); readout_last's error and "
               "bound move with the architecture.")
    out.append("- these ratios are our measurements on this data set; the paper's reported "
               "agreement is its own MNIST result, from its own bound and set-up, and is not "
               "the same measurement.")
    return out


def _warnings(results: dict) -> list[str]:
    out = []
    for run in results["runs"]:
        for net in run["networks"]:
            where = (f"N = {run['n_train']}, {net['construction']}, L = {net['depth']}, "
                     f"M = {net['width']}")
            if not net["zero_loss"]:
                out.append(f"warning: training loss is not zero ({net['max_train_error']:.3g}) "
                           f"for {where}")
            for variant, bound in net["bounds"].items():
                if bound["violations"]:
                    out.append(f"warning: the {variant} bound is below the true error on "
                               f"{bound['violations']} test samples for {where}")
    for run in results.get("trained", {}).get("runs", []):
        for net in run["networks"]:
            violations = net["trained"]["bound"]["violations"]
            if violations:
                out.append(f"warning: the lipschitz bound is below the true error on "
                           f"{violations} test samples for N = {run['n_train']}, trained "
                           f"{net['hidden']}")
    return out


class _Progress:
    """tqdm behind run_experiment's progress callback (silent when stderr is no terminal)."""

    def __init__(self):
        self.bar = None

    def __call__(self, *, total=None, advance=0, description=None):
        from tqdm import tqdm

        if total is not None:
            self.bar = tqdm(total=total, unit="net", file=sys.stderr, disable=None,
                            dynamic_ncols=True, leave=False)
            return
        if description:
            self.bar.set_postfix_str(description, refresh=False)
        self.bar.update(advance)

    def close(self):
        if self.bar is not None:
            self.bar.close()


@main.command()
@click.option("--dataset", default="digits", show_default=True, metavar="digits|fashion-mnist|DIR",
              help="scikit-learn's digits (embedded), Fashion-MNIST from the Debian package "
                   "dataset-fashion-mnist, or a directory of MNIST-format IDX files.")
@click.option("--n-train", type=_IntList(), default=None,
              help="Training-set sizes N, each <= rank(X) [digits: 10,20,30,40,50; "
                   "fashion-mnist: 25,50,100,200,400,600,760].")
@click.option("--depths", type=_IntList(), default=None,
              help="Numbers of hidden layers L [1,2,4,8].")
@click.option("--widths", type=_IntList(), default=None,
              help="Hidden widths M, each >= Q; readout_last is built where M >= N "
                   "[digits: 16,64,256; otherwise 64,256,1024].")
@click.option("--n-test", type=click.IntRange(min=1), default=None,
              help="Test samples, a seeded random subset [all].")
@click.option("--variants", type=_Variants(),
              default=",".join(VARIANTS), show_default=True,
              help="Bound variants (readout_last gets only lipschitz and best).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--delta", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=1e-6,
              show_default=True, help="Failure probability of the certified norms.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("archbound-results"), show_default=True,
              help="Directory for results.json, results.csv and the PNGs.")
@click.option("--quick", is_flag=True,
              help="A small smoke-test sweep: every other default N, L 1,2, M 16,64, at most "
                   "200 test samples (explicit options win).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="OpenMP threads.")
@click.option("--trained", is_flag=True,
              help="Also train ReLU networks by gradient descent (scikit-learn MLPRegressor) "
                   "on every N, monitor their certified norms, and report them beside the "
                   "constructed readout_first minimizer.")
@click.option("--trained-hidden", default="64,64x64,256", show_default=True,
              metavar="ARCH,...", help="With --trained: the architectures trained; x joins "
                                       "the hidden layers of one network (64x64: two of 64).")
@click.option("--trained-epochs", type=click.IntRange(min=1), default=400, show_default=True,
              help="With --trained: the epoch budget of each network.")
@_debug_option
def experiment(dataset, n_train, depths, widths, n_test, variants, seed, delta, out, quick,
               threads, trained, trained_hidden, trained_epochs):
    """Reproduce the paper's experiment: zero-loss minimizers built in closed form over a
    sweep of training-set sizes N, depths L and widths M, with every bound beside the true
    test error (arXiv:2504.05695).

    Writes results.json (schema: archbound.experiment), results.csv, bound_vs_n.png and
    architectures.png to --out, and prints a summary table.
    """
    from archbound.experiment import ExperimentConfig, run_experiment, write_results
    from archbound.experiment.trained import parse_hidden

    config = ExperimentConfig(dataset=dataset, n_train=n_train, depths=depths, widths=widths,
                              n_test=n_test, variants=variants, seed=seed, delta=delta,
                              quick=quick, threads=threads, trained=trained,
                              trained_hidden=parse_hidden(trained_hidden),
                              trained_epochs=trained_epochs)
    progress = _Progress()
    try:
        results = run_experiment(config, progress=progress)
    finally:
        progress.close()
    paths = write_results(results, out)
    data = results["dataset"]
    click.echo(
        f"{data['name']}: M0 = {data['input_dim']}, Q = {data['n_classes']}, "
        f"{data['n_test']} test samples; N = {','.join(map(str, results['config']['n_train']))}; "
        f"L = {','.join(map(str, results['config']['depths']))}; "
        f"M = {','.join(map(str, results['config']['widths']))} "
        f"({results['seconds']:.1f} s)"
    )
    click.echo(_summary_table(results))
    if "trained" in results:
        click.echo(_trained_table(results))
    for line in _warnings(results):
        click.echo(line, err=True)
    click.echo("wrote " + ", ".join(str(p) for p in paths.values()))


# --------------------------------------------------------------------------------- bound


def _bound_table(report, net, sizes: tuple[int, int]) -> str:
    rows = [
        ("network", f"widths {net.widths} (L = {net.depth} hidden layers)"),
        ("data", f"N = {sizes[0]} training, m = {sizes[1]} test samples"),
        ("variant", f"{report.variant} (holds with probability >= 1 - {report.delta:g})"),
        ("Lipschitz constant", _format(report.lipschitz)),
    ]
    for index, norm in enumerate(report.norms[:12]):
        detail = (f"{norm.estimate:.6g} (certified <= {norm.upper:.6g}, {norm.method}, "
                  f"{norm.iterations} iterations)")
        rows.append((f"  ||W_{index + 1}||", detail))
    if len(report.norms) > 12:
        rows.append(("", f"... {len(report.norms) - 12} more layers"))
    per_sample = np.asarray(report.per_sample)
    errors = np.asarray(report.errors)
    mean_bound = (f"{_format(float(per_sample.mean()) if per_sample.size else None)}  "
                  f"(ratio {_format(report.mean_ratio, 'ratio')})")
    rows += [
        ("train cost C_train", _format(report.train_cost)),
        ("test cost C_test (true)", _format(report.test_cost)),
        ("test cost bound mean B^2",
         f"{_format(report.test_cost_bound)}  (ratio {_format(report.ratio, 'ratio')})"),
        ("mean |f - y| (true)", _format(float(errors.mean()) if errors.size else None)),
        ("mean bound B", mean_bound),
        ("max |f - y| (true)", _format(report.max_error)),
        ("uniform bound max B", _format(report.uniform_bound)),
        ("accuracy", _format(report.accuracy, "percent")),
        ("seconds", f"{report.seconds:.3f}"),
    ]
    if report.attained_by is not None:
        counts = report.attained_counts()
        rows.insert(-2, ("attained by", ", ".join(f"{k} {v}" for k, v in counts.items())
                         + " test samples"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


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


@main.command()
@click.option("--model", required=True, type=click.Path(path_type=Path),
              help="Network.save .npz, or a torch nn.Sequential / state_dict (.pt).")
@click.option("--train", "train_path", required=True, type=click.Path(path_type=Path),
              help=".npz with X and y (labels) or Y (targets): the training set.")
@click.option("--test", "test_path", required=True, type=click.Path(path_type=Path),
              help=".npz with X and y or Y: the test set.")
@click.option("--variant", type=click.Choice(list(VARIANTS)),
              default="lipschitz", show_default=True,
              help="projected, coordinates and linearized need a readout_first network; best "
                   "is the per-sample minimum of lipschitz, projected and coordinates "
                   "(those that apply).")
@click.option("--delta", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=1e-6,
              show_default=True, help="Failure probability of the certified norms.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--per-sample", is_flag=True, help="With --json: include the per-sample bounds.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="OpenMP threads.")
@click.option("--scheduler", default=None, metavar="local|ADDRESS",
              help="Compute on Dask: 'local' starts a LocalCluster, an address (tcp://host:port) "
                   "connects to a running scheduler. Needs archbound[distributed].")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="With --scheduler local: worker processes (default: one per core).")
@click.option("--chunk-rows", type=click.IntRange(min=1), default=None,
              help="With --scheduler: test rows per task (default: about 64 MiB of inputs).")
@_debug_option
def bound(model, train_path, test_path, variant, delta, seed, as_json, per_sample, threads,
          scheduler, workers, chunk_rows):
    """Certified per-sample bounds on a network's test error, with the true error beside
    them: |f(x~_j) - y~_j| <= B_j = min_i (Lip |x~_j - x_i| + |y~_j - y_i| + r_i)."""
    from archbound.bounds import sample_bounds
    from archbound.data import load_arrays, load_model

    net = load_model(model)
    train = load_arrays(train_path)
    test = load_arrays(test_path)
    Y_train = _matching(train, net, "training")
    Y_test = _matching(test, net, "test")
    if scheduler is None:
        if workers is not None or chunk_rows is not None:
            raise click.UsageError("--workers and --chunk-rows need --scheduler")
        report = sample_bounds(net, train.X, Y_train, test.X, Y_test, variant=variant,
                               delta=delta, seed=seed, threads=threads)
    else:
        report = _distributed_bounds(net, train.X, Y_train, test.X, Y_test, variant=variant,
                                     delta=delta, seed=seed, threads=threads,
                                     scheduler=scheduler, workers=workers,
                                     chunk_rows=chunk_rows or "auto")
    if as_json:
        out = {"model": str(model), "train": str(train_path), "test": str(test_path),
               "widths": net.widths, "n_train": int(train.X.shape[0]),
               **report.to_dict(per_sample=per_sample)}
        click.echo(json.dumps(json_safe(out), indent=1))
    else:
        click.echo(_bound_table(report, net, (train.X.shape[0], test.X.shape[0])))


def _distributed_bounds(net, X_train, Y_train, X_test, Y_test, *, scheduler, workers,
                        **kwargs):
    """sample_bounds on a Dask cluster: a LocalCluster, or a running scheduler's address."""
    if scheduler != "local" and workers is not None:
        raise click.UsageError("--workers applies to --scheduler local only")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        from archbound.data import DataError

        raise DataError("--scheduler needs Dask: pip install 'archbound[distributed]'") from None
    from archbound import distributed
    from archbound.data import DataError

    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1,
                               processes=True, dashboard_address=":0", silence_logs=40)
    else:
        cluster = None
    try:
        try:
            client = Client(cluster if cluster is not None else scheduler, timeout="20s")
        except OSError as exc:
            raise DataError(f"could not reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            return distributed.sample_bounds(net, X_train, Y_train, X_test, Y_test,
                                             client=client, progress=True, **kwargs)
    finally:
        if cluster is not None:
            cluster.close()


# ------------------------------------------------------------------------------ diagnose


def _diagnosis_text(d: dict, spectrum_path) -> str:
    def stats(s):
        return (f"min {_format(s['min'])}, median {_format(s['median'])}, "
                f"mean {_format(s['mean'])}, max {_format(s['max'])}"
                + (f" (over {s['count']} sampled queries)" if s.get("sampled") else ""))

    outputs = "" if d["n_outputs"] is None else f", Q = {d['n_outputs']} outputs"
    dup = d["duplicates"]
    conflict = ("" if dup["conflicting_groups"] is None
                else f", {dup['conflicting_groups']} with conflicting labels")
    condition = _format(d["condition_number"]) if d["condition_number"] else "inf"
    singular = (f"sigma_max {_format(d['sigma_max'])}, sigma_min {_format(d['sigma_min'])}, "
                f"condition number {condition}")
    duplicates = (f"{dup['groups']} groups of identical training samples "
                  f"({dup['redundant_samples']} redundant){conflict}")
    rows = [
        ("training set", f"N = {d['n_train']} samples, M0 = {d['input_dim']} features{outputs}"),
        ("rank", f"{d['rank']} (tolerance {_format(d['rank_tolerance'])})"),
        ("singular values", singular),
        ("zero loss", ("attainable: " if d["zero_loss_attainable"] else "NOT attainable: ")
         + d["zero_loss_reason"]),
        ("duplicates", duplicates),
    ]
    if dup["conflicting_examples"]:
        rows.append(("", "conflicting, e.g. rows " + "; ".join(
            ",".join(map(str, g)) for g in dup["conflicting_examples"])))
    if d["readout_norm"] is not None:
        extra = ("" if d["zero_loss_attainable"] else
                 f"; its least-squares training cost is {_format(d['least_squares_train_cost'])}")
        norm = (f"||Y X^+|| = {_format(d['readout_norm'])} (Frobenius "
                f"{_format(d['readout_frobenius'])}): the Lipschitz constant of the "
                f"constructed minimizer{extra}")
        rows.append(("readout norm", norm))
    else:
        rows.append(("readout norm", "- (the file has no targets)"))
    if d["train_train"]["count"]:
        rows.append(("train -> other train", stats(d["train_train"])))
    if d["test_train"] is not None:
        t = d["test_train"]
        rows.append(("test -> nearest train", stats(t)))
        copies = (f"{t['exact_copies']} of {t['n_test']} test samples are exact copies of "
                  "training samples")
        rows.append(("", copies))
    if spectrum_path is not None:
        rows.append(("spectrum", str(spectrum_path)))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


@main.command()
@click.option("--train", "train_path", required=True, type=click.Path(path_type=Path),
              help=".npz with X and optionally y (labels) or Y (targets), or a .npy of X.")
@click.option("--test", "test_path", default=None, type=click.Path(path_type=Path),
              help="Optional test set (.npz or .npy): distances to the training set.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write spectrum.png and diagnose.json here.")
@click.option("--json", "as_json", is_flag=True, help="Print the diagnosis as JSON.")
@click.option("--max-queries", type=click.IntRange(min=1), default=10000, show_default=True,
              help="Nearest-neighbour statistics over at most this many (random) samples.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="OpenMP threads.")
@_debug_option
def diagnose(train_path, test_path, out, as_json, max_queries, seed, threads):
    """Data health check: N, M0, rank, conditioning and singular values, whether zero loss
    is attainable, nearest-neighbour distances, duplicates (and conflicting labels), and
    the readout norm ||Y X^+|| of the constructed minimizer."""
    from archbound import plots
    from archbound.data import DataError, load_arrays
    from archbound.diagnose import diagnose as run_diagnosis

    train = load_arrays(train_path)
    X_test = None
    if test_path is not None:
        test = load_arrays(test_path)
        if test.X.shape[1] != train.X.shape[1]:
            raise DataError(f"{test_path}: X has {test.X.shape[1]} features, but the training "
                            f"set has {train.X.shape[1]}")
        X_test = test.X
    Y = train.targets() if train.has_targets else None
    result = run_diagnosis(train.X, Y, X_test, max_queries=max_queries, seed=seed,
                           threads=threads)
    result = {"train": str(train_path), "test": None if test_path is None else str(test_path),
              **result}
    spectrum_path = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        spectrum_path = plots.spectrum(
            result["singular_values"], out / "spectrum.png", tolerance=result["rank_tolerance"],
            rank=result["rank"], title=f"{train_path.name}: N = {result['n_train']}, "
                                       f"M0 = {result['input_dim']}, rank {result['rank']}")
        with open(out / "diagnose.json", "w") as stream:
            json.dump(json_safe(result), stream, indent=1)
            stream.write("\n")
    if as_json:
        click.echo(json.dumps(json_safe(result), indent=1))
    else:
        click.echo(_diagnosis_text(result, spectrum_path))
