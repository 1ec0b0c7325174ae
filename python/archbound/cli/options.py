"""Options shared by the commands (``--debug``, ``--seed``, ``--threads``, ``--delta``, the data
files) and the comma-separated list types."""

from __future__ import annotations

from pathlib import Path

import click

from archbound.bounds import VARIANTS


def _set_debug(ctx, _param, value):
    if value:
        ctx.find_root().ensure_object(dict)["debug"] = True


debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help="Show the traceback of an error.",
)

seed_option = click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
threads_option = click.option(
    "--threads", type=click.IntRange(min=1), default=None, help="OpenMP threads."
)
delta_option = click.option(
    "--delta",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=1e-6,
    show_default=True,
    help="Failure probability of the certified norms.",
)


def data_file_option(flag: str, name: str, help: str, *, required: bool = False):
    """An option naming a data file (``--train``, ``--test``), passed as a Path."""
    return click.option(
        flag, name, required=required, default=None, type=click.Path(path_type=Path), help=help
    )


class IntList(click.ParamType):
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


class Variants(click.ParamType):
    name = "VARIANT,..."

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        values = [part for part in str(value).replace(" ", "").split(",") if part]
        unknown = [v for v in values if v not in VARIANTS]
        if unknown:
            self.fail(
                f"unknown variant(s) {', '.join(unknown)}: choose from {', '.join(VARIANTS)}",
                param,
                ctx,
            )
        return values


__all__ = [
    "IntList",
    "Variants",
    "data_file_option",
    "debug_option",
    "delta_option",
    "seed_option",
    "threads_option",
]
