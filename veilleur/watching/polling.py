"""One poll of one watcher: fetch, match the query, store, queue the cards.

Every failure is caught here and recorded against the watcher, so one broken source never stops the others;
a failing source is left alone for a growing while (or as long as it asked with Retry-After).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from veilleur.core.i18n import Phrase, technical
from veilleur.core.mentions import Mention, with_reach_tier
from veilleur.core.watcher_config import WatcherConfig
from veilleur.storage.privacy_key import PrivacyKeyError
from veilleur.storage.store import (
    DatabaseError,
    DatabaseUnavailable,
    PollOutcome,
    Store,
    WatcherStatus,
    database_phrase,
    database_problem,
    utcnow,
)
from veilleur.watching.health import SourceHealth
from watchers.base import PollResult, SourceError, Watcher

log = logging.getLogger(__name__)

MAX_BACKOFF = 3600.0


@dataclass(frozen=True)
class PollReport:
    watcher: str
    ok: bool
    fetched: int = 0
    matched: int = 0
    outcome: PollOutcome | None = None
    not_modified: bool = False
    skipped: bool = False
    error: str | None = None  # in English, as logged
    problem: Phrase | None = None  # the same, to say in BOT_LANGUAGE


class Poller:
    def __init__(
        self,
        store: Store,
        watchers: dict[str, Watcher],
        *,
        burst_threshold: int,
        max_cards: int = 20,
        on_queued: Callable[[], None] = lambda: None,
        poll_timeout: float = 60.0,
        health: SourceHealth | None = None,
        reach_tiers: bool = False,
        admit: Callable[[Sequence[Mention], datetime], list[Mention]] | None = None,
    ) -> None:
        """`admit`: what drops, inside the poll's transaction, the posts that must not be stored (a
        CollectionGate's: too old, erased, or by an author who objected)."""
        self.store = store
        # PRIVACY_PROFILE=public-body: follower counts are stored only as reach tiers.
        self.reach_tiers = reach_tiers
        self.admit = admit
        self.health = health
        self.watchers = watchers
        self.burst_threshold = burst_threshold
        self.max_cards = max_cards
        self.on_queued = on_queued
        # Awaited in turn after each successful poll is stored, before the outbox is woken: story grouping and
        # spike detection look at the new mentions here, a large batch in chunks that let Slack through between
        # them. A hook that fails is logged and never fails the poll.
        self.after_record: list[Callable[[WatcherConfig, PollOutcome], Awaitable[None]]] = []
        # Run first: takes out of the outcome the cards that are not to be posted on their own (mentions of a false
        # claim the team follows, watching/claims.py), before any hook or the outbox sees them.
        self.set_aside: Callable[[WatcherConfig, PollOutcome], Awaitable[PollOutcome]] | None = None
        self.poll_timeout = poll_timeout
        self._resume_at: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # Failures the database could not record (it was busy, read-only or full), counted here until it can.
        self._unrecorded_failures: dict[str, int] = {}
        # One poll at a time matches, stores and runs its hooks. Hundreds of polls finishing together would otherwise
        # line up their work in the loop's ready queue, and a Slack ack would wait behind all of it; taking turns,
        # an ack waits for one poll's step at most.
        self._storing = asyncio.Lock()

    async def poll(self, name: str) -> PollReport:
        """Poll one watcher; never raises. Two polls of the same watcher never overlap."""
        lock = self._locks.setdefault(name, asyncio.Lock())
        if lock.locked():
            return PollReport(name, ok=True, skipped=True)
        async with lock:
            if time.monotonic() < self._resume_at.get(name, 0.0):
                return PollReport(name, ok=True, skipped=True)
            return await self._poll(self.watchers[name])

    def forget_backoff(self, name: str) -> None:
        """Let the next poll run whatever failed before: the watcher was just resumed or changed."""
        self._resume_at.pop(name, None)

    async def poll_all(self) -> list[PollReport]:
        return list(await asyncio.gather(*(self.poll(name) for name in self.watchers)))

    async def _poll(self, watcher: Watcher) -> PollReport:
        config: WatcherConfig = watcher.config
        try:
            status = self.store.watcher_status(config.name)
        except DatabaseError as error:
            return self._failed(config, database_phrase(error, self.store.path), None)
        try:
            result = await asyncio.wait_for(watcher.poll(status.cursor), self.poll_timeout)
        except SourceError as error:
            return self._failed(config, error.phrase, error.retry_after)
        except TimeoutError:
            return self._failed(config, Phrase.of("error.no_answer_within", count=round(self.poll_timeout)), None)
        except Exception as error:
            log.exception("watcher %s crashed while polling", config.name)
            detail = f"{error.__class__.__name__}: {error}"
            return self._failed(config, Phrase.of("error.internal", detail=detail), None)
        try:
            async with self._storing:
                return await self._succeeded(config, status, result)
        except DatabaseUnavailable as error:
            # Nothing of this poll was stored, its cursor included: the next poll fetches the same items again.
            if self.health is not None:
                await self.health.database_failed(config, error.phrase)
            return self._failed(config, error.phrase, None)
        except PrivacyKeyError as error:
            # Without its key, the suppression list cannot be checked: storing nothing beats storing an objector's.
            return self._failed(config, technical(str(error)), None)

    async def _succeeded(self, config: WatcherConfig, before: WatcherStatus, result: PollResult) -> PollReport:
        matched = [mention for mention in result.mentions if config.query.matches(mention)]
        if self.reach_tiers:
            matched = [with_reach_tier(mention) for mention in matched]
        outcome = await self.store.write_patiently(
            lambda: self.store.record_poll(
                config.name,
                config.channel,
                matched,
                result.cursor,
                backfill=config.backfill,
                burst_threshold=self.burst_threshold,
                max_cards=self.max_cards,
                admit=self.admit,
            )
        )
        self._resume_at.pop(config.name, None)
        self._unrecorded_failures.pop(config.name, None)
        self._tell_health(config, lambda health: health.succeeded(config, before))
        # No await between storing the poll and the claims' step: it (like story grouping after it) checks a poll in
        # one step before any await, or holds the poll's cards back first.
        if self.set_aside is not None:
            try:
                outcome = await self.set_aside(config, outcome)
            except Exception:
                log.exception("following false claims failed for watcher %s", config.name)
        for hook in self.after_record:
            try:
                await hook(config, outcome)
            except Exception:
                log.exception("after-poll step %r failed for watcher %s", hook, config.name)
        if self.health is not None:
            await self.health.database_works(config)
        if outcome.queued:
            self.on_queued()
        log.info(
            "watcher %s: %d fetched, %d matched, %d new (%d queued, %d past MAX_CARDS_PER_POLL, %d recorded quietly)%s",
            config.name,
            len(result.mentions),
            len(matched),
            outcome.new_mentions,
            outcome.queued,
            outcome.overflow,
            outcome.quiet,
            " [not modified]" if result.not_modified else "",
        )
        return PollReport(
            config.name,
            ok=True,
            fetched=len(result.mentions),
            matched=len(matched),
            outcome=outcome,
            not_modified=result.not_modified,
        )

    def _failed(self, config: WatcherConfig, problem: Phrase, retry_after: float | None) -> PollReport:
        status = self._record_failure(config, problem)
        self._tell_health(config, lambda health: health.failed(config, status))
        backoff = retry_after if retry_after is not None else self._backoff(config, status.consecutive_failures)
        self._resume_at[config.name] = time.monotonic() + backoff
        log.warning(
            "watcher %s failed (%d in a row, next try in %.0fs): %s",
            config.name,
            status.consecutive_failures,
            backoff,
            problem,
        )
        return PollReport(config.name, ok=False, error=str(problem), problem=problem)

    def _tell_health(self, config: WatcherConfig, tell: Callable[[SourceHealth], None]) -> None:
        """Queue a health alert or recovery notice; a database that cannot take it must not fail the poll."""
        if self.health is None:
            return
        try:
            tell(self.health)
        except DatabaseError as error:
            log.error("watcher %s: cannot queue its health notice: %s", config.name,
                      database_problem(error, self.store.path))

    def _record_failure(self, config: WatcherConfig, problem: Phrase) -> WatcherStatus:
        """The watcher's health after this failure, recorded in the database, or counted here when the database
        itself is what fails."""
        try:
            status = self.store.record_poll_failure(
                config.name, problem, unrecorded=self._unrecorded_failures.get(config.name, 0)
            )
        except DatabaseError:
            unrecorded = self._unrecorded_failures.get(config.name, 0) + 1
            self._unrecorded_failures[config.name] = unrecorded
            try:
                before = self.store.watcher_status(config.name)
            except DatabaseError:
                before = WatcherStatus(config.name, {}, None, None, None, None, None, 0)
            moment = utcnow().isoformat()
            return replace(
                before,
                last_error=str(problem),
                last_error_phrase=problem,
                last_error_at=moment,
                failing_since=before.failing_since or moment,
                consecutive_failures=before.consecutive_failures + unrecorded,
            )
        self._unrecorded_failures.pop(config.name, None)
        return status

    @staticmethod
    def _backoff(config: WatcherConfig, failures: int) -> float:
        """Skip polls exponentially: the first retry waits for the next interval, then 2, 4, 8... intervals."""
        if failures <= 1:
            return 0.0
        return min(config.interval * 2 ** (failures - 2), MAX_BACKOFF)
