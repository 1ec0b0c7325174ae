"""Options shared by the commands (``--debug``, ``--seed``, ``--threads``, ``--delta``, the data
files), the comma-separated list types, and :func:`config_options`, the options of a config
dataclass generated from its fields."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

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

#: The model file of a command: anything archbound.readers.as_network reads from a path.
model_option = click.option(
    "--model",
    required=True,
    type=click.Path(path_type=Path),
    help="Network.save .npz, or a torch nn.Sequential / state_dict (.pt).",
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


class Architectures(click.ParamType):
    """Comma-separated architectures, ``x`` joining the hidden layers of one network:
    ``64,64x64,256`` -> [[64], [64, 64], [256]]."""

    name = "ARCH,..."

    def convert(self, value, param, ctx):
        from archbound.experiment.trained import parse_hidden

        if isinstance(value, list):
            return value
        try:
            return parse_hidden(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


#: The click type of each ``kind`` of config field (archbound.experiment.config._option).
_KINDS: dict[str, Callable[[], click.ParamType]] = {
    "ints": IntList,
    "variants": Variants,
    "architectures": Architectures,
}


def _as_text(value: Any) -> Any:
    """A list default as the option writes it: ``1,2,4``; nested lists joined by ``x``."""
    if isinstance(value, list):
        return ",".join("x".join(map(str, v)) if isinstance(v, list) else str(v) for v in value)
    return value


def _option_type(item: dataclasses.Field, default: Any) -> Any:
    """The click type of a config field: its kind, or a range from its bounds."""
    kind, low, high = (item.metadata.get(k) for k in ("kind", "minimum", "maximum"))
    if kind is not None:
        return _KINDS[kind]()
    if low is None and high is None:
        return None
    if "float" in str(item.type):
        return click.FloatRange(low, high, min_open=high is not None, max_open=high is not None)
    return click.IntRange(min=low, max=high)


def config_options(
    config_class: type, *, after: dict[str, Callable] | None = None, shown: dict | None = None
) -> Callable:
    """Decorate a command with one option per field of a config dataclass.

    Each field's metadata (``help``, ``kind``, ``minimum``, ``maximum``, ``metavar``,
    ``show_default``) gives its option ``--field-name``; a bool field is a flag, and the
    default is the field's. The command receives the fields by name, ready for
    ``config_class(**values)``.

    Parameters
    ----------
    config_class : type
        A dataclass whose fields carry that metadata.
    after : dict, optional
        Field name -> a further option decorator, listed right after that field's option.
    shown : dict, optional
        Field name -> the default to show where the field's own is None.
    """
    after, shown = after or {}, shown or {}
    decorators = []
    for item in dataclasses.fields(config_class):
        default = item.default
        if item.default_factory is not dataclasses.MISSING:
            default = item.default_factory()
        default = _as_text(shown.get(item.name, default))
        meta = item.metadata
        flag = isinstance(default, bool)
        kwargs: dict[str, Any] = {"help": meta.get("help")}
        if flag:
            kwargs["is_flag"] = True
        else:
            kwargs.update(default=default, type=_option_type(item, default))
            if meta.get("metavar"):
                kwargs["metavar"] = meta["metavar"]
            if meta.get("show_default"):
                kwargs["show_default"] = True
        flag_name = "--" + item.name.replace("_", "-")
        decorators.append(click.option(flag_name, item.name, **kwargs))
        if item.name in after:
            decorators.append(after[item.name])

    def decorate(command: Callable) -> Callable:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return decorate


__all__ = [
    "Architectures",
    "IntList",
    "Variants",
    "config_options",
    "data_file_option",
    "debug_option",
    "delta_option",
    "model_option",
    "seed_option",
    "threads_option",
]
