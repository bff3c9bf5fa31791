"""Hostile posts through the running bot (HTTP mode): the mark on their cards, the charter's guidance from /draft
instead of a reply, and the digest's count; against the feed server, the fake Slack and the fake LLM."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from handlers.draft import decode_state
from tests.support.bot import Bot, BotFactory
from tests.support.feed_server import FeedServer
from tests.support.slack_api import Message
from tests.support.sql import sql
from tests.support.world import CARDS, feed, serve_story, story_mention
from veilleur.assist.prompt_book import DEFAULT_DIR
from veilleur.core.mentions import Mention

TOWN = "C0TOWN"
MARK = "Hostile post: don’t feed it — see the charter"


def town_watcher(url: str) -> str:
    return (f'[[watcher]]\nname = "town"\nsource = "rss"\nurl = "{url}"\nquery = "tram"\n'
            f'channel = "{TOWN}"\ninterval = "1h"\n')


def block(message: dict[str, Any], block_id: str) -> dict[str, Any] | None:
    return next((b for b in message["blocks"] if b.get("block_id") == block_id), None)


def hostile_line(card: Message) -> str | None:
    found = block(card, "hostile")
    return found["elements"][0]["text"] if found else None


def action_ids(message: dict[str, Any]) -> list[str]:
    return [element["action_id"] for b in message["blocks"] if b["type"] == "actions" for element in b["elements"]]


async def post_labelled(bot: Bot, text: str, key: str, hostile_model: int | None) -> tuple[int, Message]:
    """Store a mention of the hn watcher, label it as the LLM labelling job would, then let its card go out."""
    store = bot.services.store
    mention = Mention(source="hackernews", external_id=key, url=f"https://news.ycombinator.com/item?id={key}",
                      text=text, author_handle="someone")
    store.record_poll("hn", CARDS, [mention], {}, backfill=1)
    mention_id = next(sql(store).query("select max(id) as id from mentions"))["id"]
    sql(store).execute("update mentions set hostile_model = ?, labelled_at = datetime('now') where id = ?",
                       [hostile_model, mention_id])
    before = len(bot.slack.calls_to("chat.postMessage"))
    bot.services.outbox.wake()
    await bot.slack.wait_for_calls("chat.postMessage", before + 1, within=10)
    return mention_id, bot.slack.posted_messages(CARDS)[-1]


async def draft(bot: Bot, target: str) -> dict[str, Any]:
    before = len(bot.slack.responses)
    _, response_url = await bot.slash("/draft", target)
    await bot.slack.wait_for_response(before + 1, within=15)
    (answer,) = bot.responses_to(response_url)
    return answer


async def test_a_hostile_post_from_a_feed_is_marked_on_its_card_as_an_estimate(
    make_bot: BotFactory, feeds: FeedServer
) -> None:
    feeds.add("/town", feed([]))
    bot = await make_bot(llm=False, authors=town_watcher(feeds.url("/town")))
    assert (await bot.services.poller.poll("town")).ok  # the first poll is quiet
    bot.feeds.add("/town", feed([("1", "Le tram en retard, espèce de connard de maire"),
                                 ("2", "Le tram en retard ce matin encore")]))
    assert (await bot.services.poller.poll("town")).ok
    await bot.slack.wait_for_calls("chat.postMessage", 2, within=10)
    cards = {card["text"]: card for card in bot.slack.posted_messages(TOWN)}
    (hostile,) = [card for text, card in cards.items() if "connard" in text]
    (ordinary,) = [card for text, card in cards.items() if "connard" not in text]
    assert hostile_line(hostile) == f":shield: {MARK} (estimate)"
    assert hostile_line(ordinary) is None
    assert "mention_draft" in action_ids(hostile)  # /draft answers it, with the charter's guidance
    # The estimate is computed when the card is drawn, never stored; nothing is kept about the author.
    rows = list(sql(bot.services.store).query("select hostile_model from mentions where source = 'rss'"))
    assert [row["hostile_model"] for row in rows] == [None, None]
    assert sql(bot.services.store)["public_roles"].count == 0


async def test_the_models_flag_is_no_estimate_and_its_no_wins_over_the_word_list(make_bot: BotFactory) -> None:
    bot = await make_bot(llm=False)
    _, flagged = await post_labelled(bot, "The tram again. People like you should not be allowed near it", "1", 1)
    _, cleared = await post_labelled(bot, "What a moron I am, I missed the last tram", "2", 0)
    _, unlabelled = await post_labelled(bot, "What a moron, the mayor who closed the line", "3", None)
    assert hostile_line(flagged) == f":shield: {MARK}"
    assert hostile_line(cleared) is None
    assert hostile_line(unlabelled) == f":shield: {MARK} (estimate)"


async def test_the_mark_is_in_french_with_a_french_bot(make_bot: BotFactory) -> None:
    bot = await make_bot(llm=False, BOT_LANGUAGE="fr")
    _, card = await post_labelled(bot, "T'es qu'un bouffon", "1", None)
    assert hostile_line(card) == (":shield: Message hostile\u202f: ne pas répondre sur le fond — voir la charte "
                                  "(estimation)")


async def test_draft_on_a_hostile_mention_gives_the_charters_guidance_and_asks_no_llm(make_bot: BotFactory) -> None:
    bot = await make_bot()
    serve_story(bot.feeds, [])
    mention_id, _ = await bot.post_card(story_mention(text="You're an idiot, closing the tram for two years"))
    answer = await draft(bot, str(mention_id))
    assert bot.llm.requests == []
    assert "*Hostile post* from cityhall on Hacker News" in block(answer, "title")["text"]["text"]
    assert "Marked hostile by the word list (estimate)." in json.dumps(block(answer, "how"))
    guidance = block(answer, "guidance")["text"]["text"]
    assert guidance.startswith("Our policy: we do not answer abuse") and "Keep a screenshot" in guidance
    assert block(answer, "draft") is None and "```" not in json.dumps(answer)  # nothing to copy and post
    assert action_ids(answer) == ["draft_anyway"]
    # A URL finds the same stored mention, and its stored flag.
    by_url = await draft(bot, f"https://news.ycombinator.com/item?id={story_mention().external_id}")
    assert block(by_url, "guidance") is not None and bot.llm.requests == []


async def test_the_stored_flag_decides_for_draft_too(make_bot: BotFactory) -> None:
    bot = await make_bot()
    bot.llm.reply = lambda request: "Thanks, the next tram is at 8:10."
    flagged, _ = await post_labelled(bot, "Nice tram you have there", "1", 1)
    cleared, _ = await post_labelled(bot, "What a moron I am, I missed the last tram", "2", 0)
    answer = await draft(bot, str(flagged))
    assert "Marked hostile by the LLM." in json.dumps(block(answer, "how")) and bot.llm.requests == []
    reply = await draft(bot, str(cleared))
    assert block(reply, "draft")["text"]["text"] == "```\nThanks, the next tram is at 8:10.\n```"
    assert len(bot.llm.requests) == 1


async def test_a_normal_post_still_gets_a_reply(make_bot: BotFactory) -> None:
    bot = await make_bot()
    bot.llm.reply = lambda request: "Thank you, the works end in June 2027."
    serve_story(bot.feeds, [])
    mention_id, card = await bot.post_card(story_mention())
    assert hostile_line(card) is None
    answer = await draft(bot, str(mention_id))
    assert block(answer, "guidance") is None and "Thank you, the works end" in block(answer, "draft")["text"]["text"]
    assert len(bot.llm.requests) == 1 and "draft_regenerate" in action_ids(answer)


async def test_a_hostile_slack_message_gets_the_french_guidance(make_bot: BotFactory) -> None:
    bot = await make_bot()
    text = "T'es qu'un bouffon, le tram est encore en retard et personne ne nous dit rien"
    message = bot.slack.seed_message("C0TEAM", text)
    await bot.send(bot.requests.message_shortcut("draft_reply", message, channel="C0TEAM"))
    await bot.slack.wait_for_response(2, within=15)
    answer = bot.slack.responses[-1].body
    guidance = block(answer, "guidance")["text"]["text"]
    assert guidance.startswith("Notre règle : nous ne répondons pas aux insultes")
    assert bot.llm.requests == []


async def test_draft_anyway_writes_a_reply_and_its_buttons_keep_asking_for_one(make_bot: BotFactory) -> None:
    bot = await make_bot()
    bot.llm.reply = lambda request: f"Reply {len(bot.llm.requests)}."
    serve_story(bot.feeds, [])
    mention_id, _ = await bot.post_card(story_mention(text="You're an idiot, closing the tram for two years"))
    guidance = await draft(bot, str(mention_id))
    anyway = next(e for b in guidance["blocks"] if b["type"] == "actions" for e in b["elements"])
    ephemeral = {"type": "message", "message_ts": "1700000000.000100", "channel_id": CARDS, "is_ephemeral": True}
    before = len(bot.slack.responses)
    await bot.send(bot.requests.block_actions([{**anyway, "block_id": "guidance_actions"}], container=ephemeral,
                                              channel=CARDS))
    await bot.slack.wait_for_response(before + 2, within=15)
    reply = bot.slack.responses[-1].body
    assert reply["replace_original"] is True and block(reply, "draft")["text"]["text"] == "```\nReply 1.\n```"
    shorter = next(e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]
                   if e["action_id"] == "draft_shorter")
    assert decode_state(shorter["value"]).anyway
    before = len(bot.slack.responses)
    await bot.send(bot.requests.block_actions([{**shorter, "block_id": "draft_actions"}], container=ephemeral,
                                              channel=CARDS))
    await bot.slack.wait_for_response(before + 2, within=15)
    assert block(bot.slack.responses[-1].body, "draft")["text"]["text"] == "```\nReply 2.\n```"
    assert "PREVIOUS DRAFT\nReply 1." in bot.llm.requests[-1].user


async def test_the_guidance_is_the_charters_text_escaped_and_a_charter_without_it_gets_the_usual_policy(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(DEFAULT_DIR, prompts)
    charter = prompts / "charter.txt"
    text = charter.read_text(encoding="utf-8")
    charter.write_text(text.replace("## Hostile posts (en)\n", "## Hostile posts (en)\nCall <!channel> & <@U1>.\n"),
                       encoding="utf-8")
    bot = await make_bot(llm=False, PROMPTS_DIR=str(prompts))
    serve_story(bot.feeds, [])
    mention_id, _ = await bot.post_card(story_mention(text="You're an idiot, closing the tram for two years"))
    guidance = block(await draft(bot, str(mention_id)), "guidance")["text"]["text"]
    assert guidance.startswith("Call &lt;!channel&gt; &amp; &lt;@U1&gt;.")
    # The charter is read at every draft: a team's older copy without the sections still gets a policy.
    charter.write_text(text.split("# \"Hostile posts (xx)\"")[0] + text.split("## Fallback reply (en)")[1],
                       encoding="utf-8")
    guidance = block(await draft(bot, str(mention_id)), "guidance")["text"]["text"]
    assert guidance.startswith("Don’t answer it on the substance") and "no “Hostile posts” section" in guidance


async def test_the_digest_counts_the_hostile_posts(make_bot: BotFactory) -> None:
    bot = await make_bot(llm=False)
    bot.services.store.record_poll("hn", CARDS, [], {})  # the quiet first poll: what follows is found
    await post_labelled(bot, "Nice tram you have there", "1", 1)
    await post_labelled(bot, "What a moron I am, I missed the last tram", "2", 0)
    await post_labelled(bot, "What a moron, the mayor who closed the line", "3", None)
    await post_labelled(bot, "The tram is late again", "4", None)
    before = len(bot.slack.responses)
    _, response_url = await bot.slash("/digest", "preview", channel_id=CARDS)
    await bot.slack.wait_for_response(before + 1, within=15)
    (answer,) = bot.responses_to(response_url)
    volume = block(answer, "volume")["text"]["text"]
    assert ":shield: *2* hostile posts (marked on their cards; see the charter)" in volume
    assert "see the charter) · 1 of them estimated by the word list" in volume


async def test_a_digest_without_hostile_posts_says_nothing_of_them(make_bot: BotFactory) -> None:
    bot = await make_bot(llm=False)
    bot.services.store.record_poll("hn", CARDS, [], {})
    await post_labelled(bot, "What a moron I am, I missed the last tram", "2", 0)
    before = len(bot.slack.responses)
    _, response_url = await bot.slash("/digest", "preview", channel_id=CARDS)
    await bot.slack.wait_for_response(before + 1, within=15)
    (answer,) = bot.responses_to(response_url)
    assert "hostile" not in json.dumps(answer)
