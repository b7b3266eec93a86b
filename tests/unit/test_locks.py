"""The two locks are what `make lock` (pip-compile) makes from pyproject.toml: every package pinned
exactly with its hashes, every declared dependency in its lock, and the runtime closure the same
in both (the images install requirements.lock, the tests run on requirements-dev.lock)."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def pins(lock: str) -> dict[str, str]:
    """name -> version of every pinned line; fails on a pin without a hash."""
    found, lines = {}, (ROOT / lock).read_text().splitlines()
    for i, line in enumerate(lines):
        match = PIN.match(line)
        if not match:
            assert not line or line[0] in "# ", f"{lock}: an entry that is not an exact pin: {line!r}"
            continue
        following = lines[i + 1] if i + 1 < len(lines) else ""
        assert "--hash=sha256:" in following, f"{lock}: {match[1]} has no hash"
        found[canonicalize_name(match[1])] = match[2]
    return found


def declared(extra: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return {canonicalize_name(Requirement(spec).name) for spec in specs}


def test_every_runtime_dependency_is_pinned_with_hashes():
    runtime = pins("requirements.lock")
    assert declared() <= runtime.keys(), "run `make lock`: pyproject.toml names what the lock lacks"


def test_the_dev_lock_holds_the_runtime_closure_at_the_same_versions():
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert declared("dev") <= dev.keys(), "run `make lock`: pyproject.toml names what the dev lock lacks"
    differ = {name: (version, dev.get(name)) for name, version in runtime.items() if dev.get(name) != version}
    assert not differ, f"runtime pins differ in requirements-dev.lock (run `make lock`): {differ}"


def test_the_locks_are_made_by_make_lock():
    for lock in ("requirements.lock", "requirements-dev.lock"):
        assert "make lock" in (ROOT / lock).read_text()[:300], f"{lock} was not made by `make lock`"


# Third-party modules the code may import without declaring them at run time (none today).
DEV_ONLY_IMPORTS: set[str] = set()


def test_pip_install_dot_declares_every_package_the_code_imports():
    """`pip install .` must give a working coinsctl and services: every third-party module that
    shared/, services/, coinsctl/ and sandboxes/ import comes from a declared runtime dependency."""
    import ast
    import importlib.metadata
    import sys

    own = {"shared", "services", "coinsctl", "sandboxes", "__future__"}
    imported: dict[str, str] = {}
    for package in ("shared", "services", "coinsctl", "sandboxes"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in own and top not in sys.stdlib_module_names:
                        imported.setdefault(top, str(path.relative_to(ROOT)))
    distributions = importlib.metadata.packages_distributions()
    runtime, dev = declared(), declared("dev")
    for module, where in imported.items():
        provided_by = {canonicalize_name(d) for d in distributions.get(module, [module])}
        allowed = runtime | (dev if module in DEV_ONLY_IMPORTS else set())
        assert provided_by & allowed, f"{where} imports {module} ({provided_by}), which pyproject.toml does not declare"
