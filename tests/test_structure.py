"""The shape of the code: what may import what, no import cycles, every package installed.

The core (hgharness/) knows no layer: only the CLI entry (hgharness/cli.py) imports the layers (fixtures/,
load/, reports/, suites/) to wire their commands and stages. No module imports, directly or through others,
itself: imports inside functions count too, since they are dependencies all the same.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("fixtures", "load", "reports", "suites")
CLI_ENTRY = {"hgharness.cli"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] in LAYERS:
        parts.insert(0, "hgharness")
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for top in ("hgharness", *LAYERS):
        for path in (ROOT / top).rglob("*.py"):
            found[module_name(path)] = path
    return found


def imports_of(path: Path, name: str, known: dict) -> set[str]:
    """The project modules `path` imports, wherever in the file the import stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(path, name, known) for name, path in known.items()}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "core"


def test_the_core_imports_no_layer():
    wrong = sorted(f"{m} imports {d}" for m, deps in graph().items() if layer_of(m) == "core"
                   and m not in CLI_ENTRY for d in deps if layer_of(d) != "core")
    assert not wrong, "the core must not import a layer:\n" + "\n".join(wrong)


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each a cycle or a knot of them."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_a_suite_imports_no_other_suites_test_module():
    g = graph()
    wrong = sorted(f"{m} imports {d}" for m, deps in g.items() for d in deps
                   if d.rpartition(".")[2].startswith("test_") or d.rpartition(".")[2] == "conftest")
    assert not wrong, "\n".join(wrong)


def test_every_package_folder_is_installed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    folders = {module_name(p) for top in ("hgharness", *LAYERS) for p in (ROOT / top).rglob("__init__.py")}
    assert folders == listed, f"pyproject.toml packages differ: missing {folders - listed}, extra {listed - folders}"
