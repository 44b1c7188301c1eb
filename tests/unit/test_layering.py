"""The package's floors, read from its imports with ``ast`` (the rule is stated in
``tenantdb/core/__init__.py``): no module imports from a floor above its own, none imports
another package's underscore module, and the core imports nothing that does I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tenantdb

PACKAGE = Path(tenantdb.__file__).parent

# Floor of each top-level part of the package (lowest first). A new part must be placed here.
FLOORS: dict[str, int] = {
    "errors": 0,
    "config": 1,
    "core": 2,
    "monitoring": 3,
    "telemetry": 3,
    "_async": 3,
    "_sync": 3,
    "_concurrency": 3,
    "drivers": 3,
    "tenants": 4,
    "admin": 5,
    "_cluster": 6,
    "dbapi": 7,
    "console": 7,
    "__init__": 7,
    "cli": 8,
    "integrations": 8,
    "demo": 8,
}

# Modules that do I/O (or drive it), which the pure core must not import.
IO_MODULES = frozenset(
    {
        "aiomysql",
        "aiosqlite",
        "asyncio",
        "asyncmy",
        "http",
        "psycopg",
        "psycopg_pool",
        "pymysql",
        "redis",
        "requests",
        "selectors",
        "socket",
        "sqlite3",
        "ssl",
        "subprocess",
        "urllib.request",
        "watchfiles",
    }
)


def _module_name(path: Path) -> str:
    parts = ("tenantdb", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(source: str, name: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the source, relative ones resolved."""
    package = name if is_package else name.rsplit(".", 1)[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # ``from . import _x`` names a (private) module too
            found += [
                (node.lineno, f"{module}.{alias.name}")
                for alias in node.names
                if alias.name.startswith("_")
            ]
    return found


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _package_of(module: str) -> tuple[str, ...]:
    """The package a module belongs to for the privacy rule: its top-level part, or for
    ``core`` the sub-package (``core.sql``, ``core.routing``, ...)."""
    parts = tuple(module.split("."))
    return parts[:3] if len(parts) > 2 and parts[1] == "core" else parts[:2]


def _violations(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    name = _module_name(path)
    return _violations_in(source, name, path.name == "__init__.py")


def _violations_in(source: str, here: str, is_package: bool) -> list[str]:
    floor = FLOORS[_part(here)]
    problems: list[str] = []
    for line, target in _imports(source, here, is_package):
        where = f"{here}:{line}"
        if not target.startswith("tenantdb.") and target != "tenantdb":
            root = target.split(".")[0]
            if _part(here) == "core" and (target in IO_MODULES or root in IO_MODULES):
                problems.append(f"{where}: the core imports {target}, which does I/O")
            continue
        if target == "tenantdb" or _part(target) not in FLOORS:
            continue  # ``from tenantdb import x`` resolves to the names checked below
        if FLOORS[_part(target)] > floor:
            problems.append(f"{where}: {here} (floor {floor}) imports {target} from above")
        own, theirs = _package_of(here), _package_of(target)
        inside = theirs[len(own) :] if theirs[: len(own)] == own else None
        if own[:2] == theirs[:2] and own[1] != "core":
            continue  # within one top-level package anything goes
        if inside is None and any(p.startswith("_") for p in target.split(".")[len(theirs) :]):
            problems.append(f"{where}: {here} reaches into {target}, a private module")
    return problems


def test_every_part_of_the_package_has_a_floor() -> None:
    parts = {_part(_module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert parts <= set(FLOORS), f"place these in FLOORS: {sorted(parts - set(FLOORS))}"


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_imports_follow_the_floors(path: Path) -> None:
    assert _violations(path) == []


def test_the_checker_catches_what_it_should() -> None:
    """The rule is not vacuous: each kind of violation in a module under core is reported."""
    probe = (
        "import socket\nfrom ..._sync import Session\nfrom ...config._urls import redact_url\n"
        "from ..sql._template import Template\nfrom ._rows import Row\n"
    )
    found = _violations_in(probe, "tenantdb.core.merge._probe", is_package=False)
    assert len(found) == 4, found
    assert "does I/O" in found[0]
    assert "from above" in found[1]
    assert "private module" in found[2]
    assert "core.sql._template, a private module" in found[3]  # sibling core package
