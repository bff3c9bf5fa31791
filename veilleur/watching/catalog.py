"""Every watcher, wherever it was defined: the watchers file, or Slack (`/watch add`, stored in the database).

The catalogue keeps the two kinds together under unique names, keeps the scheduler in step with each change
(a watcher added, resumed or edited polls at once; a paused or removed one stops), and runs a query once against
a source without storing anything (`/watch test`). The watchers file stays the operator's: a watcher from it can
be paused from Slack (runtime state, kept in the database), never edited or removed.

The running set (`watchers`, the poller's) holds the watchers that poll: paused ones are left out of it, so the
scheduler, `bot.py once` and the poller never see them.

Slack-made watchers reach sources through the guarded HTTP client (url_safety.py): the person typing a URL in
Slack is not the operator, so loopback, private and metadata addresses are refused unless ALLOW_PRIVATE_URLS.
They do not see the bot's own secrets either: an option naming an environment variable (token_env...) could
otherwise send the Slack or OpenAI key to a server of the person's choosing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from veilleur.core.errors import UserError
from veilleur.core.i18n import Phrase
from veilleur.core.mentions import Mention
from veilleur.core.settings import Settings
from veilleur.core.watcher_config import (
    ConfigProblem,
    WatcherConfig,
    WatcherFieldError,
    load_watchers_file,
    parse_watcher,
)
from veilleur.storage.store import Store, WatcherStatus
from veilleur.storage.watchers import WatcherStore
from veilleur.watching.polling import Poller
from veilleur.watching.url_safety import UnsafeUrlError, UrlPolicy, check_url, new_guarded_http_client
from watchers import SOURCES, build_watcher
from watchers.base import SourceError, Watcher, WatcherContext

log = logging.getLogger(__name__)

FILE, SLACK = "file", "slack"
TRIAL_TIMEOUT = 30.0
URL_CHECK_TIMEOUT = 2.0
# The bot's own credentials: never lent to a watcher made in Slack.
BOT_SECRETS = frozenset({"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "OPENAI_API_KEY"})
# Changing one of these points the watcher at other posts: its cursor and first-run state start over.
LOCATION_FIELDS = ("source", "url", "base_url")


@dataclass(frozen=True)
class CatalogEntry:
    config: WatcherConfig
    origin: str  # FILE or SLACK
    paused: bool
    # As typed in Slack (interval "5m", options...), for the edit form; None for a file watcher.
    table: dict[str, Any] | None = None
    created_by: str | None = None

    @property
    def name(self) -> str:
        return self.config.name


@dataclass(frozen=True)
class Trial:
    """What a query found in one poll of a source: nothing of it is stored."""

    fetched: int
    matched: list[Mention]
    error: Phrase | None = None


@dataclass(frozen=True)
class ReloadReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)


def poll_job_id(name: str) -> str:
    return f"poll:{name}"


def schedule_poll(scheduler: AsyncIOScheduler, poller: Poller, config: WatcherConfig, first_run: datetime) -> None:
    """Poll `config`'s watcher every interval from `first_run`, with jitter; replaces its job if it has one."""
    interval = config.interval
    scheduler.add_job(
        poller.poll,
        IntervalTrigger(seconds=interval, jitter=min(interval * 0.1, 60)),
        args=[config.name],
        id=poll_job_id(config.name),
        name=f"poll {config.name}",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=interval,
        next_run_time=first_run,
        replace_existing=True,
    )


class WatcherCatalog:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        watchers: dict[str, Watcher],
        poller: Poller,
        scheduler: AsyncIOScheduler,
        file_context: WatcherContext,
        file_configs: list[WatcherConfig],
    ) -> None:
        """Take over `watchers`, the running set the poller reads (the file's, as built with `file_context`): add
        the stored ones, take the paused ones out. What cannot run is left in `problems`. Each change keeps
        `scheduler` in step: a job added before it starts waits for it."""
        self.settings = settings
        self.store = store
        self.rows = WatcherStore(store)
        self.watchers = watchers
        self.poller = poller
        self.scheduler = scheduler
        self.file_context = file_context
        self.problems: list[ConfigProblem] = []
        self.policy = UrlPolicy.from_settings(settings)
        self._slack_context: WatcherContext | None = None
        self._entries: dict[str, CatalogEntry] = {}
        self._built: dict[str, Watcher] = {}
        paused = self.rows.paused()
        for config in file_configs:
            if config.name in watchers:
                self._keep(CatalogEntry(config, FILE, config.name in paused), watchers[config.name])
        for table, created_by in self.rows.slack_made():
            self._load_stored(table, created_by, paused)
        for name in paused:
            watchers.pop(name, None)

    def _load_stored(self, table: dict[str, Any], created_by: str | None, paused: set[str]) -> None:
        name = table["name"]
        if name in self._entries:
            self._file_clash(name)
        try:
            config = parse_watcher(table, SOURCES.keys())
            watcher = build_watcher(config, self.slack_context)
        except WatcherFieldError as error:
            problem = ConfigProblem(name, error.field, error.message)
            log.error("watcher made in Slack: %s (this watcher is not running)", problem)
            self.problems.append(problem)
            return
        self._keep(CatalogEntry(config, SLACK, name in paused, table, created_by), watcher)
        self.watchers[name] = watcher

    def _file_clash(self, name: str) -> None:
        """A file entry named like a watcher made in Slack is left out: the stored one was there first."""
        problem = ConfigProblem(name, "name", "is used by a watcher made in Slack (/watch list); rename this one")
        log.error("%s: %s (this watcher is not running)", self.settings.watchers_file, problem)
        self.problems.append(problem)
        del self._entries[name], self._built[name]
        self.watchers.pop(name, None)

    def _keep(self, entry: CatalogEntry, watcher: Watcher) -> None:
        self._entries[entry.name] = entry
        self._built[entry.name] = watcher

    @property
    def slack_context(self) -> WatcherContext:
        """The guarded client and environment of watchers made in Slack, made when the first one needs it."""
        if self._slack_context is None:
            env = {key: value for key, value in self.settings.env.items() if key not in BOT_SECRETS}
            self._slack_context = WatcherContext(http=new_guarded_http_client(self.policy), env=env)
        return self._slack_context

    async def aclose(self) -> None:
        if self._slack_context is not None:
            await self._slack_context.http.aclose()

    # Reading -------------------------------------------------------------------------------------------------

    def entries(self) -> list[CatalogEntry]:
        return sorted(self._entries.values(), key=lambda entry: entry.name)

    def get(self, name: str) -> CatalogEntry:
        entry = self._entries.get(name)
        if entry is None:
            raise UserError("watch.unknown", name=name)
        return entry

    def editable(self, name: str) -> CatalogEntry:
        """The watcher made in Slack called `name`; a file watcher is refused with the file to edit."""
        entry = self.get(name)
        if entry.origin == FILE:
            raise UserError("watch.file_watcher", name=name, file=str(self.settings.watchers_file))
        return entry

    def cards_since(self, moment: datetime) -> dict[str, int]:
        return self.rows.cards_since(moment)

    def statuses(self) -> dict[str, WatcherStatus]:
        """Each watcher's polling state (cursor, last success, failures), by name."""
        return {entry.name: self.store.watcher_status(entry.name) for entry in self.entries()}

    # Checking ------------------------------------------------------------------------------------------------

    async def validate(self, table: dict[str, Any], *, editing: str | None = None) -> tuple[WatcherConfig, Watcher]:
        """Check a watcher typed in Slack exactly as the file's are checked, plus a unique name and safe URLs.

        Raises WatcherFieldError naming the field at fault (its block in the form).
        """
        config = parse_watcher(table, SOURCES.keys())
        if config.name != editing and config.name in self._entries:
            raise WatcherFieldError("name", Phrase.of("watch.name_used", name=repr(config.name)))
        return await self._checked(config)

    async def for_trial(self, table: dict[str, Any]) -> tuple[WatcherConfig, Watcher]:
        """A watcher to test, checked like one made in Slack but under any name (raises WatcherFieldError)."""
        return await self._checked(parse_watcher(table, SOURCES.keys()))

    async def _checked(self, config: WatcherConfig) -> tuple[WatcherConfig, Watcher]:
        """`config` built as a Slack-made watcher, once its URLs are found safe (raises WatcherFieldError)."""
        for key, url in _urls(config):
            try:
                async with asyncio.timeout(URL_CHECK_TIMEOUT):
                    await check_url(url, self.policy)
            except UnsafeUrlError as error:
                raise WatcherFieldError(key, error.phrase) from None
            except TimeoutError:
                raise WatcherFieldError(key, Phrase.of("url.resolve_late", url=url)) from None
        return config, build_watcher(config, self.slack_context)

    async def trial(self, config: WatcherConfig, watcher: Watcher) -> Trial:
        """One poll from scratch, filtered by the query; nothing is stored and no job is touched."""
        try:
            async with asyncio.timeout(TRIAL_TIMEOUT):
                result = await watcher.poll({})
        except SourceError as error:
            return Trial(0, [], error.phrase)
        except TimeoutError:
            return Trial(0, [], Phrase.of("error.no_answer_within", count=round(TRIAL_TIMEOUT)))
        return Trial(len(result.mentions), [m for m in result.mentions if config.query.matches(m)])

    # Changing ------------------------------------------------------------------------------------------------

    def add(self, table: dict[str, Any], config: WatcherConfig, watcher: Watcher, user: str) -> None:
        """Store a validated watcher and poll it at once."""
        if config.name in self._entries:  # another person took the name while this one was being checked
            raise UserError("watch.name_taken", name=config.name)
        self.rows.insert(table, user)
        self._keep(CatalogEntry(config, SLACK, False, table, user), watcher)
        self._start(config.name)

    def edit(self, name: str, table: dict[str, Any], config: WatcherConfig, watcher: Watcher, user: str) -> None:
        """Replace a Slack-made watcher's settings; it keeps its progress unless it now reads another source."""
        entry = self.editable(name)
        assert entry.table is not None
        self.rows.replace(table, user)
        if any(table.get(key) != entry.table.get(key) for key in LOCATION_FIELDS):
            self.rows.restart_progress(name)
        self._keep(CatalogEntry(config, SLACK, entry.paused, table, entry.created_by), watcher)
        if not entry.paused:
            self._start(name)

    def pause(self, name: str, user: str) -> CatalogEntry:
        entry = self.get(name)
        if entry.paused:
            raise UserError("watch.already_paused", name=name)
        self.rows.pause(name, user)
        self._stop(name)
        self._entries[name] = CatalogEntry(entry.config, entry.origin, True, entry.table, entry.created_by)
        return entry

    def resume(self, name: str) -> CatalogEntry:
        entry = self.get(name)
        if not entry.paused:
            raise UserError("watch.not_paused", name=name)
        self.rows.resume(name)
        self._entries[name] = CatalogEntry(entry.config, entry.origin, False, entry.table, entry.created_by)
        self._start(name)
        return entry

    def remove(self, name: str) -> None:
        """Stop and forget a Slack-made watcher; the mentions it found stay for the digest and search."""
        self.editable(name)
        self._stop(name)
        self.rows.delete(name)
        del self._entries[name], self._built[name]

    def reload(self) -> ReloadReport:
        """Read the watchers file again and apply it: new entries start, changed ones restart, gone ones stop.

        Raises WatchersFileError when the file cannot be read at all (nothing changes then).
        """
        configs, problems = load_watchers_file(self.settings.watchers_file, SOURCES.keys())
        report = ReloadReport(problems=list(problems))
        wanted: dict[str, tuple[WatcherConfig, Watcher]] = {}
        for config in configs:
            existing = self._entries.get(config.name)
            if existing is not None and existing.origin == SLACK:
                report.problems.append(
                    ConfigProblem(config.name, "name", "is used by a watcher made in Slack (/watch list)")
                )
                continue
            try:
                wanted[config.name] = config, build_watcher(config, self.file_context)
            except WatcherFieldError as error:
                report.problems.append(ConfigProblem(config.name, error.field, error.message))
        gone = sorted(name for name, entry in self._entries.items() if entry.origin == FILE and name not in wanted)
        for name in gone:
            self._stop(name)
            del self._entries[name], self._built[name]
            report.removed.append(name)
        for config, watcher in wanted.values():
            self._apply_file_watcher(config, watcher, report)
        return report

    def _apply_file_watcher(self, config: WatcherConfig, watcher: Watcher, report: ReloadReport) -> None:
        before = self._entries.get(config.name)
        if before is not None and before.config == config:
            return
        paused = before.paused if before is not None else config.name in self.rows.paused()
        if before is not None and any(getattr(before.config, key) != getattr(config, key) for key in LOCATION_FIELDS):
            self.rows.restart_progress(config.name)
        (report.changed if before is not None else report.added).append(config.name)
        self._keep(CatalogEntry(config, FILE, paused), watcher)
        if not paused:
            self._start(config.name)

    # Scheduling ----------------------------------------------------------------------------------------------

    def _start(self, name: str) -> None:
        """Run the watcher now and on its interval (replacing its job if it had one)."""
        self.watchers[name] = self._built[name]
        self.poller.forget_backoff(name)
        now = datetime.now(self.settings.bot_timezone)
        schedule_poll(self.scheduler, self.poller, self._entries[name].config, now)

    def _stop(self, name: str) -> None:
        self.watchers.pop(name, None)
        if self.scheduler.get_job(poll_job_id(name)) is not None:
            self.scheduler.remove_job(poll_job_id(name))


def _urls(config: WatcherConfig) -> Iterator[tuple[str, str]]:
    """Every URL the watcher will fetch from, with the field that holds it: url, base_url and URL options."""
    for key in ("url", "base_url"):
        value = getattr(config, key)
        if value:
            yield key, value
    yield from (("options", url) for url in _option_urls(config.options))


def _option_urls(value: object) -> Iterator[str]:
    if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
        yield value.strip()
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _option_urls(item)
    elif isinstance(value, list):
        for item in value:
            yield from _option_urls(item)

