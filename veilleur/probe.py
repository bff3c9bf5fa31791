"""`GET /healthz`: whether the running bot can work, for container and orchestrator probes.

It answers 200 with a JSON body while the bot can do its job, and 503 when it cannot: the database does not
answer, the Slack connection (Socket Mode) is down, or the scheduler or the outbox has stopped. Failing watchers
are listed but do not make it 503: the bot still works, a source does not, and restarting the bot would not fix it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from veilleur.storage.store import DatabaseError, Store, unavailable_reason

HEALTH_PATH = "/healthz"
Report = Callable[[], Awaitable[tuple[int, dict[str, Any]]]]
# The outbox backlog is counted up to this many rows: beyond, the figure says "at least".
BACKLOG_COUNTED = 10_000


@dataclass(frozen=True)
class Vitals:
    """What the runtime knows of itself when the probe asks."""

    started: float  # time.monotonic() at start
    mode: str  # "socket" or "http"
    slack_connected: bool  # in HTTP mode: listening (Slack's side cannot be seen from here)
    scheduler_running: bool
    outbox_running: bool


def health_report(store: Store, vitals: Vitals) -> tuple[int, dict[str, Any]]:
    """The probe's status code and body."""
    problems: list[str] = []
    body: dict[str, Any] = {
        "uptime_seconds": round(time.monotonic() - vitals.started),
        "slack": {"mode": vitals.mode, "connected": vitals.slack_connected},
    }
    if not vitals.slack_connected:
        problems.append("not connected to Slack")
    if not vitals.scheduler_running:
        problems.append("the scheduler has stopped")
    if not vitals.outbox_running:
        problems.append("the outbox has stopped")
    try:
        last_poll, failing = store.poll_overview()
        backlog = store.outbox_backlog(BACKLOG_COUNTED + 1)
    except DatabaseError as error:
        problems.append(unavailable_reason(error, store.path) or f"the database does not answer ({error})")
    else:
        body["last_poll_at"] = last_poll
        body["watchers_failing"] = failing
        body["outbox_backlog"] = min(backlog, BACKLOG_COUNTED)
        body["outbox_backlog_at_least"] = backlog > BACKLOG_COUNTED
    body["status"] = "ok" if not problems else "failing"
    body["problems"] = problems
    return (200 if not problems else 503), body


def health_handler(report: Report) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler of HEALTH_PATH, answering with what `report` says."""

    async def healthz(_request: web.Request) -> web.Response:
        status, body = await report()
        return web.json_response(body, status=status)

    return healthz
