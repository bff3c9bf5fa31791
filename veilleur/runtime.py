"""Builds the running bot from settings: store, watchers, poller, outbox, scheduler and the Slack app.

The one place that wires: `open_services` and `open_local_services` build the typed containers of
veilleur/services.py, handing each object the collaborators it uses. `Runtime` starts and stops everything inside
the running asyncio loop, so `bot.py` and the tests start the bot the same way. Nothing imports this module but
`bot.py` (the import-linter contracts in pyproject.toml).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.assist.conversations import ConversationFetcher
from veilleur.assist.drafting import Drafter
from veilleur.assist.labelling import Labeller
from veilleur.assist.llm import LLM, llm_destination
from veilleur.assist.prompt_book import PromptBook
from veilleur.assist.summarize import Summarizer
from veilleur.core.i18n import Phrase
from veilleur.core.public_roles import with_imported_roles
from veilleur.core.reach import Outlets, load_outlets
from veilleur.core.settings import Settings, SettingsError, require_slack_connection
from veilleur.core.watcher_config import (
    AuthorLabel,
    ConfigProblem,
    RouteConfig,
    WatcherConfig,
    WatcherFieldError,
    load_authors_file,
    load_watchers_file,
)
from veilleur.digest.delivery import DigestService, start_digests
from veilleur.escalation.service import EscalationService, load_routes, schedule_reminders
from veilleur.privacy.service import PrivacyService, schedule_purge
from veilleur.services import LocalServices, Services
from veilleur.slack.outbox import Outbox, new_slack_client
from veilleur.slack.tokens import check_slack_tokens
from veilleur.storage.audit import AuditLog
from veilleur.storage.privacy_key import PrivacyKey
from veilleur.storage.public_roles import PublicRoles
from veilleur.storage.store import DatabaseError, DatabaseUnavailable, Store, database_problem, unavailable_phrase
from veilleur.storage.suppressions import CollectionGate
from veilleur.watching.catalog import WatcherCatalog, schedule_poll
from veilleur.watching.claims import ClaimService
from veilleur.watching.health import SourceHealth
from veilleur.watching.mention_cards import MentionCards
from veilleur.watching.outbox_messages import outbox_message
from veilleur.watching.polling import Poller
from veilleur.watching.spikes import SpikeRule, SpikeWatch
from veilleur.watching.stories import StoryService
from watchers import SOURCES, build_watcher
from watchers.base import Watcher, WatcherContext, new_http_client

if TYPE_CHECKING:
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp

log = logging.getLogger(__name__)

AnyServices = TypeVar("AnyServices", bound=LocalServices)


def load_watcher_configs(settings: Settings) -> tuple[list[WatcherConfig], list[ConfigProblem]]:
    configs, problems = load_watchers_file(settings.watchers_file, SOURCES.keys())
    for problem in problems:
        log.error("%s: %s (this watcher is not running)", settings.watchers_file, problem)
    return configs, problems


def open_store(settings: Settings, *, copy: bool = False) -> Store:
    """The database at DATABASE_PATH (with `copy`, a private in-memory copy of it: see `Store.open_copy`); a path
    that cannot hold it is a configuration error naming the setting.

    A database that is there but busy, read-only or on a full disk is not a configuration error: it says so
    (`DatabaseUnavailable`)."""
    try:
        return Store.open_copy(settings.database_path) if copy else Store.open(settings.database_path)
    except DatabaseError as error:
        if reason := unavailable_phrase(error, settings.database_path):
            raise DatabaseUnavailable(reason) from None
        raise _unusable_database_path(settings, str(error)) from None
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise DatabaseUnavailable(Phrase.of("db.full", where=f" ({settings.database_path})")) from None
        raise _unusable_database_path(settings, error.strerror or str(error)) from None


def _unusable_database_path(settings: Settings, reason: str) -> SettingsError:
    return SettingsError(
        f"DATABASE_PATH {str(settings.database_path)!r}: cannot open the database there ({reason}):"
        " set it to a Veilleur database, or to a new file in a writable folder"
    )


@dataclass(frozen=True)
class _Loaded:
    """What both kinds of services start from: the configuration read, the store open, the file's watchers built
    (with `file_context`, whose client is the bot's HTTP client)."""

    settings: Settings
    store: Store
    file_context: WatcherContext
    configs: list[WatcherConfig]
    watchers: dict[str, Watcher]
    routes: list[RouteConfig]
    authors: list[AuthorLabel]
    problems: list[ConfigProblem]
    key: PrivacyKey
    outlets: Outlets


def _load(settings: Settings, store: Store | None) -> _Loaded:
    configs, problems = load_watcher_configs(settings)
    store = store or open_store(settings)
    log.info("%s", llm_destination(settings))
    if settings.public_body:
        _keep_reach_tiers_only(store)
    context = WatcherContext(http=new_http_client(), env=settings.env)
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
    authors, author_problems = load_authors_file(
        settings.watchers_file, SOURCES.keys(), public_roles_only=settings.public_body
    )
    for problem in author_problems:
        log.error("%s: %s (this author's labels are not used)", settings.watchers_file, problem)
    problems.extend(author_problems)
    # One list wherever `[[author]]` labels are used (summaries, digest themes, pseudonyms, export): the roles
    # imported with `bot.py authors import`, then the tables that do not name the same authors.
    authors = with_imported_roles(authors, PublicRoles(store).all())
    outlets, outlet_problems = load_outlets(settings.watchers_file)
    for problem in outlet_problems:
        log.error("%s: %s (this outlet is not used)", settings.watchers_file, problem)
    problems.extend(outlet_problems)
    key = PrivacyKey.for_database(settings.privacy_key, settings.database_path)
    key.load()  # a damaged key file stops the start with one line, rather than the first poll
    return _Loaded(settings, store, context, configs, watchers, routes, authors, problems, key, outlets)


def _keep_reach_tiers_only(store: Store) -> None:
    """PRIVACY_PROFILE=public-body on a database that holds follower counts from before: keep only their tiers."""
    try:
        changed = store.keep_reach_tiers_only()
    except DatabaseError as error:
        # Nothing is lost by waiting: new mentions are stored as tiers, and the next start tries again.
        log.warning("cannot reduce stored follower counts to reach tiers now: %s", database_problem(error, store.path))
        return
    if changed:
        log.info("PRIVACY_PROFILE=public-body: %d stored follower counts reduced to reach tiers", changed)


def open_local_services(settings: Settings, *, store: Store | None = None) -> LocalServices:
    """The services without Slack, for `bot.py status` and the dry runs: nothing is posted."""
    loaded = _load(settings, store)
    poller = _poller(loaded)
    llm = LLM(settings, loaded.store)
    stories = _stories(loaded, slack=None, on_queued=lambda: None)
    poller.after_record.append(stories.after_record)
    claims = _claims(loaded, on_queued=lambda: None)
    poller.set_aside = claims.set_aside
    return _assemble(
        LocalServices, loaded, poller, llm, stories, _digests(loaded, llm, slack=None, on_queued=None), claims
    )


def open_services(settings: Settings, slack: AsyncWebClient, *, store: Store | None = None) -> Services:
    """The services that post to Slack with `slack`: the running bot's, and the one-shot commands' that post."""
    loaded = _load(settings, store)
    store = loaded.store
    poller = _poller(loaded)
    llm, prompts, lang = LLM(settings, store), PromptBook(settings.prompts_dir), settings.bot_language
    # The outbox renders each row when it posts it, with the stories made just below.
    outbox = Outbox(
        store,
        slack,
        lambda delivery: outbox_message(
            delivery, store=store, stories=stories, claims=claims, lang=settings.bot_language,
            reach_tiers=settings.public_body,
        ),
    )
    stories = _stories(loaded, slack=slack, on_queued=outbox.wake)
    claims = _claims(loaded, on_queued=outbox.wake)
    poller.set_aside = claims.set_aside
    poller.on_queued = outbox.wake
    poller.health = SourceHealth(
        store,
        lang=settings.bot_language,
        tz=settings.bot_timezone,
        alert_after=settings.health_alert_after,
        channel=settings.health_channel,
        on_queued=outbox.wake,
        slack=slack,
    )
    spikes = SpikeWatch(
        store,
        SpikeRule.from_settings(settings),
        llm=llm,
        prompts=prompts,
        lang=settings.bot_language,
        tz=settings.bot_timezone,
        on_queued=outbox.wake,
        reach_tiers=settings.public_body,
    )
    # Stories first: a large poll's cards are held back from the outbox until they are grouped, and that hold must
    # be set before any hook lets the loop run something else.
    # Labelling last: it only starts its own task, which reads what the other hooks left.
    labeller = Labeller(
        store,
        llm,
        prompts,
        lambda: {name: watcher.config for name, watcher in loaded.watchers.items()},
        lang=lang,
        on_cards_changed=stories.refresh_cards,
        enabled=settings.llm_labelling,
    )
    poller.after_record.extend([stories.after_record, spikes.after_poll, labeller.after_poll])
    escalations = EscalationService(store, slack, settings, loaded.routes, render_card=stories.current_card)
    return _assemble(
        partial(
            Services,
            slack=slack,
            outbox=outbox,
            escalations=escalations,
            conversations=ConversationFetcher(
                store, slack, loaded.watchers, loaded.authors, reach_tiers=settings.public_body
            ),
            summarizer=Summarizer(llm, prompts, lang),
            drafter=Drafter(llm, prompts, lang),
            cards=MentionCards(store, stories.current_card),
            labeller=labeller,
        ),
        loaded,
        poller,
        llm,
        stories,
        _digests(loaded, llm, slack=slack, on_queued=outbox.wake),
        claims,
    )


def _poller(loaded: _Loaded) -> Poller:
    settings = loaded.settings
    gate = CollectionGate(loaded.store, loaded.key, timedelta(days=settings.retention_days))
    return Poller(
        loaded.store,
        loaded.watchers,
        burst_threshold=settings.burst_threshold,
        max_cards=settings.max_cards_per_poll,
        reach_tiers=settings.public_body,
        admit=gate.admit,
    )


def _stories(loaded: _Loaded, *, slack: AsyncWebClient | None, on_queued: Callable[[], None]) -> StoryService:
    settings = loaded.settings
    return StoryService(
        loaded.store,
        window=settings.story_window,
        campaign_min_posts=settings.campaign_min_posts,
        campaign_window=settings.campaign_window,
        lang=settings.bot_language,
        tz=settings.bot_timezone,
        slack=slack,
        on_queued=on_queued,
        reach_tiers=settings.public_body,
        outlets=loaded.outlets,
    )


def _claims(loaded: _Loaded, *, on_queued: Callable[[], None]) -> ClaimService:
    settings = loaded.settings
    return ClaimService(
        loaded.store,
        lang=settings.bot_language,
        tz=settings.bot_timezone,
        audit=AuditLog(loaded.store),
        on_queued=on_queued,
        outlets=loaded.outlets,
        reach_tiers=settings.public_body,
    )


def _digests(
    loaded: _Loaded, llm: LLM, *, slack: AsyncWebClient | None, on_queued: Callable[[], None] | None
) -> DigestService:
    watchers = loaded.watchers
    return DigestService(
        loaded.store,
        loaded.settings,
        lambda: [watcher.config for watcher in watchers.values()],
        llm=llm,
        authors=loaded.authors,
        slack=slack,
        on_queued=on_queued,
        outlets=loaded.outlets,
    )


def _assemble(
    make: Callable[..., AnyServices],
    loaded: _Loaded,
    poller: Poller,
    llm: LLM,
    stories: StoryService,
    digests: DigestService,
    claims: ClaimService,
) -> AnyServices:
    """The services `make` builds (either kind), with the catalogue taking over the running watchers."""
    settings = loaded.settings
    scheduler = AsyncIOScheduler(timezone=settings.bot_timezone)
    catalog = WatcherCatalog(
        settings,
        loaded.store,
        watchers=loaded.watchers,
        poller=poller,
        scheduler=scheduler,
        file_context=loaded.file_context,
        file_configs=loaded.configs,
    )
    return make(
        settings=settings,
        store=loaded.store,
        http=loaded.file_context.http,
        watchers=loaded.watchers,
        poller=poller,
        scheduler=scheduler,
        catalog=catalog,
        stories=stories,
        digests=digests,
        llm=llm,
        authors=loaded.authors,
        audit=AuditLog(loaded.store),
        claims=claims,
        problems=loaded.problems + catalog.problems,
        privacy=PrivacyService(
            loaded.store,
            settings,
            # Read when asked: the operator removes an erased author's tables while the bot runs.
            authors=lambda: load_authors_file(settings.watchers_file, SOURCES.keys())[0],
            on_stories_changed=stories.refresh_stories,
            key=loaded.key,
        ),
    )


def schedule_watchers(scheduler: AsyncIOScheduler, services: LocalServices) -> None:
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
        self._resume_task: asyncio.Task[None] | None = None
        self._web_runner: web.AppRunner | None = None
        self._health_runner: web.AppRunner | None = None
        self._socket_handler: Any = None
        self._started = time.monotonic()

    async def start(self) -> None:
        """Start everything, once Slack has accepted the tokens (SettingsError if it refuses one or one is missing)."""
        # The Slack app and its web server only here: `bot.py once`, `status` and `digest` never load them.
        from aiohttp import web

        from veilleur.app import EVENTS_PATH, build_app, build_web_app
        from veilleur.probe import HEALTH_PATH, health_handler

        token = require_slack_connection(self.settings)
        self.services = open_services(self.settings, new_slack_client(token, self.settings.slack_api_url))
        self.app = build_app(self.services)
        await check_slack_tokens(self.app.client, self.settings)
        self.scheduler = self.services.scheduler
        schedule_watchers(self.scheduler, self.services)
        schedule_reminders(self.scheduler, self.services.escalations)
        start_digests(self.scheduler, self.services.digests)
        schedule_purge(self.scheduler, self.services.privacy)
        self.scheduler.start()
        # A purge or forget a kill interrupted finishes now, in bounded steps beside everything else.
        self._resume_task = asyncio.create_task(self.services.privacy.resume_interrupted(), name="resume-erasures")
        self._outbox_task = asyncio.create_task(self.services.outbox.run(), name="outbox")
        # Mentions stored while the bot was down (or the day before labelling first ran) get their labels now.
        self.services.labeller.trigger()
        if self.settings.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket_handler = AsyncSocketModeHandler(self.app, self.settings.slack_app_token)
            await self._socket_handler.connect_async()
            log.info("connected to Slack in Socket Mode")
        else:
            web_app = build_web_app(self.app, self.settings)
            web_app.router.add_get(HEALTH_PATH, health_handler(self.health))
            self._web_runner = await self._listen(web_app, self.settings.port, "PORT")
            log.info("listening for Slack on http://%s:%d%s", self.host, self.settings.port, EVENTS_PATH)
        if self.settings.health_port is not None:
            health_app = web.Application()
            health_app.router.add_get(HEALTH_PATH, health_handler(self.health))
            self._health_runner = await self._listen(health_app, self.settings.health_port, "HEALTH_PORT")
            log.info("health at http://%s:%d%s", self.host, self.settings.health_port, HEALTH_PATH)
        log.info("%d watcher(s) scheduled", len(self.services.watchers))

    async def _listen(self, web_app: web.Application, port: int, setting: str) -> web.AppRunner:
        from aiohttp import web

        runner = web.AppRunner(web_app)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, port).start()
        except OSError as error:
            await runner.cleanup()
            raise SettingsError(
                f"{setting} {port}: cannot listen on {self.host}:{port}"
                f" ({error.strerror or error}): stop what uses it or choose another {setting}"
            ) from None
        return runner

    async def health(self) -> tuple[int, dict[str, Any]]:
        """What GET /healthz answers (see probe.py)."""
        from veilleur.probe import Vitals, health_report

        assert self.services is not None and self.scheduler is not None, "the probe listens only once started"
        if self._socket_handler is not None:
            connected = await self._socket_handler.client.is_connected()
        else:
            connected = self._web_runner is not None
        vitals = Vitals(
            started=self._started,
            mode="socket" if self.settings.socket_mode else "http",
            slack_connected=connected,
            scheduler_running=self.scheduler.running,
            outbox_running=self._outbox_task is not None and not self._outbox_task.done(),
        )
        return health_report(self.services.store, vitals)

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        for task in (self._outbox_task, self._resume_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._socket_handler is not None:
            await self._socket_handler.close_async()
        for runner in (self._web_runner, self._health_runner):
            if runner is not None:
                await runner.cleanup()
        if self.services is not None:
            await self.services.aclose()
