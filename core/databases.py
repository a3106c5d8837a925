"""Where each shop's mirror lives: the `database:` path, a `{shop}` template, or a shop's own.

Three layouts, all valid: one file for every shop (`database: loyalsync.db`, the default and
the layout of every existing config); one file per shop from a template
(`database: mirrors/{shop}.db`); or a shop's own `shops[i].database`, which wins over the
top-level one. Shops with their own file never share a mirror or its lock, so an agency's
daemon runs them side by side. Pure: builds and checks paths, never opens a file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

PLACEHOLDER = "{shop}"
# a shop name that goes into a file name: no separators, no leading dot, no spaces
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_BRACES = re.compile(r"\{[^{}]*\}|[{}]")


def is_template(database: str) -> bool:
    return PLACEHOLDER in database


def database_for(database: str, shop: str, own: str | None = None) -> str:
    """The mirror file of `shop`: its own `database` if set, else the top-level one with
    `{shop}` replaced by the shop's name (a plain path is shared by every shop)."""
    chosen = own or database
    return chosen.replace(PLACEHOLDER, shop)


def resolve(database: str, base: Path) -> str:
    """A relative path (or template) made relative to the config file's directory."""
    if database == ":memory:" or os.path.isabs(database):
        return database
    return str(base / database)


def template_problems(where: str, database: str) -> list[str]:
    """Braces other than `{shop}` (a typo such as `{shops}` or `{name}`, or a lone brace)."""
    problems = []
    for token in _BRACES.findall(database):
        if token == PLACEHOLDER:
            continue
        hint = " (did you mean '{shop}'?)" if token.startswith("{") and token.endswith("}") else ""
        problems.append(
            f"{where}: unknown placeholder {token!r} in {database!r}{hint}; the only "
            f"placeholder is {{shop}}, the shop's name"
        )
    return problems


def layout_problems(database: str, shops: Sequence[tuple[str, str | None]]) -> list[str]:
    """Problems of the whole layout: bad templates, shop names that cannot be file names in a
    template, and two shops whose own files collide (sharing is only for the plain top-level
    `database`, where it is what the user asked for)."""
    problems = template_problems("database", database)
    seen: dict[str, int] = {}
    for i, (name, own) in enumerate(shops):
        if own is not None:
            problems.extend(template_problems(f"shops[{i}].database", own))
        template = own or database
        if is_template(template) and name and not SAFE_NAME.fullmatch(name):
            problems.append(
                f"shops[{i}].name: {name!r} cannot stand for {{shop}} in the database path "
                f"{template!r}: use letters, digits, '.', '_' or '-' (no '/' or spaces)"
            )
        if own is None and not is_template(database):
            continue  # the shared file of the plain layout
        path = database_for(database, name, own)
        if path in seen and path != ":memory:":
            problems.append(
                f"shops[{i}].database: {path!r} is also the mirror of shops[{seen[path]}]; "
                f"a shop's own database must be its own file"
            )
        seen.setdefault(path, i)
    return problems


def group_by_file(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """(shop, path) pairs -> path -> shops, in config order: the units that share a lock."""
    groups: dict[str, list[str]] = {}
    for shop, path in pairs:
        groups.setdefault(path, []).append(shop)
    return groups
