"""Which kernels the C++ core's dense products use (see cpp/blas.hpp).

At import, archbound hands the core the BLAS that SciPy already ships, as the function
pointers that ``scipy.linalg.cython_blas`` exports (the route scikit-learn takes): no BLAS
is linked, bundled or loaded by archbound itself. SciPy's OpenBLAS runs its own threads;
the core calls it only outside its OpenMP regions, so the two never oversubscribe the
cores. Its thread count follows SciPy's (``OPENBLAS_NUM_THREADS``, or ``threadpoolctl``).

The environment variable ``ARCHBOUND_BLAS`` chooses: ``auto`` (default) or ``scipy`` uses
SciPy's BLAS, ``eigen`` keeps Eigen's own kernels. Results agree to rounding either way.
"""

from __future__ import annotations

import os
import warnings

from archbound import _core

CHOICES = ("auto", "scipy", "eigen")


def _install_scipy() -> None:
    import scipy
    from scipy.linalg import cython_blas

    blas = cython_blas.__pyx_capi__
    _core.set_blas(
        blas["dgemm"],
        blas["sgemm"],
        blas["dtrsm"],
        f"scipy {scipy.__version__} (scipy.linalg.cython_blas)",
    )


def load() -> str:
    """Apply ``ARCHBOUND_BLAS`` (default: SciPy's BLAS); return the backend in use."""
    choice = os.environ.get("ARCHBOUND_BLAS", "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        warnings.warn(
            f"ARCHBOUND_BLAS={choice!r} is not one of {', '.join(CHOICES)}; using 'auto'",
            RuntimeWarning,
            stacklevel=2,
        )
        choice = "auto"
    if choice == "eigen":
        _core.use_blas(False)
    else:
        _install_scipy()
        _core.use_blas(True)
    return _core.blas_backend()


def backend() -> str:
    """``"eigen"``, or ``"scipy <version> (...)"`` when SciPy's routines are in use."""
    return _core.blas_backend()
