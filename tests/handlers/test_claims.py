"""False claims through the running bot in HTTP mode: the card's button, the modal, `/claim`, a poll whose mentions
repeat the claim, and `/draft` on one of them."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.support.block_kit import block, has_block
from tests.support.bot import Bot, BotFactory, eventually
from tests.support.slack_api import Call, Message
from tests.support.sql import sql
from tests.support.world import CARDS, serve_story, story_mention

CLAIM = "La mairie va supprimer 300 places de stationnement rue Écuyère pour le tram sans concertation"
SEARCH = "/api/v1/search_by_date"


def modal_values(text: str, phrases: str, correction: str = "", channel: str = CARDS) -> dict[str, Any]:
    def typed(value: str) -> dict[str, Any]:
        return {"value": {"type": "plain_text_input", "value": value}}

    return {"text": typed(text), "phrases": typed(phrases), "correction": typed(correction),
            "channel": {"channel": {"type": "conversations_select", "selected_conversation": channel}}}


def serve_hits(bot: Bot, posts: list[tuple[str, str, int]]) -> None:
    """The Hacker News search answers with one story per (id, text, points)."""
    hits = [{"objectID": object_id, "created_at_i": int(time.time()) - 60, "author": f"user{object_id}",
             "title": "Tram", "story_text": text, "points": points} for object_id, text, points in posts]
    bot.feeds.add(SEARCH, json.dumps({"hits": hits, "nbPages": 1}), content_type="application/json")


async def start(make_bot: BotFactory, **env: str) -> Bot:
    bot = await make_bot(**env)
    assert bot.runtime.scheduler is not None
    bot.runtime.scheduler.pause()  # these tests poll by themselves
    assert (await bot.services.poller.poll("hn")).ok  # the first poll is quiet
    return bot


async def mark_from_card(
    bot: Bot, *, phrases: str = "stationnement Écuyère", correction: str = ""
) -> tuple[int, Message]:
    """Mark the claim from its post's card, as Slack sends the click and the modal; the post's mention id and the
    claim's message."""
    serve_story(bot.feeds, [])
    mention_id, card = await bot.post_card(story_mention(text=CLAIM))
    action = {"action_id": "mention_claim", "block_id": "actions", "value": str(mention_id)}
    await bot.send(bot.requests.block_actions([action], message=card, channel=CARDS, user="U0ANN"))
    (opened,) = await bot.slack.wait_for_calls("views.open")
    view = opened.args["view"]
    assert CLAIM in block(view, "text")["element"]["initial_value"]
    assert block(view, "phrases")["element"]["initial_value"]  # proposed from the claim's words
    assert block(view, "channel")["element"]["initial_conversation"] == CARDS
    posted = len(bot.slack.calls_to("chat.postMessage"))
    await bot.submit(0, modal_values(CLAIM, phrases, correction), user="U0ANN")
    await bot.slack.wait_for_calls("chat.postMessage", posted + 1, within=10)
    message = bot.slack.posted_messages(CARDS)[-1]
    assert "False claim #1" in json.dumps(message)
    # The card it was marked from says so, so that no one marks it again.
    (redrawn,) = await bot.slack.wait_for_calls("chat.update", 1, within=10)
    assert redrawn.args["ts"] == card["ts"]
    assert "False claim #1, followed" in json.dumps(block(redrawn.args, "claim"))
    return mention_id, message


async def claim_message_update(bot: Bot, ts: str) -> Call:
    """The one update of the claim's message at `ts` (the card's redraw when it was marked being the first)."""
    calls = await bot.slack.wait_for_calls("chat.update", 2, within=10)
    (update,) = [call for call in calls if call.args["ts"] == ts]
    return update


def claim_message(bot: Bot, ts: str) -> Message:
    return next(message for message in bot.slack.posted_messages(CARDS) if message["ts"] == ts)


async def test_a_claim_marked_from_a_card_groups_its_later_mentions_under_its_message(make_bot: BotFactory) -> None:
    bot = await start(make_bot, llm=False)
    _, message = await mark_from_card(bot)
    assert "1 mention so far" in block(message, "spread")["text"]["text"]  # the post it was marked from
    assert "No correction recorded yet" in block(message, "correction")["text"]["text"]
    assert sql(bot.services.store)["claims"].count == 1
    (entry,) = [row for row in sql(bot.services.store)["audit_log"].rows if row["action"] == "claim.create"]
    assert entry["user_id"] == "U0ANN"
    cards_before = len(bot.slack.posted_messages(CARDS))

    serve_hits(bot, [
        ("501", f"RT {CLAIM} #scandale", 400),  # a copy: found by its text
        ("502", "Incroyable: plus de STATIONNEMENT rue ecuyere à cause du tram", 60),  # by its key phrase
        ("503", "Le stationnement rue Écuyère, encore une idée du tram", 5),
        ("504", "Le tram passe enfin rue Saint-Jean", 5),  # another story
    ])
    report = await bot.services.poller.poll("hn")
    assert report.ok and report.outcome is not None and report.outcome.queued == 1

    update = await claim_message_update(bot, message["ts"])
    spread = block(update.args, "spread")["text"]["text"]
    assert "4 mentions so far" in spread and "1 high · 1 medium · 1 low" in spread
    replies = await eventually(lambda: bot.thread(CARDS, message["ts"]), within=10)
    (reply,) = replies
    assert "spreads faster: 4 new mentions this hour (0 the hour before)" in json.dumps(reply)
    lines = block(reply, "new_mentions")["text"]["text"].splitlines()
    assert ["id=501" in lines[0], "id=502" in lines[1], len(lines)] == [True, True, 4]  # best reach first

    def new_cards() -> list[Message]:
        return [m for m in bot.slack.posted_messages(CARDS)[cards_before:] if m.get("thread_ts") in (None, m["ts"])]

    (card,) = await eventually(new_cards, within=10)  # the other story's alone
    assert "Saint-Jean" in json.dumps(card)
    rows = sql(bot.services.store).execute("select count(*) from claim_mentions where claim_id = 1").fetchone()
    assert rows == (4,)


async def test_claim_list_correct_and_close(make_bot: BotFactory) -> None:
    bot = await start(make_bot, llm=False, ADMIN_USERS="U0BOSS")
    _, message = await mark_from_card(bot)
    (card_ts,) = [call.args["ts"] for call in bot.slack.calls_to("chat.update")]

    response, _ = await bot.slash("/claim", "close 1", user_id="U0OTHER")
    assert "Only whoever marked false claim #1, or an admin" in response.json()["text"]
    response, _ = await bot.slash("/claim", "correct 1 Faux : aucune place supprimée https://caen.example/vrai",
                                  user_id="U0ANN")
    assert "correction of false claim #1 is recorded" in response.json()["text"]
    update = await claim_message_update(bot, message["ts"])
    correction = block(update.args, "correction")["text"]["text"]
    assert "Faux : aucune place supprimée" in correction and "<https://caen.example/vrai|" in correction
    assert "1 before the correction · 0 after" in block(update.args, "spread")["text"]["text"]

    serve_hits(bot, [("601", f"RT {CLAIM}", 1)])
    await bot.services.poller.poll("hn")
    response, _ = await bot.slash("/claim", "list")
    listed = json.dumps(response.json(), ensure_ascii=False)
    assert "#1" in listed and "2 mentions so far" in listed and "1 before the correction · 1 after" in listed

    response, _ = await bot.slash("/claim", "close 1", user_id="U0BOSS")
    assert "False claim #1 is closed" in response.json()["text"]
    await eventually(lambda: "closed by <@U0BOSS>" in json.dumps(claim_message(bot, message["ts"])), within=10)
    redrawn = await eventually(lambda: [call for call in bot.slack.calls_to("chat.update")
                                        if call.args["ts"] == card_ts and not has_block(call.args, "claim")], within=10)
    assert redrawn, "the card it was marked from no longer says the claim is followed"
    actions = [row["action"] for row in sql(bot.services.store)["audit_log"].rows]
    assert {"claim.create", "claim.correct", "claim.close"} <= set(actions)

    serve_hits(bot, [("602", f"RT {CLAIM} encore", 1)])
    report = await bot.services.poller.poll("hn")
    assert report.outcome is not None and report.outcome.queued == 1  # no longer set aside for the claim
    assert sql(bot.services.store).execute("select count(*) from claim_mentions").fetchone() == (2,)
    response, _ = await bot.slash("/claim", "close 1", user_id="U0BOSS")
    assert "already closed" in response.json()["text"]


async def test_claim_command_opens_the_modal_and_refuses_a_claim_it_could_not_recognise(
    make_bot: BotFactory,
) -> None:
    bot = await start(make_bot, llm=False)
    response, _ = await bot.slash("/claim", "Le tram est gratuit", channel_id="C0TEAM")
    assert response.status_code == 200
    (opened,) = await bot.slack.wait_for_calls("views.open")
    view = opened.args["view"]
    assert block(view, "channel")["element"]["initial_conversation"] == "C0TEAM"
    answer = await bot.submit(0, modal_values("Le tram est gratuit", "", channel="C0TEAM"), user="U0ANN")
    assert answer.json() == {"response_action": "errors", "errors": {
        "phrases": "This claim is too short to be recognised by its text alone: give at least one key phrase."}}
    assert sql(bot.services.store)["claims"].count == 0
    response, _ = await bot.slash("/claim", "")
    assert "/claim list" in response.json()["text"]
    response, _ = await bot.slash("/claim", "list")
    assert "No false claim is followed" in response.json()["text"]
    response, _ = await bot.slash("/claim", "close 9")
    assert "There is no false claim #9" in response.json()["text"]


async def test_a_draft_on_a_mention_of_the_claim_cites_its_correction(make_bot: BotFactory) -> None:
    bot = await start(make_bot)
    bot.llm.reply = lambda request: "Bonjour, c'est faux."
    mention_id, _ = await mark_from_card(bot, correction="https://caen.example/vrai Aucune place supprimée")
    _, response_url = await bot.slash("/draft", str(mention_id))
    await bot.slack.wait_for_response(1, within=15)
    (request,) = bot.llm.requests
    assert "OFFICIAL ANSWER" in request.user
    assert "Aucune place supprimée\nhttps://caen.example/vrai" in request.user
    (answer,) = bot.responses_to(response_url)
    assert "This post repeats false claim #1: the draft cites its correction." in json.dumps(answer)


async def test_without_an_llm_the_draft_includes_the_correction_and_says_when_there_is_none(
    make_bot: BotFactory,
) -> None:
    bot = await start(make_bot, llm=False)
    mention_id, _ = await mark_from_card(bot)
    _, response_url = await bot.slash("/draft", str(mention_id))
    await bot.slack.wait_for_response(1, within=10)
    (answer,) = bot.responses_to(response_url)
    assert "no correction is recorded yet" in json.dumps(answer)
    await bot.slash("/claim", "correct 1 https://caen.example/vrai", user_id="U0ANN")
    _, response_url = await bot.slash("/draft", str(mention_id))
    await bot.slack.wait_for_response(2, within=10)
    (answer,) = bot.responses_to(response_url)
    draft = next(b for b in answer["blocks"] if b.get("block_id") == "draft")["text"]["text"]
    assert "https://caen.example/vrai" in draft
