"""The package layers of docs/DESIGN.md ("Package layers"): each emogcn package imports only the
foundation modules and the layers above its own, function-level imports included."""

from __future__ import annotations

import ast

from conftest import REPO

FOUNDATION = {"atomic", "log", "config", "provenance", "__version__"}
# docs/DESIGN.md's list, top to bottom; a layer may import the rows before its own.
ROWS = [
    {"features", "scoring", "jobs"},
    {"models"},
    {"data"},
    {"graph"},
    {"training", "classic"},
    {"inference"},
    {"bin"},
]
FOUNDATION_IMPORTS = {"atomic": set(), "log": set(), "config": {"atomic"}, "provenance": {"atomic", "config"}}


def _imports(path) -> set[str]:
    """The emogcn packages and top-level modules a file imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names] if node.module == "emogcn" else [node.module]
        else:
            continue
        found |= {n.split(".")[1] for n in names if n.startswith("emogcn.")}
    return found


def test_every_package_imports_only_the_layers_above_it():
    root = REPO / "emogcn"
    layers = set().union(*ROWS)
    assert {p.name for p in root.iterdir() if (p / "__init__.py").is_file()} == layers
    bad = []
    for row, names in enumerate(ROWS):
        allowed = FOUNDATION.union(*ROWS[:row])
        for name in sorted(names):
            for path in sorted((root / name).rglob("*.py")):
                extra = _imports(path) - allowed - {name}
                if extra:
                    bad.append(f"{path.relative_to(REPO)} imports {', '.join(sorted(extra))}")
    for name, allowed in FOUNDATION_IMPORTS.items():
        extra = _imports(root / f"{name}.py") - allowed
        if extra:
            bad.append(f"emogcn/{name}.py imports {', '.join(sorted(extra))}")
    assert not bad, "\n".join(bad)
