"""Which kernels the C++ core's dense products use (see cpp/blas.hpp).

At import, archbound hands the core the BLAS that SciPy already ships, as the function
pointers that ``scipy.linalg.cython_blas`` exports (the route scikit-learn takes), LAPACK's
QR (``dgeqrf``, ``dorgqr`` of ``scipy.linalg.cython_lapack``) for small matrices, and its
SVD (``dgesdd``), the core's only one: no BLAS is linked, bundled or loaded by archbound
itself. SciPy's OpenBLAS runs its own threads; the core calls it only outside its OpenMP
regions, so the two never oversubscribe the cores. Its thread count follows SciPy's
(``OPENBLAS_NUM_THREADS``, or ``threadpoolctl``).

The environment variable ``ARCHBOUND_BLAS`` chooses: ``auto`` (default) or ``scipy`` uses
SciPy's BLAS, ``eigen`` keeps Eigen's own kernels for the products and the QR (the SVD stays
LAPACK's). Results agree to rounding either way.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from archbound import _core

CHOICES = ("auto", "scipy", "eigen")


def _install_scipy() -> None:
    import scipy

    from archbound import _threads

    blas = _threads.load_scipy_blas().__pyx_capi__
    from scipy.linalg import cython_lapack  # the same library as cython_blas

    lapack = cython_lapack.__pyx_capi__
    _core.set_blas(
        blas["dgemm"],
        blas["sgemm"],
        blas["dtrsm"],
        lapack["dgeqrf"],
        lapack["dorgqr"],
        lapack["dgesdd"],
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
    _install_scipy()  # LAPACK's SVD is the core's only one, whichever products are chosen
    _core.use_blas(choice != "eigen")
    return _core.blas_backend()


def backend() -> str:
    """``"eigen"``, or ``"scipy <version> (...)"`` when SciPy's routines are in use."""
    return _core.blas_backend()


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` (C-ordered) for 2-D float arrays, on the BLAS the core uses.

    NumPy and SciPy each ship an OpenBLAS with its own thread pool. After a product, a pool's
    threads keep spinning for a while, and a product on the other pool in that time runs
    about twice as slow on a 2-core machine. archbound's own products therefore all go to
    the core's pool: SciPy's (through ``scipy.linalg.blas``), or NumPy where the core keeps
    Eigen's kernels or for other dtypes. A C- or Fortran-ordered operand is not copied.
    """
    dtype = np.result_type(a, b)
    if (
        a.ndim != 2
        or b.ndim != 2
        or a.dtype != dtype
        or b.dtype != dtype
        or dtype not in (np.float32, np.float64)
        or 0 in a.shape + b.shape
        or _core.blas_backend() == "eigen"
    ):
        return a @ b
    from scipy.linalg import blas

    gemm = blas.dgemm if dtype == np.float64 else blas.sgemm
    # (a @ b)^T = b^T a^T, computed Fortran-ordered: its transpose is a @ b, C-ordered.
    # A C-ordered operand is the Fortran-ordered transpose of itself, so no copy is made.
    left, trans_left = (b.T, 0) if b.flags.c_contiguous else (b, 1)
    right, trans_right = (a.T, 0) if a.flags.c_contiguous else (a, 1)
    return gemm(1.0, left, right, trans_a=trans_left, trans_b=trans_right).T
