"""How idle threads wait, for the core's OpenMP threads and for the BLAS it calls.

Both thread pools let a thread that finished its share busy-wait for the next one before it
sleeps: GNU OpenMP (libgomp) for 300,000 `pause` instructions, OpenBLAS for 2^28 cycles
(about 0.1 s), milliseconds or more either way. archbound's calls return to Python, where
the next call is often NumPy's or SciPy's, or archbound's own OpenMP work after a BLAS
product; spinning threads take the cores from it. Measured on the 2-core machine
(bench/RESULTS.md): a 64x50 numpy.linalg.pinv ran 4x slower right after an archbound call,
and an archbound.opnorm of 1024^2 2.5x slower right after a small SciPy BLAS product.

So, unless the user chose a policy, each library is loaded with a short spin: libgomp with
``GOMP_SPINCOUNT=1000`` (unless ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` is set), SciPy's
OpenBLAS with ``OPENBLAS_THREAD_TIMEOUT=16`` (2^16 cycles, some 25 us; unless
``OPENBLAS_THREAD_TIMEOUT`` is set). Each variable is set only while its library loads,
then removed, so that nothing else in the process sees it. A library reads it when it is
first loaded: if another module loaded it before (SciPy's linear algebra imported before
archbound), its own settings stay; set the variables in the environment to choose them.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator

from archbound import _cpu

SPIN_COUNT = "1000"
OPENBLAS_TIMEOUT = "16"


@contextlib.contextmanager
def _loading_with(name: str, value: str, user_choices: tuple[str, ...]) -> Iterator[None]:
    """Sets ``name=value`` while a library loads, unless the user set one of user_choices."""
    if any(choice in os.environ for choice in user_choices):
        yield
        return
    os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)


def load_core():
    """The compiled core, its libgomp loaded with a short spin.

    First chooses the build of the core that this CPU runs (archbound._cpu): the most
    capable variant of a portable build, else ``_core`` once it is checked to need no
    extension this CPU lacks: ImportError if it does, never SIGILL. A variant is then also
    ``archbound._core``, the name the package imports it by.
    """
    name = _cpu.choose_core()
    with _loading_with("GOMP_SPINCOUNT", SPIN_COUNT, ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")):
        core = importlib.import_module(f"archbound.{name}")
    if name != "_core":
        sys.modules["archbound._core"] = core
        sys.modules["archbound"]._core = core
    return core


def load_scipy_blas():
    """``scipy.linalg.cython_blas``, SciPy's OpenBLAS loaded with a short thread timeout."""
    with _loading_with("OPENBLAS_THREAD_TIMEOUT", OPENBLAS_TIMEOUT, ("OPENBLAS_THREAD_TIMEOUT",)):
        return importlib.import_module("scipy.linalg.cython_blas")


# First, before any module of the package imports SciPy's linear algebra.
load_core()
load_scipy_blas()
