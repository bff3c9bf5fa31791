"""Every way to ask for a draft, and the draft's own buttons, through the running bot in HTTP mode."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from handlers.draft import BUTTON_VALUE_LIMIT, decode_state, encode_state
from tests.support.bot import BotFactory
from tests.support.openai_api import ChatRequest
from tests.support.world import CARDS, STORY, serve_story, story_mention
from veilleur.slack.links import MessageRef
from veilleur.slack.targets import MentionRef
from veilleur.storage.escalations import EscalationStore
from veilleur.storage.store import iso

TEAM = "C0TEAM"


def echo_reply(request: ChatRequest) -> str:
    return f"Draft #{len(request.system) % 97}: thanks for your message."


def draft_block(message: dict[str, Any]) -> str:
    return next(b for b in message["blocks"] if b.get("block_id") == "draft")["text"]["text"]


def buttons(message: dict[str, Any]) -> dict[str, str]:
    actions = next(b for b in message["blocks"] if b["type"] == "actions")
    return {element["action_id"]: element["value"] for element in actions["elements"]}


async def test_draft_command_on_a_mention_id_answers_only_the_requester(make_bot: BotFactory) -> None:
    bot = await make_bot()
    bot.llm.reply = lambda request: "Hello, the line reopens in 2027. <!channel>"
    serve_story(bot.feeds, [("ann", "Two years?! Who decided this?")])
    mention_id, _ = await bot.post_card(story_mention())
    response, response_url = await bot.slash("/draft", f"{mention_id} mention the replacement buses")
    assert response.status_code == 200 and "Drafting a reply" in response.json()["text"]
    await bot.slack.wait_for_response(1, within=15)
    (answer,) = bot.responses_to(response_url)
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is True
    assert draft_block(answer) == "```\nHello, the line reopens in 2027. &lt;!channel&gt;\n```"
    assert "Only you can see this draft" in json.dumps(answer)
    (request,) = bot.llm.requests
    assert "mention the replacement buses" in request.system
    assert "MESSAGE TO ANSWER\ncityhall: Tram line closing" in request.user
    assert "ann: Two years?! Who decided this?" in request.user
    state = decode_state(buttons(answer)["draft_shorter"])
    assert state == (
        MentionRef(mention_id), "mention the replacement buses", "Hello, the line reopens in 2027. <!channel>", False
    )
    assert all(r.method == "GET" for r in bot.feeds.log)  # the bot never writes to the source


async def test_the_official_answer_grounds_the_draft(make_bot: BotFactory) -> None:
    bot = await make_bot()
    serve_story(bot.feeds, [])
    mention_id, _ = await bot.post_card(story_mention())
    now = datetime.now(UTC)
    records = EscalationStore(bot.runtime.services.store)
    escalation = records.create(mention_id, card_id=None, watcher="hn", channel="C0ESC", thread_ts=None,
                                officials=["U0OFF"], user="U0HUMAN", via="command", note=None, now=now,
                                next_reminder_at=None)
    records.transition(escalation.id, "answered", allowed_from=("open",), user="U0OFF", now=now, state="answered",
                       answered_at=iso(now), answered_by="U0OFF", answer="Works end in June 2027.")
    _, response_url = await bot.slash("/draft", f"https://news.ycombinator.com/item?id={STORY}")
    await bot.slack.wait_for_response(1, within=15)
    (request,) = bot.llm.requests
    assert "OFFICIAL ANSWER" in request.user and "Works end in June 2027." in request.user
    assert "Based on the official answer" in json.dumps(bot.responses_to(response_url)[0])


async def test_the_shortcut_drafts_a_reply_to_a_slack_message_in_its_language(make_bot: BotFactory) -> None:
    bot = await make_bot()
    bot.llm.reply = echo_reply
    root = bot.slack.seed_message(TEAM, "Pasted from Facebook:")
    message = bot.slack.seed_message(TEAM, "Les travaux du tram sont encore en retard et personne ne nous dit rien",
                                     thread_ts=root["ts"])
    await bot.send(bot.requests.message_shortcut("draft_reply", message, channel=TEAM))
    await bot.slack.wait_for_response(2, within=15)
    working, answer = (post.body for post in bot.slack.responses)
    assert "Drafting" in working["text"] and answer["replace_original"] is True
    (request,) = bot.llm.requests
    assert "in French," in request.system  # BOT_LANGUAGE is English; the message is French
    assert "MESSAGE TO ANSWER\nu0human: Les travaux du tram" in request.user
    assert "Pasted from Facebook:" in request.user
    assert decode_state(buttons(answer)["draft_regenerate"])[0] == MessageRef(TEAM, message["ts"], root["ts"])


async def test_the_card_button_drafts_for_the_clicker_alone(make_bot: BotFactory) -> None:
    bot = await make_bot()
    bot.llm.reply = echo_reply
    serve_story(bot.feeds, [])
    mention_id, card = await bot.post_card(story_mention())
    action = {"action_id": "mention_draft", "block_id": "actions", "value": str(mention_id)}
    await bot.send(bot.requests.block_actions([action], message=card, channel=CARDS))
    await bot.slack.wait_for_response(2, within=15)
    working, answer = (post.body for post in bot.slack.responses)
    assert working["replace_original"] is False and answer["replace_original"] is False  # the card stays
    assert answer["response_type"] == "ephemeral" and "Draft #" in draft_block(answer)
    assert len(bot.slack.calls_to("chat.postMessage")) == 1  # only the card itself


@pytest.mark.parametrize(
    ("action_id", "phrase"),
    [("draft_shorter", "shorter"), ("draft_formal", "more formal"), ("draft_regenerate", "new version")],
)
async def test_the_draft_buttons_rework_the_draft_in_place(make_bot: BotFactory, action_id: str, phrase: str) -> None:
    bot = await make_bot()
    bot.llm.reply = lambda request: "Second version."
    serve_story(bot.feeds, [])
    mention_id, _ = await bot.post_card(story_mention())
    state = encode_state(MentionRef(mention_id), "be kind", "First version, rather long.")
    ephemeral = {"type": "message", "message_ts": "1700000000.000100", "channel_id": CARDS, "is_ephemeral": True}
    request = bot.requests.block_actions([{"action_id": action_id, "block_id": "draft_actions", "value": state}],
                                         container=ephemeral, channel=CARDS)
    await bot.send(request)
    await bot.slack.wait_for_response(2, within=15)
    working, answer = (post.body for post in bot.slack.responses)
    assert working["replace_original"] is True and "Rewriting" in working["text"]
    assert answer["replace_original"] is True and draft_block(answer) == "```\nSecond version.\n```"
    (sent,) = bot.llm.requests
    assert phrase in sent.system.lower() and "be kind" in sent.system
    assert "PREVIOUS DRAFT\nFirst version, rather long." in sent.user


async def test_in_thread_visibility_the_draft_goes_to_the_card_thread(make_bot: BotFactory) -> None:
    bot = await make_bot(DRAFT_VISIBILITY="thread")
    bot.llm.reply = echo_reply
    serve_story(bot.feeds, [])
    mention_id, card = await bot.post_card(story_mention())
    action = {"action_id": "mention_draft", "block_id": "actions", "value": str(mention_id)}
    await bot.send(bot.requests.block_actions([action], message=card, channel=CARDS, user="U0ASKER"))
    posts = await bot.slack.wait_for_calls("chat.postMessage", 2, within=10)
    assert posts[-1].args["thread_ts"] == card["ts"]
    (update,) = await bot.slack.wait_for_calls("chat.update", 1, within=15)
    assert "Drafted for <@U0ASKER>" in json.dumps(update.args) and "Draft #" in draft_block(update.args)
    _, response_url = await bot.slash("/draft", str(mention_id))
    posts = await bot.slack.wait_for_calls("chat.postMessage", 3, within=15)
    assert posts[-1].args["thread_ts"] == card["ts"]
    await bot.slack.wait_for_response(1, within=10)
    (notice,) = bot.responses_to(response_url)
    assert "Your draft is in the thread" in notice["text"] and "https://fake.slack.com/archives/" in notice["text"]


async def test_without_an_llm_the_charter_template_is_labelled(make_bot: BotFactory) -> None:
    bot = await make_bot(llm=False, BOT_LANGUAGE="fr")
    serve_story(bot.feeds, [])
    mention_id, _ = await bot.post_card(story_mention(text="The city will close the tram line and the works are long"))
    _, response_url = await bot.slash("/draft", str(mention_id))
    await bot.slack.wait_for_response(1, within=10)
    (answer,) = bot.responses_to(response_url)
    assert "Réponse type" in json.dumps(answer, ensure_ascii=False)
    assert draft_block(answer).startswith("```\nHello cityhall,")  # the mention is in English


async def test_bad_targets_are_told(make_bot: BotFactory) -> None:
    bot = await make_bot()
    response, _ = await bot.slash("/draft", "")
    assert "Usage" in response.json()["text"]
    response, _ = await bot.slash("/draft", "3d")
    assert "Usage" in response.json()["text"]
    _, response_url = await bot.slash("/draft", "https://unknown.example/post")
    await bot.slack.wait_for_response(1, within=10)
    assert "No mention with this URL" in bot.responses_to(response_url)[0]["text"]
    assert bot.llm.requests == []


def test_button_state_fits_slack_and_round_trips() -> None:
    draft = 'He said "no"\n\\ ' * 400
    value = encode_state(MessageRef("C1", "1.2", None), "x" * 1000, draft)
    assert len(value) <= BUTTON_VALUE_LIMIT
    target, instructions, previous, anyway = decode_state(value)
    assert target == MessageRef("C1", "1.2", None) and instructions == "x" * 300 and draft.startswith(previous)
    assert not anyway and decode_state(encode_state(MentionRef(3), "", "", anyway=True)).anyway
    assert decode_state("not json") is None and decode_state('{"c": 1}') is None


async def test_in_the_public_body_profile_a_draft_is_asked_with_pseudonyms_and_names_the_person_answered(
    make_bot: BotFactory,
) -> None:
    bot = await make_bot(PRIVACY_PROFILE="public-body")
    bot.llm.reply = lambda request: "Hello Author 1, Author 2 is right: thank you both."
    serve_story(bot.feeds, [("jdupont", "Two years?! Ask @mlefevre.")])
    mention_id, _ = await bot.post_card(story_mention())
    _, response_url = await bot.slash("/draft", f"{mention_id} thank jdupont")
    await bot.slack.wait_for_response(1, within=15)
    (request,) = bot.llm.requests
    assert "MESSAGE TO ANSWER\nAuthor 1: Tram line closing" in request.user
    assert "Author 2: Two years?! Ask Author 3." in request.user and "thank Author 2" in request.system
    assert not any(person in request.user + request.system for person in ("cityhall", "jdupont", "mlefevre"))
    (answer,) = bot.responses_to(response_url)
    assert draft_block(answer) == "```\nHello cityhall, jdupont is right: thank you both.\n```"
