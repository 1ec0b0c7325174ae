"""The package's layout: no import circles in the experiment, and private names stay private.

Read from the source with :mod:`ast`, so that imports made only for type checking or inside
functions count too.
"""

import ast
from pathlib import Path

import pytest

import archbound

ROOT = Path(archbound.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = ROOT.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _imports(path: Path):
    """(module, name or None) for every ``import`` and ``from ... import`` in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.module, alias.name


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _experiment_graph() -> dict[str, set[str]]:
    package = "archbound.experiment"
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        if not name.startswith(package + "."):
            continue
        edges = graph.setdefault(name, set())
        for module, item in _imports(path):
            target = f"{module}.{item}" if item and _is_module(f"{module}.{item}") else module
            if target.startswith(package + "."):
                edges.add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of the graph, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_experiment_has_no_import_circle():
    graph = _experiment_graph()
    assert {"archbound.experiment.config", "archbound.experiment.trained"} <= set(graph)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_check_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def _owner(module: str, item: str | None) -> str | None:
    """The package a private name belongs to, or None for a public name: a private module
    (``bounds._checks``) or name (``opnorm._opnorm``) is private to the package holding it."""
    parts = module.split(".")
    for index, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:index])
    if item and item.startswith("_") and not item.startswith("__"):
        if _is_module(f"{module}.{item}"):  # a private module of the package ``module``
            return module
        path = ROOT.parent.joinpath(*parts)
        return module if (path / "__init__.py").exists() else ".".join(parts[:-1])
    return None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_another_packages_private_names(name):
    for module, item in _imports(MODULES[name]):
        if not module.startswith("archbound"):
            continue
        owner = _owner(module, item)
        if owner is not None:
            assert name == owner or name.startswith(owner + "."), (
                f"{name} imports {item or module} from {module}, private to {owner}"
            )


def test_the_private_name_rule():
    assert _owner("archbound.bounds._checks", "check_data") == "archbound.bounds"
    assert _owner("archbound.bounds.sample", "_sample_bounds_batch") == "archbound.bounds"
    assert _owner("archbound.opnorm", "_opnorm") == "archbound"
    assert _owner("archbound", "_core") == "archbound"
    assert _owner("archbound.bounds", "sample_bounds") is None
