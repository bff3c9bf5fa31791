"""Imported public roles in SQLite: a re-import updates, `forget` deletes the author's row."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.sql import sql
from veilleur.core.public_roles import PublicRole
from veilleur.storage.public_roles import ImportCounts, PublicRoles
from veilleur.storage.retention import ErasureRecords
from veilleur.storage.store import Store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path / "veilleur.db")
    yield opened
    opened.close()


def test_a_reimport_updates_the_same_author_and_adds_the_others(store: Store) -> None:
    roles = PublicRoles(store)
    assert roles.save([PublicRole("ann", "mastodon", "journalist", "Ann"),
                       PublicRole("", "rss", "media", "Le Progrès")], NOW) == ImportCounts(2, 0)
    counts = roles.save([PublicRole("ann", "mastodon", "elected", "Ann B."),
                         PublicRole("", "rss", "media", "le progrès"), PublicRole("ann", "bluesky", "elected", "Ann")],
                        NOW)
    assert counts == ImportCounts(added=1, updated=2)
    assert roles.all() == [
        PublicRole("ann", "bluesky", "elected", "Ann"),
        PublicRole("ann", "mastodon", "elected", "Ann B."),
        PublicRole("", "rss", "media", "le progrès"),
    ]


@pytest.mark.parametrize(("source", "left"), [(None, ["bob"]), ("bluesky", ["ann", "bob"])])
def test_forget_deletes_the_authors_imported_role(store: Store, source: str | None, left: list[str]) -> None:
    PublicRoles(store).save([PublicRole("ann", "mastodon", "elected", "Ann"),
                             PublicRole("bob", "mastodon", "journalist", "Bob")], NOW)
    ErasureRecords(store).start_forget(author="@Ann", source=source, author_hash="h", reason="erasure",
                                       requested_by="cli", now=NOW)
    assert [row[0] for row in sql(store).execute("select handle from public_roles order by handle")] == left


def test_forget_by_name_deletes_a_role_known_by_name(store: Store) -> None:
    PublicRoles(store).save([PublicRole("", "rss", "journalist", "Jean Dupont")], NOW)
    ErasureRecords(store).start_forget(author="jean dupont", source=None, author_hash="h", reason="erasure",
                                       requested_by="cli", now=NOW)
    assert PublicRoles(store).all() == []
