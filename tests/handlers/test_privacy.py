"""/privacy as admins use it: signed slash commands to the whole bot in HTTP mode, the export arriving as a file in
a direct message of the fake Slack; and the erasure's question and confirmation, called alone with a stand-in for
the erasure service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from handlers.privacy import (
    Privacy,
    forget_request,
    handle_forget_cancelled,
    handle_forget_confirmed,
    handle_privacy,
    parse_author,
)
from tests.support.bot import Bot, BotFactory, eventually
from tests.support.listeners import UNUSED_CLIENT, Recorder
from tests.support.sql import sql
from veilleur.core.i18n import t
from veilleur.core.keyed_hash import author_hash
from veilleur.core.mentions import Mention
from veilleur.core.settings import parse_settings
from veilleur.privacy.cards import FORGET_CONFIRM
from veilleur.privacy.requests import AuthorRequest
from veilleur.slack.admin_access import AdminAccess
from veilleur.storage.audit import AuditLog
from veilleur.storage.privacy_key import PrivacyKey
from veilleur.storage.store import Store, utcnow

ADMIN, PASSER_BY = "U0ADMIN", "U0PASSER"
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # before any audit entry a test records
HERE = "C0HERE"


def hn_post(n: int, author: str, text: str) -> Mention:
    return Mention("hackernews", str(n), f"https://news.ycombinator.com/item?id={n}", text, author_handle=author)


def audit_rows(bot: Bot) -> list[dict]:
    return list(sql(bot.services.store).query("select user_id, action, subject from audit_log order by id"))


@pytest.fixture
async def bot(make_bot: BotFactory) -> Bot:
    return await make_bot(llm=False, ADMIN_USERS=ADMIN)


async def test_export_sends_the_authors_file_in_a_direct_message_to_the_admin_who_asked(bot: Bot) -> None:
    ann_id, _ = await bot.post_card(hn_post(1, "ann", "The tram is late again"))
    await bot.post_card(hn_post(2, "bob", "Bob's private view"))
    response, response_url = await bot.slash("/privacy", "export @Ann", user_id=ADMIN, channel_id=HERE)
    assert "Gathering what Veilleur holds about @Ann" in response.json()["text"]
    (done,) = await bot.slack.wait_for_calls("files.completeUploadExternal", within=10)
    assert done.ok
    (opened,) = bot.slack.calls_to("conversations.open")
    assert opened.args["users"] == ADMIN
    (file,) = bot.slack.files.values()
    assert file.channel == opened.response["channel"]["id"] and file.channel.startswith("D")
    document = json.loads(file.content)
    assert document["author"] == "@Ann" and [m["id"] for m in document["mentions"]] == [ann_id]
    assert document["mentions"][0]["text"] == "The tram is late again"
    assert document["mentions"][0]["slack_cards"][0]["state"] == "posted"
    assert "Bob" not in file.content.decode() and "bob" not in file.content.decode()
    await eventually(lambda: bot.responses_to(response_url))
    (answer,) = bot.responses_to(response_url)
    assert answer["response_type"] == "ephemeral" and "(1 mention) is in your direct messages" in answer["text"]
    key = bot.services.privacy.key.ensure()
    assert audit_rows(bot) == [{"user_id": ADMIN, "action": "export", "subject": author_hash(key, "ann", None)}]
    assert "ann" not in json.dumps(audit_rows(bot)).lower().replace(ADMIN.lower(), "")


async def test_an_export_of_an_unknown_author_says_nothing_is_held_and_sends_no_file(bot: Bot) -> None:
    await bot.post_card(hn_post(1, "ann", "The tram is late again"))
    _, response_url = await bot.slash("/privacy", "export carol reddit", user_id=ADMIN)
    await eventually(lambda: bot.responses_to(response_url))
    (answer,) = bot.responses_to(response_url)
    assert answer["text"] == (
        "Veilleur holds nothing about carol on Reddit. Mentions are kept 90 days after they are collected, then "
        "erased."
    )
    assert bot.slack.files == {} and bot.slack.calls_to("conversations.open") == []
    assert [row["action"] for row in audit_rows(bot)] == ["export"]


async def test_an_export_slack_will_not_take_says_so_and_what_to_run_instead(bot: Bot) -> None:
    await bot.post_card(hn_post(1, "ann", "The tram is late again"))
    bot.slack.fail_next("files.getUploadURLExternal", error="not_allowed_token_type")
    _, response_url = await bot.slash("/privacy", "export ann", user_id=ADMIN)
    await eventually(lambda: bot.responses_to(response_url))
    (answer,) = bot.responses_to(response_url)
    assert answer["text"] == (
        "The export file could not be sent (not_allowed_token_type). Try again, or run "
        "`python bot.py export --author …` on the server."
    )
    assert bot.slack.files == {}


@pytest.mark.parametrize("text", ["export ann", "forget ann", "forget https://news.ycombinator.com/item?id=1"])
async def test_whoever_is_not_an_admin_is_refused_and_nothing_is_looked_up(bot: Bot, text: str) -> None:
    await bot.post_card(hn_post(1, "ann", "The tram is late again"))
    response, response_url = await bot.slash("/privacy", text, user_id=PASSER_BY)
    assert response.json() == {
        "response_type": "ephemeral",
        "text": "Only <@U0ADMIN> can use /privacy (ADMIN_USERS): it exports and erases what Veilleur holds about "
        "people.",
    }
    assert bot.slack.files == {} and bot.slack.calls_to("conversations.open") == []
    assert audit_rows(bot) == [] and bot.responses_to(response_url) == []


@pytest.mark.parametrize("text", ["", "help", "export", "forget   ", "erase ann"])
async def test_privacy_explains_itself_to_anyone(bot: Bot, text: str) -> None:
    response, _ = await bot.slash("/privacy", text, user_id=PASSER_BY)
    assert response.json()["text"] == t("privacy.usage", "en")


async def test_forget_from_slack_erases_the_author_redacts_the_card_and_drops_their_next_posts(bot: Bot) -> None:
    ann_id, card = await bot.post_card(hn_post(1, "ann", "The tram is late again"))
    await bot.post_card(hn_post(2, "bob", "Bob likes the tram"))
    response, response_url = await bot.slash("/privacy", "forget ann", user_id=ADMIN, channel_id=HERE)
    assert "Looking up what Veilleur holds about ann" in response.json()["text"]
    await eventually(lambda: bot.responses_to(response_url))
    (question,) = bot.responses_to(response_url)
    assert "1 mention" in question["text"] and bot.services.store.has_mention(ann_id)
    erase = next(
        element for block in question["blocks"] for element in block.get("elements", [])
        if element.get("action_id") == FORGET_CONFIRM
    )
    click = bot.requests.block_actions(
        [{"action_id": FORGET_CONFIRM, "value": erase["value"]}], user=ADMIN, response_url=response_url
    )
    assert (await bot.send(click)).status_code == 200
    await eventually(lambda: len(bot.responses_to(response_url)) >= 3)
    assert bot.responses_to(response_url)[-1]["text"].startswith("Erased what Veilleur held about ann: 1 mention.")
    assert not bot.services.store.has_mention(ann_id)
    (update,) = await bot.slack.wait_for_calls("chat.update", within=10)
    assert update.args["ts"] == card["ts"] and "author’s request" in json.dumps(update.args, ensure_ascii=False)
    key = bot.services.privacy.key.ensure()
    assert audit_rows(bot) == [{"user_id": ADMIN, "action": "forget", "subject": author_hash(key, "ann", None)}]
    later = [hn_post(3, "ann", "Still late"), hn_post(4, "bob", "Late too")]
    assert bot.services.poller.admit is not None
    assert [m.author_handle for m in bot.services.poller.admit(later, utcnow())] == ["bob"]


# ---- the erasure's listeners, called alone -------------------------------------------------------------------


@dataclass
class Report:
    mentions: int
    cards: int


class StandInForget:
    """Plays the erasure service: answers `report` and records each call."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.calls: list[tuple[str, str | None, str, bool]] = []

    async def __call__(self, author: str, source: str | None, *, requested_by: str, dry_run: bool = False) -> Report:
        self.calls.append((author, source, requested_by, dry_run))
        return self.report


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(tmp_path / "veilleur.db")
    outcome = store.record_poll("hn", "C0CARDS", [hn_post(7, "ann", "tram")], {}, backfill=1)
    store.mark_posted(outcome.cards[0][0], "1700000000.000100", None)
    yield store
    store.close()


def privacy_with(store: Store, forget: StandInForget | None) -> Privacy:
    settings = parse_settings({"DATABASE_PATH": str(store.path), "ADMIN_USERS": ADMIN})
    key = PrivacyKey.for_database(None, settings.database_path)
    return Privacy(store, settings, AdminAccess(settings, UNUSED_CLIENT), AuditLog(store), [], key, forget)


def command(text: str, user: str = ADMIN) -> dict[str, str]:
    return {"text": text, "user_id": user, "channel_id": HERE, "trigger_id": "1.2.3"}


def click(value: str, user: str = ADMIN) -> tuple[dict, dict]:
    return {"user": {"id": user}}, {"action_id": FORGET_CONFIRM, "value": value}


async def test_forget_by_card_link_asks_first_with_what_a_dry_run_found(store: Store) -> None:
    forget = StandInForget(Report(mentions=4, cards=2))
    ack, respond = Recorder(), Recorder()
    link = "<https://fake.slack.com/archives/C0CARDS/p1700000000000100>"
    await handle_privacy(ack, command(f"forget {link}"), UNUSED_CLIENT, respond, privacy=privacy_with(store, forget))
    assert ack.calls == [{"response_type": "ephemeral",
                          "text": "Looking up what Veilleur holds about ann on Hacker News…"}]
    assert forget.calls == [("ann", "hackernews", ADMIN, True)]
    (question,) = respond.calls
    assert question["replace_original"] is True
    assert "4 mentions are held. 2 cards in Slack will be edited to a short notice." in question["text"]
    assert AuditLog(store).entries(LONG_AGO) == []


async def test_the_confirmation_erases_records_the_keyed_hash_and_says_what_was_removed(store: Store) -> None:
    forget = StandInForget(Report(mentions=4, cards=0))
    privacy = privacy_with(store, forget)
    ack, respond = Recorder(), Recorder()
    body, action = click(AuthorRequest("ann", "hackernews").as_value())
    await handle_forget_confirmed(ack, body, action, respond, privacy=privacy)
    assert forget.calls == [("ann", "hackernews", ADMIN, False)]
    assert [call["text"] for call in respond.calls] == [
        "Erasing what Veilleur holds about ann on Hacker News…",
        "Erased what Veilleur held about ann on Hacker News: 4 mentions. Their future posts will be dropped at "
        "collection.",
    ]
    (entry,) = AuditLog(store).entries(LONG_AGO)
    key = privacy.key.ensure()
    assert (entry.user, entry.action, entry.subject) == (ADMIN, "forget", author_hash(key, "ann", "hackernews"))


async def test_a_click_by_someone_else_or_a_cancel_erases_nothing(store: Store) -> None:
    forget = StandInForget(Report(mentions=4, cards=0))
    privacy = privacy_with(store, forget)
    value = AuthorRequest("ann", None).as_value()
    respond = Recorder()
    await handle_forget_confirmed(Recorder(), *click(value, user=PASSER_BY), respond, privacy=privacy)
    assert respond.calls[0]["text"] == privacy.refusal()
    cancelled = Recorder()
    await handle_forget_cancelled(Recorder(), {"value": value}, cancelled, privacy=privacy)
    assert cancelled.calls[0]["text"] == "Nothing was erased about ann."
    assert forget.calls == [] and AuditLog(store).entries(LONG_AGO) == []


async def test_forget_of_a_link_that_is_no_card_says_so_without_asking_the_service(store: Store) -> None:
    forget = StandInForget(Report(mentions=1, cards=1))
    ack = Recorder()
    link = "https://fake.slack.com/archives/C0CARDS/p1700000000000999"
    await handle_privacy(ack, command(f"forget {link}"), UNUSED_CLIENT, Recorder(), privacy=privacy_with(store, forget))
    assert ack.calls[0]["text"] == t("privacy.target.not_a_card", "en")
    assert forget.calls == []


async def test_with_nothing_held_the_question_is_still_asked_since_future_posts_are_dropped(store: Store) -> None:
    forget = StandInForget(Report(mentions=0, cards=0))
    respond = Recorder()
    await handle_privacy(Recorder(), command("forget carol"), UNUSED_CLIENT, respond,
                         privacy=privacy_with(store, forget))
    assert respond.calls[0]["text"] == (
        "Erase everything Veilleur holds about carol, and drop their future posts at collection? This cannot be "
        "undone. 0 mentions are held."
    )
    assert forget.calls == [("carol", None, ADMIN, True)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ann@mastodon.social", AuthorRequest("ann@mastodon.social")),
        ("@ann mastodon", AuthorRequest("@ann", "mastodon")),
        ("Jeanne Martin rss", AuthorRequest("Jeanne Martin", "rss")),
        ("“Jeanne Martin”", AuthorRequest("Jeanne Martin")),
        ("rss", AuthorRequest("rss")),  # a lone word is the author, even one that names a source
        ("a &amp; b", AuthorRequest("a & b")),
        ("x" * 201, None),
        ("“ ”", None),
    ],
)
def test_an_author_is_read_as_typed_with_an_optional_source_last(text: str, expected: AuthorRequest | None) -> None:
    assert parse_author(text) == expected


def test_a_bare_number_is_an_author_and_a_hash_number_a_mention(store: Store) -> None:
    mention_id = store.mention_ids_at_url("https://news.ycombinator.com/item?id=7")[0]
    assert forget_request(store, str(mention_id)) == AuthorRequest(str(mention_id))
    assert forget_request(store, f"#{mention_id}") == AuthorRequest("ann", "hackernews")
    assert forget_request(store, "https://news.ycombinator.com/item?id=7") == AuthorRequest("ann", "hackernews")
