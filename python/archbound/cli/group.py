"""The ``archbound`` command group: its options, its commands, and how errors become exit
codes (2 for a usage or input error, 1 for an internal error)."""

from __future__ import annotations

import sys
import traceback

import click

from archbound.cli.bound import bound
from archbound.cli.certify import certify
from archbound.cli.diagnose import diagnose
from archbound.cli.experiment import experiment

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
    archbound certify      risk certificates: held-out and PAC-Bayes-kl
    """
    ctx.ensure_object(dict)["debug"] = debug


main.add_command(experiment)
main.add_command(bound)
main.add_command(diagnose)
main.add_command(certify)

__all__ = ["INPUT_ERRORS", "main"]
