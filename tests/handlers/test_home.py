"""The App Home tab: opening it publishes the watchers (health, last day), open escalations and the LLM state."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.support.bot import Bot, BotFactory, eventually
from tests.support.sql import sql
from tests.support.world import CARDS
from veilleur.core.mentions import Mention
from veilleur.storage.escalations import EscalationStore
from veilleur.storage.store import utcnow


def home_opened(bot: Bot, user: str, tab: str = "home") -> object:
    return bot.requests.event_callback({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab})


def record(bot: Bot, *titles: str) -> list[int]:
    """The hn watcher finds these mentions (cards in the outbox), as a poll would record them."""
    services = bot.runtime.services
    assert services is not None
    mentions = [Mention(source="hackernews", external_id=title, url=f"https://news.example/{n}", title=title,
                        text="")
                for n, title in enumerate(titles)]
    services.store.record_poll("hn", CARDS, mentions, {}, backfill=len(mentions))
    return [row["id"] for row in sql(services.store).query("select id from mentions order by id")]


async def test_home_shows_watchers_counts_escalations_and_llm(make_bot: BotFactory) -> None:
    bot = await make_bot(ADMIN_USERS="U0ADMIN")
    services = bot.runtime.services
    assert services is not None
    first, _ = record(bot, "tram strike", "tram late")
    EscalationStore(services.store).create(
        first, card_id=None, watcher="hn", channel=CARDS, thread_ts=None, officials=["U0MAYOR"], user="U0ANN",
        via="command", note=None, now=utcnow() - timedelta(hours=1), next_reminder_at=None,
    )
    await bot.send(home_opened(bot, "U0ANN"))
    (call,) = await bot.slack.wait_for_calls("views.publish")
    assert call.args["user_id"] == "U0ANN"
    view = call.args["view"]
    assert view["type"] == "home"
    text = json.dumps(view["blocks"], ensure_ascii=False)
    watcher = next(block for block in view["blocks"] if block.get("block_id") == "w_hn")["text"]["text"]
    assert "*hn*" in watcher and f"<#{CARDS}>" in watcher and "Hacker News" in watcher and "file" in watcher
    assert "2 mentions in 24 h" in watcher
    assert "1 open escalation" in text and "tram strike" in text
    assert "AI assistance is on" in text
    assert "/watch add" in text and "<@U0ADMIN>" in text


async def test_home_counts_only_the_last_day_and_not_the_quiet_backlog(make_bot: BotFactory) -> None:
    bot = await make_bot(llm=False)
    services = bot.runtime.services
    assert services is not None
    quiet, old, _ = record(bot, "backlog", "yesterday", "today")
    sql(services.store).execute("update deliveries set state = 'quiet' where mention_id = ?", [quiet])
    sql(services.store).execute("update deliveries set created_at = ? where mention_id = ?",
                              [(utcnow() - timedelta(hours=25)).isoformat(), old])
    await bot.send(home_opened(bot, "U0ANN"))
    (call,) = await bot.slack.wait_for_calls("views.publish")
    watcher = next(block for block in call.args["view"]["blocks"] if block.get("block_id") == "w_hn")
    assert "1 mention in 24 h" in watcher["text"]["text"]
    assert "AI assistance is off" in json.dumps(call.args["view"])
    assert "No escalation in progress" in json.dumps(call.args["view"])


async def test_the_messages_tab_does_not_publish(make_bot: BotFactory) -> None:
    bot = await make_bot()
    await bot.send(home_opened(bot, "U0ANN", tab="messages"))
    await bot.send(home_opened(bot, "U0BOB"))
    calls = await eventually(lambda: bot.slack.calls_to("views.publish"))
    assert [call.args["user_id"] for call in calls] == ["U0BOB"]


async def test_in_french_no_escalation_is_said_once_without_a_zero(make_bot: BotFactory) -> None:
    bot = await make_bot(BOT_LANGUAGE="fr")
    await bot.send(home_opened(bot, "U0ANN"))
    (call,) = await bot.slack.wait_for_calls("views.publish")
    blocks = call.args["view"]["blocks"]
    title = next(block for block in blocks if block.get("block_id") == "escalations_title")["text"]["text"]
    text = json.dumps(blocks, ensure_ascii=False)
    assert title == "Aucun signalement en cours"
    assert text.count("signalement") == 1 and "0 signalement" not in text
