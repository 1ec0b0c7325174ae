"""The JSON Schema of results.json, shipped as package data: ``results.schema.json``.

The file is the one definition of results.json's layout (draft 2020-12); the records of
:mod:`archbound.experiment.records` write what it describes, and the tests validate every
results.json against it.
"""

from __future__ import annotations

import json
from importlib import resources

#: The name of the schema file inside the package ``archbound.experiment``.
SCHEMA_FILE = "results.schema.json"


def load_schema() -> dict:
    """Read ``results.schema.json`` from the installed package.

    Returns
    -------
    dict
        The JSON Schema (draft 2020-12) of results.json.
    """
    text = resources.files("archbound.experiment").joinpath(SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


#: JSON Schema (draft 2020-12) of results.json.
RESULTS_SCHEMA = load_schema()
#: The version of results.json written, as the schema fixes it (``version``'s ``const``).
RESULTS_VERSION = RESULTS_SCHEMA["properties"]["version"]["const"]

__all__ = ["RESULTS_SCHEMA", "RESULTS_VERSION", "SCHEMA_FILE", "load_schema"]
