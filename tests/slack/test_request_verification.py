"""HTTP mode refuses every request Slack did not sign with a 401, however malformed, and logs nothing it held."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
import pytest

from tests.support.bot import BotLauncher
from tests.support.cli import env_for
from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack
from tests.support.slack_requests import FORM, JSON, SlackRequests, sign
from tests.support.world import feed, write_watchers
from veilleur.slack.request_verification import MAX_CLOCK_SKEW, signature_problem

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
async def bot_url(tmp_path: Path, slack: FakeSlack, feeds: FeedServer, free_port: int, launch_bot: BotLauncher) -> str:
    write_watchers(tmp_path / "watchers.toml", feeds, "w")
    feeds.add("/w", feed([]))
    env = env_for(tmp_path, slack, SLACK_SIGNING_SECRET=SECRET, PORT=str(free_port))
    return (await launch_bot(env)).url


def command_body(slack: FakeSlack) -> str:
    return SlackRequests(SECRET, slack).slash_command("/watch", "help").body


def signed_with_timestamp(body: str, timestamp: str) -> dict[str, str]:
    """Headers signed with the right secret over a malformed timestamp: only the timestamp is wrong."""
    return sign(body, SECRET, FORM, timestamp).headers


async def test_a_signed_request_with_a_malformed_timestamp_gets_401_not_500(
    bot_url: str, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = command_body(slack)
    now = int(time.time())
    timestamps = {
        "not a number": "abc",
        "empty": "",
        "negative": "-5",
        "negative now": f"-{now}",
        "5,000 digits": "9" * 5000,
        "100 digits": "9" * 100,
        "float": f"{now}.5",
        "inner space": f"{now // 1000} {now % 1000:03d}",
        "tab": f"{now}\t1",
        "underscore": f"{now // 1000}_{now % 1000:03d}",
        "plus sign": f"+{now}",
        "stale": str(now - MAX_CLOCK_SKEW - 60),
        "future": str(now + MAX_CLOCK_SKEW + 60),
    }
    statuses = {}
    async with httpx.AsyncClient() as client:
        for case, timestamp in timestamps.items():
            response = await client.post(bot_url, content=body, headers=signed_with_timestamp(body, timestamp))
            statuses[case] = response.status_code
        missing = {key: value for key, value in signed_with_timestamp(body, "0").items() if "Timestamp" not in key}
        statuses["missing"] = (await client.post(bot_url, content=body, headers=missing)).status_code
        good = await client.post(bot_url, content=body, headers=signed_with_timestamp(body, str(now)))
    assert statuses == dict.fromkeys(statuses, 401)
    assert good.status_code == 200
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert "not a whole number of seconds" in caplog.text


async def test_a_missing_or_garbled_signature_gets_401(
    bot_url: str, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    body = command_body(slack)
    headers = sign(body, SECRET, FORM).headers
    valid = headers["X-Slack-Signature"]
    signatures: dict[str, str | bytes | None] = {
        "missing": None,
        "empty": "",
        "no version": valid.removeprefix("v0="),
        "other version": "v1=" + valid.removeprefix("v0="),
        "upper case": valid.upper(),
        "truncated": valid[:-1],
        "padded": valid + "0",
        "non-ASCII": ("v0=é" + valid[5:]).encode(),
        "invalid UTF-8": b"v0=\xff" + valid[4:].encode(),
        "8,000 characters": "v0=" + "a" * 8000,  # aiohttp answers 400 to longer header lines itself
        "wrong secret": sign(body, "another-secret", FORM).headers["X-Slack-Signature"],
    }
    statuses = {}
    async with httpx.AsyncClient() as client:
        for case, signature in signatures.items():
            garbled: dict[str, str | bytes] = {key: value for key, value in headers.items() if "Signature" not in key}
            if signature is not None:
                garbled["X-Slack-Signature"] = signature
            statuses[case] = (await client.post(bot_url, content=body, headers=garbled)).status_code
    assert statuses == dict.fromkeys(statuses, 401)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    # Why each was refused, never what the request held.
    assert "X-Slack-Signature is not a v0 signature" in caplog.text
    assert "check SLACK_SIGNING_SECRET" in caplog.text
    for secret_or_content in (SECRET, valid, valid.removeprefix("v0="), "deprecated-verification-token", "/watch"):
        assert secret_or_content not in caplog.text


async def test_an_unsigned_body_bolt_cannot_read_gets_401(bot_url: str) -> None:
    """Bolt decodes and parses the body before its own signature check: these were 500s."""
    bodies = {"not UTF-8": b"\xff\xfe{", "not JSON": b"{nope", "not a payload": b"payload=%7Bnope"}
    async with httpx.AsyncClient() as client:
        statuses = {
            case: (await client.post(bot_url, content=body, headers={"Content-Type": JSON})).status_code
            for case, body in bodies.items()
        }
    assert statuses == dict.fromkeys(bodies, 401)


async def test_a_timestamp_padded_with_blanks_gets_401(bot_url: str, slack: FakeSlack) -> None:
    """HTTP clients refuse to send padded header values, so this one is written on the socket by hand."""
    body = command_body(slack)
    padded = f"  {int(time.time())}\t"
    signature = sign(body, SECRET, FORM, padded).headers["X-Slack-Signature"]
    host_port = bot_url.removeprefix("http://").split("/", 1)[0]
    host, port = host_port.split(":")
    request = (
        f"POST /slack/events HTTP/1.1\r\nHost: {host_port}\r\nContent-Type: {FORM}\r\n"
        f"X-Slack-Request-Timestamp:{padded}\r\nX-Slack-Signature: {signature}\r\n"
        f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n{body}"
    )
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request.encode())
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert status_line.split()[1] == b"401"


def test_signature_problem_accepts_exactly_a_fresh_v0_signature() -> None:
    now = 1_700_000_000
    headers = sign("token=x", SECRET, FORM, now).headers
    timestamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert signature_problem(SECRET, b"token=x", timestamp, signature, now + MAX_CLOCK_SKEW) is None
    assert signature_problem(SECRET, b"token=y", timestamp, signature, now) is not None
    assert signature_problem(SECRET, b"token=x", timestamp, signature, now + MAX_CLOCK_SKEW + 1) is not None
