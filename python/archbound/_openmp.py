"""How the core's OpenMP threads wait between parallel regions (read once, at load).

GNU OpenMP (libgomp) lets a thread that finished its share of a parallel region busy-wait
for the next one: by default 300,000 spins of a `pause` instruction, milliseconds on recent
x86 cores. archbound's calls return to Python, where the next call is often NumPy's or
SciPy's; spinning threads would take the cores from them (a 64x50 numpy.linalg.pinv ran 4x
slower right after an archbound call). So unless the user chose a policy (OMP_WAIT_POLICY
or GOMP_SPINCOUNT), the core is loaded with a short spin, SPIN_COUNT, after which idle
threads sleep. The variable is set only while the compiled module loads, then removed, so
that nothing else in the process sees it. libgomp reads it when it is first loaded; if
another module loaded the same libgomp before, its settings stay.
"""

from __future__ import annotations

import importlib
import os

SPIN_COUNT = "1000"
_USER_POLICY = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def _load_core():
    if any(name in os.environ for name in _USER_POLICY):
        return importlib.import_module("archbound._core")
    os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    try:
        return importlib.import_module("archbound._core")
    finally:
        os.environ.pop("GOMP_SPINCOUNT", None)


_load_core()
