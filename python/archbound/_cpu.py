"""The instruction sets the compiled core needs, checked against this CPU before it loads.

A core built with ``ARCHBOUND_NATIVE=ON`` (the default: ``-march=native``) may use every
instruction-set extension of the machine that built it. Loaded on a CPU without one of them
(a virtual environment built on a cluster's login node and used on older compute nodes), it
would die with SIGILL at its first such instruction. The extension stores the list of
extensions it was compiled for as the text ``archbound-isa: avx avx2 fma ...;`` (the names of
Linux's ``/proc/cpuinfo`` flags; see cpp/isa.cpp), which is read here from the file, without
loading it, and compared with the flags of this CPU. Where the CPU's flags are unknown (not
Linux, not x86), nothing is checked.

A portable build (``ARCHBOUND_NATIVE=OFF``) holds the core several times: ``_core`` for
every x86-64 CPU, and the variants of :data:`VARIANTS`, each for an x86-64 microarchitecture
level. :func:`choose_core` picks the most capable one whose marker this CPU satisfies, the
way faiss picks among its instruction-set builds at import.
"""

from __future__ import annotations

import importlib.util
import mmap
import os
from collections.abc import Callable, Iterable

MARKER = b"archbound-isa:"

#: The instruction-set variants of a portable build, most capable first: x86-64-v4
#: (AVX-512) and x86-64-v3 (AVX2, FMA). ``_core`` itself is the fallback.
VARIANTS = ("_core_x86_64_v4", "_core_x86_64_v3")

REBUILD = (
    "Rebuild it on this machine, from the source checkout: `pip install --force-reinstall "
    "--no-deps --no-binary archbound .`; or, for a virtual environment shared by different "
    "machines, build a portable core that runs on every x86-64 CPU (it holds AVX-512, AVX2 "
    "and baseline builds, and loads the best one this CPU runs): "
    "`CMAKE_ARGS=-DARCHBOUND_NATIVE=OFF pip install --force-reinstall --no-deps .`."
)


def compiled_features(path: str | os.PathLike[str]) -> frozenset[str] | None:
    """The extensions the extension at `path` was compiled for; None without the marker."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start = data.find(MARKER)
        if start < 0:
            return None
        end = data.find(b";", start)
        if end < 0:
            return None
        return frozenset(data[start + len(MARKER) : end].decode("ascii").split())


def cpu_features(cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo") -> frozenset[str] | None:
    """This CPU's extensions: the ``flags`` of Linux's `cpuinfo`; None where there are none."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as f:
            for line in f:
                key, sep, value = line.partition(":")
                if sep and key.strip() == "flags":
                    return frozenset(value.split())
    except OSError:
        return None
    return None


def missing_features(compiled: Iterable[str], available: Iterable[str]) -> list[str]:
    """The extensions in `compiled` that are not in `available`, sorted."""
    return sorted(set(compiled) - set(available))


def check_core(
    path: str | os.PathLike[str] | None = None,
    cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo",
) -> None:
    """Raises ImportError if the core at `path` needs an extension that `cpuinfo` lacks.

    Parameters
    ----------
    path : path-like, optional
        The compiled extension; by default, where ``archbound._core`` would be imported from.
    cpuinfo : path-like, optional
        A file in the format of Linux's ``/proc/cpuinfo``.

    Raises
    ------
    ImportError
        Naming the missing extensions and how to rebuild.
    """
    if path is None:
        path = module_file("_core")
        if path is None:
            return  # the import itself will say what is wrong
    available = cpu_features(cpuinfo)
    if available is None:
        return
    compiled = compiled_features(path)
    missing = missing_features(compiled or (), available)
    if missing:
        raise ImportError(
            f"archbound's compiled core ({os.fspath(path)}) was built for instruction-set "
            f"extensions that this CPU lacks: {', '.join(missing)}. Loading it would crash "
            f"with an illegal instruction (SIGILL). {REBUILD}"
        )


def module_file(name: str) -> str | None:
    """The file of the extension ``archbound.<name>``, without loading it; None if absent."""
    spec = importlib.util.find_spec(f"archbound.{name}")
    if spec is None or spec.origin is None or not os.path.isfile(spec.origin):
        return None
    return spec.origin


def choose_core(
    cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo",
    locate: Callable[[str], str | os.PathLike[str] | None] = module_file,
) -> str:
    """The name of the core module to load on this CPU.

    The first of :data:`VARIANTS` that is installed and needs no extension this CPU lacks;
    otherwise ``"_core"``, after :func:`check_core`. Where the CPU's extensions are unknown,
    always ``"_core"``.

    Parameters
    ----------
    cpuinfo : path-like, optional
        A file in the format of Linux's ``/proc/cpuinfo``.
    locate : callable, optional
        The file of a module name, or None where it is not installed; by default, where
        ``archbound.<name>`` would be imported from.

    Raises
    ------
    ImportError
        If ``_core`` needs an extension that this CPU lacks.
    """
    available = cpu_features(cpuinfo)
    if available is not None:
        for name in VARIANTS:
            path = locate(name)
            compiled = None if path is None else compiled_features(path)
            if compiled is not None and not missing_features(compiled, available):
                return name
    check_core(locate("_core"), cpuinfo)
    return "_core"
