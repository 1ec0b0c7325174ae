"""``archbound diagnose``: a data health check before a bound is computed."""

from __future__ import annotations

import json
from pathlib import Path

import click

from archbound._json import json_safe
from archbound.cli.options import data_file_option, debug_option, seed_option, threads_option
from archbound.cli.output import _format, _key_value_text


def _diagnosis_text(d: dict, spectrum_path) -> str:
    def stats(s):
        return (
            f"min {_format(s['min'])}, median {_format(s['median'])}, "
            f"mean {_format(s['mean'])}, max {_format(s['max'])}"
            + (f" (over {s['count']} sampled queries)" if s.get("sampled") else "")
        )

    outputs = "" if d["n_outputs"] is None else f", Q = {d['n_outputs']} outputs"
    dup = d["duplicates"]
    conflict = (
        ""
        if dup["conflicting_groups"] is None
        else f", {dup['conflicting_groups']} with conflicting labels"
    )
    condition = _format(d["condition_number"]) if d["condition_number"] else "inf"
    singular = (
        f"sigma_max {_format(d['sigma_max'])}, sigma_min {_format(d['sigma_min'])}, "
        f"condition number {condition}"
    )
    duplicates = (
        f"{dup['groups']} groups of identical training samples "
        f"({dup['redundant_samples']} redundant){conflict}"
    )
    rows = [
        ("training set", f"N = {d['n_train']} samples, M0 = {d['input_dim']} features{outputs}"),
        ("rank", f"{d['rank']} (tolerance {_format(d['rank_tolerance'])})"),
        ("singular values", singular),
        (
            "zero loss",
            ("attainable: " if d["zero_loss_attainable"] else "NOT attainable: ")
            + d["zero_loss_reason"],
        ),
        ("duplicates", duplicates),
    ]
    if dup["conflicting_examples"]:
        rows.append(
            (
                "",
                "conflicting, e.g. rows "
                + "; ".join(",".join(map(str, g)) for g in dup["conflicting_examples"]),
            )
        )
    if d["readout_norm"] is not None:
        extra = (
            ""
            if d["zero_loss_attainable"]
            else f"; its least-squares training cost is {_format(d['least_squares_train_cost'])}"
        )
        norm = (
            f"||Y X^+|| = {_format(d['readout_norm'])} (Frobenius "
            f"{_format(d['readout_frobenius'])}): the Lipschitz constant of the "
            f"constructed minimizer{extra}"
        )
        rows.append(("readout norm", norm))
    else:
        rows.append(("readout norm", "- (the file has no targets)"))
    if d["train_train"]["count"]:
        rows.append(("train -> other train", stats(d["train_train"])))
    if d["test_train"] is not None:
        t = d["test_train"]
        rows.append(("test -> nearest train", stats(t)))
        copies = (
            f"{t['exact_copies']} of {t['n_test']} test samples are exact copies of "
            "training samples"
        )
        rows.append(("", copies))
    if spectrum_path is not None:
        rows.append(("spectrum", str(spectrum_path)))
    return _key_value_text(rows)


@click.command()
@data_file_option(
    "--train",
    "train_path",
    ".npz with X and optionally y (labels) or Y (targets), or a .npy of X.",
    required=True,
)
@data_file_option(
    "--test", "test_path", "Optional test set (.npz or .npy): distances to the training set."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write spectrum.png and diagnose.json here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the diagnosis as JSON.")
@click.option(
    "--max-queries",
    type=click.IntRange(min=1),
    default=10000,
    show_default=True,
    help="Nearest-neighbour statistics over at most this many (random) samples.",
)
@seed_option
@threads_option
@debug_option
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
            raise DataError(
                f"{test_path}: X has {test.X.shape[1]} features, but the training "
                f"set has {train.X.shape[1]}"
            )
        X_test = test.X
    Y = train.targets() if train.has_targets else None
    result = run_diagnosis(train.X, Y, X_test, max_queries=max_queries, seed=seed, threads=threads)
    result = {
        "train": str(train_path),
        "test": None if test_path is None else str(test_path),
        **result,
    }
    spectrum_path = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        spectrum_path = plots.spectrum(
            result["singular_values"],
            out / "spectrum.png",
            tolerance=result["rank_tolerance"],
            rank=result["rank"],
            title=f"{train_path.name}: N = {result['n_train']}, "
            f"M0 = {result['input_dim']}, rank {result['rank']}",
        )
        with open(out / "diagnose.json", "w") as stream:
            json.dump(json_safe(result), stream, indent=1)
            stream.write("\n")
    if as_json:
        click.echo(json.dumps(json_safe(result), indent=1))
    else:
        click.echo(_diagnosis_text(result, spectrum_path))


__all__ = ["diagnose"]
