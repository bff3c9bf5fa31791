"""/watch as people use it: signed requests to the whole bot in HTTP mode, the fake Slack Web API, and the feed
playback server as the source. Each change is checked where it lands: the database, the scheduler, Slack."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from handlers.watch import TESTS_PER_USER, TrialQuota
from tests.support.bot import Bot, BotFactory, eventually
from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack
from tests.support.sql import sql
from tests.support.world import CARDS, feed
from veilleur.watching.catalog import poll_job_id

ADMIN, GROUPIE, PASSER_BY, BOSS = "U0ADMIN", "U0GROUPIE", "U0PASSER", "U0BOSS"
TRAM, CMD = "C0TRAM", "C0CMD"
ITEMS = [("1", "tram strike"), ("2", "tram late"), ("3", "weather")]
LOCAL = {"ADMIN_USERS": ADMIN, "ALLOW_PRIVATE_URLS": "true"}


def text_value(value: str) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def form_values(**fields: str) -> dict[str, Any]:
    """A filled-in watcher form as Slack sends its state: {block_id: {action_id: state}}."""
    values: dict[str, Any] = {}
    for field, value in fields.items():
        if field == "source":
            state = {"type": "static_select", "selected_option": {"value": value}}
        elif field == "channel":
            state = {"type": "conversations_select", "selected_conversation": value}
        elif field == "backfill":
            state = {"type": "number_input", "value": value}
        else:
            state = text_value(value)
        values[field] = {f"watch_{field}": state}
    return values


def tram_form(feeds: FeedServer, **overrides: str) -> dict[str, Any]:
    fields = {"name": "tram", "source": "rss", "url": feeds.url("/tram"), "query": "tram", "channel": TRAM,
              "interval": "1h", "backfill": "2"} | overrides
    return form_values(**fields)


def metadata(editing: str | None = None) -> str:
    return json.dumps({"editing": editing, "reply_channel": CMD})


async def watch(bot: Bot, text: str, user: str = ADMIN) -> tuple[httpx.Response, str]:
    return await bot.slash("/watch", text, user_id=user, channel_id=CMD)


async def open_form(bot: Bot) -> dict[str, Any]:
    """/watch add: the form as Slack stored it (its id and private_metadata), for clicks inside it."""
    await watch(bot, "add")
    (call,) = await bot.slack.wait_for_calls("views.open")
    assert call.response is not None
    return call.response["view"]


async def submit(bot: Bot, values: dict[str, Any], *, editing: str | None = None, user: str = ADMIN) -> httpx.Response:
    return await bot.send(bot.requests.view_submission("watch_form", values, metadata(editing), user=user))


def errors(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    return body["errors"]


def stored(bot: Bot) -> dict[str, dict[str, Any]]:
    services = bot.runtime.services
    assert services is not None
    return {row["name"]: row for row in sql(services.store).query("select * from watchers")}


def job(bot: Bot, name: str) -> Any:
    assert bot.runtime.scheduler is not None
    return bot.runtime.scheduler.get_job(poll_job_id(name))


def pause_schedule(bot: Bot) -> None:
    """Keep the file watcher's first poll (scheduled within 10 s of start) out of a test that counts rows."""
    assert bot.runtime.scheduler is not None
    bot.runtime.scheduler.pause()


def counts(bot: Bot) -> dict[str, int]:
    services = bot.runtime.services
    assert services is not None
    tables = ("mentions", "deliveries", "watcher_state", "watchers", "watcher_pauses")
    return {table: sql(services.store)[table].count for table in tables}


async def add_tram(bot: Bot, feeds: FeedServer) -> None:
    """/watch add, then the form submitted: the watcher polls at once and its cards reach the channel."""
    feeds.add("/tram", feed(ITEMS))
    response = await submit(bot, tram_form(feeds))
    assert response.status_code == 200 and not response.content
    await bot.slack.wait_for_calls("chat.postMessage", 2, within=10)


@pytest.fixture
async def bot(make_bot: BotFactory) -> Bot:
    return await make_bot(**LOCAL)


async def test_add_opens_the_form_with_the_chosen_source_fields(bot: Bot) -> None:
    view = await open_form(bot)
    blocks = [block.get("block_id") for block in view["blocks"]]
    assert view["callback_id"] == "watch_form"
    assert blocks[:4] == ["name", "source", "url", "query"]
    assert {"channel", "interval", "backfill", "test"} <= set(blocks)
    source = next(block for block in view["blocks"] if block.get("block_id") == "source")
    assert source["dispatch_action"] is True

    state = {"id": view["id"], "private_metadata": view["private_metadata"],
             "state": {"values": form_values(name="toots", source="mastodon", query="tram")}}
    await bot.send(bot.requests.block_actions([{"action_id": "watch_source", "type": "static_select"}], view=state))
    (update,) = await bot.slack.wait_for_calls("views.update")
    updated = [block.get("block_id") for block in update.args["view"]["blocks"]]
    assert "base_url" in updated and "options" in updated and "url" not in updated
    query = next(block for block in update.args["view"]["blocks"] if block.get("block_id") == "query")
    assert query["element"]["initial_value"] == "tram"


async def test_a_query_is_checked_live_with_the_query_language_message(bot: Bot) -> None:
    form = await open_form(bot)
    view = {"id": form["id"], "private_metadata": metadata(), "state": {"values": form_values(query="tram OR")}}
    await bot.send(bot.requests.block_actions([{"action_id": "watch_query", "type": "plain_text_input"}], view=view))
    (update,) = await bot.slack.wait_for_calls("views.update")
    note = next(block for block in update.args["view"]["blocks"] if block.get("block_id") == "query_note")
    assert "OR" in note["elements"][0]["text"] and "⚠" in note["elements"][0]["text"]


async def test_a_watcher_added_from_slack_is_stored_scheduled_and_posts_at_once(bot: Bot, feeds: FeedServer) -> None:
    await add_tram(bot, feeds)
    row = stored(bot)["tram"]
    assert row["source"] == "rss" and row["created_by"] == ADMIN
    assert json.loads(row["fields"])["query"] == "tram"
    assert job(bot, "tram") is not None
    assert [call.args["channel"] for call in bot.slack.calls_to("conversations.join")] == [TRAM]
    posted = bot.slack.posted_messages(TRAM)
    assert sorted(message["text"].split(": ", 1)[1] for message in posted) == ["tram late", "tram strike"]
    confirmation = await bot.slack.wait_for_calls("chat.postEphemeral")
    assert confirmation[-1].args["channel"] == CMD and "tram" in confirmation[-1].args["text"]


@pytest.mark.parametrize(
    ("override", "block", "says"),
    [
        ({"query": "(tram"}, "query", "("),
        ({"interval": "10s"}, "interval", "at least 30s"),
        ({"name": "hn"}, "name", "already the name"),
        ({"url": "ftp://x.example/feed"}, "url", "http(s)"),
        ({"channel": "#general"}, "channel", "channel ID"),
    ],
)
async def test_invalid_values_come_back_under_their_field(
    bot: Bot, feeds: FeedServer, override: dict[str, str], block: str, says: str
) -> None:
    problems = errors(await submit(bot, tram_form(feeds, **override)))
    assert list(problems) == [block] and says in problems[block]
    assert stored(bot) == {}


async def test_options_are_checked_by_the_source_as_in_the_file(bot: Bot) -> None:
    values = form_values(name="toots", source="mastodon", query="tram", channel=TRAM, interval="5m",
                         options='colour = "blue"')
    problems = errors(await submit(bot, values))
    assert "unknown option 'colour'" in problems["options"]


async def test_edit_opens_the_form_prefilled_and_applies_the_change(bot: Bot, feeds: FeedServer) -> None:
    await add_tram(bot, feeds)
    services = bot.runtime.services
    assert services is not None
    cursor = services.store.watcher_status("tram").first_polled_at
    await watch(bot, "edit tram")
    (call,) = await bot.slack.wait_for_calls("views.open")
    blocks = {block.get("block_id"): block for block in call.args["view"]["blocks"]}
    assert "name" not in blocks
    assert blocks["query"]["element"]["initial_value"] == "tram"
    assert blocks["url"]["element"]["initial_value"] == feeds.url("/tram")
    assert blocks["channel"]["element"]["initial_conversation"] == TRAM

    values = tram_form(feeds, query="tram OR weather", interval="2h")
    del values["name"]
    response = await submit(bot, values, editing="tram")
    assert response.status_code == 200 and not response.content
    assert json.loads(stored(bot)["tram"]["fields"])["query"] == "tram OR weather"
    assert services.watchers["tram"].config.query.text == "tram OR weather"
    assert job(bot, "tram").trigger.interval.total_seconds() == 7200
    # Same feed: the watcher keeps its progress, so its backlog is not posted again as a first run.
    assert services.store.watcher_status("tram").first_polled_at == cursor


async def test_a_file_watcher_cannot_be_edited_or_removed_from_slack(bot: Bot, tmp_path: Path) -> None:
    for verb in ("edit", "remove"):
        response, _ = await watch(bot, f"{verb} hn")
        assert "comes from the watchers file" in response.text
        assert str(tmp_path / "watchers.toml") in response.text
    assert bot.slack.calls_to("views.open") == []
    assert job(bot, "hn") is not None


async def test_pause_stops_polling_and_resume_polls_at_once(bot: Bot, feeds: FeedServer) -> None:
    await add_tram(bot, feeds)
    services = bot.runtime.services
    assert services is not None
    response, _ = await watch(bot, "pause tram")
    assert "paused" in response.text
    assert job(bot, "tram") is None and "tram" not in services.watchers
    polls = len(feeds.requests("/tram"))
    await asyncio.sleep(0.3)
    assert len(feeds.requests("/tram")) == polls

    response, _ = await watch(bot, "resume tram")
    assert "runs again" in response.text
    assert job(bot, "tram") is not None
    await eventually(lambda: len(feeds.requests("/tram")) > polls)


async def test_remove_asks_first_and_keeps_the_mentions(bot: Bot, feeds: FeedServer) -> None:
    await add_tram(bot, feeds)
    before = counts(bot)
    response, _ = await watch(bot, "remove tram")
    buttons = response.json()["blocks"][1]["elements"]
    assert [button["action_id"] for button in buttons] == ["watch_remove_confirm", "watch_remove_cancel"]
    assert "tram" in stored(bot) and job(bot, "tram") is not None

    answer_url = bot.slack.response_url()
    click = bot.requests.block_actions([{"action_id": "watch_remove_confirm", "value": "tram"}], user=ADMIN,
                                       response_url=answer_url)
    await bot.send(click)
    await bot.slack.wait_for_response()
    assert "removed" in bot.responses_to(answer_url)[0]["text"]
    assert "tram" not in stored(bot) and job(bot, "tram") is None
    after = counts(bot)
    assert after["mentions"] == before["mentions"] > 0
    assert after["deliveries"] == before["deliveries"]


async def test_reload_applies_the_file_and_names_bad_entries(bot: Bot, feeds: FeedServer, tmp_path: Path) -> None:
    (tmp_path / "watchers.toml").write_text(
        f'[[watcher]]\nname = "hn"\nsource = "hackernews"\nbase_url = "{feeds.base_url}"\nquery = "metro"\n'
        f'channel = "{CARDS}"\ninterval = "2h"\n\n'
        f'[[watcher]]\nname = "city"\nsource = "rss"\nurl = "{feeds.url("/city")}"\nquery = "piscine"\n'
        f'channel = "C0CITY"\n\n'
        '[[watcher]]\nname = "broken"\nsource = "rss"\nurl = "https://x.example/feed"\nquery = "(tram"\n'
        'channel = "C0CITY"\n'
    )
    response, _ = await watch(bot, "reload")
    assert "Added: city." in response.text and "Changed: hn." in response.text
    assert "watcher 'broken', field 'query'" in response.text
    assert job(bot, "city") is not None and job(bot, "broken") is None
    assert job(bot, "hn").trigger.interval.total_seconds() == 7200

    (tmp_path / "watchers.toml").write_text("")
    response, _ = await watch(bot, "reload")
    assert "Removed: city, hn." in response.text
    assert job(bot, "hn") is None and job(bot, "city") is None


@pytest.mark.parametrize("link", ["{url}", "<{url}>", "<{url}|news feed>"])
async def test_watch_test_shows_matches_and_stores_nothing(bot: Bot, feeds: FeedServer, link: str) -> None:
    feeds.add("/news", feed(ITEMS))
    pause_schedule(bot)
    before = counts(bot)
    response, answer_url = await watch(bot, "test tram " + link.format(url=feeds.url("/news")), user=PASSER_BY)
    assert "Testing" in response.text
    await bot.slack.wait_for_response()
    (answer,) = bot.responses_to(answer_url)
    shown = json.dumps(answer["blocks"])
    assert "2 posts of 3 match" in shown and "tram strike" in shown and "weather" not in shown
    assert counts(bot) == before
    assert bot.slack.calls_to("chat.postMessage") == []


async def test_watch_test_is_limited_per_person_with_a_clear_answer(make_bot: BotFactory, feeds: FeedServer) -> None:
    bot = await make_bot(BOT_LANGUAGE="fr", **LOCAL)
    feeds.add("/news", feed(ITEMS))
    pause_schedule(bot)
    for _ in range(TESTS_PER_USER):
        response, _ = await watch(bot, f"test tram {feeds.url('/news')}", user=PASSER_BY)
        assert "Test en cours" in response.text
    response, _ = await watch(bot, f"test tram {feeds.url('/news')}", user=PASSER_BY)
    refusal = response.json()
    assert refusal["response_type"] == "ephemeral"
    assert re.fullmatch(
        "Trop de tests\u202f: 5 par minute et par personne au plus\\. Réessayez dans (\\d+) secondes?\\.",
        refusal["text"],
    )
    assert 0 < int(re.findall(r"\d+", refusal["text"])[-1]) <= 60
    assert len(feeds.requests("/news")) == TESTS_PER_USER  # the refused test fetched nothing
    response, _ = await watch(bot, f"test tram {feeds.url('/news')}", user=GROUPIE)  # others are not held back
    assert "Test en cours" in response.text


async def test_the_form_test_button_counts_against_the_same_limit(bot: Bot, feeds: FeedServer) -> None:
    feeds.add("/tram", feed(ITEMS))
    pause_schedule(bot)
    for _ in range(TESTS_PER_USER):
        await watch(bot, f"test tram {feeds.url('/tram')}")
    form = await open_form(bot)
    view = {"id": form["id"], "private_metadata": metadata(), "state": {"values": tram_form(feeds)}}
    await bot.send(bot.requests.block_actions([{"action_id": "watch_test"}], view=view, user=ADMIN))
    (call,) = await bot.slack.wait_for_calls("views.update", 1, within=10)
    assert "Too many tests: at most 5 a minute for each person. Try again in" in json.dumps(call.args["view"])
    await asyncio.sleep(0.2)
    assert len(bot.slack.calls_to("views.update")) == 1  # no "testing…" and no results follow


async def test_watch_test_of_a_compression_bomb_stops_at_the_limit(bot: Bot, feeds: FeedServer) -> None:
    feeds.add_bomb("/bomb", 1024 * 1024 * 1024)
    pause_schedule(bot)
    _, answer_url = await watch(bot, f"test tram rss {feeds.url('/bomb')}", user=PASSER_BY)
    await bot.slack.wait_for_response(within=20)
    (answer,) = bot.responses_to(answer_url)
    assert f"{feeds.url('/bomb')} sent an answer larger than 10 MB" in json.dumps(answer)


def test_trial_quota_is_a_sliding_window() -> None:
    now = [100.0]
    quota = TrialQuota(2, 60.0, clock=lambda: now[0])
    assert quota.wait("U1") == 0 and quota.wait("U1") == 0
    now[0] = 130.0
    assert quota.wait("U1") == 30.0 and quota.wait("U2") == 0
    now[0] = 160.0  # the first two have left the window; the refused one was never counted
    assert quota.wait("U1") == 0 and quota.wait("U1") == 0
    now[0] = 170.0
    assert quota.wait("U1") == 50.0


async def test_the_form_test_button_shows_results_in_the_form(bot: Bot, feeds: FeedServer) -> None:
    feeds.add("/tram", feed(ITEMS))
    pause_schedule(bot)
    before = counts(bot)
    form = await open_form(bot)
    view = {"id": form["id"], "private_metadata": metadata(), "state": {"values": tram_form(feeds)}}
    await bot.send(bot.requests.block_actions([{"action_id": "watch_test"}], view=view))
    calls = await bot.slack.wait_for_calls("views.update", 2, within=10)
    results = json.dumps(calls[-1].args["view"]["blocks"])
    assert "2 posts of 3 match" in results and "tram late" in results
    assert counts(bot) == before


async def test_changes_are_refused_to_others_with_who_may(bot: Bot, feeds: FeedServer) -> None:
    for text in ("add", "pause hn", "reload"):
        response, _ = await watch(bot, text, user=PASSER_BY)
        assert f"Only <@{ADMIN}> can change watchers" in response.text
    assert bot.slack.calls_to("views.open") == []
    problems = errors(await submit(bot, tram_form(feeds), user=PASSER_BY))
    assert f"<@{ADMIN}>" in problems["name"]
    response, _ = await watch(bot, "list", user=PASSER_BY)
    assert "hn" in response.text


async def test_members_of_admin_group_may_change_watchers(make_bot: BotFactory, slack: FakeSlack) -> None:
    slack.add_usergroup("S0ADMINS", [GROUPIE])
    bot = await make_bot(ADMIN_GROUP="S0ADMINS")
    response, _ = await watch(bot, "pause hn", user=GROUPIE)
    assert "paused" in response.text
    response, _ = await watch(bot, "resume hn", user=PASSER_BY)
    assert "<!subteam^S0ADMINS>" in response.text
    assert job(bot, "hn") is None


async def test_without_admin_settings_workspace_admins_may(make_bot: BotFactory, slack: FakeSlack) -> None:
    slack.add_user(BOSS, is_admin=True)
    bot = await make_bot()
    response, _ = await watch(bot, "pause hn", user=PASSER_BY)
    assert "workspace’s admins and owners" in response.json()["text"] and "ADMIN_USERS" in response.text
    response, _ = await watch(bot, "pause hn", user=BOSS)
    assert "paused" in response.text


async def test_help_and_unknown_verbs_show_the_usage(bot: Bot) -> None:
    for text in ("", "help", "frobnicate", "pause"):
        response, _ = await watch(bot, text, user=PASSER_BY)
        assert "/watch test" in response.text and "/watch reload" in response.text


async def test_help_is_in_the_bot_language(make_bot: BotFactory) -> None:
    bot = await make_bot(BOT_LANGUAGE="fr")
    response, _ = await watch(bot, "help", user=PASSER_BY)
    assert "ce que Veilleur surveille" in response.text


UNSAFE = ["http://127.0.0.1/feed", "http://10.0.0.1/feed", "http://169.254.169.254/latest/meta-data/",
          "http://[::1]/feed", "http://localhost/feed"]


@pytest.mark.parametrize("url", UNSAFE)
async def test_private_addresses_are_refused_in_the_form(make_bot: BotFactory, feeds: FeedServer, url: str) -> None:
    bot = await make_bot(ADMIN_USERS=ADMIN)
    problems = errors(await submit(bot, tram_form(feeds, url=url)))
    assert "ALLOW_PRIVATE_URLS" in problems["url"]
    assert stored(bot) == {}


@pytest.mark.parametrize("url", UNSAFE)
async def test_private_addresses_are_refused_by_watch_test(make_bot: BotFactory, url: str) -> None:
    bot = await make_bot(ADMIN_USERS=ADMIN)
    _, answer_url = await watch(bot, f"test tram rss {url}", user=PASSER_BY)
    await bot.slack.wait_for_response()
    (answer,) = bot.responses_to(answer_url)
    assert answer["text"].startswith("Cannot test — Feed URL: ") and "ALLOW_PRIVATE_URLS" in answer["text"]


async def test_a_refused_address_is_explained_in_french(make_bot: BotFactory) -> None:
    bot = await make_bot(ADMIN_USERS=ADMIN, BOT_LANGUAGE="fr")
    _, answer_url = await watch(bot, "test tram rss http://127.0.0.1/feed", user=PASSER_BY)
    await bot.slack.wait_for_response()
    (answer,) = bot.responses_to(answer_url)
    assert answer["text"] == (
        "Test impossible — URL du flux\u202f: 127.0.0.1 est une adresse de bouclage (loopback), refusée sauf si "
        "ALLOW_PRIVATE_URLS l’autorise"
    )


async def test_a_redirect_to_a_private_address_is_refused(make_bot: BotFactory, feeds: FeedServer) -> None:
    bot = await make_bot(ADMIN_USERS=ADMIN, ALLOW_PRIVATE_URLS="127.0.0.1")
    feeds.redirect("/moved", "http://10.0.0.1/feed")
    _, answer_url = await watch(bot, f"test tram rss {feeds.url('/moved')}", user=PASSER_BY)
    await bot.slack.wait_for_response(within=10)
    (answer,) = bot.responses_to(answer_url)
    assert "10.0.0.1" in json.dumps(answer)
    assert "0 posts" not in json.dumps(answer)
