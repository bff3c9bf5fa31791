"""Escalation as people use it: the whole bot in HTTP mode, driven by signed requests the way Slack sends them,
talking to the fake Slack Web API. Cards come from a real poll of a local feed and a real outbox post."""

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.support.bot import Bot, BotFactory, BotLauncher, Card, eventually
from tests.support.cli import env_for
from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack, Message
from tests.support.slack_requests import SignedRequest
from tests.support.world import feed
from veilleur.storage.escalations import Escalation

PARIS = ZoneInfo("Europe/Paris")
TRAM, CITY, ESCALATIONS = "C0TRAM", "C0CITY", "C0ESCAL"
WATCHERS = """
[[watcher]]
name = "caen-tram"
source = "rss"
url = "{feeds}/tram"
query = "tram"
channel = "C0TRAM"
backfill = 5

[[watcher]]
name = "city"
source = "rss"
url = "{feeds}/city"
query = "piscine"
channel = "C0CITY"
backfill = 5

[[route]]
name = "transport"
watchers = ["caen-tram"]
officials = ["U0TRAM"]
"""


@pytest.fixture
def start_bot(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, signing_secret: str, free_port: int, launch_bot: BotLauncher
) -> BotFactory:
    """Starts the bot (again, for a restart) on the same database; its two cards are posted on the first start."""
    (tmp_path / "watchers.toml").write_text(WATCHERS.format(feeds=feeds.base_url))
    feeds.add("/tram", feed([("t1", "tram stuck at the station")]))
    feeds.add("/city", feed([("c1", "piscine closed")]))
    started = 0

    async def start(**extra: str) -> Bot:
        nonlocal started
        env = env_for(tmp_path, slack, SLACK_SIGNING_SECRET=signing_secret, PORT=str(free_port),
                      ESCALATION_CHANNEL=ESCALATIONS, OFFICIALS="U0OFFICIAL", ADMIN_USERS="U0ADMIN") | extra
        bot = await launch_bot(env)
        started += 1
        store = bot.services.store
        if started == 1:
            await bot.services.poller.poll("caen-tram")
            await bot.services.poller.poll("city")
        for name, channel in (("tram", TRAM), ("city", CITY)):
            message = await eventually(lambda channel=channel: slack.posted_messages(channel)[:1])
            card = await eventually(lambda m=message[0], c=channel: store.card_for_message(c, m["ts"]))
            assert card.mention_id is not None
            bot.cards[name] = Card(card.mention_id, channel, message[0]["ts"], message[0])
        return bot

    return start


@pytest.fixture
async def bot(start_bot: BotFactory) -> Bot:
    return await start_bot()


def reaction_request(bot: Bot, card: Card, *, event_id: str, retry: int = 0) -> SignedRequest:
    event = {"type": "reaction_added", "user": "U0ANN", "reaction": "rotating_light", "item_user": "UBOT",
             "item": {"type": "message", "channel": card.channel, "ts": card.ts}}
    request = bot.requests.event_callback(event, event_id=event_id)
    if retry:
        retry_headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return SignedRequest(request.body, request.headers | retry_headers)
    return request


def card_status(bot: Bot, card: Card) -> str:
    """The status line under a card, as it is now in Slack ("" when it has none)."""
    (message,) = [m for m in bot.slack.posted_messages(card.channel) if m["ts"] == card.ts]
    last = message["blocks"][-1]
    return last["elements"][0]["text"] if last.get("block_id") == "status" else ""


def top_level(bot: Bot, channel: str) -> list[Message]:
    return [m for m in bot.slack.posted_messages(channel) if m.get("thread_ts", m["ts"]) == m["ts"]]


# Reactions ---------------------------------------------------------------------------------------------------------


async def test_a_reaction_escalates_once_however_often_slack_delivers_it_and_whoever_reacts(bot: Bot) -> None:
    tram = bot.cards["tram"]
    for retry in range(3):
        await bot.send(reaction_request(bot, tram, event_id="Ev0000000001", retry=retry))
    await bot.react(tram, user="U0BOB")
    escalation = await eventually(
        lambda: (e := bot.latest(tram.mention_id)) and len(e.escalators) == 2 and e.message_ts and e
    )
    await eventually(lambda: "<@U0ANN>, <@U0BOB>" in str(bot.escalation_message(escalation)["blocks"]))
    (posted,) = top_level(bot, ESCALATIONS)
    assert escalation.officials == ("U0TRAM",)  # the route for the caen-tram watcher
    assert posted["text"].startswith("Escalation #1 for <@U0TRAM>: tram stuck at the station")
    assert [(e.user, e.via) for e in escalation.escalators] == [("U0ANN", "reaction"), ("U0BOB", "reaction")]
    (note,) = await eventually(lambda: bot.thread(TRAM, tram.ts))
    assert "escalated this mention to <@U0TRAM>" in note["text"]
    await eventually(lambda: "Sent to <@U0TRAM> by <@U0ANN>, <@U0BOB>" in card_status(bot, tram))
    assert len(bot.escalations.records.events(escalation.id)) == 2


async def test_reactions_that_are_not_on_our_cards_or_not_the_emoji_are_ignored(bot: Bot) -> None:
    tram, city = bot.cards["tram"], bot.cards["city"]
    foreign = bot.slack.seed_message(TRAM, "a colleague's message")
    reply = bot.slack.seed_message(TRAM, "a reply under the card", thread_ts=tram.ts)
    await bot.send(bot.requests.reaction_added("rotating_light", TRAM, foreign["ts"], item_user="U0HUMAN"))
    await bot.send(bot.requests.reaction_added("rotating_light", TRAM, reply["ts"], item_user="U0HUMAN"))
    await bot.react(tram, reaction="thumbsup")
    await bot.react(tram, reaction="rotating_light_extra")
    await bot.react(city)  # a real one, so we know the others were handled before it
    await eventually(lambda: bot.latest(city.mention_id) and bot.latest(city.mention_id).message_ts)
    assert bot.latest(tram.mention_id) is None
    assert len(top_level(bot, ESCALATIONS)) == 1


async def test_skin_tones_and_emoji_lists(start_bot: BotFactory) -> None:
    bot = await start_bot(ESCALATION_EMOJI="sos, raised_hand")
    await bot.react(bot.cards["tram"], reaction="rotating_light")  # no longer configured
    await bot.react(bot.cards["city"], reaction="raised_hand::skin-tone-3")
    escalation = await eventually(lambda: bot.latest(bot.cards["city"].mention_id))
    assert escalation.escalators[0].user == "U0ANN"
    assert escalation.officials == ("U0OFFICIAL",)  # no route for the city watcher: OFFICIALS
    assert bot.latest(bot.cards["tram"].mention_id) is None


async def test_a_reaction_on_a_finished_escalation_says_how_to_raise_it_again(bot: Bot) -> None:
    city = bot.cards["city"]
    await bot.react(city)
    escalation = await eventually(lambda: (e := bot.latest(city.mention_id)) and e.message_ts and e)
    await bot.escalations.finish(escalation.id, "U0OFFICIAL", "dismissed", "duplicate")
    await bot.react(city, user="U0BOB")
    (told,) = await bot.slack.wait_for_calls("chat.postEphemeral")
    assert told.args["user"] == "U0BOB" and told.args["channel"] == CITY
    assert "already “dismissed”" in told.args["text"] and "/flag" in told.args["text"]
    assert bot.latest(city.mention_id).id == escalation.id


# /flag ---------------------------------------------------------------------------------------------------------


def permalink(card: Card, ts: str | None = None, thread_ts: str | None = None) -> str:
    link = f"https://x.slack.com/archives/{card.channel}/p{(ts or card.ts).replace('.', '')}"
    return f"<{link}?thread_ts={thread_ts}&amp;cid={card.channel}>" if thread_ts else f"<{link}>"


async def test_flag_with_a_permalink(bot: Bot) -> None:
    tram = bot.cards["tram"]
    await bot.send(bot.requests.slash_command("/flag", permalink(tram), user_id="U0ANN"))
    text = await bot.reply()
    escalation = bot.latest(tram.mention_id)
    assert text == f"Escalated to <@U0TRAM>: <{escalation.permalink}|Escalation #1>"
    assert escalation.escalators[0].via == "command"


async def test_flag_with_a_permalink_to_a_reply_in_the_card_thread(bot: Bot) -> None:
    tram = bot.cards["tram"]
    reply = bot.slack.seed_message(TRAM, "what do we say?", thread_ts=tram.ts)
    await bot.send(bot.requests.slash_command("/flag", permalink(tram, reply["ts"], thread_ts=tram.ts)))
    assert (await bot.reply()).startswith("Escalated to <@U0TRAM>")
    assert bot.latest(tram.mention_id) is not None


async def test_flag_with_a_mention_url_an_official_and_a_note(bot: Bot) -> None:
    city = bot.cards["city"]
    text = "<https://news.example/c1> <@U0MARIE|marie> please answer &amp; hurry <!channel>"
    await bot.send(bot.requests.slash_command("/flag", text, user_id="U0BOB"))
    assert (await bot.reply()).startswith("Escalated to <@U0MARIE>")
    escalation = bot.latest(city.mention_id)
    assert escalation.officials == ("U0MARIE",)
    assert escalation.escalators[0].note == "please answer & hurry @channel"
    blocks = str(bot.escalation_message(escalation)["blocks"])
    assert "<@U0BOB>: please answer &amp; hurry @channel" in blocks


async def test_flag_with_a_mention_id(bot: Bot) -> None:
    city = bot.cards["city"]
    await bot.send(bot.requests.slash_command("/flag", f"#{city.mention_id}"))
    assert (await bot.reply()).startswith("Escalated to <@U0OFFICIAL>")
    assert bot.latest(city.mention_id).card_id is not None


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("hello world", "I can’t tell which mention “hello” is."),
        ("", "Usage: `/flag <message link | mention URL | mention id> [@official] [note]`, or `/flag list`."),
        ("99999", "I found no mention for “99999”."),
        ("<https://news.example/nothing>", "I found no mention for “https://news.example/nothing”."),
    ],
)
async def test_flag_with_a_bad_argument_says_what_is_wrong(bot: Bot, text: str, answer: str) -> None:
    await bot.send(bot.requests.slash_command("/flag", text))
    assert (await bot.reply()).startswith(answer)
    assert top_level(bot, ESCALATIONS) == []


async def test_flag_with_a_link_to_a_foreign_message(bot: Bot) -> None:
    foreign = bot.slack.seed_message(TRAM, "not a card")
    await bot.send(bot.requests.slash_command("/flag", permalink(bot.cards["tram"], foreign["ts"])))
    assert await bot.reply() == "That message is not one of my mention cards, nor in the thread of one."


async def test_flag_list_shows_escalations_in_progress_oldest_first(bot: Bot) -> None:
    await bot.send(bot.requests.slash_command("/flag", "list"))
    assert await bot.reply(1) == "No escalation is in progress."
    await bot.react(bot.cards["tram"])
    await eventually(lambda: (e := bot.latest(bot.cards["tram"].mention_id)) and e.message_ts)
    await bot.react(bot.cards["city"])
    await eventually(lambda: (e := bot.latest(bot.cards["city"].mention_id)) and e.message_ts)
    await bot.escalations.acknowledge(bot.latest(bot.cards["city"].mention_id).id, "U0CLAIRE")
    await bot.send(bot.requests.slash_command("/flag", "list"))
    body = (await bot.slack.wait_for_response(2))[1].body
    assert body["text"] == "Escalations in progress, oldest first:"
    lines = [b["text"]["text"] for b in body["blocks"][1:]]
    assert "Escalation #1" in lines[0] and "waiting · under a minute · <@U0TRAM> · tram stuck" in lines[0]
    assert "Escalation #2" in lines[1] and "acknowledged" in lines[1] and "<@U0CLAIRE>" in lines[1]


# The message shortcut and the card's Flag button -------------------------------------------------------------


async def test_the_shortcut_asks_for_an_official_and_a_note(bot: Bot) -> None:
    tram = bot.cards["tram"]
    reply = bot.slack.seed_message(TRAM, "worrying", thread_ts=tram.ts)
    await bot.send(bot.requests.message_shortcut("flag_message", reply, channel=TRAM, user="U0ANN"))
    (opened,) = await bot.slack.wait_for_calls("views.open")
    assert opened.args["view"]["callback_id"] == "flag_mention"
    values = {"official": {"user": {"type": "users_select", "selected_user": "U0MARIE"}},
              "note": {"text": {"type": "plain_text_input", "value": "  Call the operator  "}}}
    await bot.submit(0, values, user="U0ANN")
    (told,) = await bot.slack.wait_for_calls("chat.postEphemeral")
    escalation = bot.latest(tram.mention_id)
    assert told.args["text"].startswith("Escalated to <@U0MARIE>") and told.args["channel"] == TRAM
    assert escalation.officials == ("U0MARIE",)
    assert [(e.user, e.via, e.note) for e in escalation.escalators] == [("U0ANN", "shortcut", "Call the operator")]


async def test_the_shortcut_on_a_foreign_message_says_so(bot: Bot) -> None:
    foreign = bot.slack.seed_message(CITY, "just chatting")
    await bot.send(bot.requests.message_shortcut("flag_message", foreign, channel=CITY))
    assert await bot.reply() == "That message is not one of my mention cards, nor in the thread of one."
    assert bot.slack.calls_to("views.open") == []


async def test_the_card_flag_button_opens_the_modal_and_routes_without_an_official(bot: Bot) -> None:
    city = bot.cards["city"]
    action = {"action_id": "mention_flag", "block_id": "actions", "value": str(city.mention_id)}
    await bot.send(bot.requests.block_actions([action], message=city.message, channel=CITY, user="U0BOB"))
    await bot.slack.wait_for_calls("views.open")
    await bot.submit(0, {"official": {"user": {"type": "users_select", "selected_user": None}},
                         "note": {"text": {"type": "plain_text_input", "value": None}}}, user="U0BOB")
    await bot.slack.wait_for_calls("chat.postEphemeral")
    escalation = bot.latest(city.mention_id)
    assert escalation.officials == ("U0OFFICIAL",) and escalation.escalators[0].via == "button"


# Lifecycle -------------------------------------------------------------------------------------------------------


async def raise_tram(bot: Bot) -> Escalation:
    await bot.react(bot.cards["tram"])
    return await eventually(lambda: (e := bot.latest(bot.cards["tram"].mention_id)) and e.message_ts and e)


async def test_acknowledge_answer_and_close_update_the_message_and_the_card(bot: Bot) -> None:
    tram = bot.cards["tram"]
    escalation = await raise_tram(bot)
    await bot.click("escalation_acknowledge", escalation, "U0TRAM")
    await eventually(lambda: bot.latest(tram.mention_id).state == "acknowledged")
    await eventually(lambda: "Acknowledged by <@U0TRAM>" in str(bot.escalation_message(escalation)["blocks"]))
    await bot.click("escalation_acknowledge", escalation, "U0BOB")
    assert await bot.reply() == f"Nothing changed: <{escalation.permalink}|Escalation #1> is now “acknowledged”."

    await bot.click("escalation_answer", escalation, "U0TRAM")
    (opened,) = await bot.slack.wait_for_calls("views.open")
    assert opened.args["view"]["callback_id"] == "escalation_answer"
    blank = await bot.submit(0, {"answer": {"text": {"type": "plain_text_input", "value": "   "}}}, user="U0TRAM")
    assert blank.json()["response_action"] == "errors"
    await bot.submit(0, {"answer": {"text": {"type": "plain_text_input", "value": "Back on Monday <!channel>"}}},
                     user="U0TRAM")
    answered = await eventually(lambda: (e := bot.latest(tram.mention_id)).state == "answered" and e)
    assert answered.answer == "Back on Monday <!channel>"
    assert bot.escalations.answered_for(tram.mention_id).answered_by == "U0TRAM"
    said = await eventually(lambda: [m for m in bot.thread(TRAM, tram.ts) if "answered" in m["text"]])
    assert "Back on Monday &lt;!channel&gt;" in str(said[0]["blocks"])

    await bot.click("escalation_close", escalation, "U0STRANGER")
    assert await bot.reply(2) == (
        "Only <@U0TRAM>, <@U0ANN> or an admin (ADMIN_USERS) can close or dismiss this escalation."
    )
    await bot.click("escalation_close", escalation, "U0ANN")
    closed = await eventually(lambda: (e := bot.latest(tram.mention_id)).state == "closed" and e)
    assert closed.finished_by == "U0ANN"
    final = await eventually(lambda: (m := bot.escalation_message(escalation)) and "Closed by" in str(m) and m)
    assert not any(b.get("block_id") == "escalation_actions" for b in final["blocks"])
    assert "Response times: acknowledged in" in str(final["blocks"])
    await eventually(lambda: "Closed by <@U0ANN>" in card_status(bot, tram))
    actions = [e.action for e in bot.escalations.records.events(escalation.id)]
    assert actions == ["escalated", "acknowledged", "answered", "closed"]


async def test_not_ours_and_dismiss_need_a_reason_and_the_right_person(bot: Bot) -> None:
    escalation = await raise_tram(bot)
    await bot.click("escalation_not_ours", escalation, "U0STRANGER")
    assert "Only <@U0TRAM>, <@U0ANN> or an admin" in await bot.reply()
    assert bot.slack.calls_to("views.open") == []

    await bot.click("escalation_not_ours", escalation, "U0TRAM")
    (opened,) = await bot.slack.wait_for_calls("views.open")
    assert json.loads(opened.args["view"]["private_metadata"]) == {"id": escalation.id, "outcome": "not_ours"}
    empty = await bot.submit(0, {"reason": {"text": {"type": "plain_text_input", "value": ""}}}, user="U0TRAM")
    assert empty.json()["response_action"] == "errors"
    forged = await bot.submit(0, {"reason": {"text": {"type": "plain_text_input", "value": "x"}}}, user="U0STRANGER")
    assert "Only <@U0TRAM>" in forged.json()["errors"]["reason"]
    await bot.submit(0, {"reason": {"text": {"type": "plain_text_input", "value": "The region runs it"}}},
                     user="U0TRAM")
    finished = await eventually(lambda: (e := bot.latest(bot.cards["tram"].mention_id)).state == "not_ours" and e)
    assert (finished.finished_by, finished.reason) == ("U0TRAM", "The region runs it")
    await bot.click("escalation_dismiss", escalation, "U0ADMIN")
    assert "is now “not ours”" in await bot.reply(2)

    city = bot.cards["city"]
    await bot.react(city, user="U0BOB")
    other = await eventually(lambda: (e := bot.latest(city.mention_id)) and e.message_ts and e)
    await bot.click("escalation_dismiss", other, "U0ADMIN")
    await bot.slack.wait_for_calls("views.open", 2)
    await bot.submit(1, {"reason": {"text": {"type": "plain_text_input", "value": "Spam"}}}, user="U0ADMIN")
    dismissed = await eventually(lambda: (e := bot.latest(city.mention_id)).state == "dismissed" and e)
    assert dismissed.reason == "Spam" and dismissed.finished_by == "U0ADMIN"


# Restart and reminders ------------------------------------------------------------------------------------------


async def test_a_restart_keeps_every_escalation_and_its_state(start_bot: BotFactory) -> None:
    bot = await start_bot()
    escalation = await raise_tram(bot)
    await bot.click("escalation_acknowledge", escalation, "U0TRAM")
    await eventually(lambda: bot.latest(escalation.mention_id).state == "acknowledged")
    await bot.runtime.stop()

    bot = await start_bot()
    kept = bot.escalations.get(escalation.id)
    assert (kept.state, kept.acknowledged_by, kept.message_ts) == ("acknowledged", "U0TRAM", escalation.message_ts)
    assert [e.user for e in kept.escalators] == ["U0ANN"]
    await bot.click("escalation_answer", kept, "U0TRAM")
    await bot.slack.wait_for_calls("views.open")
    await bot.submit(0, {"answer": {"text": {"type": "plain_text_input", "value": "Fixed"}}}, user="U0TRAM")
    await eventually(lambda: "Fixed" in str(bot.escalation_message(kept)["blocks"]))
    assert len(top_level(bot, ESCALATIONS)) == 1
    events = bot.escalations.records.events(escalation.id)
    assert [e.action for e in events] == ["escalated", "acknowledged", "answered"]


async def test_reminders_count_business_hours_and_reach_the_official_directly(bot: Bot) -> None:
    assert bot.runtime.scheduler is not None and bot.runtime.scheduler.get_job("escalations") is not None
    friday_17h = datetime(2026, 11, 20, 17, 0, tzinfo=PARIS)
    with time_machine.travel(friday_17h, tick=False):
        escalation = await raise_tram(bot)
    assert escalation.created_at.astimezone(PARIS).strftime("%a %H:%M") == "Fri 17:00"
    assert await bot.escalations.check(datetime(2026, 11, 23, 11, 55, tzinfo=PARIS)) == 0
    assert await bot.escalations.check(datetime(2026, 11, 23, 12, 0, tzinfo=PARIS)) == 1
    (reminder,) = bot.thread(ESCALATIONS, escalation.message_ts)
    assert reminder["text"].startswith(":alarm_clock: Reminder 1/3: <@U0TRAM>, this escalation has waited 2 d 19 h")
    (opened,) = bot.slack.calls_to("conversations.open")
    assert opened.args["users"] == "U0TRAM"
    (direct,) = bot.slack.posted_messages(opened.response["channel"]["id"])
    assert escalation.permalink in direct["text"]
