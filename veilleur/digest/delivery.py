"""When and where the morning digest is posted, and that it is posted once (the content is digest.py's).

A digest is due at each *slot*: `DIGEST_TIME` on one of `DIGEST_DAYS`, in `BOT_TIMEZONE`. Its period runs from
the previous slot to this one, so with mon-fri Monday's digest covers Friday 08:30 to Monday 08:30. Slots are
computed as wall-clock times in the zone, then compared in UTC, so a change of daylight saving time moves nothing.

Destinations: `DIGEST_CHANNEL` gets a digest of every watcher; a watcher with `digest = true` adds its channel,
which gets a digest of the watchers there that say so (`DIGEST_CHANNEL` wins when it is the same channel).

Exactly once: a scheduled digest is claimed in the `digests` table (unique per channel and period end) in the same
transaction that puts its message in the outbox, which posts exactly once even across a crash. At start the latest
slot is caught up if its digest was never recorded; older missed slots are not (one message, not a week of them).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time as clock
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.assist.llm import LLM
from veilleur.assist.prompt_book import PromptBook
from veilleur.core.i18n import t
from veilleur.core.reach import Outlets
from veilleur.core.settings import WEEKDAYS, Settings
from veilleur.core.watcher_config import AuthorLabel, WatcherConfig
from veilleur.digest.cards import digest_message
from veilleur.digest.compute import compute_digest
from veilleur.digest.model import Digest, DigestPeriod
from veilleur.digest.narrative import narrate
from veilleur.storage.digests import DigestLog
from veilleur.storage.store import Store, utcnow

log = logging.getLogger(__name__)

CHART_WAIT_SECONDS = 900.0  # how long a chart waits for its digest to be posted before giving up
CHART_CHECK_SECONDS = 0.2
MISFIRE_GRACE_SECONDS = 3600


@dataclass(frozen=True)
class DigestSchedule:
    at: time
    weekdays: frozenset[int]  # 0 is Monday
    tz: ZoneInfo

    @classmethod
    def from_settings(cls, settings: Settings) -> DigestSchedule:
        return cls(settings.digest_time, frozenset(WEEKDAYS.index(day) for day in settings.digest_days),
                   settings.bot_timezone)

    def slot_before(self, moment: datetime, *, inclusive: bool = False) -> datetime:
        """The latest slot before `moment` (or at it, with `inclusive`), in UTC."""
        day = moment.astimezone(self.tz).date()
        for back in range(9):
            candidate = day - timedelta(days=back)
            if candidate.weekday() not in self.weekdays:
                continue
            slot = datetime.combine(candidate, self.at, tzinfo=self.tz).astimezone(UTC)
            if slot < moment or (inclusive and slot == moment):
                return slot
        raise ValueError("a digest schedule needs at least one day")

    def scheduled_period(self, now: datetime) -> DigestPeriod:
        """The period of the latest slot that has come: from the slot before it to it."""
        end = self.slot_before(now, inclusive=True)
        return DigestPeriod(self.slot_before(end), end)

    def period_until(self, now: datetime) -> DigestPeriod:
        """What a digest asked for now covers: since the latest slot."""
        return DigestPeriod(self.slot_before(now), now.astimezone(UTC))

    def trigger(self) -> CronTrigger:
        days = ",".join(WEEKDAYS[index] for index in sorted(self.weekdays))
        return CronTrigger(day_of_week=days, hour=self.at.hour, minute=self.at.minute, timezone=self.tz)


@dataclass(frozen=True)
class DigestTarget:
    channel: str
    watchers: tuple[str, ...] | None  # None: every watcher


def digest_targets(digest_channel: str | None, configs: Iterable[WatcherConfig]) -> list[DigestTarget]:
    targets = [DigestTarget(digest_channel, None)] if digest_channel else []
    by_channel: dict[str, list[str]] = {}
    for config in configs:
        if config.digest and config.channel != digest_channel:
            by_channel.setdefault(config.channel, []).append(config.name)
    targets.extend(DigestTarget(channel, tuple(sorted(names))) for channel, names in sorted(by_channel.items()))
    return targets


@dataclass(frozen=True)
class BuiltDigest:
    digest: Digest
    message: dict[str, Any]
    chart: bytes | None


class DigestService:
    """Builds digests (digest.py), records and queues them, and uploads their charts in the digest's thread."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        configs: Callable[[], Iterable[WatcherConfig]],
        *,
        llm: LLM | None = None,
        authors: Sequence[AuthorLabel] = (),
        slack: AsyncWebClient | None = None,
        on_queued: Callable[[], None] | None = None,
        outlets: Outlets | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.configs = configs
        self.llm = llm
        self.authors = authors
        self.outlets = outlets
        self.slack = slack
        self.on_queued = on_queued
        self.schedule = DigestSchedule.from_settings(settings)
        self.prompts = PromptBook(settings.prompts_dir)
        self.log = DigestLog(store)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def lang(self) -> str:
        return self.settings.bot_language

    def targets(self) -> list[DigestTarget]:
        return digest_targets(self.settings.digest_channel, self.configs())

    def target_for(self, channel: str) -> DigestTarget:
        """A digest asked for in `channel`: of the watchers posting there, or of every watcher when none does."""
        names = sorted(config.name for config in self.configs() if config.channel == channel)
        return DigestTarget(channel, tuple(names) or None)

    async def build(self, period: DigestPeriod, watchers: tuple[str, ...] | None, *, chart: bool) -> BuiltDigest:
        if watchers is None:
            # Every watcher running now; the outbox's other rows (digests, alerts) carry labels that are not watchers.
            watchers = tuple(sorted(config.name for config in self.configs())) or None
        # Seconds of SQL and clustering over a large database: in a worker thread, so Slack is answered meanwhile.
        digest = await self.store.read(
            compute_digest, period, watchers=watchers, authors=self.authors, outlets=self.outlets
        )
        narrative = await narrate(digest, self.llm, self.lang, prompts=self.prompts)
        message = digest_message(
            digest, narrative, lang=self.lang, tz=self.settings.bot_timezone, reach_tiers=self.settings.public_body
        )
        png = await self._render_chart(digest) if chart and self.settings.digest_chart else None
        return BuiltDigest(digest, message, png)

    async def post_scheduled(self, now: datetime | None = None) -> list[int]:
        """Queue the digest of the latest slot to every destination that has not had it; returns the new ids."""
        moment = now or utcnow()
        period = self.schedule.scheduled_period(moment)
        queued: list[int] = []
        for target in self.targets():
            if self.log.has_scheduled(target.channel, period.end):
                continue
            try:
                built = await self.build(period, target.watchers, chart=True)
            except Exception:
                log.exception("building the digest for %s failed", target.channel)
                continue
            digest_id = self.log.queue(
                "scheduled", target.channel, period.start, period.end, built.message, built.chart, moment
            )
            if digest_id is not None:
                queued.append(digest_id)
                self._after_queue(digest_id, built)
        return queued

    async def catch_up(self, now: datetime | None = None) -> list[int]:
        """At start: the latest slot's digest, if the bot was down when it came (and had run before it)."""
        moment = now or utcnow()
        if not self.log.ran_before(self.schedule.scheduled_period(moment).end):
            return []
        return await self.post_scheduled(moment)

    async def post_now(self, target: DigestTarget, now: datetime | None = None) -> int:
        """A digest since the latest slot, posted now (`/digest`, the CLI); it does not count as the scheduled one."""
        moment = now or utcnow()
        period = self.schedule.period_until(moment)
        built = await self.build(period, target.watchers, chart=True)
        digest_id = self.log.queue(
            "manual", target.channel, period.start, period.end, built.message, built.chart, moment
        )
        assert digest_id is not None  # only scheduled digests are unique
        self._after_queue(digest_id, built)
        return digest_id

    async def preview(self, target: DigestTarget, now: datetime | None = None) -> dict[str, Any]:
        """The message `post_now` would post, without posting or recording it."""
        period = self.schedule.period_until(now or utcnow())
        return (await self.build(period, target.watchers, chart=False)).message

    def start(self, now: datetime | None = None) -> None:
        """Inside the running loop: catch up the latest slot and finish charts left pending by a restart."""
        self._spawn(self._start(now))

    async def _start(self, now: datetime | None) -> None:
        try:
            await self.catch_up(now)
        except Exception:
            log.exception("digest catch-up failed")
        for chart in self.log.pending_charts():
            self._spawn(self.upload_chart(chart.digest_id))

    async def upload_chart(self, digest_id: int, within: float = CHART_WAIT_SECONDS) -> str | None:
        """Once the digest is posted, upload its chart in the digest's thread; returns the file id."""
        chart = self.log.pending_chart(digest_id)
        if chart is None or self.slack is None:
            return None
        deadline = clock.monotonic() + within
        delivery = self.store.delivery(chart.delivery_id)
        while delivery.slack_ts is None and delivery.state != "failed" and clock.monotonic() < deadline:
            await asyncio.sleep(CHART_CHECK_SECONDS)
            delivery = self.store.delivery(chart.delivery_id)
        if delivery.slack_ts is None:
            self.log.mark_chart(digest_id, "failed")
            log.warning("digest %d was not posted; its chart is dropped", digest_id)
            return None
        # Claimed first: an upload cut short by a crash is not repeated (a missing chart beats a double one).
        if not self.log.claim_chart(digest_id):
            return None
        day = chart.period_end.astimezone(self.settings.bot_timezone).date()
        try:
            response = await self.slack.files_upload_v2(
                content=chart.png,
                filename=f"digest-{day.isoformat()}.png",
                title=t("digest_delivery.chart_title", self.lang),
                alt_txt=t("digest_delivery.chart_alt", self.lang),
                channel=chart.channel,
                thread_ts=delivery.slack_ts,
            )
        except (SlackApiError, OSError, TimeoutError) as error:
            self.log.mark_chart(digest_id, "failed")
            log.error("uploading the chart of digest %d failed: %s", digest_id, error)
            return None
        file_id = str(response["file"]["id"])
        self.log.mark_chart(digest_id, "uploaded", file_id)
        return file_id

    async def settle(self, within: float) -> None:
        """Let the chart uploads under way finish (the CLI, before it exits)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=within)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _after_queue(self, digest_id: int, built: BuiltDigest) -> None:
        if self.on_queued is not None:
            self.on_queued()
        if built.chart is not None and self.slack is not None:
            self._spawn(self.upload_chart(digest_id))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _render_chart(self, digest: Digest) -> bytes | None:
        from veilleur.digest.chart import volume_chart

        if not any(count for days in digest.daily_volume.values() for _, count in days):
            return None
        return await asyncio.to_thread(
            volume_chart, digest.daily_volume, title=t("digest_delivery.chart_title", self.lang)
        )


def start_digests(scheduler: AsyncIOScheduler, digests: DigestService) -> None:
    """Schedule the digest at each slot and catch up a missed one; without a destination, say so once."""
    if not digests.targets():
        log.info("no digest destination (DIGEST_CHANNEL unset and no watcher with digest = true): no digest posted")
        return
    scheduler.add_job(
        digests.post_scheduled,
        digests.schedule.trigger(),
        id="digest",
        name="morning digest",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=MISFIRE_GRACE_SECONDS,
    )
    digests.start()


def message_json(message: dict[str, Any]) -> str:
    """A digest as the CLI's dry run prints it: its fallback text, then its blocks as JSON."""
    return f"{message.get('text', '')}\n{json.dumps(message.get('blocks', []), ensure_ascii=False, indent=2)}"
