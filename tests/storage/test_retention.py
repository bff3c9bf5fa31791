"""Retention rules per table, and erasure steps on a database file: what goes, what is counted, what is queued."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.seed import seed_mentions
from tests.support.sql import sql
from veilleur.core.mentions import Mention
from veilleur.core.stances import classify_lexically
from veilleur.storage.escalations import EscalationStore
from veilleur.storage.labels import MentionLabels, ModelLabel
from veilleur.storage.retention import RETENTION_RULES, ErasureRecords, Rule, SlackRemoval
from veilleur.storage.store import Store
from veilleur.storage.stories import Campaign, StoryMember, StoryRecords

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REDACT = SlackRemoval("redact", "retention")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store.open(tmp_path / "veilleur.db")
    yield opened
    opened.close()


def post(n: int, *, handle: str = "ann", text: str = "Bravo pour le tram") -> Mention:
    return Mention(source="mastodon", external_id=f"p{n}", url=f"https://m.example/@{handle}/{n}", text=text,
                   author_handle=handle)


def erase(store: Store, ids: list[int], **options: object):
    values = {"removal": REDACT, "remember": lambda *_: None, "now": NOW} | options
    return ErasureRecords(store).erase_mentions(None, ids, **values)


def count(store: Store, table: str, where: str = "1") -> int:
    return sql(store).execute(f"select count(*) from {table} where {where}").fetchone()[0]


def mention_id(store: Store, n: int) -> int:
    return store.mention_ids_at_url(f"https://m.example/@ann/{n}")[0]


def assert_consistent(store: Store) -> None:
    assert sql(store).execute("PRAGMA foreign_key_check").fetchall() == []


# ---- the schema walk ------------------------------------------------------------------------------------------


def test_every_table_of_the_schema_has_a_retention_rule(store: Store) -> None:
    tables = {name for (name,) in sql(store).execute(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")}
    assert tables - RETENTION_RULES.keys() == set(), "a table without a rule: say in RETENTION_RULES what it keeps"
    assert RETENTION_RULES.keys() - tables == set(), "a rule for a table the schema no longer has"


def test_a_kept_table_holds_only_the_columns_its_rule_names(store: Store) -> None:
    """A column added to a kept table (an author, a text) must be looked at: its rule lists every column."""
    for table, rule in RETENTION_RULES.items():
        columns = tuple(column for _, column, *_ in sql(store).execute(f"PRAGMA table_info({table})"))
        if rule.rule is Rule.KEPT:
            assert columns == rule.columns, table
        else:
            assert rule.columns == (), f"{table}: only kept tables list their columns"


# ---- erasing mentions ---------------------------------------------------------------------------------------


def test_erasing_a_mention_takes_its_cards_story_places_spike_times_and_escalations(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW - timedelta(days=1))
    outcome = store.record_poll("w", "C1", [post(1), post(2)], {}, now=NOW)
    (card_1, first), (card_2, second) = outcome.cards
    store.mark_posted(card_1, "111.1", None)
    stories = StoryRecords(store)
    story = stories.start_story("C1", "w", card_1, NOW)
    for card, mention, joined in ((card_1, first, "first"), (card_2, second, "link")):
        stories.add_member(StoryMember(card, story, mention, "C1", "mastodon:ann", 42, "l:key", joined, NOW))
        stories.add_keys("C1", [f"l:key{card}", f"b0:{card}"], NOW, story, card)
    sql(store).execute("insert into spike_times (delivery_id, watcher, t) values (?, 'w', ?)",
                       [card_1, NOW.isoformat()])
    escalation = EscalationStore(store).create(first, card_id=card_1, watcher="w", channel="C0ESC", thread_ts=None,
                                               officials=["U1"], user="U2", via="reaction", note="ann again",
                                               now=NOW, next_reminder_at=None)
    EscalationStore(store).record_message(escalation.id, message_ts="222.2", permalink=None)

    step = erase(store, [first])

    assert (step.counts.mentions, step.counts.cards, step.counts.story_entries, step.counts.escalations) == (1, 1, 1, 1)
    assert not store.has_mention(first) and store.has_mention(second)
    assert count(store, "story_members") == 0 and count(store, "story_keys") == 0 and count(store, "stories") == 0
    assert count(store, "spike_times") == 0 and count(store, "escalators") == 0
    assert count(store, "escalation_events") == 0 and count(store, "escalations") == 0
    removals = sql(store).execute(
        "select channel, target_ts, message from deliveries where kind = 'removal' order by id").fetchall()
    assert [(channel, ts, json.loads(message)) for channel, ts, message in removals] == [
        ("C0ESC", "222.2", {"action": "redact", "reason": "retention"}),
        ("C1", "111.1", {"action": "redact", "reason": "retention"}),
    ]
    assert step.counts.slack_messages == 2
    assert_consistent(store)


def test_erased_mentions_are_counted_per_day_watcher_source_and_stance(store: Store) -> None:
    for watcher in ("w1", "w2"):
        store.record_poll(watcher, "C1", [], {}, now=NOW - timedelta(days=3))
    store.record_poll("w1", "C1", [post(1, text="Bravo, super tram"), post(2, text="Honte, scandale")], {},
                      now=NOW - timedelta(days=2))
    store.record_poll("w2", "C1", [post(1, text="Bravo, super tram")], {}, now=NOW - timedelta(days=1))
    store.record_poll("quiet", "C1", [post(3, text="Le tram passe")], {}, now=NOW)  # a first poll: quiet

    erase(store, [mention_id(store, n) for n in (1, 2, 3)])

    rows = sql(store).execute("select day, watcher, source, stance, mentions from mention_counts order by 1, 2, 4")
    day, today = (NOW - timedelta(days=2)).date().isoformat(), NOW.date().isoformat()
    assert rows.fetchall() == [
        (day, "w1", "mastodon", "against", 1),
        (day, "w1", "mastodon", "for", 1),
        (day, "w2", "mastodon", "for", 1),  # found again the next day: counted under each watcher that found it
        (today, "", "mastodon", classify_lexically("Le tram passe"), 1),  # a quiet record counts under no watcher
    ]
    erase(store, [])
    assert count(store, "mentions") == 0


def test_erased_mentions_are_counted_by_their_effective_stance(store: Store) -> None:
    store.record_poll("w1", "C1", [], {}, now=NOW - timedelta(days=3))
    store.record_poll("w1", "C1", [post(1, text="Génial, encore une panne, merci"), post(2, text="Bravo, super"),
                                   post(3, text="Honte")], {}, now=NOW - timedelta(days=2))
    labels = MentionLabels(store)
    labels.record_model([mention_id(store, 1), mention_id(store, 2)],
                        {mention_id(store, 1): ModelLabel("against", False), mention_id(store, 2): ModelLabel("for",
                                                                                                              False)})
    labels.correct(mention_id(store, 2), "question", "U0ANN")
    erase(store, [mention_id(store, n) for n in (1, 2, 3)])
    rows = sql(store).execute("select stance, mentions from mention_counts order by 1").fetchall()
    # The model's label over the word list's "for"; the team's over the model's; the word list where nothing else.
    assert rows == [("against", 2), ("question", 1)]


def test_a_roll_up_goes_with_its_last_card_and_forgets_an_erased_mention_it_named(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW - timedelta(days=1))
    outcome = store.record_poll("w", "C1", [post(n) for n in range(1, 5)], {}, burst_threshold=1, max_cards=2,
                                now=NOW)
    rollup = store.delivery(outcome.rollup_id)
    store.mark_posted(rollup.id, "100.0", None)
    named = list(rollup.rollup_top)
    posted = [mention for _, mention in outcome.cards]

    erase(store, [named[0]])
    after = store.delivery(rollup.id)
    assert list(after.rollup_top) == named[1:]
    assert count(store, "deliveries", "kind = 'removal' and target_ts = '100.0'") == 1  # it showed that post

    erase(store, [*posted, *named[1:]])
    assert count(store, "deliveries", "kind = 'rollup'") == 0
    assert_consistent(store)


def test_a_story_whose_first_card_goes_is_dissolved_with_its_campaign_notice(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW - timedelta(days=1))
    outcome = store.record_poll("w", "C1", [post(1), post(2, handle="bob"), post(3, handle="cid")], {}, now=NOW)
    records = StoryRecords(store)
    (first, m1), *others = outcome.cards
    story = records.start_story("C1", "w", first, NOW)
    for card, mention in outcome.cards:
        records.add_member(StoryMember(card, story, mention, "C1", f"mastodon:{card}", 1, None, "text", NOW))
        records.add_keys("C1", [f"t:{card}"], NOW, story, card)
    records.flag_campaign(story, NOW, Campaign(posts=3, authors=3))
    notice = store.queue_notice("w", "C1", {"text": "campaign, quoting ann"}, NOW, reply_to=first)
    store.mark_posted(notice, "300.0", None)

    erase(store, [m1])

    assert count(store, "stories") == 0 and count(store, "story_members") == 0 and count(store, "story_keys") == 0
    assert count(store, "deliveries", "kind = 'notice'") == 0
    assert count(store, "deliveries", "kind = 'removal' and target_ts = '300.0'") == 1
    assert all(store.delivery(card).state == "pending" for card, _ in others)
    assert_consistent(store)


def test_a_story_that_loses_another_card_goes_on_and_is_named_for_a_refresh(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW - timedelta(days=1))
    outcome = store.record_poll("w", "C1", [post(1), post(2, handle="bob")], {}, now=NOW)
    records = StoryRecords(store)
    (first, _), (_, bob) = outcome.cards
    story = records.start_story("C1", "w", first, NOW)
    for card, mention in outcome.cards:
        records.add_member(StoryMember(card, story, mention, "C1", None, None, None, "link", NOW))

    step = erase(store, [bob])

    assert step.stories == {story}
    assert records.member_count(story) == 1


def test_a_card_being_posted_keeps_its_mention_for_a_later_step(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW - timedelta(days=1))
    outcome = store.record_poll("w", "C1", [post(1), post(2)], {}, now=NOW)
    (sending, first), (_, second) = outcome.cards
    store.mark_sending(sending)

    step = erase(store, [first, second])

    assert step.in_flight == (first,)
    assert store.has_mention(first) and not store.has_mention(second)


def test_keep_queues_no_removal_and_a_dry_run_changes_nothing_but_counts_exactly(store: Store) -> None:
    store.record_poll("w", "C1", [], {}, now=NOW - timedelta(days=1))
    outcome = store.record_poll("w", "C1", [post(1)], {}, now=NOW)
    card, first = outcome.cards[0]
    store.mark_posted(card, "111.1", None)
    dump = list(sql(store).conn.iterdump())

    dry = erase(store, [first], dry_run=True, remember=lambda *_: "hash")
    assert (dry.counts.mentions, dry.counts.cards, dry.counts.slack_messages) == (1, 1, 1)
    assert list(sql(store).conn.iterdump()) == dump

    kept = erase(store, [first], removal=None)
    assert kept.counts.slack_messages == 0 and count(store, "deliveries", "kind = 'removal'") == 0


def test_a_post_is_remembered_by_the_hash_it_is_given(store: Store) -> None:
    store.record_poll("w", "C1", [post(1), post(2)], {}, now=NOW)
    remembered = []

    def remember(source: str, external_id: str, created_at: str | None) -> str | None:
        remembered.append((source, external_id))
        return f"h-{external_id}" if external_id == "p1" else None

    erase(store, [mention_id(store, 1), mention_id(store, 2)], remember=remember)

    assert sorted(remembered) == [("mastodon", "p1"), ("mastodon", "p2")]
    assert [key for (key,) in sql(store).execute("select key_hash from erased_items")] == ["h-p1"]


# ---- the purge's walk ----------------------------------------------------------------------------------------


def test_the_walk_erases_what_is_past_the_cutoff_and_stops_at_the_first_mention_within_it(store: Store) -> None:
    old = seed_mentions(store, 30, first_seen=NOW - timedelta(days=100), every=timedelta(days=1))
    records = ErasureRecords(store)
    held_open = EscalationStore(store).create(old[0], card_id=None, watcher="seeded", channel="C0ESC",
                                              thread_ts=None, officials=["U1"], user="U2", via="command", note=None,
                                              now=NOW - timedelta(days=99), next_reminder_at=None)
    closed = EscalationStore(store).create(old[1], card_id=None, watcher="seeded", channel="C0ESC", thread_ts=None,
                                           officials=["U1"], user="U2", via="command", note=None,
                                           now=NOW - timedelta(days=98), next_reminder_at=None)
    sql(store).execute("update escalations set state = 'closed', finished_at = ? where id = ?",
                       [(NOW - timedelta(days=97)).isoformat(), closed.id])
    cutoff = NOW - timedelta(days=90)  # days 0-9 are past it, 10-29 within
    options = {"cutoff": cutoff, "escalation_cutoff": NOW - timedelta(days=365), "removal": REDACT,
               "remember": lambda *_: None, "now": NOW}

    first = records.erase_expired_mentions(None, after_id=0, limit=4, **options)
    assert first.more and first.last_id == old[3]
    assert first.counts.mentions == 2 and first.counts.kept_for_escalation == 2
    last = records.erase_expired_mentions(None, after_id=first.last_id, limit=100, **options)
    assert not last.more and last.counts.mentions == 6

    assert [m for m in old if store.has_mention(m)] == [old[0], old[1], *old[10:]]
    assert held_open.mention_id in old


def test_the_walk_erases_the_finished_escalations_of_a_mention_a_live_one_keeps(store: Store) -> None:
    (mention,) = seed_mentions(store, 1, first_seen=NOW - timedelta(days=400))
    escalations = EscalationStore(store)
    finished = escalations.create(mention, card_id=None, watcher="seeded", channel="C0ESC", thread_ts=None,
                                  officials=["U1"], user="U2", via="command", note="old note",
                                  now=NOW - timedelta(days=399), next_reminder_at=None)
    sql(store).execute("update escalations set state = 'dismissed', finished_at = ? where id = ?",
                       [(NOW - timedelta(days=398)).isoformat(), finished.id])
    live = escalations.create(mention, card_id=None, watcher="seeded", channel="C0ESC", thread_ts=None,
                              officials=["U1"], user="U2", via="command", note=None, now=NOW, next_reminder_at=None)

    step = ErasureRecords(store).erase_expired_mentions(
        None, after_id=0, limit=10, cutoff=NOW - timedelta(days=90), escalation_cutoff=NOW - timedelta(days=365),
        removal=REDACT, remember=lambda *_: None, now=NOW)

    assert (step.counts.mentions, step.counts.escalations, step.counts.kept_for_escalation) == (0, 1, 1)
    assert [row[0] for row in sql(store).execute("select id from escalations")] == [live.id]


def test_a_finished_escalation_past_its_retention_goes_and_its_message_is_removed(store: Store) -> None:
    (mention,) = seed_mentions(store, 1, first_seen=NOW - timedelta(days=10))
    escalations = EscalationStore(store)
    done = escalations.create(mention, card_id=None, watcher="seeded", channel="C0ESC", thread_ts=None,
                              officials=["U1"], user="U2", via="command", note="a note", now=NOW - timedelta(days=9),
                              next_reminder_at=None)
    escalations.record_message(done.id, message_ts="555.5", permalink=None)
    sql(store).execute("update escalations set state = 'closed', finished_at = ? where id = ?",
                       [(NOW - timedelta(days=8)).isoformat(), done.id])
    records = ErasureRecords(store)

    cutoff = NOW - timedelta(days=90)
    kept = records.erase_expired_escalations(None, after_id=0, cutoff=cutoff, escalation_cutoff=NOW - timedelta(
        days=30), limit=10, removal=REDACT, now=NOW)
    assert kept.counts.escalations == 0
    left_to_the_walk = records.erase_expired_escalations(None, after_id=0, cutoff=NOW - timedelta(days=5),
                                                         escalation_cutoff=NOW - timedelta(days=7), limit=10,
                                                         removal=REDACT, now=NOW)
    assert left_to_the_walk.counts.escalations == 0  # its mention is past the cutoff: the walk erases both
    gone = records.erase_expired_escalations(None, after_id=0, cutoff=cutoff, escalation_cutoff=NOW - timedelta(
        days=7), limit=10, removal=REDACT, now=NOW)
    assert gone.counts.escalations == 1 and gone.counts.slack_messages == 1
    assert store.has_mention(mention) and count(store, "escalations") == 0
    assert_consistent(store)
