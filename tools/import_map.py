"""The import map of `shared/`: its units, layers, edges and cycles, for comparing two commits.

`python -m tools.import_map [--root DIR]` (default: this checkout; for another commit,
`git worktree add /tmp/before <commit>` and `--root /tmp/before`). Imports are read from the
source (function-level ones included), not run. It prints:

- units: the modules of `shared/` (a package's `__init__` where it defines something), with lines;
- parts: the packages, with their modules, and the top-level modules;
- edges: imports from one module of `shared/` to another, and how many cross from one part to another;
- layers: the longest chain of imports among the modules, leaves being layer 1 (none while a
  cycle stands);
- cycles: groups of modules that import one another, directly or not (none is the rule);
- single importers: modules of `shared/` that one module alone imports (outside tests), with it.

tests/unit/test_shared_layout.py holds the rules (which part may import which, no cycle); its
cycle check reads imports through this module.
"""

from __future__ import annotations

import argparse
import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Where importers are looked for.
USERS = ("services", "coinsctl", "coins_platform", "sandboxes", "bench", "shared", "tools")


def dotted(path: Path, root: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")


def module_imports(path: Path, root: Path) -> set[str]:
    """The modules of shared/ the file imports, at any level of the file: `from shared.x import y`
    names the module shared.x.y where y is one, else shared.x."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "shared":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if _is_module(sub, root) else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "shared"}
    return found


def _is_module(name: str, root: Path) -> bool:
    path = root / Path(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module of shared/ -> the modules of shared/ it imports (itself left out)."""
    graph = {}
    for path in sorted((root / "shared").rglob("*.py")):
        name = dotted(path, root)
        graph[name] = module_imports(path, root) - {name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def layers(graph: dict[str, set[str]]) -> int:
    """The longest chain of imports, in modules; for a graph without cycles (see `import_cycles`)."""
    depth: dict[str, int] = {}

    def of(node: str) -> int:
        if node not in depth:
            depth[node] = 1 + max((of(n) for n in graph.get(node, ()) if n in graph), default=0)
        return depth[node]

    return max((of(node) for node in graph), default=0)


def _holds_code(init: Path) -> bool:
    """A package's `__init__` that defines something (not only its docstring and version)."""
    return any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in ast.parse(init.read_text()).body)


def part_of(module: str, root: Path) -> str:
    """The package of shared/ a module belongs to, or "top level" for a module beside them."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (root / "shared" / parts[1]).is_dir() else "top level"


def single_importers(root: Path, units: set[str]) -> dict[str, str]:
    """Modules of shared/ that exactly one module imports (tests aside): module -> its importer."""
    importers: dict[str, set[str]] = defaultdict(set)
    for top in USERS:
        for path in (root / top).rglob("*.py") if (root / top).is_dir() else ():
            name = dotted(path, root)
            for imported in module_imports(path, root) - {name}:
                importers[imported].add(name)
    return {m: next(iter(importers[m])) for m in units if len(importers[m]) == 1}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="a checkout of the project (default: this one)")
    root = parser.parse_args(argv).root.resolve()
    graph = import_graph(root)
    files = {dotted(p, root): p for p in (root / "shared").rglob("*.py")}
    units = {m for m, p in files.items() if p.name != "__init__.py" or _holds_code(p)}
    lines = {m: len(files[m].read_text().splitlines()) for m in units}
    print(f"units: {len(units)} modules, {sum(lines[m] for m in units)} lines")
    parts: dict[str, list[str]] = defaultdict(list)
    for module in sorted(units):
        parts[part_of(module, root)].append(module.split(".")[-1])
    for part, modules in sorted(parts.items()):
        print(f"  {part} ({len(modules)}): {', '.join(modules)}")
    edges = [(a, b) for a, targets in graph.items() for b in targets if b in graph]
    crossing = [(a, b) for a, b in edges if part_of(a, root) != part_of(b, root)]
    print(f"edges: {len(edges)}, {len(crossing)} of them between parts")
    cycles = import_cycles(graph)
    print(f"layers: {layers(graph) if not cycles else 'none while a cycle stands'}")
    print(f"cycles: {len(cycles)}" + "".join(f"\n  {' <-> '.join(c)}" for c in cycles))
    lonely = single_importers(root, units)
    print(f"single importers: {len(lonely)}" + "".join(f"\n  {m} <- {u}" for m, u in sorted(lonely.items())))


if __name__ == "__main__":
    main()
