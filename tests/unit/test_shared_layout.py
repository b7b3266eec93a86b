"""shared/ is packages by concern over a core of leaf modules; these tests hold the boundaries.

Each package's `__init__` says what it is for and what it may import; `MAY_IMPORT` is the same
rule in code, and the imports of every module (function-level ones included) must keep to it.
Imports are read as `python -m tools.import_map` reads them, and it prints the map these rules
hold (units, parts, edges, cycles).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tools.import_map import import_cycles, import_graph, module_imports

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"

# Top-level modules that are leaves: they import only one another.
CORE = {
    "__init__",
    "__version__",
    "clock",
    "ids",
    "env",
    "errors",
    "fields",
    "faults",
    "contracts",
    "credentials",
}

# Which part of shared/ may import which (besides itself). A DAG, lowest first.
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "observability": {"core"},
    "kafka": {"core", "observability"},
    "db": {"core", "observability", "kafka"},
    "outbound": {"core", "observability"},
    "auth": {"core", "observability"},
    "messaging": {"core", "observability", "kafka", "db"},
    "settings": {"core", "auth", "kafka", "db", "outbound"},
    "runtime": {"core", "observability", "kafka", "db", "messaging", "settings"},
    "http": {"core", "observability", "auth", "db", "settings", "runtime"},
    "idempotency": {"core", "observability", "db", "messaging", "http"},
}


def part_of(module: str) -> str:
    """The part of shared/ a dotted module (under `shared.`) belongs to."""
    parts = module.split(".")
    if len(parts) == 1:
        return "core"
    name = parts[1]
    if (SHARED / name).is_dir():
        return name
    if name in CORE:
        return "core"
    return name


def dotted(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_the_allowed_imports_form_no_cycle():
    order: list[str] = []
    remaining = dict(MAY_IMPORT)
    while remaining:
        ready = [part for part, deps in remaining.items() if deps <= set(order)]
        assert ready, f"a cycle among {sorted(remaining)}"
        order += ready
        for part in ready:
            del remaining[part]


def test_every_module_imports_only_what_its_part_may():
    wrong = []
    for path in SHARED.rglob("*.py"):
        mine = part_of(dotted(path))
        assert mine in MAY_IMPORT, f"{path}: a part of shared/ that MAY_IMPORT does not name"
        for imported in module_imports(path, ROOT):
            theirs = part_of(imported)
            if theirs != mine and theirs not in MAY_IMPORT[mine]:
                wrong.append(f"{dotted(path)} ({mine}) imports {imported} ({theirs})")
    assert not wrong, "\n".join(wrong)


def test_every_package_says_what_it_is_for_and_what_it_may_import():
    for init in SHARED.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "May import" in doc, f"{init}: its docstring must say what the package is for and may import"


def test_no_shared_module_serves_one_service_or_only_the_cli():
    """A module used by one service alone belongs in that service; one used only by the CLI, in coinsctl/."""
    users: dict[str, set[str]] = defaultdict(set)
    for top in ("services", "coinsctl", "sandboxes", "bench", "shared"):
        for path in (ROOT / top).rglob("*.py"):
            user = "/".join(path.relative_to(ROOT).parts[:2]) if top == "services" else top
            for imported in module_imports(path, ROOT):
                if dotted(path) != imported:
                    users[imported].add(user)
    lonely = {module: who for module, who in users.items() if len(who) == 1 and next(iter(who)) != "shared"}
    lonely = {m: w for m, w in lonely.items() if (ROOT / Path(*m.split("."))).with_suffix(".py").exists()}
    assert not lonely, f"modules with a single user outside shared/: {lonely}"


def test_no_module_of_shared_takes_part_in_an_import_cycle():
    """Function-level imports included: a module imported "where it is used" to dodge a cycle is
    still a cycle for a reader."""
    assert import_cycles(import_graph(ROOT)) == []


def test_the_cycle_check_finds_a_cycle_of_three():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
