"""Option types shared by the commands: ``--debug`` and comma-separated lists."""

from __future__ import annotations

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


__all__ = ["IntList", "Variants", "debug_option"]
