"""The public roles a team keeps in a spreadsheet (`bot.py authors import FILE.csv`), read and checked row by row.

Only public roles (`PUBLIC_ROLES`: elected, journalist, media, institution) can be imported: a person's public
office or trade is something they made public, while "troll" or "opposition" would be an inference about them
(GDPR art. 5(1)(a), 9). A bad row is reported with its line number and left out; the others are imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from veilleur.core.i18n import t
from veilleur.core.watcher_config import PUBLIC_ROLES, AuthorLabel, normal_handle

COLUMNS = ("handle", "source", "role", "name")


@dataclass(frozen=True, slots=True)
class PublicRole:
    """One imported row: `handle` as `normal_handle` gives it ("" for an author known by name only, as on RSS)."""

    handle: str
    source: str
    role: str
    name: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """What a re-import updates by: the source and the handle, or the name when there is no handle."""
        return self.source, self.handle or f"name:{self.name.casefold()}"

    def label(self) -> AuthorLabel:
        return AuthorLabel(
            labels=(self.role,), handle=self.handle or None, name=self.name or None, source=self.source
        )


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int  # the file's line number, the header being line 1
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class RolesFileError(ValueError):
    """The file as a whole cannot be used (no header, or a header without the needed columns)."""


def parse_public_roles(text: str, sources: Collection[str]) -> tuple[list[PublicRole], list[RowProblem]]:
    """The rows of a CSV file with a header naming handle, source, role and name (any order, other columns ignored).

    A later row for the same author (source and handle) replaces an earlier one, as a re-import does.
    """
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    header = [column.strip().casefold() for column in reader.fieldnames or ()]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise RolesFileError(
            f"the first line must name the columns {', '.join(COLUMNS)}; missing: {', '.join(missing)}"
        )
    reader.fieldnames = header
    roles: dict[tuple[str, str], PublicRole] = {}
    problems: list[RowProblem] = []
    for row in reader:
        line = reader.line_num
        try:
            role = _parse_row(row, sources)
        except ValueError as error:
            problems.append(RowProblem(line, str(error)))
            continue
        roles[role.key] = role
    return list(roles.values()), problems


def _parse_row(row: dict[str, str | None], sources: Collection[str]) -> PublicRole:
    def cell(name: str) -> str:
        value = row.get(name)
        return value.strip() if isinstance(value, str) else ""

    handle, name = normal_handle(cell("handle")), " ".join(cell("name").split())
    if not handle and not name:
        raise ValueError("give the author's handle, name, or both")
    source = cell("source").casefold()
    if source not in sources:
        raise ValueError(f"unknown source {source!r}; use one of {', '.join(sorted(sources))}")
    role = cell("role").casefold()
    if role not in PUBLIC_ROLES:
        raise ValueError(
            f"unknown role {role!r}; use one of {', '.join(PUBLIC_ROLES)} (public roles only: classify posts, not"
            " people)"
        )
    return PublicRole(handle=handle, source=source, role=role, name=name)


def with_imported_roles(file_labels: Sequence[AuthorLabel], imported: Sequence[PublicRole]) -> list[AuthorLabel]:
    """The `[[author]]` tables and the imported roles as one list: an imported role wins over a table naming the same
    author on the same source (or on every source), since the team's list is the newer, kept one."""
    labels = [role.label() for role in imported]
    kept = [
        table for table in file_labels
        if not any(_same_author(table, role) for role in imported)
    ]
    return labels + kept


def _same_author(table: AuthorLabel, role: PublicRole) -> bool:
    if table.source is not None and table.source != role.source:
        return False
    return table.matches(role.source, role.handle, role.name)


def public_role_lines(roles: Sequence[PublicRole], lang: str) -> list[str]:
    """`authors list`: one line per imported role, "mastodon  ann@mairie.example  Ann Maire  elected"."""
    if not roles:
        return [t("authors.list.none", lang)]
    return [
        "  ".join(part for part in (role.source, role.handle, role.name, t(f"label.{role.role}", lang)) if part)
        for role in roles
    ]
