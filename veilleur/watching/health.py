"""Source health: tell the team when a watcher keeps failing, and when it recovers.

Silence must never be mistaken for calm: after `alert_after` failures in a row the team gets one alert
(which watcher, what error, since when), and one message when the watcher works again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.core.i18n import Phrase, t, t_plural
from veilleur.core.watcher_config import WatcherConfig
from veilleur.slack import cards
from veilleur.slack.markup import phrase_line
from veilleur.storage.store import Priority, Store, WatcherStatus

log = logging.getLogger(__name__)


@dataclass
class SourceHealth:
    store: Store
    lang: str
    tz: ZoneInfo
    alert_after: int = 3
    channel: str | None = None  # None: each watcher's own channel
    on_queued: Callable[[], None] = lambda: None
    slack: AsyncWebClient | None = None  # for what cannot wait in the outbox: the database itself failing
    _database_problem: Phrase | None = field(default=None, init=False)

    def failed(self, config: WatcherConfig, status: WatcherStatus) -> None:
        if status.consecutive_failures != self.alert_after:
            return
        message = cards.health_alert(
            config.name,
            config.source,
            status.problem,
            _moment(status.failing_since),
            status.consecutive_failures,
            tz=self.tz,
            lang=self.lang,
        )
        self._queue(config, message)

    def succeeded(self, config: WatcherConfig, before: WatcherStatus) -> None:
        if before.consecutive_failures < self.alert_after:
            return
        message = cards.health_recovered(
            config.name, config.source, _moment(before.failing_since), tz=self.tz, lang=self.lang
        )
        self._queue(config, message)

    async def database_failed(self, config: WatcherConfig, problem: Phrase) -> None:
        """Tell the team once per outage, straight to Slack since the outbox lives in the database that fails."""
        if self._database_problem is not None:
            return
        self._database_problem = problem
        await self._post_now(config, cards.database_alert(problem, lang=self.lang))

    async def database_works(self, config: WatcherConfig) -> None:
        if self._database_problem is None:
            return
        self._database_problem = None
        await self._post_now(config, cards.database_recovered(lang=self.lang))

    async def _post_now(self, config: WatcherConfig, message: dict[str, Any]) -> None:
        if self.slack is None:
            return
        try:
            await self.slack.chat_postMessage(
                channel=self.channel or config.channel, unfurl_links=False, unfurl_media=False, **message
            )
        except (SlackApiError, OSError, TimeoutError) as error:
            log.error("cannot tell the team about the database in Slack: %s", error)

    def _queue(self, config: WatcherConfig, message: dict[str, Any]) -> None:
        self.store.queue_notice(config.name, self.channel or config.channel, message, priority=Priority.HEALTH)
        self.on_queued()


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


STATUS_COLUMNS = ("watcher", "source", "channel", "last_success", "failures", "last_error")
STATUS_ERROR_LIMIT = 80


def status_table(store: Store, configs: list[WatcherConfig], tz: ZoneInfo, lang: str) -> str:
    """The health of every watcher, for `python bot.py status`, in `lang`."""
    rows = [tuple(t(f"cli.status.{column}", lang) for column in STATUS_COLUMNS)]
    for config in configs:
        status = store.watcher_status(config.name)
        failures = status.consecutive_failures
        since = _local(status.failing_since, tz)
        rows.append(
            (
                config.name,
                config.source,
                config.channel,
                _local(status.last_success_at, tz) or t("cli.status.never", lang),
                t_plural("cli.status.failing", failures, lang, count=failures, since=since) if since else str(failures),
                phrase_line(status.problem, lang, STATUS_ERROR_LIMIT) if failures else "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _local(value: str | None, tz: ZoneInfo) -> str | None:
    return datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else None
