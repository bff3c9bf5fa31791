"""The mention card's stance menu and the model's labels, through the running bot (HTTP mode), the fake Slack and
the fake OpenAI-compatible server: a poll is labelled in one batch, cards show it, the team corrects a label, the
model never overwrites the correction and learns from it, and the digest counts it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.support.bot import Bot, BotFactory, eventually
from tests.support.openai_api import ChatRequest, FakeOpenAI, json_reply
from tests.support.slack_api import Message
from tests.support.sql import sql
from tests.support.world import CARDS
from veilleur.core.mentions import Mention
from veilleur.core.stances import classify_lexically
from veilleur.storage.labels import MentionLabels
from veilleur.storage.store import Store

SUBJECT = "le projet de tramway"
STANCE_PROMPT = "stance toward its subject"
# Irony with no sign of it, which the word list still takes for praise (asserted below) and the model does not.
IRONY = "Formidable gestion du tram ligne 2 : deux millions pour un rond-point. Chapeau."
POSTS = {
    "1": IRONY,
    "2": "Le tram ligne 2 est une honte, en panne encore",
    "3": "Le tram ligne 2 sera-t-il prolongé jusqu'à la gare ?",
}
# What the fake model answers, by the post's text.
MODEL = {IRONY: "against", POSTS["2"]: "against", POSTS["3"]: "question"}


def hits(posts: dict[str, str]) -> str:
    return json.dumps({"hits": [
        {"objectID": object_id, "created_at_i": int(time.time()) - 60, "author": f"user{object_id}",
         "title": "", "story_text": text, "_tags": ["story"]}
        for object_id, text in posts.items()
    ], "nbPages": 1})


def model(request: ChatRequest) -> str:
    """Labels by text for a stance request; a plain sentence for anything else (the digest's narrative)."""
    if STANCE_PROMPT not in request.system:
        return "Calm day."
    labels = []
    for line in request.user.splitlines():
        number, _, rest = line.partition(". [S1] ")
        if number.isdigit():
            labels.append({"id": int(number), "stance": MODEL.get(rest, "neutral"), "hostile": False})
    return json_reply({"labels": labels})


def stance_menu(message: Message | dict[str, Any]) -> dict[str, Any]:
    actions = next(block for block in message["blocks"] if block["block_id"] == "actions")
    return next(element for element in actions["elements"] if element["type"] == "static_select")


async def polled(bot: Bot, posts: dict[str, str]) -> None:
    bot.feeds.add("/api/v1/search_by_date", hits(posts), content_type="application/json")
    assert (await bot.services.poller.poll("hn")).ok
    await bot.services.labeller.settled()


async def started(make_bot: BotFactory, **env: str) -> Bot:
    bot = await make_bot(subject=SUBJECT, **env)
    assert bot.runtime.scheduler is not None and bot.llm is not None
    bot.runtime.scheduler.pause()  # this test polls by itself
    bot.llm.reply = model
    await polled(bot, {})  # the first poll is quiet
    return bot


def mention_id(bot: Bot, external_id: str) -> int:
    return next(sql(bot.services.store).query("select id from mentions where external_id = ?", [external_id]))["id"]


async def test_a_poll_is_labelled_in_one_request_and_the_changed_card_is_redrawn(make_bot: BotFactory) -> None:
    assert classify_lexically(IRONY) == "for", "this test needs a post the word list misreads"
    bot = await started(make_bot)
    assert bot.llm is not None
    bot.llm.delay = 3.5  # the cards are posted (paced a second apart) before the model answers
    await polled(bot, POSTS)
    (request,) = bot.llm.requests_for(STANCE_PROMPT)
    assert f"S1: {SUBJECT}" in request.user and all(text in request.user for text in POSTS.values())
    assert request.user.startswith("[[DATA ") and request.user.rstrip().endswith("]]")
    labels = MentionLabels(bot.services.store).labels_of([mention_id(bot, key) for key in POSTS])
    assert sorted(label.stance_model for label in labels.values()) == ["against", "against", "question"]
    posted = await bot.slack.wait_for_calls("chat.postMessage", 3, within=10)
    irony = mention_id(bot, "1")
    shown = {stance_menu(call.args)["initial_option"]["value"]: stance_menu(call.args)["initial_option"]["text"]
             for call in posted}
    assert "(estimate)" in shown[f"{irony}:for"]["text"], "posted before the model answered: the word list's"
    # The word list took the irony for praise; the model did not: that card is redrawn, once.
    update = await eventually(lambda: [call for call in bot.slack.calls_to("chat.update")
                                       if stance_menu(call.args)["initial_option"]["value"] == f"{irony}:against"])
    assert len(update) == 1 and "(AI)" in stance_menu(update[0].args)["initial_option"]["text"]["text"]
    assert (await bot.services.labeller.label_waiting()) == 0 and len(bot.llm.requests_for(STANCE_PROMPT)) == 1


async def test_a_correction_is_stored_shown_kept_and_learnt_from(make_bot: BotFactory) -> None:
    bot = await started(make_bot)
    await polled(bot, POSTS)
    question = mention_id(bot, "3")
    (card,) = [call for call in await bot.slack.wait_for_calls("chat.postMessage", 3, within=10)
               if stance_menu(call.args)["initial_option"]["value"].startswith(f"{question}:")]
    menu = stance_menu(card.args)
    chosen = next(option for option in menu["options"] if option["value"] == f"{question}:against")
    updates = len(bot.slack.calls_to("chat.update"))
    action = {"action_id": "mention_stance", "block_id": "actions", "type": "static_select",
              "selected_option": chosen, "initial_option": menu["initial_option"]}
    await bot.send(bot.requests.block_actions([action], message={"ts": card.response["ts"]}, channel=CARDS,
                                              user="U0MARIE", response_url=bot.slack.response_url()))
    (update,) = (await bot.slack.wait_for_calls("chat.update", updates + 1, within=5))[updates:]
    assert update.args["ts"] == card.response["ts"]
    assert stance_menu(update.args)["initial_option"]["value"] == f"{question}:against"
    assert "(team)" in stance_menu(update.args)["initial_option"]["text"]["text"]
    stored = MentionLabels(bot.services.store).labels(question)
    assert (stored.stance_team, stored.stance_team_by, stored.stance_model) == ("against", "U0MARIE", "question")
    audit = list(sql(bot.services.store).query("select user_id, action, subject from audit_log"))
    assert {"user_id": "U0MARIE", "action": "stance", "subject": f"mention:{question}:against"} in audit

    # A later model run (asked again, answering "question") does not overwrite it, and has it as an example.
    sql(bot.services.store).execute("update mentions set labelled_at = null where id = ?", [question])
    await polled(bot, {"4": "Le tram ligne 2, quelle réussite (pas du tout)"})
    assert MentionLabels(bot.services.store).labels(question).stance("").label == "against"
    latest = bot.llm.requests_for(STANCE_PROMPT)[-1] if bot.llm else None
    assert latest is not None and f"E1. [S1] {POSTS['3']} => against" in latest.user

    # The digest says the team corrected one label.
    response, response_url = await bot.slash("/digest", "preview", channel_id=CARDS)
    assert response.status_code == 200
    await bot.slack.wait_for_response()
    (answer,) = bot.responses_to(response_url)
    assert "The team corrected 1 stance label in this period." in json.dumps(answer["blocks"])


async def test_mentions_stored_while_the_bot_was_down_are_labelled_at_start_up(
    make_bot: BotFactory, tmp_path: Path, openai_api: FakeOpenAI
) -> None:
    store = Store.open(tmp_path / "veilleur.db")
    store.record_poll("hn", CARDS, [Mention(source="hackernews", external_id="9", url="https://news.example/9",
                                            text=IRONY)], {}, backfill=1)
    store.close()
    openai_api.reply = model
    bot = await make_bot(subject=SUBJECT)
    await eventually(lambda: bot.llm is not None and bot.llm.requests_for(STANCE_PROMPT))
    await bot.services.labeller.settled()
    assert MentionLabels(bot.services.store).labels(mention_id(bot, "9")).stance_model == "against"


async def test_with_llm_labelling_off_no_post_goes_to_the_model_and_cards_show_estimates(
    make_bot: BotFactory,
) -> None:
    bot = await started(make_bot, LLM_LABELLING="off")
    await polled(bot, POSTS)
    cards = await bot.slack.wait_for_calls("chat.postMessage", len(POSTS), within=10)
    assert all("(estimate)" in stance_menu(card.args)["initial_option"]["text"]["text"] for card in cards)
    await bot.services.labeller.settled()
    assert bot.llm is not None and not bot.llm.requests_for(STANCE_PROMPT)
    assert MentionLabels(bot.services.store).labels(mention_id(bot, "1")).stance_model is None


async def test_without_an_llm_cards_show_the_word_list_estimate_as_such(make_bot: BotFactory) -> None:
    bot = await make_bot(llm=False, subject=SUBJECT)
    assert bot.runtime.scheduler is not None
    bot.runtime.scheduler.pause()
    await polled(bot, {})
    await polled(bot, {"1": IRONY})
    (card,) = await bot.slack.wait_for_calls("chat.postMessage", 1, within=10)
    assert "(estimate)" in stance_menu(card.args)["initial_option"]["text"]["text"]
    assert MentionLabels(bot.services.store).labels(mention_id(bot, "1")).stance_model is None


async def test_the_stance_menu_on_a_foreign_message_says_so(make_bot: BotFactory) -> None:
    bot = await started(make_bot)
    action = {"action_id": "mention_stance", "block_id": "actions", "type": "static_select",
              "selected_option": {"value": "1:for", "text": {"type": "plain_text", "text": "For"}}}
    response_url = bot.slack.response_url()
    await bot.send(bot.requests.block_actions([action], message={"ts": "123.456"}, channel=CARDS, user="U0MARIE",
                                              response_url=response_url))
    await bot.slack.wait_for_response()
    assert "not a Veilleur mention card" in bot.responses_to(response_url)[-1]["text"]
    assert next(sql(bot.services.store).query("select count(*) as n from mentions where stance_team is not null"))[
        "n"] == 0
