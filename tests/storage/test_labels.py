"""The labels stored on mentions: the labelling queue and where it starts, the model's answers, the team's
corrections and what the digest counts of them."""

from datetime import timedelta

from tests.support.sql import sql
from veilleur.core.mentions import Mention
from veilleur.storage.labels import BACKFILL, MentionLabels, ModelLabel
from veilleur.storage.store import Store, iso, utcnow


def mention(n: int) -> Mention:
    return Mention(source="mastodon", external_id=f"p{n}", url=f"https://m.example/{n}", text=f"post {n}")


def stored(store: Store, watcher: str, numbers: range, *, hours_ago: float = 0) -> list[int]:
    store.record_poll(watcher, "C0X", [mention(n) for n in numbers], {}, backfill=len(numbers),
                      now=utcnow() - timedelta(hours=hours_ago))
    return [row["id"] for row in sql(store).query("select id from mentions order by id desc limit ?",
                                                  [len(numbers)])][::-1]


def test_labelling_starts_with_the_last_day_and_the_start_is_kept(store: Store) -> None:
    old = stored(store, "w", range(0, 40), hours_ago=50)
    recent = stored(store, "w", range(40, 45), hours_ago=3)
    # Purged mentions leave gaps in the ids: the bisection steps over them.
    sql(store).execute("delete from deliveries where mention_id in (?, ?)", [recent[0], old[-1]])
    sql(store).execute("delete from mentions where id in (?, ?)", [recent[0], old[-1]])
    labels = MentionLabels(store)
    assert labels.first_to_label() == recent[1]
    later = stored(store, "w", range(45, 47))
    assert labels.first_to_label(utcnow() + BACKFILL * 10) == recent[1], "set once"
    assert [item.id for item in labels.unlabelled(recent[1], 100)] == recent[1:] + later


def test_an_empty_or_old_database_starts_with_the_next_mention(store: Store) -> None:
    assert MentionLabels(store).first_to_label() == 1
    sql(store).execute("delete from labelling_since")
    old = stored(store, "w", range(3), hours_ago=48)
    assert MentionLabels(store).first_to_label() == old[-1] + 1


def test_answers_are_stored_and_each_mention_asked_once(store: Store) -> None:
    ids = stored(store, "w", range(3))
    labels = MentionLabels(store)
    labels.correct(ids[0], "against", "U0ANN")
    set_ids = labels.record_model(ids, {ids[0]: ModelLabel("for", False), ids[1]: ModelLabel(None, True)})
    assert set_ids == [ids[0]]
    got = labels.labels_of(ids)
    assert (got[ids[0]].stance_team, got[ids[0]].stance_model, got[ids[0]].hostile_model) == ("against", "for", False)
    assert (got[ids[1]].stance_model, got[ids[1]].hostile_model) == (None, True)
    assert labels.unlabelled(1, 10) == []


def test_the_digest_counts_corrections_in_its_period_and_scope(store: Store) -> None:
    tram = stored(store, "tram", range(3))
    bus = stored(store, "bus", range(10, 12))
    labels = MentionLabels(store)
    now = utcnow()
    labels.correct(tram[0], "for", "U0ANN", now - timedelta(hours=1))
    labels.correct(tram[1], "against", "U0ANN", now - timedelta(days=3))
    labels.correct(bus[0], "question", "U0BOB", now - timedelta(hours=2))
    day = (now - timedelta(days=1), now)
    assert labels.corrected_between(*day) == 2
    assert labels.corrected_between(*day, ["tram"]) == 1
    assert labels.corrected_between(*day, []) == 0
    assert [item.stance for item in labels.recent_corrections(2)] == ["for", "question"]
    assert sql(store).execute("select stance_team_at from mentions where id = ?", [tram[0]]).fetchone()[0] == iso(
        now - timedelta(hours=1))


def test_labels_are_found_by_external_id_and_cards_to_redraw_by_state(store: Store) -> None:
    ids = stored(store, "w", range(3))
    labels = MentionLabels(store)
    labels.correct(ids[1], "for", "U0ANN")
    assert {key: value.stance_team for key, value in labels.by_external_id("mastodon", ["p1", "p2", "px"]).items()} \
        == {"p1": "for", "p2": None}
    assert labels.by_external_id("reddit", ["p1"]) == {}
    sql(store).execute("update deliveries set state = 'posted', slack_ts = '1.1' where mention_id = ?", [ids[2]])
    cards = store.posted_cards([*ids, *range(10_000, 45_000)])  # more ids than SQLite takes in one statement
    assert cards == [row["id"] for row in sql(store).query("select id from deliveries where mention_id = ?",
                                                           [ids[2]])]
