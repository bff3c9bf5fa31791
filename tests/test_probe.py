"""GET /healthz: 200 while the bot can work (watchers failing are listed), 503 when it cannot."""

import asyncio
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.support.bot import BotLauncher
from tests.support.cli import env_for
from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack
from tests.support.world import feed, write_watchers
from veilleur.core.settings import SettingsError, parse_settings
from veilleur.probe import Vitals, health_report
from veilleur.runtime import Runtime
from veilleur.storage.store import Store

WORKING = Vitals(started=time.monotonic(), mode="http", slack_connected=True, scheduler_running=True,
                 outbox_running=True)


async def test_http_mode_answers_on_its_port_with_the_last_poll_and_the_failing_watchers(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, launch_bot: BotLauncher, free_port: int,
    signing_secret: str,
) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "up", "down")
    feeds.add("/up", feed([]))
    feeds.set_status("/down", 503)
    bot = await launch_bot(env_for(tmp_path, slack, PORT=str(free_port), SLACK_SIGNING_SECRET=signing_secret))
    await bot.services.poller.poll_all()

    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{free_port}/healthz")

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok" and body["problems"] == []
    assert body["slack"] == {"mode": "http", "connected": True}
    assert body["watchers_failing"] == ["down"]
    assert body["last_poll_at"] is not None and body["outbox_backlog"] == 0


async def test_socket_mode_answers_on_health_port_once_connected(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, launch_bot: BotLauncher, free_port: int
) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "w")
    feeds.add("/w", feed([]))
    await launch_bot(env_for(tmp_path, slack, SLACK_APP_TOKEN="xapp-1-A0FAKE-1-secret", HEALTH_PORT=str(free_port)))
    await slack.wait_for_socket()

    url = f"http://127.0.0.1:{free_port}/healthz"
    async with httpx.AsyncClient() as client, asyncio.timeout(5):
        # The socket may still be saying hello: wait for the bot to see itself connected.
        while (answer := await client.get(url)).status_code != 200:  # noqa: ASYNC110
            await asyncio.sleep(0.02)

    assert answer.json()["slack"] == {"mode": "socket", "connected": True}
    assert answer.json()["last_poll_at"] is None  # nothing polled yet, and it says so


async def test_a_health_port_in_use_stops_start_up_naming_the_setting(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer
) -> None:
    write_watchers(tmp_path / "watchers.toml", feeds, "w")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = env_for(tmp_path, slack, SLACK_APP_TOKEN="xapp-1-A0FAKE-1-secret", HEALTH_PORT=str(port))
        runtime = Runtime(parse_settings(env), host="127.0.0.1")
        try:
            with pytest.raises(SettingsError, match=f"^HEALTH_PORT {port}: cannot listen"):
                await runtime.start()
        finally:
            await runtime.stop()


@pytest.mark.parametrize(
    ("vitals", "problem"),
    [
        (Vitals(time.monotonic(), "socket", False, True, True), "not connected to Slack"),
        (Vitals(time.monotonic(), "http", True, False, True), "the scheduler has stopped"),
        (Vitals(time.monotonic(), "http", True, True, False), "the outbox has stopped"),
    ],
)
def test_the_bot_cannot_work_without_slack_its_scheduler_or_its_outbox(
    tmp_path: Path, vitals: Vitals, problem: str
) -> None:
    status, body = health_report(Store.open(tmp_path / "v.db"), vitals)
    assert (status, body["status"], body["problems"]) == (503, "failing", [problem])


def test_a_database_that_does_not_answer_is_a_503(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "v.db")
    store.close()
    status, body = health_report(store, WORKING)
    assert status == 503 and len(body["problems"]) == 1 and "watchers_failing" not in body


def test_the_backlog_is_counted_up_to_a_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open(tmp_path / "v.db")
    for n in range(5):
        store.queue_notice("w", "C1", {"text": f"notice {n}"})
    monkeypatch.setattr("veilleur.probe.BACKLOG_COUNTED", 3)
    status, body = health_report(store, WORKING)
    assert status == 200 and (body["outbox_backlog"], body["outbox_backlog_at_least"]) == (3, True)
