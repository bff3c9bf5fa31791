"""The command line and the running bot, as an operator uses them: real processes, real sockets."""

import asyncio
import json
import re
import signal
import socket
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest

from tests.support.bot import BotLauncher
from tests.support.cli import BOT, env_for, run_cli
from tests.support.database_lock import locked_database
from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack
from tests.support.slack_requests import SlackRequests, send
from tests.support.sql import sql
from tests.support.world import channel_of, feed, write_watchers
from veilleur.storage.store import Store
from veilleur.storage.watchers import WatcherStore


@pytest.mark.parametrize(
    ("extra", "variable"),
    [({"BOT_TIMEZONE": "Mars/Olympus"}, "BOT_TIMEZONE"), ({"PORT": "x"}, "PORT"), ({}, "SLACK_SIGNING_SECRET")],
)
async def test_a_wrong_setting_stops_the_bot_with_one_line(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, extra: dict, variable: str
) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "a")
    code, _, err = await run_cli(tmp_path, env_for(tmp_path, slack, **extra))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0]
    assert "Traceback" not in err


async def test_a_token_slack_refuses_stops_the_bot_with_one_line(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, signing_secret: str, free_port: int
) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "a")
    slack.fail_next("auth.test", error="invalid_auth")
    env = env_for(tmp_path, slack, SLACK_SIGNING_SECRET=signing_secret, PORT=str(free_port))
    code, _, err = await run_cli(tmp_path, env)
    assert code == 2
    (line,) = err.strip().splitlines()
    assert "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)" in line
    assert slack.calls_to("chat.postMessage") == []


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda folder: folder / "a-file" / "veilleur.db", "File exists"),
        (lambda folder: folder / "notes.txt", "file is not a database"),
    ],
    ids=["folder-is-a-file", "not-a-database"],
)
async def test_a_database_path_that_cannot_hold_the_database_stops_with_one_line(
    tmp_path: Path, feeds: FeedServer, make, reason: str
) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "a")
    (tmp_path / "a-file").write_text("")
    (tmp_path / "notes.txt").write_text("not an SQLite database, " * 100)
    path = make(tmp_path)
    code, out, err = await run_cli(tmp_path, env_for(tmp_path, None, DATABASE_PATH=str(path)), "status")
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert f"DATABASE_PATH {str(path)!r}: cannot open the database there ({reason}" in line
    assert (tmp_path / "notes.txt").read_text().startswith("not an SQLite database")


async def test_a_port_in_use_stops_the_bot_with_one_line(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, signing_secret: str
) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "a")
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = await run_cli(tmp_path, env_for(tmp_path, slack, SLACK_SIGNING_SECRET=signing_secret,
                                                       PORT=str(port)))
    assert code == 2
    (line,) = err.strip().splitlines()
    assert f"PORT {port}: cannot listen on 0.0.0.0:{port}" in line and "choose another PORT" in line


async def test_while_slack_cannot_be_reached_the_bot_waits_and_still_stops_on_sigterm(
    tmp_path: Path, feeds: FeedServer, free_port: int
) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "a")
    env = env_for(
        tmp_path, None, SLACK_BOT_TOKEN="xoxb-test", SLACK_APP_TOKEN="xapp-test",
        SLACK_API_URL=f"http://127.0.0.1:{free_port}/api/",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(BOT), cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    try:
        line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
        assert f"cannot reach Slack at http://127.0.0.1:{free_port}/api/ to check SLACK_BOT_TOKEN" in line
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def caen_tram_after_its_quiet_first_run(tmp_path: Path, slack: FakeSlack, feeds: FeedServer) -> dict[str, str]:
    """One watcher, `caen-tram`, whose first run has recorded its one item quietly; the environment to run it."""
    write_watchers(tmp_path / "watchers.toml", feeds, "caen-tram")
    feeds.add("/caen-tram", feed([("1", "tram late")]))
    env = env_for(tmp_path, slack)
    assert (await run_cli(tmp_path, env, "once"))[0] == 0
    return env


async def test_dry_run_prints_the_cards_and_changes_nothing(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    env = await caen_tram_after_its_quiet_first_run(tmp_path, slack, feeds)
    feeds.add("/caen-tram", feed([("2", "tram strike &lt;!channel&gt;"), ("1", "tram late")]))
    code, out, _ = await run_cli(tmp_path, env, "once", "--dry-run")
    assert code == 0
    assert "tram strike" in out and "caen-tram" in out
    assert slack.calls_to("chat.postMessage") == []
    # the dry run did not record the new item: a real run still posts it
    code, out, _ = await run_cli(tmp_path, env, "once")
    assert code == 0
    first = next(m["text"] for m in slack.posted_messages(channel_of("caen-tram")))
    assert first.count("tram strike") == 1


async def test_once_sends_the_queued_removals_after_the_cards_and_its_dry_run_counts_them(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    env = await caen_tram_after_its_quiet_first_run(tmp_path, slack, feeds)
    channel = channel_of("caen-tram")
    old_card = slack.seed_message(channel, "tram works", user="UBOT", bot_id="BBOT")["ts"]
    store = Store.open(tmp_path / "veilleur.db")
    try:
        store.queue_card_removal("caen-tram", channel, old_card, "redact", "retention", days=90)
    finally:
        store.close()
    feeds.add("/caen-tram", feed([("2", "tram strike"), ("1", "tram late")]))
    code, out, _ = await run_cli(tmp_path, env, "once", "--dry-run")
    assert code == 0
    assert "tram strike" in out and "1 removal of the bot's messages" in out and "Content removed" not in out
    assert slack.calls_to("chat.update") == []
    code, out, _ = await run_cli(tmp_path, env, "once")
    assert code == 0 and "still queued" not in out
    assert [call.method for call in slack.calls if call.method.startswith("chat.")] == [
        "chat.postMessage", "chat.update"]
    assert slack.calls_to("chat.update")[0].args["text"] == "Content removed: end of the retention period (90 days)"


async def test_without_a_token_once_prints_instead_of_posting(tmp_path: Path, feeds: FeedServer) -> None:
    (tmp_path / "watchers.toml").write_text(
        f'[[watcher]]\nname = "w"\nsource = "rss"\nurl = "{feeds.url("/w")}"\nquery = "tram"\n'
        'channel = "C0123"\nbackfill = 1\n'
    )
    feeds.add("/w", feed([("1", "tram news")]))
    code, out, _ = await run_cli(tmp_path, env_for(tmp_path, None), "once")
    assert code == 0
    assert "tram news" in out
    assert not (tmp_path / "veilleur.db").exists()


async def test_a_dry_run_leaves_the_database_file_as_it_was(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    env = await caen_tram_after_its_quiet_first_run(tmp_path, slack, feeds)
    feeds.add("/caen-tram", feed([("2", "tram strike"), ("1", "tram late")]))
    before = database_files(tmp_path)
    for command in (["once", "--dry-run"], ["digest", "--dry-run"]):
        code, out, _ = await run_cli(tmp_path, env, *command)
        assert code == 0, out
    assert database_files(tmp_path) == before


def database_files(folder: Path) -> dict[str, bytes]:
    """The database file and its -wal and -shm companions, if there, by name."""
    return {path.name: path.read_bytes() for path in folder.glob("veilleur.db*")}


async def test_bad_watcher_entries_are_named_and_the_others_run(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    good = write_watchers(tmp_path / "good.toml", feeds, "good").read_text()
    (tmp_path / "watchers.toml").write_text(
        good
        + '\n[[watcher]]\nname = "broken"\nsource = "rss"\nurl = "https://x.example/feed"\nquery = "(tram"\n'
        'channel = "C0123"\n'
        + '\n[[watcher]]\nname = "nochan"\nsource = "rss"\nurl = "https://x.example/feed"\nquery = "tram"\n'
        'channel = "#general"\n'
    )
    feeds.add("/good", feed([("1", "tram")]))
    code, out, err = await run_cli(tmp_path, env_for(tmp_path, slack), "once")
    assert code == 1
    assert "good: 1 fetched" in out
    assert "watcher 'broken', field 'query'" in err
    assert "watcher 'nochan', field 'channel'" in err


async def test_status_prints_each_watcher_health(tmp_path: Path, slack: FakeSlack, feeds: FeedServer) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "up", "down")
    feeds.add("/up", feed([]))
    feeds.set_status("/down", 503)
    env = env_for(tmp_path, slack)
    await run_cli(tmp_path, env, "once")
    store = Store.open(tmp_path / "veilleur.db")
    WatcherStore(store).insert({"name": "from-slack", "source": "hackernews", "query": "tram",
                                "channel": "C0SLACK", "interval": "5m"}, "U0ADMIN")
    store.close()
    code, out, _ = await run_cli(tmp_path, env, "status")
    assert code == 1
    up = next(line for line in out.splitlines() if line.startswith("up "))
    down = next(line for line in out.splitlines() if line.startswith("down "))
    made_in_slack = next(line for line in out.splitlines() if line.startswith("from-slack "))
    assert "never" not in up and " 0" in up
    assert "HTTP 503" in down and "never" in down
    assert "hackernews" in made_in_slack and "C0SLACK" in made_in_slack and "never" in made_in_slack


async def test_health_alert_once_after_repeated_failures_then_recovery(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "flaky")
    feeds.set_status("/flaky", 500)
    env = env_for(tmp_path, slack, HEALTH_ALERT_AFTER="2")
    for _ in range(4):
        await run_cli(tmp_path, env, "once")
    alerts = slack.posted_messages(channel_of("flaky"))
    assert len(alerts) == 1
    assert "flaky" in alerts[0]["text"] and "500" in str(alerts[0])
    feeds.add("/flaky", feed([]))
    await run_cli(tmp_path, env, "once")
    await run_cli(tmp_path, env, "once")
    messages = slack.posted_messages(channel_of("flaky"))
    assert len(messages) == 2
    assert "flaky" in messages[1]["text"]


async def test_a_feed_that_jumps_by_hundreds_posts_a_capped_rollup_and_keeps_the_rest(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "jump")
    feeds.add("/jump", feed([("0", "tram zero")]))
    env = env_for(tmp_path, slack, MAX_CARDS_PER_POLL="3")
    await run_cli(tmp_path, env, "once")
    feeds.add("/jump", feed([("hostile", "tram <!channel> &"), *((str(n), f"tram {n}") for n in range(1, 301))]))
    code, out, err = await run_cli(tmp_path, env, "once")
    assert code == 0, err
    assert "301 new; 3 to post as a burst thread; 298 more stored without a card (past MAX_CARDS_PER_POLL)" in out
    rollup, *replies = slack.posted_messages(channel_of("jump"))
    assert len(replies) == 3 and {reply["thread_ts"] for reply in replies} == {rollup["ts"]}
    assert rollup["text"].startswith("3 new mentions for jump, in the thread. 298 more new mentions got no card")
    best = rollup["blocks"][1]["text"]["text"].splitlines()
    assert len(best) == 6 and all(line.startswith("• <https://news.example/") for line in best[1:])
    assert "<!channel>" not in json.dumps(slack.posted_messages())
    store = Store.open(tmp_path / "veilleur.db")
    try:
        assert store.delivery_counts("jump") == {"quiet": 1, "posted": 3, "overflow": 298}
    finally:
        store.close()


@pytest.fixture
async def http_bot(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, signing_secret: str, free_port: int, launch_bot: BotLauncher
):
    write_watchers(tmp_path / "watchers.toml", feeds, "w")
    feeds.add("/w", feed([]))
    bot = await launch_bot(env_for(tmp_path, slack, SLACK_SIGNING_SECRET=signing_secret, PORT=str(free_port)))
    return bot.runtime, bot.url


async def test_unsigned_or_forged_requests_are_refused(http_bot, slack_requests: SlackRequests) -> None:
    _, url = http_bot
    request = slack_requests.block_actions([{"action_id": "mention_draft", "value": "1", "type": "button"}])
    async with httpx.AsyncClient() as client:
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        unsigned = await client.post(url, content=request.body, headers=form)
        forged_headers = dict(request.headers) | {"X-Slack-Signature": "v0=" + "0" * 64}
        forged = await client.post(url, content=request.body, headers=forged_headers)
    assert unsigned.status_code == 401 and forged.status_code == 401


async def test_running_bot_polls_and_posts_a_new_item(http_bot, slack: FakeSlack, feeds: FeedServer) -> None:
    runtime, _ = http_bot
    await runtime.services.poller.poll("w")
    feeds.add("/w", feed([("9", "tram tonight")]))
    await runtime.services.poller.poll("w")
    (call,) = await slack.wait_for_calls("chat.postMessage", 1, within=10)
    assert "tram tonight" in call.args["text"]


async def test_killed_mid_cycle_the_bot_loses_nothing_and_posts_nothing_twice(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, signing_secret: str, free_port: int
) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "a", "b")
    feeds.add("/a", feed([]))
    feeds.add("/b", feed([]))
    env = env_for(tmp_path, slack, SLACK_SIGNING_SECRET=signing_secret, PORT=str(free_port), BURST_THRESHOLD="50")
    await run_cli(tmp_path, env, "once")  # first run: quiet
    feeds.add("/a", feed([(f"a{n}", f"tram a{n}") for n in range(5)]))
    feeds.add("/b", feed([(f"b{n}", f"tram b{n}") for n in range(5)]))
    process = await asyncio.create_subprocess_exec(sys.executable, str(BOT), cwd=tmp_path, env=env)
    try:
        await slack.wait_for_calls("chat.postMessage", 3, within=30)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert len(slack.calls_to("chat.postMessage")) < 10
    code, _, _ = await run_cli(tmp_path, env, "once")
    assert code == 0
    texts = Counter(m["text"] for m in slack.posted_messages())
    expected = [f"tram {x}{n}" for x in "ab" for n in range(5)]
    assert sorted(t for text in texts for t in expected if t in text) == sorted(expected)
    assert all(count == 1 for count in texts.values())


async def test_dismiss_marks_the_card_and_updates_it(
    http_bot, slack: FakeSlack, feeds: FeedServer, slack_requests: SlackRequests
) -> None:
    runtime, url = http_bot
    await runtime.services.poller.poll("w")
    feeds.add("/w", feed([("7", "tram closed")]))
    await runtime.services.poller.poll("w")
    (call,) = await slack.wait_for_calls("chat.postMessage", 1, within=10)
    card_ts = call.response["ts"]
    request = slack_requests.block_actions(
        [{"action_id": "mention_dismiss", "block_id": "actions", "value": "1", "type": "button"}],
        message={"ts": card_ts},
        channel=channel_of("w"),
        user="U0MARIE",
        response_url=slack.response_url(),
    )
    assert (await send(url, request)).status_code == 200
    (update,) = await slack.wait_for_calls("chat.update", 1, within=5)
    assert update.args["ts"] == card_ts
    status = update.args["blocks"][-1]
    assert status["block_id"] == "status" and "<@U0MARIE>" in str(status)
    assert "tram closed" in str(update.args["blocks"])
    row = next(sql(runtime.services.store).query("select dismissed_by from deliveries where slack_ts = ?", [card_ts]))
    assert row["dismissed_by"] == "U0MARIE"


async def test_dismiss_on_a_foreign_message_says_so(http_bot, slack: FakeSlack, slack_requests: SlackRequests) -> None:
    _, url = http_bot
    request = slack_requests.block_actions(
        [{"action_id": "mention_dismiss", "block_id": "actions", "value": "1", "type": "button"}],
        container={"type": "message", "channel_id": "C0OTHER", "message_ts": "1.000001", "is_ephemeral": False},
        response_url=slack.response_url(),
    )
    await send(url, request)
    (answer,) = await slack.wait_for_response()
    assert "not a Veilleur" in answer.body["text"]
    assert slack.calls_to("chat.update") == []



async def test_socket_mode_connects_acks_commands_and_handles_events(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, slack_requests: SlackRequests, launch_bot: BotLauncher
) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "w")
    feeds.add("/w", feed([]))
    await launch_bot(env_for(tmp_path, slack, SLACK_APP_TOKEN="xapp-1-A0FAKE-1-secret"))
    await slack.wait_for_socket()
    assert slack.calls_to("apps.connections.open")[0].token == "xapp-1-A0FAKE-1-secret"
    command = dict(parse_qsl(slack_requests.slash_command("/watch", "help").body))
    await slack.socket_send("slash_commands", command, envelope_id="env-command")
    ack = await slack.wait_for_socket_ack("env-command")
    assert "/watch list" in json.dumps(ack["payload"])
    home_opened = {"type": "app_home_opened", "user": "U0ANN", "tab": "home"}
    event = json.loads(slack_requests.event_callback(home_opened).body)
    await slack.socket_send("events_api", event, envelope_id="env-event")
    await slack.wait_for_socket_ack("env-event")
    [publish] = await slack.wait_for_calls("views.publish")
    assert publish.args["user_id"] == "U0ANN"


async def test_once_on_a_locked_database_ends_with_one_line_and_a_later_run_loses_nothing(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    env = await caen_tram_after_its_quiet_first_run(tmp_path, slack, feeds)
    feeds.add("/caen-tram", feed([("2", "tram strike"), ("1", "tram late")]))
    with locked_database(tmp_path / "veilleur.db"):
        code, out, err = await run_cli(tmp_path, env, "once")
    assert code == 1
    assert "caen-tram: FAILED: database is busy" in out
    assert "Traceback" not in err and "OperationalError" not in err
    (alert,) = slack.posted_messages()  # told straight to Slack: the outbox is in the database
    assert "cannot write to its database" in alert["text"] and "database is busy" in alert["text"]
    assert (await run_cli(tmp_path, env, "once"))[0] == 0
    texts = [m["text"] for m in slack.posted_messages(channel_of("caen-tram"))]
    assert [text.count("tram strike") for text in texts[1:]] == [1]


async def test_a_command_the_database_refuses_ends_with_one_line_in_bot_language_and_code_1(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    env = await caen_tram_after_its_quiet_first_run(tmp_path, slack, feeds)
    with locked_database(tmp_path / "veilleur.db"):
        code, out, err = await run_cli(tmp_path, env | {"BOT_LANGUAGE": "fr"}, "export", "--author", "ann")
    assert code == 1 and out == ""
    (line,) = err.strip().splitlines()
    assert line.replace("\u202f", " ").startswith("veilleur : la base de données est occupée (")


async def test_logs_at_info_are_the_bots_own_lines_as_json_without_posts_or_tokens(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    env = await caen_tram_after_its_quiet_first_run(tmp_path, slack, feeds)
    feeds.add("/caen-tram", feed([("2", "tram strike on line B"), ("1", "tram late")]))
    env.update(LOG_LEVEL="INFO", LOG_FORMAT="json")
    code, _, err = await run_cli(tmp_path, env, "once")
    assert code == 0
    records = [json.loads(line) for line in err.splitlines()]
    assert records and all({"time", "level", "logger", "message"} <= set(record) for record in records)
    assert not [r for r in records if r["level"] == "INFO" and not r["logger"].startswith(("veilleur", "watchers"))]
    assert "tram strike" not in err and "xoxb-test" not in err


# ---- data protection: minimal by default, the public-body profile, where LLM prompts go --------------------------

FIXTURES = Path(__file__).parent / "fixtures"
ADDRESSES = ("jean.dupont@redaction.example", "marie.curie@redaction.example", "paul.martin@redaction.example",
             "sophie.leroy", "lea.bernard@quartier.example", "hugo@quartier.example")


def watcher_table(name: str, source: str, where: str, query: str, **extra: str) -> str:
    options = "".join(f"{key} = {value}\n" for key, value in extra.items())
    return (f'[[watcher]]\nname = "{name}"\nsource = "{source}"\n{where}\nquery = "{query}"\n'
            f'channel = "{channel_of(name)}"\nbackfill = 10\n{options}\n')


async def test_feed_authors_reach_cards_and_the_digest_without_their_e_mail_addresses(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    feeds.add_file("/rss", FIXTURES / "feeds" / "SYNTHETIC_authors_with_addresses_rss2.xml")
    feeds.add_file("/atom", FIXTURES / "feeds" / "SYNTHETIC_authors_with_addresses_atom.xml")
    (tmp_path / "watchers.toml").write_text(
        watcher_table("actu", "rss", f'url = "{feeds.url("/rss")}"', "tram")
        + watcher_table("quartier", "rss", f'url = "{feeds.url("/atom")}"', "tram")
    )
    env = env_for(tmp_path, slack)
    assert (await run_cli(tmp_path, env, "once"))[0] == 0
    cards = json.dumps(slack.posted_messages(), ensure_ascii=False)
    assert len(slack.posted_messages()) == 6
    assert not any(address in cards for address in ADDRESSES)
    assert all(name in cards for name in ("Jean Dupont", "Paul Martin", "Sophie Leroy", "Léa Bernard"))
    assert "tram@exempleville.example" in cards  # what a post says is kept as it was written
    code, digest, _ = await run_cli(tmp_path, env_for(tmp_path, None), "digest", "--dry-run")
    assert code == 0 and "Jean Dupont" in digest
    assert not any(address in digest for address in ADDRESSES)


def watch_rstats(tmp_path: Path, feeds: FeedServer, *followers: int) -> None:
    """A Mastodon watcher of #rstats on `feeds`, serving the recorded timeline (its authors have 5 to 718
    followers), the first authors' counts replaced by `followers`. Its posts are from July 2025: run it with
    RETENTION_DAYS=3650, or collection drops them as older than the retention period."""
    statuses = json.loads((FIXTURES / "mastodon" / "tag_timeline_rstats_fosstodon.json").read_text())
    for status, count in zip(statuses, followers, strict=False):
        status["account"]["followers_count"] = count
    feeds.add("/api/v1/timelines/tag/rstats", json.dumps(statuses), content_type="application/json")
    (tmp_path / "watchers.toml").write_text(
        watcher_table("rstats", "mastodon", f'base_url = "{feeds.base_url}"', "rstats", options='{ tags = ["rstats"] }')
    )


async def test_in_the_public_body_profile_followers_are_stored_and_shown_only_as_reach_tiers(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    watch_rstats(tmp_path, feeds, 5432, 48_000)
    env = env_for(tmp_path, slack, PRIVACY_PROFILE="public-body", RETENTION_DAYS="3650")
    assert (await run_cli(tmp_path, env, "once"))[0] == 0
    cards = json.dumps(slack.posted_messages(), ensure_ascii=False)
    assert "1K–10K followers" in cards and "over 10K followers" in cards and "under 1K followers" in cards
    # Counts as shown, never inside a longer number (a message ts such as 1764849656.000100 holds any digits).
    counts = ("5.4K", "48K", "656", "718")
    shown = [count for count in counts if re.search(rf"(?<![\d.]){re.escape(count)}(?!\d)", cards)]
    assert shown == []
    store = Store.open(tmp_path / "veilleur.db")
    assert {row["author_reach"] for row in sql(store).query("select author_reach from mentions")} == {0, 1000, 10_000}
    store.close()
    code, digest, _ = await run_cli(
        tmp_path, env_for(tmp_path, None, PRIVACY_PROFILE="public-body", RETENTION_DAYS="3650"), "digest", "--dry-run"
    )
    assert code == 0 and "over 10K followers" in digest and "48K" not in digest


async def test_switching_a_database_to_the_public_body_profile_keeps_only_the_tiers_of_earlier_counts(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    watch_rstats(tmp_path, feeds)
    assert (await run_cli(tmp_path, env_for(tmp_path, slack, RETENTION_DAYS="3650"), "once"))[0] == 0
    store = Store.open(tmp_path / "veilleur.db")
    assert 656 in {row["author_reach"] for row in sql(store).query("select author_reach from mentions")}
    store.close()
    env = env_for(tmp_path, None, PRIVACY_PROFILE="public-body", LOG_LEVEL="INFO", RETENTION_DAYS="3650")
    code, _, err = await run_cli(tmp_path, env, "status")
    assert code == 0 and "5 stored follower counts reduced to reach tiers" in err
    store = Store.open(tmp_path / "veilleur.db")
    assert {row["author_reach"] for row in sql(store).query("select author_reach from mentions")} == {0}
    store.close()


@pytest.mark.parametrize("command", [["once"], ["digest", "--dry-run"], []])
async def test_an_llm_host_outside_the_allowed_ones_stops_every_command_with_one_line(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, command: list[str]
) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "a")
    env = env_for(tmp_path, slack, OPENAI_API_KEY="sk-secret-key-123", PRIVACY_PROFILE="public-body")
    code, out, err = await run_cli(tmp_path, env, *command)
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert "OPENAI_BASE_URL" in line and "api.openai.com" in line and "list it in LLM_ALLOWED_HOSTS" in line
    assert "secret-key" not in err
    env = env_for(tmp_path, slack, OPENAI_BASE_URL="http://localhost:1/v1", LLM_ALLOWED_HOSTS="llm.mairie.example")
    code, _, err = await run_cli(tmp_path, env, *command)
    assert code == 2 and "which LLM_ALLOWED_HOSTS does not list (llm.mairie.example)" in err
    assert feeds.log == [] and slack.calls_to("chat.postMessage") == []


async def test_start_up_says_where_prompts_go_and_refuses_labels_that_are_not_public_roles(
    tmp_path: Path, feeds: FeedServer
) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "a")
    feeds.add("/a", feed([]))
    env = env_for(tmp_path, None, LOG_LEVEL="INFO")
    assert "LLM: none configured" in (await run_cli(tmp_path, env, "once"))[2]
    with (tmp_path / "watchers.toml").open("a") as watchers:
        watchers.write('\n[[author]]\nhandle = "@jdupont"\nlabels = ["elected"]\n'
                       '\n[[author]]\nhandle = "@rival"\nlabels = ["opposition"]\n')
    env |= {"OPENAI_BASE_URL": "http://127.0.0.1:1/v1", "OPENAI_API_KEY": "sk-secret-key-123",
            "LLM_MODEL": "mistral-small", "PRIVACY_PROFILE": "public-body"}
    code, out, err = await run_cli(tmp_path, env, "once")
    assert code == 2 and out == ""
    assert "LLM: prompts go to 127.0.0.1 (model mistral-small), authors as pseudonyms" in err
    assert "every new post's text labelled there (LLM_LABELLING=on)" in err
    assert "secret-key" not in err
    (refused,) = [line for line in err.splitlines() if "LLM: prompts go to" not in line]
    assert refused.startswith("veilleur: configuration error: WATCHERS_FILE")
    assert "author '@rival', field 'labels': 'opposition' is not a public role" in refused
    assert "PRIVACY_PROFILE=public-body" in refused and "@jdupont" not in err


async def test_a_source_that_cannot_be_found_is_reported_in_french(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    (tmp_path / "watchers.toml").write_text(
        '[[watcher]]\nname = "mairie"\nsource = "rss"\nurl = "http://veilleur-test.invalid/feed"\nquery = "tram"\n'
        f'channel = "{channel_of("mairie")}"\ninterval = "30s"\n'
    )
    env = env_for(tmp_path, slack, HEALTH_ALERT_AFTER="1", BOT_LANGUAGE="fr")
    code, _, _ = await run_cli(tmp_path, env, "once")
    assert code == 1
    (alert,) = slack.posted_messages(channel_of("mairie"))
    text = alert["blocks"][0]["text"]["text"]
    assert text.startswith(":warning: La veille mairie (RSS) a échoué 1 fois depuis ")
    assert text.endswith(
        "\u202f: hôte veilleur-test.invalid introuvable pour http://veilleur-test.invalid/feed (le nom ne se résout "
        "pas\u202f: vérifiez l’adresse et le DNS de cette machine)"
    )
    assert "cannot" not in str(alert)


async def test_the_command_line_speaks_bot_language(tmp_path: Path, slack: FakeSlack, feeds: FeedServer) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "caen-tram", "panne")
    feeds.add("/caen-tram", feed([("1", "tram late")]))
    feeds.set_status("/panne", 404)
    env = env_for(tmp_path, slack, BOT_LANGUAGE="fr")
    code, out, _ = await run_cli(tmp_path, env, "once")
    assert code == 1
    lines = out.replace("\u202f", " ").splitlines()
    assert "caen-tram : 1 publication lue, 1 correspondante, 1 nouvelle ; premier relevé : 1 enregistrée sans être " \
        "publiée (backfill = N publie les plus récentes)" in lines
    assert f"panne : ÉCHEC : HTTP 404 Not Found de {feeds.url('/panne')} (introuvable : vérifiez l’URL)" in lines

    feeds.add("/caen-tram", feed([("2", "tram strike"), ("3", "tram works"), ("1", "tram late")]))
    code, out, _ = await run_cli(tmp_path, env, "once", "--dry-run")
    out = out.replace("\u202f", " ")
    assert "caen-tram : 3 publications lues, 3 correspondantes, 2 nouvelles ; 2 à publier" in out
    assert "Nouvelle mention sur RSS" in out or "veille : caen-tram" in out

    code, out, _ = await run_cli(tmp_path, env, "status")
    header, *rows = out.replace("\u202f", " ").splitlines()
    assert header.split() == ["veille", "source", "canal", "dernier", "succès", "échecs", "dernière", "erreur"]
    panne = next(row for row in rows if row.startswith("panne "))
    assert "jamais" in panne and "1 depuis " in panne and "(introuvable : vérifiez" in panne
    assert "never" not in out and "since" not in out

    code, _, err = await run_cli(tmp_path, env_for(tmp_path, slack, BOT_LANGUAGE="fr", DIGEST_CHANNEL=""), "digest")
    assert code == 1
    assert err.strip().replace("\u202f", " ") == (
        "aucune destination pour la synthèse : réglez DIGEST_CHANNEL, ou digest = true sur une veille (ou utilisez "
        "--dry-run)"
    )


# ---- authors import / list ------------------------------------------------------------------------------------


async def test_authors_import_loads_public_roles_reports_bad_rows_by_line_and_updates_on_reimport(
    tmp_path: Path,
) -> None:
    roles = tmp_path / "roles.csv"
    roles.write_text(
        "handle,source,role,name\n"
        "@Ann@mairie.example,mastodon,elected,Ann Maire\n"
        "bob,bluesky,troll,Bob\n"
        "carl,myspace,journalist,Carl\n"
        ",rss,media,Le Progrès\n",
        encoding="utf-8",
    )
    env = env_for(tmp_path, None)
    code, out, err = await run_cli(tmp_path, env, "authors", "import", str(roles), "--dry-run")
    assert code == 1 and "2 public roles would be added, 0 updated; 2 row(s) left out" in out
    assert not (tmp_path / "veilleur.db").exists() or sql_roles(tmp_path) == []

    code, out, err = await run_cli(tmp_path, env, "authors", "import", str(roles))
    assert code == 1
    assert "roles.csv, line 3: unknown role 'troll'" in err and "roles.csv, line 4: unknown source 'myspace'" in err
    assert "2 public roles added, 0 updated; 2 row(s) left out" in out
    assert sql_roles(tmp_path) == [("", "rss", "media"), ("ann@mairie.example", "mastodon", "elected")]

    roles.write_text("handle,source,role,name\nann@mairie.example,mastodon,journalist,Ann\n", encoding="utf-8")
    code, out, _ = await run_cli(tmp_path, env, "authors", "import", str(roles))
    assert code == 0 and "0 public roles added, 1 updated; 0 row(s) left out" in out
    code, out, _ = await run_cli(tmp_path, env, "authors", "list")
    assert code == 0 and out.splitlines() == ["mastodon  ann@mairie.example  Ann  journalist", "rss  Le Progrès  media"]

    code, out, _ = await run_cli(tmp_path, env, "export", "--author", "@Ann@mairie.example")
    assert code == 0 and json.loads(out)["labels"][0]["labels"] == ["journalist"]
    (tmp_path / "watchers.toml").write_text("", encoding="utf-8")
    code, _, err = await run_cli(tmp_path, env, "forget", "--author", "ann@mairie.example")
    assert code == 0, err
    assert sql_roles(tmp_path) == [("", "rss", "media")]


async def test_authors_import_of_a_file_without_the_header_changes_nothing_and_says_what_to_do(tmp_path: Path) -> None:
    roles = tmp_path / "roles.csv"
    roles.write_text("ann,mastodon,elected,Ann\n", encoding="utf-8")
    code, _, err = await run_cli(tmp_path, env_for(tmp_path, None, BOT_LANGUAGE="fr"), "authors", "import",
                                   str(roles))
    assert code == 2 and "impossible d’importer" in err and "handle,source,role,name" in err


def sql_roles(workdir: Path) -> list[tuple[str, str, str]]:
    store = Store.open(workdir / "veilleur.db")
    try:
        rows = sql(store).execute("select handle, source, role from public_roles order by handle")
        return [tuple(row) for row in rows]
    finally:
        store.close()
