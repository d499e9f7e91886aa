"""The imports write other areas' tables only through those areas' public writers: no module of
``programdesk/imports`` inserts rows itself or reaches for another area's private helpers."""

from __future__ import annotations

import ast
from pathlib import Path

import programdesk

IMPORTS = Path(programdesk.__file__).parent / "imports"
RAW_WRITES = {"insert_rows", "insert_rows_batched", "update_rows", "bulk_create", "bulk_update"}


def _modules() -> list[Path]:
    return sorted(p for p in IMPORTS.rglob("*.py") if "migrations" not in p.parts)


def test_imports_never_write_rows_themselves() -> None:
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute | ast.Name):
                continue
            name = node.attr if isinstance(node, ast.Attribute) else node.id
            if name in RAW_WRITES:
                found.append(f"{path.relative_to(IMPORTS)}:{node.lineno} {name}")
    assert found == []


def test_imports_use_no_private_name_of_another_area() -> None:
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module \
                    and node.module.startswith("programdesk.") \
                    and not node.module.startswith("programdesk.imports"):
                found += [f"{path.relative_to(IMPORTS)}: {node.module}.{alias.name}"
                          for alias in node.names if alias.name.startswith("_")]
    assert found == []
