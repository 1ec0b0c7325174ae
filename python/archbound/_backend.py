"""Which kernels the C++ core's large matrix products use (see cpp/blas.hpp).

At import, archbound hands the core the OpenBLAS of the ``scipy-openblas32`` wheel, a
dependency, whose kernels are chosen for the CPU at run time and run 1.2-1.5x faster than
Eigen's own on the forward pass. The environment variable ``ARCHBOUND_BLAS`` overrides
this: ``eigen`` keeps Eigen's kernels, a path loads that OpenBLAS library instead. If no
OpenBLAS can be loaded, Eigen's kernels are used; results agree to rounding either way.
"""

from __future__ import annotations

import importlib.util
import os
import warnings

from archbound import _core


def _openblas_path() -> str | None:
    """The library file of the scipy-openblas32 wheel, found without importing the package:
    its __init__ loads the library with RTLD_GLOBAL, whose `scipy_*` symbols would then
    interpose on SciPy's own vendored OpenBLAS (the same names) and change SciPy's results.
    The core opens it with RTLD_LOCAL instead."""
    spec = importlib.util.find_spec("scipy_openblas32")
    if spec is None or not spec.submodule_search_locations:
        return None
    lib_dir = os.path.join(next(iter(spec.submodule_search_locations)), "lib")
    try:
        names = sorted(
            name
            for name in os.listdir(lib_dir)
            if name.startswith("libscipy_openblas") and (".so" in name or name.endswith(".dylib"))
        )
    except OSError:
        return None
    return os.path.join(lib_dir, names[0]) if names else None


def load() -> str:
    """Load the BLAS that ``ARCHBOUND_BLAS`` names (default: scipy-openblas32); return the
    backend now in use."""
    choice = os.environ.get("ARCHBOUND_BLAS", "auto").strip()
    if choice.lower() == "eigen":
        _core.use_loaded_blas(False)
        return _core.blas_backend()
    path = _openblas_path() if choice.lower() in ("", "auto") else choice
    if path is not None:
        error = _core.load_blas(path)
        if error and choice.lower() not in ("", "auto"):
            warnings.warn(
                f"ARCHBOUND_BLAS={choice!r} could not be loaded ({error}); using Eigen's kernels",
                RuntimeWarning,
                stacklevel=2,
            )
    return _core.blas_backend()


def backend() -> str:
    """``"eigen"``, or ``"openblas ..."`` with OpenBLAS's build configuration and CPU core."""
    return _core.blas_backend()
