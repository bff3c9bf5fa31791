"""Access by author over a real database file: what `collect` gathers, and the JSON and CSV written from it."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import env_for, run_cli
from tests.support.sql import sql
from veilleur.core.keyed_hash import author_hash
from veilleur.core.mentions import Mention
from veilleur.core.settings import Settings, parse_settings
from veilleur.core.watcher_config import AuthorLabel
from veilleur.privacy.export import CSV_COLUMNS, AuthorExport, as_csv, as_json, collect, nothing_held
from veilleur.storage.audit import AuditLog
from veilleur.storage.claims import ClaimRecords, NewClaim
from veilleur.storage.escalations import EscalationStore
from veilleur.storage.labels import MentionLabels, ModelLabel
from veilleur.storage.privacy_key import PrivacyKey
from veilleur.storage.store import Store, iso
from veilleur.storage.stories import Campaign, StoryMember, StoryRecords

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LABELS = [
    AuthorLabel(("journalist",), handle="@Ann", source="mastodon"),
    AuthorLabel(("opposition",), name="Bob Martin"),
]


def post(n: int, source: str, handle: str, text: str, **fields: object) -> Mention:
    return Mention(source=source, external_id=f"{source}-{n}", url=f"https://{source}.example/{n}", text=text,
                   author_handle=handle, **fields)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """Ann's two Mastodon posts (the first posted, dismissed, in a campaign story and escalated) and one on Hacker
    News; Bob's Mastodon post in the same story."""
    store = Store.open(tmp_path / "veilleur.db")
    mentions = [
        post(1, "mastodon", "Ann", "Tram works again", author_name="Ann L.", author_reach=1200, lang="fr",
             engagement={"likes": 3}, conversation_id="c1", created_at=NOW - timedelta(hours=2)),
        post(2, "mastodon", "@ann", "=HYPERLINK(\"https://evil.example\")"),
        post(3, "hackernews", "ann", "Tram on HN"),
        post(4, "mastodon", "bob", "Bob's secret opinion"),
    ]
    outcome = store.record_poll("tram", "C0TRAM", mentions, {}, backfill=4, now=NOW)
    card_of = {mention_id: card_id for card_id, mention_id in outcome.cards}
    ann_first, _, _, bob = sorted(card_of)
    store.mark_posted(card_of[ann_first], "1700000000.000100", None, now=NOW)
    store.dismiss_card(card_of[ann_first], "U0TEAM", now=NOW)
    stories = StoryRecords(store)
    with store.transaction():
        story = stories.start_story("C0TRAM", "tram", card_of[ann_first], NOW)
        for mention_id, author in ((ann_first, "ann"), (bob, "bob")):
            stories.add_member(StoryMember(card_of[mention_id], story, mention_id, "C0TRAM", author, None, None,
                                           "first" if mention_id == ann_first else "text", NOW))
        stories.flag_campaign(story, NOW, Campaign(posts=5, authors=4))
    records = EscalationStore(store)
    escalation = records.create(ann_first, card_id=card_of[ann_first], watcher="tram", channel="C0ESC",
                                thread_ts=None, officials=["U0MAYOR"], user="U0TEAM", via="reaction",
                                note="She works for the opposition", now=NOW, next_reminder_at=None)
    records.transition(escalation.id, "answered", allowed_from=("open",), user="U0MAYOR", now=NOW,
                       state="answered", answered_at=iso(NOW), answered_by="U0MAYOR", answer="Works end in June.")
    return store


def settings(**env: str) -> Settings:
    return parse_settings({"RETENTION_DAYS": "30", **env})


def test_collect_gathers_every_mention_of_the_author_with_its_cards_stories_and_escalations(store: Store) -> None:
    export = collect(store, "@ANN", "mastodon", labels=LABELS, now=NOW)
    assert [m["text"] for m in export.mentions] == ["Tram works again", "=HYPERLINK(\"https://evil.example\")"]
    first = export.mentions[0]
    columns = {row["name"] for row in sql(store).query("select name from pragma_table_info('mentions')")}
    # Every column but who corrected the stance (a team member's Slack id).
    assert set(first) == columns - {"stance_team_by"} | {"slack_cards", "stories", "escalations", "false_claims"}
    assert (first["author_name"], first["author_reach"], first["lang"], first["engagement"]) == (
        "Ann L.", 1200, "fr", {"likes": 3})
    assert first["first_seen_at"] == iso(NOW)
    (card,) = first["slack_cards"]
    assert card == {"watcher": "tram", "channel": "C0TRAM", "state": "posted", "slack_ts": "1700000000.000100",
                    "thread_ts": None, "created_at": iso(NOW), "posted_at": iso(NOW), "dismissed": True,
                    "dismissed_at": iso(NOW)}
    (place,) = first["stories"]
    assert (place["joined_by"], place["campaign_at"], place["campaign_authors"]) == ("first", iso(NOW), 4)
    (escalation,) = first["escalations"]
    assert escalation["state"] == "answered" and escalation["officials"] == ["U0MAYOR"]
    assert escalation["answer"] == "Works end in June."
    assert [note["note"] for note in escalation["notes"]] == ["She works for the opposition"]
    assert export.mentions[1]["slack_cards"][0]["state"] == "pending"
    assert export.labels == [{"handle": "@Ann", "name": None, "source": "mastodon", "labels": ["journalist"]}]


def test_without_a_source_every_source_is_searched(store: Store) -> None:
    export = collect(store, "ann", None, labels=LABELS, now=NOW)
    assert [m["source"] for m in export.mentions] == ["mastodon", "mastodon", "hackernews"]
    assert collect(store, "ann", "hackernews", labels=LABELS, now=NOW).labels == []


def test_the_json_carries_the_notice_and_nothing_of_another_author(store: Store) -> None:
    export = collect(store, "ann", None, labels=LABELS, now=NOW)
    text = as_json(export, settings(OPENAI_BASE_URL="https://llm.mairie.example/v1"))
    document = json.loads(text)
    assert (document["author"], document["source"], document["generated_at"]) == ("ann", None, iso(NOW))
    assert document["retention_days"] == 30 and document["escalation_retention_days"] == 365
    assert "30 days after they are collected" in document["retention"]
    assert "Slack" in document["recipients"] and "llm.mairie.example" in document["recipients"]
    assert document["origin"] == "Public posts on Hacker News, Mastodon, collected automatically."
    assert "erasure" in document["rights"] and document["purposes"]
    assert len(document["mentions"]) == 3
    assert "Bob" not in text and "bob" not in text


def test_the_notice_names_no_language_model_without_one_and_speaks_french(store: Store) -> None:
    export = collect(store, "ann", "mastodon", labels=LABELS, now=NOW)
    document = json.loads(as_json(export, settings(BOT_LANGUAGE="fr")))
    assert document["recipients"] == "L’espace de travail Slack de l’équipe, où les publications sont affichées."
    assert document["origin"].startswith("Publications publiques sur Mastodon")
    default_host = json.loads(as_json(export, settings(OPENAI_API_KEY="sk-test")))["recipients"]
    assert "api.openai.com" in default_host


def test_the_csv_has_one_row_per_mention_and_no_formula(store: Store) -> None:
    rows = list(csv.DictReader(io.StringIO(as_csv(collect(store, "ann", "mastodon", labels=LABELS, now=NOW)))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    first, second = rows
    assert (first["source"], first["author_handle"], first["text"]) == ("mastodon", "Ann", "Tram works again")
    assert first["slack_cards"] == "C0TRAM 1700000000.000100 posted" and first["dismissed"] == "True"
    assert first["campaign"] == "True" and first["escalations"].endswith(" answered")
    assert json.loads(first["engagement"]) == {"likes": 3}
    assert second["text"] == "'=HYPERLINK(\"https://evil.example\")"
    assert second["author_handle"] == "'@ann"
    assert (second["slack_cards"], second["dismissed"], second["stories"]) == ("C0TRAM - pending", "False", "")


def test_the_labels_inferred_about_a_post_are_exported_without_the_team_member(store: Store) -> None:
    first = collect(store, "ann", "mastodon", labels=LABELS, now=NOW).mentions[0]["id"]
    MentionLabels(store).record_model([first], {first: ModelLabel("against", True)})
    MentionLabels(store).correct(first, "question", "U0TEAMMATE")
    export = collect(store, "ann", "mastodon", labels=LABELS, now=NOW)
    mention = export.mentions[0]
    assert (mention["stance_model"], mention["hostile_model"], mention["stance_team"]) == ("against", True,
                                                                                           "question")
    assert "U0TEAMMATE" not in as_json(export, settings()) and "U0TEAMMATE" not in as_csv(export)
    row = next(csv.DictReader(io.StringIO(as_csv(export))))
    assert (row["stance_model"], row["hostile_model"], row["stance_team"]) == ("against", "True", "question")


def test_an_unknown_author_is_nothing_held_with_the_retention_period(store: Store) -> None:
    export = collect(store, "carol", None, labels=LABELS, now=NOW)
    assert export == AuthorExport("carol", None, NOW, [], [])
    assert export.empty
    assert nothing_held("carol", "reddit", settings()) == (
        "Veilleur holds nothing about carol on Reddit. Mentions are kept 30 days after they are collected, then "
        "erased."
    )
    assert "1 jour après" in nothing_held("carol", None, settings(BOT_LANGUAGE="fr", RETENTION_DAYS="1"))


def test_a_label_alone_is_something_held(store: Store) -> None:
    export = collect(store, "bob martin", None, labels=LABELS, now=NOW)
    assert export.mentions == [] and not export.empty
    assert export.labels[0]["labels"] == ["opposition"]


# ---- the command: python bot.py export -------------------------------------------------------------------------


async def test_the_command_writes_the_json_export_and_records_it_under_a_keyed_hash(
    store: Store, tmp_path: Path
) -> None:
    labels = '[[author]]\nhandle = "ann"\nsource = "mastodon"\nlabels = ["journalist"]\n'
    (tmp_path / "watchers.toml").write_text(labels)
    store.close()
    env = env_for(tmp_path, None, RETENTION_DAYS="45")
    code, out, err = await run_cli(tmp_path, env, "export", "--author", "@ann", "--source", "mastodon")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["retention_days"] == 45 and document["source"] == "mastodon"
    assert [m["external_id"] for m in document["mentions"]] == ["mastodon-1", "mastodon-2"]
    assert document["labels"][0]["labels"] == ["journalist"]
    assert "Bob" not in out
    reopened = Store.open(tmp_path / "veilleur.db")
    (entry,) = AuditLog(reopened).entries(NOW - timedelta(days=3650))
    key = PrivacyKey.for_database(None, tmp_path / "veilleur.db").ensure()
    assert (entry.user, entry.action, entry.subject) == ("cli", "export", author_hash(key, "ann", "mastodon"))
    reopened.close()


async def test_the_command_writes_csv_and_says_when_nothing_is_held(store: Store, tmp_path: Path) -> None:
    store.close()
    env = env_for(tmp_path, None, BOT_LANGUAGE="fr")
    code, out, _ = await run_cli(tmp_path, env, "export", "--author", "ann", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and [row["source"] for row in rows] == ["mastodon", "mastodon", "hackernews"]
    code, out, _ = await run_cli(tmp_path, env, "export", "--author", "carol")
    assert code == 0 and out == (
        "Veilleur ne détient rien sur carol. Les mentions sont conservées 90 jours après leur collecte, puis "
        "effacées.\n"
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [(["--author", " @ "], "give the author's handle"), (["--author", "ann", "--source", "myspace"], "invalid choice"),
     (["--author", "ann", "--format", "xml"], "invalid choice")],
)
async def test_the_command_refuses_bad_arguments_with_one_line(tmp_path: Path, args: list[str], error: str) -> None:
    code, out, err = await run_cli(tmp_path, env_for(tmp_path, None), "export", *args)
    assert code == 2 and out == "" and error in err.strip().splitlines()[-1]


def test_the_false_claims_a_post_was_found_to_repeat_are_exported(store: Store) -> None:
    first, second = [mention["id"] for mention in collect(store, "ann", "mastodon", labels=LABELS, now=NOW).mentions]
    records = ClaimRecords(store)
    claim = records.create(NewClaim("Le tram sera gratuit", ("tram gratuit",), None, "Faux : il reste payant",
                                    "https://caen.example/tram", "U0TEAM", "C0TRAM"), NOW)
    records.record_mentions([(claim, second, "low")], NOW)
    export = collect(store, "ann", "mastodon", labels=LABELS, now=NOW)
    by_id = {mention["id"]: mention for mention in export.mentions}
    assert by_id[first]["false_claims"] == []
    (held,) = by_id[second]["false_claims"]
    assert (held["claim_id"], held["claim"], held["state"], held["correction_url"]) == (
        claim, "Le tram sera gratuit", "open", "https://caen.example/tram")
    assert json.loads(as_json(export, settings()))["mentions"][1]["false_claims"][0]["claim_id"] == claim
    rows = {row["mention_id"]: row for row in csv.DictReader(io.StringIO(as_csv(export)))}
    assert (rows[str(first)]["false_claims"], rows[str(second)]["false_claims"]) == ("", f"{claim} open")
