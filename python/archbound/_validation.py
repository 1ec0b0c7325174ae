"""Input validation shared by every public function (docs/design.md §6).

Arrays are validated once, at the boundary, and converted to the C-contiguous float64 (or
float32, where a kernel accepts it) layout that the C++ core reads without a copy.
"""

from __future__ import annotations

import numbers
import os

import numpy as np

FLOAT64 = (np.float64,)
FLOATS = (np.float64, np.float32)


class DTypeError(TypeError, ValueError):
    """An argument that is not a numeric array, or has an unsupported dtype.

    It is both a TypeError and a ValueError, so code catching either sees it.
    """


def check_array(
    value,
    name: str,
    *,
    ndim: int = 2,
    dtypes: tuple = FLOAT64,
    allow_empty: bool = False,
    finite: bool = True,
    copy: bool = False,
) -> np.ndarray:
    """Validate an array argument and return it C-contiguous, in one of `dtypes`.

    Integer input is converted to the first of `dtypes`; a float dtype not in `dtypes` too.
    Raises DTypeError for non-numeric input (object, string, complex, bool) and ValueError,
    naming `name`, for the wrong number of dimensions, an empty array, NaN or inf.
    """
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise DTypeError(f"{name} must be an array of numbers, got {type(value).__name__}")
    try:
        array = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise DTypeError(f"{name} could not be read as an array: {exc}") from None
    kind = array.dtype.kind
    if kind not in "iuf":
        what = {
            "b": "bool",
            "c": "complex",
            "O": "object",
            "U": "string",
            "S": "bytes",
            "M": "datetime",
            "m": "timedelta",
            "V": "structured",
        }.get(kind, str(array.dtype))
        raise DTypeError(f"{name} must have a real numeric dtype, got {what} ({array.dtype})")
    if array.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-dimensional, got {array.ndim} dimensions "
            f"(shape {array.shape})"
        )
    if not allow_empty and array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}); it needs at least one element")
    dtype = array.dtype.type if array.dtype.type in dtypes else dtypes[0]
    if copy or array.dtype != np.dtype(dtype) or not array.flags.c_contiguous:
        # A broadcast or strided view can describe far more elements than exist in memory.
        check_memory(
            float(array.size) * np.dtype(dtype).itemsize,
            f"{name} (a C-contiguous {np.dtype(dtype).name} copy of shape {array.shape})",
        )
    if copy:
        array = np.array(array, dtype=dtype, order="C", copy=True)
    else:
        array = np.ascontiguousarray(array, dtype=dtype)
    # min and max propagate NaN and expose inf without an array-sized temporary (an
    # isfinite mask would add a quarter of a float32 input to the peak memory).
    if finite and array.size and not (np.isfinite(array.min()) and np.isfinite(array.max())):
        bad = "NaN" if np.isnan(array).any() else "inf"
        raise ValueError(f"{name} contains {bad}; every value must be finite")
    return array


def check_2d_pair(X, Y, x_name: str = "X", y_name: str = "Y", *, dtypes=FLOAT64):
    """Validate two 2-D arrays with the same number of rows."""
    X = check_array(X, x_name, dtypes=dtypes)
    Y = check_array(Y, y_name, dtypes=dtypes)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"{x_name} and {y_name} must have the same number of samples (rows), got "
            f"{X.shape[0]} and {Y.shape[0]}"
        )
    return X, Y


def check_seed(seed) -> int:
    """Normalise `seed` (None, a non-negative int or a numpy Generator) to a 63-bit int."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> 1)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        return int(seed) % (2**63)
    raise DTypeError(f"seed must be None, an int or a numpy Generator, got {type(seed).__name__}")


def max_threads() -> int:
    """The most OpenMP threads a call may ask for (far more would crash the OpenMP runtime)."""
    return max(1024, 4 * (os.cpu_count() or 1))


def default_threads() -> int:
    """OpenMP's default thread count, as the core will resolve ``threads=None``."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "").split(",")[0]))
    except ValueError:
        return os.cpu_count() or 1


def check_threads(threads) -> int:
    """Normalise `threads` (None for OpenMP's default) to the core's convention (0 = default)."""
    if threads is None:
        return 0
    if not isinstance(threads, numbers.Integral) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be a positive int or None, got {threads!r}")
    if threads > max_threads():
        raise ValueError(f"threads must be at most {max_threads()}, got {threads}")
    return int(threads)


def check_real(value, name: str, *, what: str = "a real number") -> float:
    """A real scalar (not bool) as a float; ints too large for a float are refused."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise DTypeError(f"{name} must be {what}, got {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} is too large to be a float, got {value}") from None


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise DTypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_probability(value, name: str) -> float:
    """A probability strictly inside (0, 1), such as a failure probability delta."""
    value = check_real(value, name, what="a float in (0, 1)")
    if not (0.0 < value < 1.0):
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value}")
    return value


def available_memory() -> int:
    """Bytes of physical memory on this machine (a guard for huge requests)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16 * 2**30


class MemoryLimitError(ValueError, MemoryError):
    """A request that would need more memory than the machine has, refused before allocating."""


def check_memory(nbytes: float, what: str) -> None:
    """Refuse, before allocating, a request for more than 80% of the machine's memory."""
    limit = 0.8 * available_memory()
    if nbytes > limit:
        raise MemoryLimitError(
            f"{what} would need about {nbytes:.3g} bytes ({nbytes / 2**30:.1f} GiB), more "
            f"than this machine can give ({limit:.3g} bytes usable); reduce the sizes"
        )
