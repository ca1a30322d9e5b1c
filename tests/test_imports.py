"""The package's import graph: no module imports itself back through a chain of imports.

Read from the source (AST), so imports inside functions and under ``TYPE_CHECKING`` count as
edges too: a lazy import that closes a cycle only hides it until someone moves the import up.
So does a ``"._module:attribute"`` string (the CLI's lazily imported commands, ``cli._lazy``).
An import of a package's own ``__init__`` by its submodules is not counted as a cycle (Python
imports the parent package first; that is how packages work), but an explicit
``from .. import name`` is an edge to the parent's ``__init__``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import marketo_async

PACKAGE_ROOT = Path(marketo_async.__file__).parent


def _modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """Every module under the package directory ``root``: dotted name -> (file, is package)."""
    found: dict[str, tuple[Path, bool]] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


# "._module:attribute": a module imported by name when the attribute is first needed.
_LAZY_REFERENCE = re.compile(r"^(\.+)([\w.]*):\w+$")


def _relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([name] if name else [])])


def _imported(node: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, str | None]]:
    """(module named, name imported from it or None) for one import statement (or lazy
    ``"._module:attribute"`` reference)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name, None
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            target = _relative(module, is_package, node.level, node.module)
        else:
            target = node.module or ""
        for alias in node.names:
            yield target, alias.name
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        lazy = _LAZY_REFERENCE.match(node.value)
        if lazy:
            yield _relative(module, is_package, len(lazy[1]), lazy[2]), None


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports anywhere in its source."""
    modules = _modules(root)
    graph: dict[str, set[str]] = {}
    for module, (path, is_package) in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target, name in _imported(node, module, is_package):
                submodule = f"{target}.{name}" if name is not None else None
                if submodule in modules:
                    edges.add(submodule)
                elif target in modules:
                    edges.add(target)
        edges.discard(module)
        graph[module] = edges
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_import_cycle_in_the_package_lazy_imports_included() -> None:
    graph = import_graph(PACKAGE_ROOT)
    assert len(graph) > 100  # the whole package was read
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(
        " <-> ".join(group)
        + "\n  "
        + "; ".join(f"{module} imports {sorted(graph[module] & set(group))}" for module in group)
        for group in found
    )


def _write(root: Path, files: Mapping[str, str]) -> Path:
    package = root / "pkg"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return package


@pytest.mark.parametrize(
    ("files", "cycle"),
    [
        pytest.param(
            {
                "__init__.py": "",
                "sub/__init__.py": "",
                "sub/a.py": "from ..b import thing\n",
                "b.py": "def thing():\n    from .sub import a\n    return a\n",
            },
            ["pkg.b", "pkg.sub.a"],
            id="an import inside a function",
        ),
        pytest.param(
            {
                "__init__.py": "",
                "app.py": 'COMMANDS = {"leads": "._leads:leads"}\n',
                "_leads.py": "from .app import COMMANDS\n",
            },
            ["pkg._leads", "pkg.app"],
            id="a lazy command reference",
        ),
    ],
)
def test_a_cycle_closed_by_a_lazy_import_is_found(
    tmp_path: Path, files: Mapping[str, str], cycle: list[str]
) -> None:
    assert cycles(import_graph(_write(tmp_path, files))) == [cycle]


def test_a_cycle_through_type_checking_and_a_package_init_is_found(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {
            "__init__.py": "from .a import A\n",
            "a.py": "A = 1\n",
            "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import A\n",
            "d.py": "import pkg.c\n",
        },
    )
    graph = import_graph(package)
    assert graph["pkg.c"] == {"pkg"} and graph["pkg.d"] == {"pkg.c"}
    assert cycles(graph) == []  # nothing imports c or d back
    (package / "a.py").write_text("import pkg.d\nA = 1\n", encoding="utf-8")
    assert cycles(import_graph(package)) == [["pkg", "pkg.a", "pkg.c", "pkg.d"]]


def test_a_submodule_importing_its_parent_package_implicitly_is_no_cycle(tmp_path: Path) -> None:
    package = _write(
        tmp_path,
        {"__init__.py": "from .a import A\n", "a.py": "from .b import B as A\n", "b.py": "B = 1\n"},
    )
    assert cycles(import_graph(package)) == []
