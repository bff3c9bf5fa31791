"""The audit trail the listeners leave, driven as Slack does, and read back with `python bot.py audit` beside the
running bot."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.bot import BotFactory, eventually
from tests.support.cli import env_for, run_cli
from tests.support.sql import sql
from tests.support.world import CARDS, feed, serve_story, story_mention

ANN, BOB, ADMIN = "U0ANN", "U0BOB", "U0ADMIN"
TRAM = "C0TRAM"


def watcher_form(url: str) -> dict:
    """The /watch form as Slack sends its state when submitted: {block_id: {action_id: state}}."""
    fields = {"name": "tram", "url": url, "query": "tram", "interval": "1h"}
    values = {field: {f"watch_{field}": {"type": "plain_text_input", "value": value}}
              for field, value in fields.items()}
    values["source"] = {"watch_source": {"type": "static_select", "selected_option": {"value": "rss"}}}
    values["channel"] = {"watch_channel": {"type": "conversations_select", "selected_conversation": TRAM}}
    values["backfill"] = {"watch_backfill": {"type": "number_input", "value": "0"}}
    return values


async def test_summaries_drafts_and_watcher_changes_are_audited_without_content(
    make_bot: BotFactory, tmp_path: Path
) -> None:
    bot = await make_bot(llm=False, ADMIN_USERS=ADMIN, ALLOW_PRIVATE_URLS="true")
    serve_story(bot.feeds, [("ann", "Two years?! Who decided this?")])
    mention_id, _ = await bot.post_card(story_mention())
    await bot.slash("/summarize", "", user_id=ANN, channel_id=CARDS)
    await bot.slash("/draft", f"#{mention_id} be kind", user_id=BOB, channel_id=CARDS)
    await bot.slack.wait_for_response(2, within=15)
    bot.feeds.add("/tram", feed([("1", "tram strike")]))
    metadata = json.dumps({"editing": None, "reply_channel": CARDS})
    await bot.send(bot.requests.view_submission("watch_form", watcher_form(bot.feeds.url("/tram")), metadata,
                                                user=ADMIN))
    await eventually(lambda: "tram" in bot.services.watchers)  # stored once the form's answer is sent
    await bot.slash("/watch", "pause tram", user_id=ADMIN)
    await bot.slash("/watch", "pause hn", user_id=BOB)  # refused: not an admin, not audited
    rows = await eventually(lambda: len(audit := list(sql(bot.services.store)["audit_log"].rows)) == 4 and audit)
    assert [(row["user_id"], row["action"], row["subject"]) for row in rows] == [
        (ANN, "summarize", f"channel:{CARDS}:24h"),
        (BOB, "draft", f"mention:{mention_id}"),
        (ADMIN, "watch.add", "tram"),
        (ADMIN, "watch.pause", "tram"),
    ]
    code, out, err = await run_cli(tmp_path, env_for(tmp_path, None), "audit", "--since", "1")
    assert code == 0, err
    heading, *lines = out.strip().splitlines()
    assert heading.startswith("Audit log since ") and heading.endswith("(times in Europe/Paris):")
    assert [line.split("  ", 1)[1] for line in lines] == [
        f"{ANN}  summary  channel:{CARDS}:24h",
        f"{BOB}  reply draft  mention:{mention_id}",
        f"{ADMIN}  watcher added  tram",
        f"{ADMIN}  watcher paused  tram",
    ]
    assert "Two years" not in out and "be kind" not in out
