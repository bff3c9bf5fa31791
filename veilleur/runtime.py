"""Builds the running bot from settings: store, watchers, poller, outbox, scheduler and the Slack app.

`Services` is the one small object handed to handlers and jobs. `Runtime` starts and stops everything inside
the running asyncio loop, so `bot.py` and the tests start the bot the same way.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.assist.llm import LLM
from veilleur.assist.prompt_book import PromptBook
from veilleur.core.settings import Settings, SettingsError
from veilleur.core.watcher_config import (
    AuthorLabel,
    ConfigProblem,
    WatcherConfig,
    WatcherFieldError,
    load_authors_file,
    load_watchers_file,
)
from veilleur.digest.delivery import DigestService, start_digests
from veilleur.escalation.service import EscalationService, load_routes, schedule_reminders
from veilleur.slack import cards
from veilleur.slack.outbox import Outbox, new_slack_client
from veilleur.slack.tokens import check_slack_tokens
from veilleur.storage.store import DatabaseError, DatabaseUnavailable, Delivery, Store, unavailable_reason
from veilleur.watching.catalog import WatcherCatalog, schedule_poll
from veilleur.watching.health import SourceHealth
from veilleur.watching.polling import Poller
from veilleur.watching.spikes import SpikeRule, SpikeWatch
from veilleur.watching.stories import StoryService
from watchers import SOURCES, build_watcher
from watchers.base import Watcher, WatcherContext, new_http_client

if TYPE_CHECKING:
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    store: Store
    http: httpx.AsyncClient
    watchers: dict[str, Watcher]
    poller: Poller
    slack: AsyncWebClient | None = None
    outbox: Outbox | None = None
    escalations: EscalationService | None = None
    problems: list[ConfigProblem] = field(default_factory=list)
    llm: LLM | None = None
    authors: list[AuthorLabel] = field(default_factory=list)
    digests: DigestService | None = None
    stories: StoryService | None = None
    catalog: WatcherCatalog | None = None
    scheduler: AsyncIOScheduler | None = None  # set once the bot runs: /watch adds and removes jobs live

    def render(self, delivery: Delivery) -> dict[str, Any]:
        """The Slack message for an outbox row, built at posting time from the stored mention."""
        if delivery.kind == "notice" and delivery.message is not None:
            return delivery.message
        if delivery.kind == "rollup":
            return cards.rollup_message(
                delivery.watcher,
                delivery.rollup_count or 0,
                self.settings.bot_language,
                more=delivery.rollup_more or 0,
                best=[self.store.mention(mention_id) for mention_id in delivery.rollup_top],
            )
        return self.card(delivery)

    def card(self, delivery: Delivery) -> dict[str, Any]:
        """A mention card as it should look now (story, escalation or dismissal line)."""
        if self.stories is not None:
            return self.stories.current_card(delivery)
        assert delivery.mention_id is not None
        return cards.mention_card(
            self.store.mention(delivery.mention_id),
            mention_id=delivery.mention_id,
            watcher=delivery.watcher,
            tz=self.settings.bot_timezone,
            lang=self.settings.bot_language,
        )

    async def aclose(self) -> None:
        if self.catalog is not None:
            await self.catalog.aclose()
        if self.stories is not None:
            await self.stories.aclose()
        if self.digests is not None:
            await self.digests.aclose()
        if self.llm is not None:
            await self.llm.aclose()
        await self.http.aclose()
        self.store.close()


def load_watcher_configs(settings: Settings) -> tuple[list[WatcherConfig], list[ConfigProblem]]:
    configs, problems = load_watchers_file(settings.watchers_file, SOURCES.keys())
    for problem in problems:
        log.error("%s: %s (this watcher is not running)", settings.watchers_file, problem)
    return configs, problems


def open_store(settings: Settings) -> Store:
    """The database at DATABASE_PATH; a path that cannot hold it is a configuration error naming the setting.

    A database that is there but busy, read-only or on a full disk is not a configuration error: it says so
    (`DatabaseUnavailable`)."""
    try:
        return Store.open(settings.database_path)
    except DatabaseError as error:
        if reason := unavailable_reason(error, settings.database_path):
            raise DatabaseUnavailable(reason) from None
        raise _unusable_database_path(settings, str(error)) from None
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise DatabaseUnavailable(f"disk is full ({settings.database_path}): free some space") from None
        raise _unusable_database_path(settings, error.strerror or str(error)) from None


def _unusable_database_path(settings: Settings, reason: str) -> SettingsError:
    return SettingsError(
        f"DATABASE_PATH {str(settings.database_path)!r}: cannot open the database there ({reason}):"
        " set it to a Veilleur database, or to a new file in a writable folder"
    )


def open_services(settings: Settings, *, store: Store | None = None, post_to_slack: bool = True) -> Services:
    configs, problems = load_watcher_configs(settings)
    store = store or open_store(settings)
    http = new_http_client()
    context = WatcherContext(http=http, env=settings.env)
    watchers: dict[str, Watcher] = {}
    for config in configs:
        try:
            watchers[config.name] = build_watcher(config, context)
        except WatcherFieldError as error:
            problem = ConfigProblem(config.name, error.field, error.message)
            log.error("%s: %s (this watcher is not running)", settings.watchers_file, problem)
            problems.append(problem)
    routes, route_problems = load_routes(settings)
    problems.extend(route_problems)
    authors, author_problems = load_authors_file(settings.watchers_file, SOURCES.keys())
    for problem in author_problems:
        log.error("%s: %s (this author's labels are not used)", settings.watchers_file, problem)
    problems.extend(author_problems)
    services = Services(
        settings=settings,
        store=store,
        http=http,
        watchers=watchers,
        poller=Poller(
            store, watchers, burst_threshold=settings.burst_threshold, max_cards=settings.max_cards_per_poll
        ),
        problems=problems,
        llm=LLM(settings, store),
        authors=authors,
    )
    services.catalog = WatcherCatalog(services, configs)
    spikes: SpikeWatch | None = None
    if post_to_slack and settings.slack_bot_token:
        services.slack = new_slack_client(settings.slack_bot_token, settings.slack_api_url)
        services.outbox = Outbox(store, services.slack, services.render)
        services.poller.on_queued = services.outbox.wake
        services.poller.health = SourceHealth(
            store,
            lang=settings.bot_language,
            tz=settings.bot_timezone,
            alert_after=settings.health_alert_after,
            channel=settings.health_channel,
            on_queued=services.outbox.wake,
            slack=services.slack,
        )
        services.escalations = EscalationService(store, services.slack, settings, routes, render_card=services.card)
        spikes = SpikeWatch(
            store,
            SpikeRule.from_settings(settings),
            llm=services.llm,
            prompts=PromptBook(settings.prompts_dir),
            lang=settings.bot_language,
            tz=settings.bot_timezone,
            on_queued=services.outbox.wake,
        )
    services.stories = StoryService(
        store,
        window=settings.story_window,
        campaign_min_posts=settings.campaign_min_posts,
        campaign_window=settings.campaign_window,
        lang=settings.bot_language,
        tz=settings.bot_timezone,
        slack=services.slack,
        on_queued=services.outbox.wake if services.outbox is not None else lambda: None,
    )
    # Stories first: a large poll's cards are held back from the outbox until they are grouped, and that hold must
    # be set before any hook lets the loop run something else.
    services.poller.after_record.append(services.stories.after_record)
    if spikes is not None:
        services.poller.after_record.append(spikes.after_poll)
    services.digests = DigestService(
        store,
        settings,
        lambda: [watcher.config for watcher in services.watchers.values()],
        llm=services.llm,
        authors=services.authors,
        slack=services.slack,
        on_queued=services.outbox.wake if services.outbox is not None else None,
    )
    return services


def schedule_watchers(scheduler: AsyncIOScheduler, services: Services) -> None:
    """Each watcher on its own interval, with jitter so they do not all fire together."""
    now = datetime.now(services.settings.bot_timezone)
    for watcher in services.watchers.values():
        interval = watcher.config.interval
        schedule_poll(
            scheduler,
            services.poller,
            watcher.config,
            now + timedelta(seconds=random.uniform(0, min(interval / 10, 10))),
        )


class Runtime:
    """The whole bot in the current event loop: `await start()`, then `await stop()`."""

    def __init__(self, settings: Settings, *, host: str = "0.0.0.0") -> None:
        self.settings = settings
        self.host = host
        self.services: Services | None = None
        self.app: AsyncApp | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self._outbox_task: asyncio.Task[None] | None = None
        self._web_runner: web.AppRunner | None = None
        self._socket_handler: Any = None

    async def start(self) -> None:
        """Start everything, once Slack has accepted the tokens (SettingsError if it refuses one)."""
        # The Slack app and its web server only here: `bot.py once`, `status` and `digest` never load them.
        from aiohttp import web

        from veilleur.app import EVENTS_PATH, build_app, build_web_app

        self.services = open_services(self.settings)
        self.app = build_app(self.services)
        await check_slack_tokens(self.app.client, self.settings)
        self.scheduler = AsyncIOScheduler(timezone=self.settings.bot_timezone)
        self.services.scheduler = self.scheduler
        schedule_watchers(self.scheduler, self.services)
        schedule_reminders(self.scheduler, self.services)
        start_digests(self.scheduler, self.services)
        self.scheduler.start()
        assert self.services.outbox is not None
        self._outbox_task = asyncio.create_task(self.services.outbox.run(), name="outbox")
        if self.settings.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket_handler = AsyncSocketModeHandler(self.app, self.settings.slack_app_token)
            await self._socket_handler.connect_async()
            log.info("connected to Slack in Socket Mode")
        else:
            self._web_runner = web.AppRunner(build_web_app(self.app, self.settings))
            await self._web_runner.setup()
            try:
                await web.TCPSite(self._web_runner, self.host, self.settings.port).start()
            except OSError as error:
                raise SettingsError(
                    f"PORT {self.settings.port}: cannot listen on {self.host}:{self.settings.port}"
                    f" ({error.strerror or error}): stop what uses it or choose another PORT"
                ) from None
            log.info("listening for Slack on http://%s:%d%s", self.host, self.settings.port, EVENTS_PATH)
        log.info("%d watcher(s) scheduled", len(self.services.watchers))

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self._outbox_task is not None:
            self._outbox_task.cancel()
            await asyncio.gather(self._outbox_task, return_exceptions=True)
        if self._socket_handler is not None:
            await self._socket_handler.close_async()
        if self._web_runner is not None:
            await self._web_runner.cleanup()
        if self.services is not None:
            await self.services.aclose()
