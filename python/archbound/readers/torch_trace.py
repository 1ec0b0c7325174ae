"""The torch.fx graph of a module, traced once per module and structure.

Tracing costs milliseconds, far more than reading a module's parameters. A monitor reads the
same module at every record of a training run, while only its parameters change, so the
torch reader keeps each module's graph (:data:`TRACES`) and re-reads the parameters only.
"""

from __future__ import annotations

import weakref


class TraceCache:
    """The traced graph of each module, kept while the module lives and its structure stays.

    Tracing costs milliseconds, far more than reading the parameters; a module recorded
    along a training run keeps its graph while its parameters change. The graph of a module
    is reused while its structure is the same: the class's ``forward`` (and any ``forward``
    set on the instance), and the name, class and training mode of every submodule. The
    cache holds each module weakly, so it never keeps one alive. A forward whose control
    flow reads other attributes (such as a depth stored on the module) is traced once per
    structure: change the structure, or call :meth:`clear`, after changing such an
    attribute.
    """

    def __init__(self) -> None:
        self._graphs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @staticmethod
    def structure(module) -> tuple:
        """What the traced graph of ``module`` depends on, besides its tensors' values."""
        return (
            type(module).forward,
            module.__dict__.get("forward"),
            tuple((name, type(m), m.training) for name, m in module.named_modules()),
        )

    def graph(self, torch, module):
        """The fx graph of ``module``: traced on the first call and after a change of its
        structure, otherwise the one traced before."""
        key = self.structure(module)
        try:
            cached = self._graphs.get(module)
        except TypeError:  # not weakly referable: trace every time
            return _trace(torch, module)
        if cached is None or cached[0] != key:
            cached = (key, _trace(torch, module))
            self._graphs[module] = cached
        return cached[1]

    def clear(self) -> None:
        """Forget every graph."""
        self._graphs.clear()


#: The graphs of the modules read so far (each held weakly).
TRACES = TraceCache()


def _trace(torch, module):
    tracer = torch.fx.Tracer()
    tracer.record_stack_traces = True
    try:
        graph = tracer.trace(module)
    except Exception as exc:  # noqa: BLE001 - fx raises TraceError, TypeError, RuntimeError...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"module: torch.fx cannot trace its forward ({type(exc).__name__}: {first}); "
            "archbound reads modules whose forward is a fixed chain of layers"
        ) from None
    return graph


__all__ = ["TRACES", "TraceCache"]
