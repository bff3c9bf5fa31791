"""The escalation service against the fake Slack Web API and a real SQLite store, with explicit clocks."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.slack_api import FakeSlack
from veilleur.core.errors import UserError
from veilleur.core.mentions import Mention
from veilleur.core.query import parse_query
from veilleur.core.settings import parse_settings
from veilleur.core.watcher_config import RouteConfig
from veilleur.escalation.service import (
    EscalationService,
    NotAllowed,
    Resolved,
    parse_flag_text,
    reaction_name,
    unslack,
)
from veilleur.slack.links import MessageRef, parse_permalink
from veilleur.slack.markup import user_error_text
from veilleur.slack.outbox import new_slack_client
from veilleur.slack.targets import MentionRef, UrlRef
from veilleur.storage.escalations import Escalation, TransitionRefused
from veilleur.storage.store import Delivery, Store

PARIS = ZoneInfo("Europe/Paris")
FRIDAY_17H = datetime(2026, 11, 20, 17, 0, tzinfo=PARIS)
ESCALATION_CHANNEL = "C0ESCAL"


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=PARIS)


def a_mention(n: int, text: str = "Le tram est en retard") -> Mention:
    return Mention(source="rss", external_id=f"m{n}", url=f"https://news.example/{n}", title=text, text=text)


@dataclass
class World:
    store: Store
    slack: FakeSlack
    service: EscalationService

    def post_card(self, mention: Mention, watcher: str = "caen-tram", channel: str = "C0CARDS") -> Delivery:
        """A card as the outbox leaves it: the mention stored, its message in Slack, its `ts` recorded."""
        self.store.record_poll(watcher, channel, [mention], {}, backfill=1)
        delivery = self.store.due_deliveries()[-1]
        posted = self.slack.seed_message(channel, "card", user="UBOT", bot_id="BBOT")
        self.store.mark_posted(delivery.id, posted["ts"], None)
        return self.store.delivery(delivery.id)

    async def raise_for(self, card: Delivery, **options: Any) -> Escalation:
        """`card`'s mention escalated by a reaction of U0ANN."""
        assert card.mention_id is not None
        result = await self.service.escalate(Resolved(card.mention_id, card), user="U0ANN", via="reaction", **options)
        return result.escalation

    def escalation_messages(self) -> list[dict]:
        return [m for m in self.slack.posted_messages(ESCALATION_CHANNEL) if m.get("thread_ts", m["ts"]) == m["ts"]]


def make_world(store: Store, slack: FakeSlack, routes: tuple[RouteConfig, ...] = (), **env: str) -> World:
    settings = parse_settings(
        {"ESCALATION_CHANNEL": ESCALATION_CHANNEL, "OFFICIALS": "U0OFFICIAL", "ADMIN_USERS": "U0ADMIN"} | env
    )
    client = new_slack_client("xoxb-test", slack.api_url)
    return World(store, slack, EscalationService(store, client, settings, routes))


@pytest.fixture
async def world(tmp_path: Path, slack: FakeSlack) -> AsyncIterator[World]:
    store = Store.open(tmp_path / "veilleur.db")
    yield make_world(store, slack)
    store.close()


# Parsing what people type --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x.slack.com/archives/C123/p1700000000000100", MessageRef("C123", "1700000000.000100")),
        (
            "https://x.slack.com/archives/C123/p1700000000000100?thread_ts=1700000000.000050&cid=C123",
            MessageRef("C123", "1700000000.000100", "1700000000.000050"),
        ),
        (
            "https://acme.enterprise.slack.com/archives/G0AB/p1700000000000100",
            MessageRef("G0AB", "1700000000.000100"),
        ),
        ("https://x.slack-gov.com/archives/C9/p1700000000123456/", MessageRef("C9", "1700000000.123456")),
        ("https://x.notslack.com/archives/C123/p1700000000000100", None),
        ("https://x.slack.com/archives/C123/1700000000000100", None),
        ("ftp://x.slack.com/archives/C123/p1700000000000100", None),
        ("https://[broken/archives/C123/p1700000000000100", None),
    ],
)
def test_permalinks(url: str, expected: MessageRef | None) -> None:
    assert parse_permalink(url) == expected


def test_flag_text_as_slack_escapes_it() -> None:
    request = parse_flag_text(
        "<https://x.slack.com/archives/C123/p1700000000000100?thread_ts=1700000000.000050&amp;cid=C123> "
        "<@U0ANN|ann> <@U0BOB> please &lt;b&gt;answer&lt;/b&gt; &amp; cc <@U0CARL|carl> <!here> <#C1|general> "
        "<https://a.example/x|a.example/x>"
    )
    assert request.target == MessageRef("C123", "1700000000.000100", "1700000000.000050")
    assert request.officials == ("U0ANN", "U0BOB")
    assert request.note == "please <b>answer</b> & cc @carl @here #general https://a.example/x"


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("42", MentionRef(42)),
        ("#42 urgent", MentionRef(42)),
        ("<https://news.example/a?x=1&amp;y=2|news.example/a>", UrlRef("https://news.example/a?x=1&y=2")),
        ("https://news.example/a", UrlRef("https://news.example/a")),
    ],
)
def test_flag_targets(text: str, target: object) -> None:
    request = parse_flag_text(text)
    assert request.target == target
    assert request.officials == ()


@pytest.mark.parametrize(("text", "key"), [("", "flag.usage"), ("   ", "flag.usage"), ("hello", "flag.bad_target")])
def test_bad_flag_text_says_what_is_wrong(text: str, key: str) -> None:
    with pytest.raises(UserError) as raised:
        parse_flag_text(text)
    assert raised.value.key == key


def test_a_bad_target_is_echoed_escaped() -> None:
    with pytest.raises(UserError) as raised:
        parse_flag_text("<!channel>&lt;x&gt;")
    assert raised.value.params["target"] == "@channel<x>"
    assert "@channel&lt;x&gt;" in user_error_text(raised.value, "en")


def test_unslack_and_skin_tones() -> None:
    assert unslack("<!subteam^S1|@team> <@U1> <#C1> <!channel|channel>") == "@team @U1 #C1 @channel"
    assert reaction_name("thumbsup::skin-tone-2") == "thumbsup"
    assert reaction_name("rotating_light") == "rotating_light"


# Routing and raising -------------------------------------------------------------------------------------------


async def test_officials_are_the_named_ones_else_the_matching_routes_else_officials(
    tmp_path: Path, slack: FakeSlack
) -> None:
    routes = (
        RouteConfig("transport", ("U0TRANSPORT",), query=parse_query("tram OR transport")),
        RouteConfig("city", ("U0CITY", "U0TRANSPORT"), watchers=frozenset({"city"})),
    )
    world = make_world(Store.open(tmp_path / "db"), slack, routes)
    tram = world.post_card(a_mention(1, "Le tram est en retard"), watcher="city")
    pool = world.post_card(a_mention(2, "La piscine ferme"), watcher="other")
    named = world.post_card(a_mention(3, "Le tram encore"), watcher="other")
    results = [
        await world.service.escalate(Resolved(tram.mention_id, tram), user="U0ANN", via="reaction"),
        await world.service.escalate(Resolved(pool.mention_id, pool), user="U0ANN", via="reaction"),
        await world.service.escalate(
            Resolved(named.mention_id, named), user="U0ANN", via="command", officials=["U0NAMED", "not-an-id"]
        ),
    ]
    assert [r.escalation.officials for r in results] == [("U0TRANSPORT", "U0CITY"), ("U0OFFICIAL",), ("U0NAMED",)]
    texts = [m["text"] for m in world.escalation_messages()]
    assert "<@U0TRANSPORT>, <@U0CITY>" in texts[0] and "<@U0OFFICIAL>" in texts[1] and "<@U0NAMED>" in texts[2]


async def test_escalating_posts_once_tells_the_card_thread_and_updates_the_card(world: World) -> None:
    card = world.post_card(a_mention(1))
    result = await world.service.escalate(
        Resolved(card.mention_id, card), user="U0ANN", via="command", note="Call back <!channel>"
    )
    assert result.outcome == "created"
    escalation = result.escalation
    (posted,) = world.escalation_messages()
    assert escalation.message_ts == posted["ts"] and escalation.permalink.endswith(posted["ts"].replace(".", ""))
    assert "Call back &lt;!channel&gt;" in str(posted["blocks"])
    (note,) = [m for m in world.slack.posted_messages("C0CARDS") if m.get("thread_ts") == card.slack_ts]
    assert "<@U0ANN> escalated this mention to <@U0OFFICIAL>" in note["text"] and escalation.permalink in note["text"]
    (update,) = [c for c in world.slack.calls_to("chat.update") if c.args["channel"] == "C0CARDS"]
    assert update.args["ts"] == card.slack_ts
    assert "Sent to <@U0OFFICIAL> by <@U0ANN>" in update.args["blocks"][-1]["elements"][0]["text"]


async def test_each_step_draws_the_card_from_the_state_it_returned(tmp_path: Path, slack: FakeSlack) -> None:
    drawn: list[Escalation] = []

    def render_card(card: Delivery, escalation: Escalation) -> dict[str, Any]:
        drawn.append(escalation)
        return {"text": f"card {card.id}: {escalation.state}"}

    store = Store.open(tmp_path / "veilleur.db")
    settings = parse_settings({"ESCALATION_CHANNEL": ESCALATION_CHANNEL, "OFFICIALS": "U0OFFICIAL"})
    service = EscalationService(store, new_slack_client("xoxb-test", slack.api_url), settings, render_card=render_card)
    world = World(store, slack, service)
    card = world.post_card(a_mention(1))
    try:
        raised = await world.raise_for(card)
        acknowledged = await service.acknowledge(raised.id, "U0OFFICIAL")
        answered = await service.answer(raised.id, "U0OFFICIAL", "Done.")
    finally:
        store.close()
    assert drawn == [raised, acknowledged, answered]
    updates = [c.args["text"] for c in slack.calls_to("chat.update") if c.args["channel"] == "C0CARDS"]
    assert updates == [f"card {card.id}: open", f"card {card.id}: acknowledged", f"card {card.id}: answered"]


async def test_concurrent_escalations_of_one_mention_make_one_listing_everyone(world: World) -> None:
    card = world.post_card(a_mention(1))
    target = Resolved(card.mention_id, card)
    results = await asyncio.gather(
        world.service.escalate(target, user="U0ANN", via="reaction"),
        world.service.escalate(target, user="U0BOB", via="reaction"),
        world.service.escalate(target, user="U0ANN", via="reaction"),
    )
    assert sorted(r.outcome for r in results) == ["already", "created", "joined"]
    assert len({r.escalation.id for r in results}) == 1
    (posted,) = world.escalation_messages()
    # The message, posted while the others joined, was brought up to date.
    assert "<@U0ANN>, <@U0BOB>" in posted["blocks"][0]["text"]["text"]
    escalation = world.service.get(results[0].escalation.id)
    assert [e.user for e in escalation.escalators] == ["U0ANN", "U0BOB"]
    assert [e.action for e in world.service.records.events(escalation.id)] == ["escalated", "joined"]


async def test_joining_with_a_note_and_an_official_tells_the_escalation_thread(world: World) -> None:
    card = world.post_card(a_mention(1))
    target = Resolved(card.mention_id, card)
    first = (await world.service.escalate(target, user="U0ANN", via="reaction")).escalation
    joined = await world.service.escalate(target, user="U0BOB", via="command", note="Urgent", officials=["U0MAYOR"])
    assert joined.outcome == "joined"
    assert joined.escalation.officials == ("U0OFFICIAL", "U0MAYOR")
    (reply,) = [m for m in world.slack.posted_messages(ESCALATION_CHANNEL) if m.get("thread_ts") == first.message_ts
                and m["ts"] != first.message_ts]
    assert reply["text"] == "<@U0BOB> escalated this too.\n> Urgent\nAlso for <@U0MAYOR>."
    again = await world.service.escalate(target, user="U0BOB", via="reaction")
    assert again.outcome == "already"


async def test_a_failed_post_is_retried_by_the_periodic_check(world: World) -> None:
    card = world.post_card(a_mention(1))
    world.slack.fail_next("chat.postMessage", error="internal_error")
    result = await world.service.escalate(Resolved(card.mention_id, card), user="U0ANN", via="command")
    assert result.escalation.message_ts is None and world.escalation_messages() == []
    await world.service.check(paris(23, 8))
    (posted,) = world.escalation_messages()
    assert world.service.get(result.escalation.id).message_ts == posted["ts"]
    await world.service.check(paris(23, 8))
    assert len(world.escalation_messages()) == 1


async def test_the_periodic_check_never_posts_a_message_twice(world: World) -> None:
    card = world.post_card(a_mention(1))
    # The check runs while the escalation's first post is still waiting for Slack's answer.
    await asyncio.gather(world.raise_for(card), world.service.publish_pending())
    assert len(world.escalation_messages()) == 1


async def test_without_escalation_channel_it_goes_in_the_card_thread(tmp_path: Path, slack: FakeSlack) -> None:
    world = make_world(Store.open(tmp_path / "db"), slack, ESCALATION_CHANNEL="")
    card = world.post_card(a_mention(1))
    escalation = await world.raise_for(card)
    replies = [m for m in slack.posted_messages("C0CARDS") if m.get("thread_ts") == card.slack_ts]
    assert [m["ts"] for m in replies] == [escalation.message_ts]
    assert "ESCALATION_CHANNEL is not set" in str(replies[0]["blocks"])
    assert escalation.channel == "C0CARDS" and escalation.thread_ts == card.slack_ts
    # A mention without a card has nowhere to go.
    world.store.record_poll("other", "C0OTHER", [a_mention(2)], {})
    quiet_id = world.service.store.mention_ids_at_url("https://news.example/2")[0]
    with pytest.raises(UserError) as raised:
        await world.service.escalate(world.service.resolve(MentionRef(quiet_id)), user="U0ANN", via="command")
    assert raised.value.key == "flag.no_channel"


async def test_targets_resolve_to_the_card_or_say_why_not(world: World) -> None:
    card = world.post_card(a_mention(1))
    reply = world.slack.seed_message("C0CARDS", "in the thread", thread_ts=card.slack_ts)
    service = world.service
    assert service.resolve(MessageRef("C0CARDS", card.slack_ts)).card == card
    assert service.resolve(MessageRef("C0CARDS", reply["ts"], card.slack_ts)).card == card
    assert service.resolve(UrlRef("https://news.example/1")) == Resolved(card.mention_id, card)
    # A link pasted with a trailing slash finds it too, as /summarize and /draft do (one lookup in storage).
    assert service.resolve(UrlRef("https://news.example/1/")) == Resolved(card.mention_id, card)
    assert service.resolve(MentionRef(card.mention_id)) == Resolved(card.mention_id, card)
    for target, key in [
        (MessageRef("C0CARDS", reply["ts"]), "flag.not_a_card"),
        (MentionRef(9999), "flag.not_found"),
        (UrlRef("https://news.example/none"), "flag.not_found"),
    ]:
        with pytest.raises(UserError) as raised:
            service.resolve(target)
        assert raised.value.key == key


# Lifecycle ------------------------------------------------------------------------------------------------------


async def test_every_transition_is_recorded_with_response_times_and_the_answer(world: World) -> None:
    card = world.post_card(a_mention(1))
    t0 = paris(23, 9)
    service = world.service
    escalation = await world.raise_for(card, now=t0)
    await service.acknowledge(escalation.id, "U0OFFICIAL", now=t0 + timedelta(hours=1))
    await service.answer(escalation.id, "U0OFFICIAL", "The tram runs again on Monday.", now=t0 + timedelta(hours=3))
    closed = await service.close(escalation.id, "U0ANN", now=t0 + timedelta(days=1))
    assert closed.state == "closed" and not closed.in_progress
    events = service.records.events(escalation.id)
    assert [(e.action, e.user, e.at - t0) for e in events] == [
        ("escalated", "U0ANN", timedelta(0)),
        ("acknowledged", "U0OFFICIAL", timedelta(hours=1)),
        ("answered", "U0OFFICIAL", timedelta(hours=3)),
        ("closed", "U0ANN", timedelta(days=1)),
    ]
    times = closed.response_times()
    assert (times.to_acknowledge, times.to_answer, times.to_close) == (
        timedelta(hours=1), timedelta(hours=3), timedelta(days=1)
    )
    answered = service.answered_for(card.mention_id)
    assert answered is not None and answered.answer == "The tram runs again on Monday."
    assert service.records.created_between(t0, t0 + timedelta(minutes=1)) == [closed]
    assert service.in_progress() == []
    (message,) = world.escalation_messages()
    assert "acknowledged in 1 h · answered in 3 h · closed in 1 d" in str(message["blocks"])
    answer_reply = [m for m in world.slack.posted_messages("C0CARDS") if "answered" in m["text"]]
    assert "The tram runs again on Monday." in str(answer_reply[0]["blocks"])


async def test_answering_directly_also_acknowledges(world: World) -> None:
    card = world.post_card(a_mention(1))
    escalation = await world.raise_for(card)
    answered = await world.service.answer(escalation.id, "U0OFFICIAL", "Done")
    assert answered.acknowledged_by == "U0OFFICIAL" and answered.acknowledged_at == answered.answered_at


async def test_steps_out_of_order_and_strangers_are_refused(world: World) -> None:
    card = world.post_card(a_mention(1))
    service = world.service
    escalation = await world.raise_for(card)
    with pytest.raises(TransitionRefused):
        await service.close(escalation.id, "U0OFFICIAL")  # not answered yet
    await service.acknowledge(escalation.id, "U0OFFICIAL")
    with pytest.raises(TransitionRefused) as refused:
        await service.acknowledge(escalation.id, "U0OTHER")
    assert refused.value.escalation.acknowledged_by == "U0OFFICIAL"
    with pytest.raises(NotAllowed):
        await service.finish(escalation.id, "U0STRANGER", "dismissed", "spam")
    with pytest.raises(ValueError, match="outcome"):
        await service.finish(escalation.id, "U0ADMIN", "closed", "x")
    dismissed = await service.finish(escalation.id, "U0ADMIN", "dismissed", "spam")
    assert (dismissed.state, dismissed.finished_by, dismissed.reason) == ("dismissed", "U0ADMIN", "spam")
    with pytest.raises(UserError):
        service.get(9999)


async def test_a_finished_escalation_is_not_reopened_by_a_reaction_but_is_by_flag(world: World) -> None:
    card = world.post_card(a_mention(1))
    target = Resolved(card.mention_id, card)
    first = (await world.service.escalate(target, user="U0ANN", via="reaction")).escalation
    await world.service.finish(first.id, "U0OFFICIAL", "not_ours", "Region")
    late = await world.service.escalate(target, user="U0BOB", via="reaction", reopen=False)
    assert late.outcome == "finished" and late.escalation.id == first.id
    again = await world.service.escalate(target, user="U0BOB", via="command")
    assert again.outcome == "created" and again.escalation.id != first.id
    assert [e.id for e, _ in world.service.in_progress()] == [again.escalation.id]


# Reminders --------------------------------------------------------------------------------------------------------


async def test_reminders_wait_business_hours_slow_down_and_stop(world: World) -> None:
    card = world.post_card(a_mention(1))
    service = world.service
    escalation = await world.raise_for(card, now=FRIDAY_17H)
    assert escalation.next_reminder_at == paris(23, 12)  # Friday 17:00 + 4 business hours
    schedule = [
        (paris(21, 12), 0),  # Saturday: nothing is due, and it is not business time anyway
        (paris(23, 11, 59), 0),
        (paris(23, 12), 1),  # first reminder, then 8 business hours: Tuesday 11:00
        (paris(24, 10, 59), 0),
        (paris(24, 11), 1),  # then 16 business hours: Wednesday 18:00 is closing time, so Thursday 09:00
        (paris(26, 8, 59), 0),
        (paris(26, 9), 1),
        (paris(30, 12), 0),  # three reminders at most
    ]
    for now, expected in schedule:
        assert await service.remind_due(now) == expected, now
    thread = [m for m in world.slack.posted_messages(ESCALATION_CHANNEL) if m["ts"] != escalation.message_ts]
    assert [m["thread_ts"] for m in thread] == [escalation.message_ts] * 3
    assert [m["text"].split(":")[2].strip() for m in thread] == ["Reminder 1/3", "Reminder 2/3", "Reminder 3/3"]
    assert "has waited 2 d 19 h" in thread[0]["text"]
    opened = world.slack.calls_to("conversations.open")
    assert [c.args["users"] for c in opened] == ["U0OFFICIAL"] * 3
    dm_channel = opened[0].response["channel"]["id"]
    dms = world.slack.posted_messages(dm_channel)
    assert len(dms) == 3 and escalation.permalink in dms[0]["text"]
    assert [e.action for e in service.records.events(escalation.id)].count("reminded") == 3


async def test_an_acknowledged_escalation_is_not_reminded(world: World) -> None:
    card = world.post_card(a_mention(1))
    escalation = await world.raise_for(card, now=FRIDAY_17H)
    await world.service.acknowledge(escalation.id, "U0OFFICIAL", now=FRIDAY_17H + timedelta(minutes=5))
    assert await world.service.remind_due(paris(30, 12)) == 0


async def test_a_reminder_slack_refused_is_tried_again(world: World) -> None:
    card = world.post_card(a_mention(1))
    await world.raise_for(card, now=FRIDAY_17H)
    world.slack.fail_next("chat.postMessage", error="internal_error")
    assert await world.service.remind_due(paris(23, 12)) == 0
    assert await world.service.remind_due(paris(23, 12, 5)) == 1


async def test_no_reminders_when_turned_off(tmp_path: Path, slack: FakeSlack) -> None:
    world = make_world(Store.open(tmp_path / "db"), slack, ESCALATION_MAX_REMINDERS="0")
    card = world.post_card(a_mention(1))
    escalation = await world.raise_for(card)
    assert escalation.next_reminder_at is None
    assert await world.service.remind_due(paris(30, 12)) == 0
