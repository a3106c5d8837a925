"""Platform knowledge stays in its connector (issue 12): README's "Adding a platform" names
files that exist for Shopware, and no code in core/ or sync/ names a platform (only docstrings
and comments may, and the registry in connectors/ is where connector modules are named)."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_NAME = re.compile(r"shopware|prestashop|jtl", re.I)


def _section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_adding_a_platform_names_files_that_exist_for_shopware() -> None:
    section = _section("Adding a platform")
    named = re.findall(r"`((?:connectors|tests)/[^`\s]+)`", section)
    assert len(named) >= 10, named
    for path in named:
        real = ROOT / path.replace("<name>", "shopware").rstrip("/")
        assert real.exists(), path
    for needed in ("platform.py", "client.py", "writer.py", "simulator.py", "test_slots.py"):
        assert any(p.endswith(needed) for p in named), needed


def _docstrings(tree: ast.AST) -> set[int]:
    """Line numbers of module, class and function docstrings."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            if doc and isinstance(first, ast.Expr) and first.end_lineno:
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def platform_names_in_code(source: str) -> list[str]:
    """Names and string literals (not docstrings, not comments) that name a platform."""
    docs = _docstrings(ast.parse(source))
    hits = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        code = tok.type in (tokenize.NAME, tokenize.STRING) and tok.start[0] not in docs
        if code and PLATFORM_NAME.search(tok.string):
            hits.append(f"{tok.start[0]}: {tok.string}")
    return hits


def test_the_check_finds_code_and_spares_docs() -> None:
    source = (
        '"""Shopware in a docstring."""\n'
        "# PrestaShop in a comment\n"
        "def f():\n"
        '    """JTL in a docstring."""\n'
        '    return {"shopware": 1}\n'
        "jtl_id = 2\n"
    )
    assert platform_names_in_code(source) == ['5: "shopware"', "6: jtl_id"]


def test_core_and_sync_name_no_platform_in_code() -> None:
    found = {}
    for top in ("core", "sync"):
        for path in sorted((ROOT / top).rglob("*.py")):
            hits = platform_names_in_code(path.read_text(encoding="utf-8"))
            if hits:
                found[str(path.relative_to(ROOT))] = hits
    assert found == {}
