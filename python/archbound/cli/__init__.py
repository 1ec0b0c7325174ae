"""The ``archbound`` command line: ``experiment``, ``bound`` and ``diagnose``.

One module per command (:mod:`~archbound.cli.experiment`, :mod:`~archbound.cli.bound`,
:mod:`~archbound.cli.diagnose`); the group and its error handling are in
:mod:`~archbound.cli.group`, the shared option types in :mod:`~archbound.cli.options` and
the plain-text output (numbers, tables, progress bar) in :mod:`~archbound.cli.output`.

Exit codes: 0 on success, 2 for a usage or input error (a missing file or key, a shape
that does not match, a refused object array: one line on stderr, no traceback), 1 for an
internal error. ``--debug`` (before or after the command name) prints the traceback.
"""

from __future__ import annotations

from archbound.cli.group import main
from archbound.cli.output import format_table

__all__ = ["format_table", "main"]
