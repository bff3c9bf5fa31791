from datetime import UTC, datetime
from pathlib import Path

import pytest

from veilleur.core.mentions import Mention
from veilleur.storage.authors import AuthorRecords
from veilleur.storage.store import Store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "test.db")


def post(n: int, source: str = "mastodon", handle: str = "", name: str = "") -> Mention:
    return Mention(
        source=source,
        external_id=f"{source}-{n}",
        url=f"https://x.example/{n}",
        text=f"post {n}",
        author_handle=handle,
        author_name=name,
    )


def stored(store: Store, *mentions: Mention) -> list[int]:
    store.record_poll("w", "C1", list(mentions), {}, now=NOW)
    return [store.mention_ids_at_url(m.url)[0] for m in mentions]


def test_an_author_is_found_by_handle_without_case_or_leading_at(store: Store) -> None:
    ids = stored(
        store,
        post(1, handle="Ann@mastodon.social"),
        post(2, handle="bob@mastodon.social"),
        post(3, handle="@ANN@mastodon.social"),
    )
    assert AuthorRecords(store).mention_ids("@ann@Mastodon.social") == [ids[0], ids[2]]


def test_a_name_finds_the_posts_of_sources_without_handles(store: Store) -> None:
    ids = stored(store, post(1, source="rss", name="Jeanne Martin"), post(2, source="rss", name="Jean Martin"))
    assert AuthorRecords(store).mention_ids("jeanne martin") == [ids[0]]


def test_a_source_narrows_the_lookup(store: Store) -> None:
    ids = stored(store, post(1, source="mastodon", handle="ann"), post(2, source="bluesky", handle="ann"))
    records = AuthorRecords(store)
    assert records.mention_ids("ann", source="bluesky") == [ids[1]]
    assert records.mention_ids("ann") == ids


def test_an_unknown_or_empty_author_holds_nothing(store: Store) -> None:
    stored(store, post(1, handle="ann"), post(2, name=""))
    records = AuthorRecords(store)
    assert records.mention_ids("nobody") == []
    assert records.mention_ids("  @ ") == []
