"""/digest and /digest preview, through signed requests to the running bot (HTTP mode) and the fake Slack."""

import asyncio
import json
import random
import time

from tests.support.bot import Bot, BotFactory
from tests.support.sql import sql
from tests.support.world import CARDS
from veilleur.core.mentions import Mention


async def seed_cards(bot: Bot) -> None:
    """The hn watcher finds two mentions now (after a quiet first poll); the outbox posts their cards."""
    store = bot.runtime.services.store
    store.record_poll("hn", CARDS, [], {})
    store.record_poll("hn", CARDS, [
        Mention(source="hackernews", external_id=str(n), url=f"https://news.ycombinator.com/item?id={n}",
                title=f"Tram line {n} closing", text=f"The tram line {n} closes", author_handle="cityhall")
        for n in (1, 2)
    ], {})
    bot.runtime.services.outbox.wake()
    await bot.slack.wait_for_calls("chat.postMessage", 2, within=10)


async def test_digest_posts_in_the_channel(make_bot: BotFactory) -> None:
    bot = await make_bot(llm=False)
    await seed_cards(bot)
    response, response_url = await bot.slash("/digest", channel_id=CARDS)
    assert response.status_code == 200 and "Building the digest" in response.text
    (call,) = (await bot.slack.wait_for_calls("chat.postMessage", 3, within=10))[2:]
    await bot.slack.wait_for_response()
    assert "on its way" in bot.responses_to(response_url)[-1]["text"]
    assert call.args["channel"] == CARDS
    assert "Tram line 1 closing" in json.dumps(call.args["blocks"]) and "Tram line 2 closing" in json.dumps(
        call.args["blocks"]
    )
    (row,) = sql(bot.runtime.services.store)["digests"].rows
    assert (row["kind"], row["channel"]) == ("manual", CARDS)
    assert call.args["metadata"]["event_payload"]["delivery_id"] == row["delivery_id"]


async def test_digest_preview_is_shown_only_to_the_requester(make_bot: BotFactory) -> None:
    bot = await make_bot(llm=False)
    await seed_cards(bot)
    response, response_url = await bot.slash("/digest", "preview", channel_id=CARDS)
    assert response.status_code == 200 and "Building the digest" in response.text
    await bot.slack.wait_for_response()
    (answer,) = bot.responses_to(response_url)
    assert answer["response_type"] == "ephemeral"
    assert "Tram line 1 closing" in json.dumps(answer["blocks"])
    assert len(bot.slack.calls_to("chat.postMessage")) == 2  # the two cards, no digest
    assert sql(bot.runtime.services.store)["digests"].count == 0
    assert bot.runtime.services.store.pending_count() == 0


async def test_digest_with_other_words_explains_itself(make_bot: BotFactory) -> None:
    bot = await make_bot(llm=False)
    response, _ = await bot.slash("/digest", "yesterday", channel_id=CARDS)
    assert response.status_code == 200 and "/digest preview" in response.text
    assert sql(bot.runtime.services.store)["digests"].count == 0


async def test_a_slash_command_is_acked_while_a_large_poll_is_being_grouped(make_bot: BotFactory) -> None:
    bot = await make_bot(llm=False, MAX_CARDS_PER_POLL="1000")  # a team that wants every card of a burst
    services = bot.runtime.services
    assert bot.runtime.scheduler is not None
    bot.runtime.scheduler.pause()  # this test polls by itself
    assert (await services.poller.poll("hn")).ok  # the first poll is quiet
    words = [f"word{n}" for n in range(3000)]
    rng = random.Random(1)
    hits = [
        {"objectID": str(n), "created_at_i": int(time.time()) - 60, "author": f"user{n}",
         "title": f"Tram news {n}", "story_text": " ".join(["tram", *rng.choices(words, k=120)])}
        for n in range(1000)
    ]
    bot.feeds.add("/api/v1/search_by_date", json.dumps({"hits": hits, "nbPages": 1}), content_type="application/json")
    polling = asyncio.create_task(services.poller.poll("hn"))

    def placed() -> int:
        return sql(services.store).execute("select count(*) from story_members").fetchone()[0]

    while not 0 < placed() < len(hits):  # until the poll's cards are being grouped into stories
        assert not polling.done()
        await asyncio.sleep(0)
    response, _ = await bot.slash("/digest", "preview", channel_id=CARDS)
    assert response.status_code == 200 and "Building the digest" in response.text
    assert placed() < len(hits)  # acked before the poll's cards were all grouped
    report = await polling
    assert report.ok and report.outcome is not None and report.outcome.queued == 1000
    assert placed() == len(hits)
