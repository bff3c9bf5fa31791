from datetime import UTC, datetime
from pathlib import Path

from tests.support.sql import sql
from veilleur.core.mentions import Mention
from veilleur.storage.store import Store
from veilleur.storage.subject_access import SubjectAccess

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_lookups_of_more_mentions_than_one_statement_takes_keep_the_order_asked(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "veilleur.db")
    posts = [Mention("rss", f"id-{n}", f"https://x.example/{n}", f"post {n}", author_name="Ann") for n in range(1200)]
    outcome = store.record_poll("w", "C1", posts, {}, now=NOW)  # a first poll: quiet cards
    ids = [mention_id for (mention_id,) in sql(store).execute("select id from mentions order by id")]
    access = SubjectAccess(store)
    wanted = ids[::-1]
    assert [row["id"] for row in access.mentions(wanted)] == wanted
    cards = access.cards(ids)
    assert [card["mention_id"] for card in cards] == ids and {card["state"] for card in cards} == {"quiet"}
    assert outcome.quiet == 1200
    assert access.story_places(ids) == [] and access.escalations(ids) == []
    assert access.mentions([]) == []
    store.close()
