"""Input validation shared by every public function (docs/design.md §6).

Arrays are validated once, at the boundary, and converted to the C-contiguous float64 (or
float32, where a kernel accepts it) layout that the C++ core reads without a copy.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
import random
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from archbound import _core

FLOAT64 = (np.float64,)
FLOATS = (np.float64, np.float32)

T = TypeVar("T")

#: What a ``seed`` argument may be: None (fresh entropy), a non-negative int or a Generator.
SeedLike = int | np.random.Generator | None


class DTypeError(TypeError, ValueError):
    """An argument that is not a numeric array, or has an unsupported dtype.

    It is both a TypeError and a ValueError, so code catching either sees it.
    """


def _all_finite(array: np.ndarray) -> bool:
    """No NaN or inf in a C-contiguous array."""
    if array.dtype.char in "df" and array.dtype.isnative:
        return _core.all_finite(array, 0)
    return bool(np.isfinite(array).all())


@functools.cache
def _native_dtypes(dtypes: tuple) -> tuple[np.dtype, ...]:
    """`dtypes` as native-byte-order dtype objects: an array of one of them has its dtype by
    identity, which a membership test finds first."""
    return tuple(np.dtype(t) for t in dtypes)


def _as_array(value, name: str, what: str) -> np.ndarray:
    """``np.asarray(value)``, or a DTypeError naming `name` for what is no array of `what`."""
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise DTypeError(f"{name} must be {what}, got {type(value).__name__}")
    try:
        return np.asarray(value)
    except Exception as exc:  # noqa: BLE001  (ragged lists and the like: any failure)
        raise DTypeError(f"{name} could not be read as an array: {exc}") from None


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
    # The fast path, for an array that is already what the core reads (what matters on tiny
    # calls): only its values are left to check, in one call into the core.
    if (
        type(value) is np.ndarray
        and not copy
        and value.ndim == ndim
        and value.dtype in _native_dtypes(dtypes)
        and value.flags.c_contiguous
    ):
        if value.size:
            if not finite or _core.all_finite(value, 0):
                return value
        elif allow_empty:
            return value
    array = _as_array(value, name, "an array of numbers")
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
            f"{name} must be {ndim}-dimensional, got {array.ndim} dimensions (shape {array.shape})"
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
    # One pass in the core (without an array-sized temporary, in parallel for large
    # arrays); NaN or inf is told apart only when there is one.
    if finite and array.size and not _all_finite(array):
        bad = "NaN" if np.isnan(array).any() else "inf"
        raise ValueError(f"{name} contains {bad}; every value must be finite")
    return array


def is_one_dimensional(value) -> bool:
    """Whether `value` reads as a 1-D array (strings and ragged lists do not)."""
    if isinstance(value, (str, bytes)):
        return False
    try:
        return np.ndim(value) == 1
    except ValueError:  # ragged input: check_array names it
        return False


def check_labels(
    value,
    name: str,
    *,
    n_samples: int | None = None,
    n_classes: int | None = None,
    allow_negative: bool = False,
) -> np.ndarray:
    """Validate 1-D class labels and return them as C-contiguous int64.

    The rule is scikit-learn's: labels are integers, or floats that are whole numbers
    (``[0.0, 2.0, 1.0]`` is read as ``[0, 2, 1]``). Everything else is refused, naming
    `name`: non-numeric input (object, string, bool, complex) and a fraction, NaN or inf
    with a DTypeError (a TypeError and a ValueError); more or fewer than one dimension, an
    empty array, a negative label (unless `allow_negative`), a length other than
    `n_samples` or a label of `n_classes` or more with a ValueError.
    """
    array = _as_array(value, name, "integer class labels")
    rule = "integer class labels (integers, or floats that are whole numbers)"
    if array.dtype.kind not in "iuf":
        raise DTypeError(f"{name} must hold {rule}, got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be 1-dimensional class labels, got shape {array.shape} "
            "(np.argmax(Y, axis=1) turns one-hot rows into labels)"
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty; it needs at least one class label")
    if array.dtype.kind == "f":
        whole = np.isfinite(array) & (np.abs(array) < 2.0**63)
        whole[whole] = np.mod(array[whole], 1) == 0
        if not whole.all():
            index = int(np.argmin(whole))
            raise DTypeError(f"{name} must hold {rule}, got {array[index]} at index {index}")
    elif array.dtype == np.uint64 and array.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} has class labels too large for int64 ({array.max()})")
    labels = np.ascontiguousarray(array, dtype=np.int64)
    if n_samples is not None and labels.shape[0] != n_samples:
        raise ValueError(
            f"{name} must have shape ({n_samples},), one label per sample, got {labels.shape}"
        )
    if not allow_negative and labels.min() < 0:
        raise ValueError(
            f"{name} must be non-negative class labels, got a negative label ({labels.min()})"
        )
    if n_classes is not None and labels.max() >= n_classes:
        raise ValueError(
            f"{name} holds class labels outside 0..{n_classes - 1}: the largest is "
            f"{labels.max()}, but n_classes (Q) is {n_classes}"
        )
    return labels


def check_2d_pair(
    X, Y, x_name: str = "X", y_name: str = "Y", *, dtypes: tuple = FLOAT64
) -> tuple[np.ndarray, np.ndarray]:
    """Validate two 2-D arrays with the same number of rows."""
    X = check_array(X, x_name, dtypes=dtypes)
    Y = check_array(Y, y_name, dtypes=dtypes)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"{x_name} and {y_name} must have the same number of samples (rows), got "
            f"{X.shape[0]} and {Y.shape[0]}"
        )
    return X, Y


def seed_from(sequence: np.random.SeedSequence) -> int:
    """A 63-bit seed (what the core takes) drawn from a :class:`numpy.random.SeedSequence`."""
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def check_seed_argument(seed) -> int | np.random.Generator | None:
    """Validate `seed` (None, a non-negative int or a numpy Generator) without drawing from it.

    An int comes back as a plain int; None and a Generator come back as they are, so that
    :func:`check_seed` draws from them where a seed is needed.
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if type(seed) is int and seed >= 0:
        return seed
    if type(seed) is int or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        return int(seed)
    raise DTypeError(f"seed must be None, an int or a numpy Generator, got {type(seed).__name__}")


#: Where a seed of None comes from: a generator seeded from the operating system's entropy,
#: and again in every forked child (else a parent and its child would draw the same seeds).
#: A draw takes a tenth of a microsecond, against about one for os.urandom's system call.
_FRESH = random.Random()
if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_FRESH.seed)


def check_seed(seed) -> int:
    """Normalise `seed` (None, a non-negative int or a numpy Generator) to a 63-bit int."""
    if type(seed) is int and 0 <= seed < 2**63:
        return seed
    seed = check_seed_argument(seed)
    if seed is None:
        return _FRESH.getrandbits(63)
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    return seed % (2**63)


def check_scalar(
    value,
    name: str,
    target_type,
    *,
    min_val=None,
    max_val=None,
    include_boundaries: str = "both",
):
    """Validate a scalar argument, as :func:`sklearn.utils.check_scalar` does.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name, for the messages.
    target_type : type or tuple of types
        ``numbers.Integral`` or ``numbers.Real``, say; bool is never accepted as a number.
    min_val, max_val : float, optional
        Bounds; NaN and infinities are refused whenever a bound is given.
    include_boundaries : {"both", "left", "right", "neither"}
        Which bounds the value may equal.

    Returns
    -------
    int or float
        ``value`` as an int (integral types) or a float.

    Raises
    ------
    DTypeError
        When ``value`` is not of ``target_type`` (a TypeError and a ValueError).
    ValueError
        When it lies outside the bounds; the message names ``name`` and the constraint.
    """
    integral = target_type is numbers.Integral
    kind = type(value)
    if kind is not (int if integral else float):  # not already the type it is returned as
        if kind is bool or not (kind is int or isinstance(value, target_type)):
            what = "an int" if integral else "a real number"
            raise DTypeError(f"{name} must be {what}, got {type(value).__name__}")
        try:
            value = int(value) if integral else float(value)
        except OverflowError:
            raise ValueError(f"{name} is too large to be a float, got {value}") from None
    if min_val is None and max_val is None:
        return value
    left = include_boundaries == "both" or include_boundaries == "left"
    right = include_boundaries == "both" or include_boundaries == "right"
    # NaN and infinities are refused whenever a bound is given.
    finite = integral or math.isfinite(value)
    low_ok = finite and (min_val is None or (value >= min_val if left else value > min_val))
    high_ok = finite and (max_val is None or (value <= max_val if right else value < max_val))
    if not (low_ok and high_ok):
        low, high = (None if v is None else f"{v:g}" for v in (min_val, max_val))
        which = "an int" if integral else "finite and"
        if min_val is not None and max_val is not None:
            if not left and not right:
                constraint = f"lie strictly between {low} and {high}"
            else:
                constraint = f"lie in {'[' if left else '('}{low}, {high}{']' if right else ')'}"
        elif min_val is not None:
            constraint = f"be {which} {'>=' if left else '>'} {low}"
        else:
            constraint = f"be {which} {'<=' if right else '<'} {high}"
        raise ValueError(f"{name} must {constraint}, got {value}")
    return value


def max_threads() -> int:
    """The most OpenMP threads a call may ask for (far more would crash the OpenMP runtime)."""
    return max(1024, 4 * (os.cpu_count() or 1))


def check_threads(threads) -> int:
    """Normalise `threads` (None for OpenMP's default) to the core's convention (0 = default)."""
    if threads is None:
        return 0
    return check_scalar(threads, "threads", numbers.Integral, min_val=1, max_val=max_threads())


def check_probability(value, name: str) -> float:
    """A probability strictly inside (0, 1), such as a failure probability delta."""
    return check_scalar(
        value, name, numbers.Real, min_val=0.0, max_val=1.0, include_boundaries="neither"
    )


@functools.lru_cache(maxsize=1)
def available_memory() -> int:
    """Bytes of physical memory on this machine (a guard for huge requests)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 16 * 2**30


class MemoryLimitError(ValueError, MemoryError):
    """A request that would need more memory than the machine has, refused before allocating."""


def check_memory(nbytes: float, what: str, *args) -> None:
    """Refuse, before allocating, a request for more than 80% of the machine's memory.

    `what` names the request in the message; given `args`, it is ``what.format(*args)``,
    formatted only when the request is refused (a guard on every call stays cheap).
    """
    limit = 0.8 * available_memory()
    if nbytes > limit:
        if args:
            what = what.format(*args)
        raise MemoryLimitError(
            f"{what} would need about {nbytes:.3g} bytes ({nbytes / 2**30:.1f} GiB), more "
            f"than this machine can give ({limit:.3g} bytes usable); reduce the sizes"
        )


def remembered(check: Callable[..., T]) -> Callable[..., T]:
    """`check`, a validation of scalar arguments, with its passes remembered.

    For a pure function of its arguments that returns or raises: a call with arguments seen
    before (equal and of the same types, so that ``True`` is never taken for ``1``) returns
    the remembered result, which tiny calls of one shape repeat. A refusal is never
    remembered; unhashable arguments (a list for a scalar, say) are validated afresh, so
    that the error names them as before.
    """
    cached = functools.lru_cache(maxsize=256, typed=True)(check)

    @functools.wraps(check)
    def checked(*args):
        try:
            return cached(*args)
        except DTypeError:
            raise
        except TypeError:  # an unhashable argument: validated below, outside this handler
            pass
        return check(*args)

    return checked
