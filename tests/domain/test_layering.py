"""Dependency direction (STYLE.md): the domain is pure; only `app.py` wires adapters."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import volundr

PACKAGE = Path(volundr.__file__).parent
ADAPTERS = ("volundr.store", "volundr.runtime", "volundr.bus")


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name imported by `path` (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _is_stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


DOMAIN_FILES = sorted((PACKAGE / "domain").glob("*.py"))


def test_the_domain_package_has_modules() -> None:
    assert len(DOMAIN_FILES) >= 5


def test_nested_imports_are_seen() -> None:
    """`app.py` imports runtime adapters inside a function; the walker must see them."""
    assert any(m.startswith("volundr.runtime") for m in imported_modules(PACKAGE / "app.py"))


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: p.name)
def test_domain_imports_only_the_standard_library_and_itself(path: Path) -> None:
    outside = {
        m
        for m in imported_modules(path)
        if not _is_stdlib(m) and not (m == "volundr.domain" or m.startswith("volundr.domain."))
    }
    # `from volundr.domain import x` yields both the package and `volundr.domain.x`
    assert outside == set(), f"{path.name} imports {sorted(outside)}"


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: p.name)
def test_domain_never_imports_ports(path: Path) -> None:
    assert not any(m.startswith("volundr.ports") for m in imported_modules(path))


WIRING_FILES = sorted(
    [*(PACKAGE / "api").glob("*.py"), *(PACKAGE / "services").glob("*.py"), PACKAGE / "app.py"]
)


@pytest.mark.parametrize("path", WIRING_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_app_imports_adapters(path: Path) -> None:
    adapters = {m for m in imported_modules(path) if m.startswith(ADAPTERS)}
    if path.name == "app.py" and path.parent == PACKAGE:
        assert adapters, "app.py is the composition root and should wire the adapters"
    else:
        assert adapters == set(), f"{path.relative_to(PACKAGE)} imports {sorted(adapters)}"
