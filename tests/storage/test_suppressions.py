"""The collection gate: what a poll may not store (too old, erased, by an author who objected)."""

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from veilleur.core.keyed_hash import author_key, item_key, keyed_hash
from veilleur.core.mentions import Mention
from veilleur.storage.privacy_key import KEY_FILE, PrivacyKey
from veilleur.storage.store import Store
from veilleur.storage.suppressions import CollectionGate

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SECRET = "s" * 64


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path / "veilleur.db")
    yield opened
    opened.close()


def post(n: int, *, source: str = "mastodon", handle: str = "", name: str = "",
         created_at: datetime | None = None) -> Mention:
    return Mention(source=source, external_id=f"p{n}", url=f"https://x.example/{n}", text="tram",
                   author_handle=handle, author_name=name, created_at=created_at)


def admitted(gate: CollectionGate, *mentions: Mention) -> list[str]:
    return [mention.external_id for mention in gate.admit(mentions, NOW)]


def suppress(path: Path, text: str) -> None:
    """Another process (the CLI's forget) adds a suppression."""
    with sqlite3.connect(path) as connection:
        connection.execute("insert into suppressions (key_hash, created_at, reason) values (?, ?, 'objection')",
                           [keyed_hash(SECRET.encode(), text), NOW.isoformat()])


def test_posts_published_before_the_retention_period_are_not_stored(store: Store) -> None:
    gate = CollectionGate(store, PrivacyKey(SECRET, None), timedelta(days=90))
    naive_old = (NOW - timedelta(days=91)).replace(tzinfo=None)  # sources give naive times in UTC
    found = admitted(gate, post(1, created_at=NOW - timedelta(days=91)), post(2, created_at=NOW - timedelta(days=89)),
                     post(3), post(4, created_at=naive_old))
    assert found == ["p2", "p3"]


def test_an_author_who_objected_is_dropped_by_handle_or_name_on_their_source_or_all(
    store: Store, tmp_path: Path
) -> None:
    gate = CollectionGate(store, PrivacyKey(SECRET, tmp_path), None)
    everyone = (post(1, handle="@Ann@m.example"), post(2, handle="bob"), post(3, source="rss", name="Jeanne Martin"),
                post(4, source="lemmy", handle="ann@m.example"), post(5, source="rss", name="Jean Martin"))
    assert admitted(gate, *everyone) == ["p1", "p2", "p3", "p4", "p5"]

    suppress(store.path, author_key("ann@m.example", "mastodon"))
    assert admitted(gate, *everyone) == ["p2", "p3", "p4", "p5"]
    suppress(store.path, author_key("jeanne martin", None))
    suppress(store.path, author_key("ann@m.example", None))
    assert admitted(gate, *everyone) == ["p2", "p5"]


def test_an_erased_post_is_not_stored_again(store: Store, tmp_path: Path) -> None:
    gate = CollectionGate(store, PrivacyKey(SECRET, tmp_path), None)
    with sqlite3.connect(store.path) as connection:
        connection.execute("insert into erased_items (key_hash, at) values (?, ?)",
                           [keyed_hash(SECRET.encode(), item_key("mastodon", "p2")), NOW.isoformat()])
    assert admitted(gate, post(1), post(2), post(3)) == ["p1", "p3"]


def test_without_a_key_nothing_is_dropped_and_no_key_file_is_made(store: Store, tmp_path: Path) -> None:
    gate = CollectionGate(store, PrivacyKey(None, tmp_path), None)
    with sqlite3.connect(store.path) as connection:
        connection.execute("insert into suppressions (key_hash, created_at, reason) values ('x', ?, 'erasure')",
                           [NOW.isoformat()])
    assert admitted(gate, post(1, handle="ann")) == ["p1"]
    assert not (tmp_path / KEY_FILE).exists()


def test_a_poll_stores_only_what_the_gate_admits(store: Store, tmp_path: Path) -> None:
    gate = CollectionGate(store, PrivacyKey(SECRET, tmp_path), timedelta(days=90))
    suppress(store.path, author_key("ann", None))
    outcome = store.record_poll("w", "C1", [post(1, handle="ann"), post(2, handle="bob"),
                                            post(3, created_at=NOW - timedelta(days=365))], {}, backfill=5,
                                admit=gate.admit, now=NOW)
    assert outcome.new_mentions == 1 and store.count_mentions() == 1
