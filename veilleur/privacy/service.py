"""Retention and erasure: the purge (daily, and `bot.py purge`) and `forget` (`bot.py forget`, `/privacy forget`).

Both run on the loop's write connection, in transactions that each hold the loop about HOLD_TARGET (the chunk
size follows the time each one took), letting Slack and the polls through between them; another program's lock is
waited for (`write_patiently`). Each run is recorded first (`erasures`), adds its counts to that record as it goes,
and is marked finished last: a run killed halfway is finished by the next `resume()` (at the bot's start, before
the next purge or forget), and every step can run twice without harm. Once a run erased anything, the write-ahead
log is checkpointed and emptied from a worker thread, so that no erased byte stays in the `-wal` file.

A dry run goes through the same steps, each rolled back: its counts are exact, and it changes nothing (no row, no
key file, no suppression).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from veilleur.core.i18n import Phrase
from veilleur.core.keyed_hash import author_key, item_key, keyed_hash
from veilleur.core.settings import Settings
from veilleur.core.watcher_config import AuthorLabel, normal_handle
from veilleur.privacy.reports import ErasureReport, PurgeReport
from veilleur.storage.authors import AuthorRecords
from veilleur.storage.privacy_key import PrivacyKey
from veilleur.storage.retention import ErasureCounts, ErasureRecords, ErasureRun, Remember, SlackRemoval, Step
from veilleur.storage.store import DatabaseError, DatabaseUnavailable, Store, database_problem, iso, utcnow

log = logging.getLogger(__name__)

# How long one erasure transaction should hold the loop. The bound is 50 ms: on a machine shared with other
# busy processes, a step is sometimes preempted for another 20-40 ms (bench/bench_purge.py).
HOLD_TARGET = 0.02
FIRST_CHUNK = 20
MAX_CHUNK = 5000
# A mention whose card is being posted waits for Slack's answer (its ts, to remove the card): tried again this often.
IN_FLIGHT_PAUSE = 1.0
IN_FLIGHT_TRIES = 30
PURGE_HOUR, PURGE_MINUTE = 3, 30
REASONS = ("erasure", "objection")
# A name shorter than this is too common to look for in stored digests.
MIN_QUOTED_NAME = 3
DRY_RUN_HASH = "dry-run"


class ErasureIncomplete(Exception):
    """Some mentions could not be erased yet (their card was being posted); the next run finishes the job. `phrase`
    says so in any language (`str()` in English)."""

    def __init__(self, phrase: Phrase) -> None:
        super().__init__(str(phrase))
        self.phrase = phrase


@dataclass(frozen=True, slots=True)
class _Limits:
    """A purge's moments: mentions collected before `cutoff` go, escalations finished before `escalation`, audit
    entries before `audit`; posts published before `collection` are never stored again (CollectionGate)."""

    cutoff: datetime
    escalation: datetime
    audit: datetime
    collection: datetime
    now: datetime  # the outbox's removal rows done with before then are deleted


class PrivacyService:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        authors: Callable[[], Sequence[AuthorLabel]] = tuple,
        on_stories_changed: Callable[[Collection[int]], None] = lambda stories: None,
        key: PrivacyKey | None = None,
        clock: Callable[[], datetime] = utcnow,
        hold_target: float = HOLD_TARGET,
    ) -> None:
        """`authors`: the `[[author]]` tables of the watchers file, read when asked; `on_stories_changed`: told
        of the stories that lost a card, whose first card lists the others (stories.py refreshes it in Slack)."""
        self.store = store
        self.settings = settings
        self.records = ErasureRecords(store)
        self.key = key or PrivacyKey.for_database(settings.privacy_key, settings.database_path)
        self.authors = authors
        self.on_stories_changed = on_stories_changed
        self.clock = clock
        self.hold_target = hold_target
        # The longest erasure transaction so far (seconds): benchmarks and tests read it.
        self.longest_step = 0.0
        self._sizes: dict[str, int] = {}
        self._lock = asyncio.Lock()

    # The three entries ----------------------------------------------------------------------------------------

    async def forget(
        self, author: str, source: str | None = None, *, requested_by: str, dry_run: bool = False,
        reason: str = "erasure",
    ) -> ErasureReport:
        """Erase everything held about `author` (a handle, or a name for sources without handles), on `source`
        or on every source, and drop their future posts at collection. `reason`: "erasure" or "objection"."""
        if not normal_handle(author):
            raise ValueError("give the author's handle or name")
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {', '.join(REASONS)}")
        author = author.strip()
        labels = self.labels_of(author, source)
        async with self._lock:
            if dry_run:
                return await self._preview_forget(author, source, labels)
            await self._resume_unlocked()
            key_hash = keyed_hash(self.key.ensure(), author_key(author, source))
            already = self.records.is_suppressed(key_hash)
            if already and not await self._holds_anything(author, source):
                return ErasureReport(author, source, labels=labels, suppressed=True, already_suppressed=True,
                                     slack_action=self.settings.slack_card_retention)
            now = self.clock()
            run_id = await self.store.write_patiently(lambda: self.records.start_forget(
                author=author, source=source, author_hash=key_hash, reason=reason, requested_by=requested_by, now=now
            ))
            log.info("forget run %d started (requested by %s)", run_id, requested_by)
            counts = await self._continue_forget(run_id, author, source)
        return ErasureReport.of(counts, author, source, labels=labels, suppressed=True, already_suppressed=already,
                                slack_action=self.settings.slack_card_retention)

    async def purge(
        self, older_than_days: int | None = None, *, dry_run: bool = False, requested_by: str = "operator"
    ) -> PurgeReport:
        """Erase what was collected more than `older_than_days` ago (RETENTION_DAYS by default), and what has
        outlived its own retention (finished escalations, stored digests and alerts, poll failures, audit log)."""
        days = self.settings.retention_days if older_than_days is None else older_than_days
        if days < 0:
            raise ValueError("older_than_days must be 0 or more")
        now = self.clock()
        limits = self._limits(now, now - timedelta(days=days))
        async with self._lock:
            if dry_run:
                return await self._preview_purge(limits, days)
            await self._resume_unlocked()
            due = await self.store.read(
                lambda reader: ErasureRecords(reader).purge_due(
                    cutoff=limits.cutoff, escalation_cutoff=limits.escalation, audit_cutoff=limits.audit,
                    now=limits.now,
                )
            )
            if not due:
                return PurgeReport(limits.cutoff, days, slack_action=self.settings.slack_card_retention)
            run_id = await self.store.write_patiently(
                lambda: self.records.start_purge(cutoff=limits.cutoff, requested_by=requested_by, now=now)
            )
            log.info("purge run %d started: mentions collected before %s", run_id, iso(limits.cutoff))
            counts = await self._continue_purge(run_id, limits)
        return PurgeReport.of(counts, limits.cutoff, days, slack_action=self.settings.slack_card_retention)

    async def resume(self) -> list[ErasureReport | PurgeReport]:
        """Finish the runs a kill left unfinished, oldest first (none: nothing happens)."""
        async with self._lock:
            return await self._resume_unlocked()

    # The daily job and the start ------------------------------------------------------------------------------

    async def scheduled_purge(self) -> None:
        await self._logged("retention purge", self.purge(requested_by="schedule"))

    async def resume_interrupted(self) -> None:
        await self._logged("interrupted erasures", self.resume())

    async def _logged(self, what: str, work: Awaitable[PurgeReport | list[ErasureReport | PurgeReport]]) -> None:
        """Run a job of the bot's; a failure is logged (the next run resumes it), never raised into the scheduler."""
        try:
            result = await work
        except ErasureIncomplete as error:
            log.warning("%s: %s", what, error)
        except DatabaseUnavailable as error:
            log.error("%s stopped: %s; the next run resumes it", what, error)
        except DatabaseError as error:
            log.error("%s stopped: %s; the next run resumes it", what, database_problem(error, self.store.path))
        except Exception:
            log.exception("%s failed; the next run resumes it", what)
        else:
            for report in result if isinstance(result, list) else [result]:
                log.info("%s: %d mention(s) erased, %d Slack message(s) queued for removal", what, report.mentions,
                         report.slack_messages)

    def labels_of(self, author: str, source: str | None) -> tuple[AuthorLabel, ...]:
        """The `[[author]]` tables of the watchers file that label this author (the operator removes them)."""
        wanted = normal_handle(author)
        return tuple(
            label
            for label in self.authors()
            if (source is None or label.source in (None, source))
            and any(value and normal_handle(value) == wanted for value in (label.handle, label.name))
        )

    # Forget -------------------------------------------------------------------------------------------------

    async def _continue_forget(self, run_id: int, author: str | None, source: str | None) -> ErasureCounts:
        if author:
            ids = await self._author_mentions(author, source)
            quoted = await self.store.read(lambda reader: ErasureRecords(reader).author_names(ids))
            secret = self.key.ensure()
            await self._erase_ids(run_id, ids, self._removal("author_request"),
                                  lambda src, external_id, _: keyed_hash(secret, item_key(src, external_id)))
            await self._clear_quoting(run_id, {author, *quoted})
        return await self._finish(run_id)

    async def _preview_forget(
        self, author: str, source: str | None, labels: tuple[AuthorLabel, ...]
    ) -> ErasureReport:
        secret = self.key.load()
        already = secret is not None and self.records.is_suppressed(keyed_hash(secret, author_key(author, source)))
        ids = await self._author_mentions(author, source)
        quoted = await self.store.read(lambda reader: ErasureRecords(reader).author_names(ids))
        counts = await self._erase_ids(None, ids, self._removal("author_request"), _dry_hash, dry_run=True)
        needles = _needles({author, *quoted})
        notices = await self.store.read(lambda reader: ErasureRecords(reader).notices_quoting(needles))
        counts += ErasureCounts(notices=len(notices))
        return ErasureReport.of(counts, author, source, labels=labels, dry_run=True, suppressed=True,
                                already_suppressed=already, slack_action=self.settings.slack_card_retention)

    async def _author_mentions(self, author: str, source: str | None) -> list[int]:
        """Reads every mention (about a second for a million): in a worker thread."""
        return await self.store.read(lambda reader: AuthorRecords(reader).mention_ids(author, source))

    async def _holds_anything(self, author: str, source: str | None) -> bool:
        if await self._author_mentions(author, source):
            return True
        needles = _needles({author})
        return bool(await self.store.read(lambda reader: ErasureRecords(reader).notices_quoting(needles)))

    async def _clear_quoting(self, run_id: int, names: set[str]) -> None:
        """Clear the stored digests and alerts that quote the author (their Slack copies stay)."""
        needles = _needles(names)
        notice_ids = await self.store.read(lambda reader: ErasureRecords(reader).notices_quoting(needles))
        if notice_ids:
            await self._step("notices", lambda size: self.records.clear_notices(run_id, notice_ids, now=self.clock()))

    # Purge --------------------------------------------------------------------------------------------------

    def _limits(self, now: datetime, cutoff: datetime) -> _Limits:
        settings = self.settings
        return _Limits(
            cutoff=cutoff,
            escalation=now - timedelta(days=settings.escalation_retention_days),
            audit=now - timedelta(days=settings.audit_retention_days),
            collection=now - timedelta(days=settings.retention_days),
            now=now,
        )

    async def _continue_purge(self, run_id: int, limits: _Limits) -> ErasureCounts:
        removal = self._removal("retention", limits)
        await self._walk_expired(run_id, limits, removal, self._purge_remember(limits.collection))
        records, now = self.records, self.clock
        await self._repeat("notices", lambda size: records.clear_old_notices(
            run_id, cutoff=limits.cutoff, limit=size, now=now()))
        for what, cutoff in (("poll_failures", limits.cutoff), ("spikes", limits.cutoff),
                             ("removals", limits.now), ("audit_log", limits.audit)):
            await self._repeat(what, lambda size, what=what, cutoff=cutoff: records.delete_old(
                run_id, what, cutoff=cutoff, limit=size, now=now()))
        await self._repeat("claims", lambda size: records.delete_closed_claims(
            run_id, cutoff=limits.escalation, limit=size, now=now()))
        return await self._finish(run_id)

    async def _walk_expired(
        self, run_id: int | None, limits: _Limits, removal: SlackRemoval | None, remember: Remember,
        dry_run: bool = False,
    ) -> ErasureCounts:
        """Finished escalations past their retention, then mentions past theirs, each walked by id."""
        records, now = self.records, self.clock

        def escalations(after: int, size: int) -> Step:
            return records.erase_expired_escalations(
                run_id, after_id=after, cutoff=limits.cutoff, escalation_cutoff=limits.escalation, limit=size,
                removal=removal, now=now(), dry_run=dry_run)

        def mentions(after: int, size: int) -> Step:
            return records.erase_expired_mentions(
                run_id, after_id=after, limit=size, cutoff=limits.cutoff, escalation_cutoff=limits.escalation,
                removal=removal, remember=remember, now=now(), dry_run=dry_run)

        total = ErasureCounts()
        for phase, step in (("escalations", escalations), ("mentions", mentions)):
            after = 0
            in_flight: list[int] = []
            while True:
                result = await self._step(phase, partial(step, after))
                total += result.counts
                in_flight.extend(result.in_flight)
                after = result.last_id
                if not result.more:
                    break
                await self._between_steps(dry_run)
            if not dry_run:
                total += await self._settle_in_flight(run_id, in_flight, removal, remember)
        return total

    def _purge_remember(self, collection: datetime) -> Remember:
        """A purged post is remembered (keyed hash) only if a feed could bring it back and have it stored again:
        one dated before `collection` is dropped at collection anyway. Most purged posts are, so `erased_items`
        stays small."""
        oldest = iso(collection)
        key = self.key

        def remember(source: str, external_id: str, created_at: str | None) -> str | None:
            if created_at is not None and created_at < oldest:
                return None
            return keyed_hash(key.ensure(), item_key(source, external_id))

        return remember

    async def _preview_purge(self, limits: _Limits, days: int) -> PurgeReport:
        counts = await self._walk_expired(None, limits, self._removal("retention", limits), _dry_hash, dry_run=True)

        def old_rows(reader: Store) -> ErasureCounts:
            records = ErasureRecords(reader)
            return ErasureCounts(
                notices=records.count_old_notices(cutoff=limits.cutoff),
                poll_failures=records.count_old("poll_failures", cutoff=limits.cutoff),
                spikes=records.count_old("spikes", cutoff=limits.cutoff),
                outbox_rows=records.count_old("removals", cutoff=limits.now),
                audit_entries=records.count_old("audit_log", cutoff=limits.audit),
                claims=records.count_closed_claims(cutoff=limits.escalation),
            )

        counts += await self.store.read(old_rows)
        return PurgeReport.of(counts, limits.cutoff, days, dry_run=True,
                              slack_action=self.settings.slack_card_retention)

    # Runs ---------------------------------------------------------------------------------------------------

    async def _resume_unlocked(self) -> list[ErasureReport | PurgeReport]:
        reports: list[ErasureReport | PurgeReport] = []
        for run in self.records.unfinished():
            log.info("resuming %s run %d, interrupted", run.kind, run.id)
            if run.kind == "purge":
                reports.append(await self._resume_purge(run))
            else:
                counts = await self._continue_forget(run.id, run.author, run.source)
                reports.append(ErasureReport.of(
                    counts, run.author or "", run.source, labels=self.labels_of(run.author or "", run.source),
                    suppressed=True, resumed=True, slack_action=self.settings.slack_card_retention))
        return reports

    async def _resume_purge(self, run: ErasureRun) -> PurgeReport:
        cutoff = run.cutoff or run.requested_at - timedelta(days=self.settings.retention_days)
        counts = await self._continue_purge(run.id, self._limits(run.requested_at, cutoff))
        days = (run.requested_at - cutoff).days
        return PurgeReport.of(counts, cutoff, days, resumed=True, slack_action=self.settings.slack_card_retention)

    async def _finish(self, run_id: int) -> ErasureCounts:
        counts = await self.store.write_patiently(lambda: self.records.finish(run_id, self.clock()))
        if counts.anything and not await self.store.truncate_wal():
            log.warning("erasure run %d: readers kept the write-ahead log from being emptied; the next"
                        " checkpoint empties it", run_id)
        log.info("erasure run %d finished: %s", run_id, counts.to_json())
        return counts

    # Chunks -------------------------------------------------------------------------------------------------

    async def _erase_ids(
        self, run_id: int | None, ids: Sequence[int], removal: SlackRemoval | None, remember: Remember,
        *, dry_run: bool = False,
    ) -> ErasureCounts:
        position = 0
        in_flight: list[int] = []

        def step(size: int) -> Step:
            nonlocal position
            batch = ids[position : position + size]
            result = self.records.erase_mentions(run_id, batch, removal=removal, remember=remember,
                                                 now=self.clock(), dry_run=dry_run)
            position += len(batch)
            return Step(result.counts, more=position < len(ids), in_flight=result.in_flight, stories=result.stories)

        total = await self._repeat("mentions", step, in_flight, dry_run=dry_run)
        if not dry_run:
            total += await self._settle_in_flight(run_id, in_flight, removal, remember)
        return total

    async def _settle_in_flight(
        self, run_id: int | None, ids: list[int], removal: SlackRemoval | None, remember: Remember
    ) -> ErasureCounts:
        """Erase the mentions left because a card of theirs was being posted, once Slack has answered."""
        total = ErasureCounts()
        for _ in range(IN_FLIGHT_TRIES):
            if not ids:
                return total
            await asyncio.sleep(IN_FLIGHT_PAUSE)
            result = await self._step("mentions", lambda size, waiting=list(ids): self.records.erase_mentions(
                run_id, waiting, removal=removal, remember=remember, now=self.clock()))
            total += result.counts
            ids = list(result.in_flight)
        if ids:
            waited = round(IN_FLIGHT_PAUSE * IN_FLIGHT_TRIES)
            raise ErasureIncomplete(Phrase.of("privacy.erasure_incomplete", count=len(ids), seconds=waited))
        return total

    async def _between_steps(self, dry_run: bool) -> None:
        """Let the loop serve others, and the log be copied into the database before the next step writes more
        (a dry run writes nothing to copy)."""
        if dry_run:
            await asyncio.sleep(0)
        else:
            await self.store.catch_up_wal()

    async def _repeat(
        self, phase: str, step: Callable[[int], Step], in_flight: list[int] | None = None, *, dry_run: bool = False
    ) -> ErasureCounts:
        """`step` until it says there is no more, yielding to the loop between two."""
        total = ErasureCounts()
        while True:
            result = await self._step(phase, step)
            total += result.counts
            if in_flight is not None:
                in_flight.extend(result.in_flight)
            if not result.more:
                return total
            await self._between_steps(dry_run)

    async def _step(self, phase: str, step: Callable[[int], Step]) -> Step:
        """One transaction of `phase`, sized to hold the loop about `hold_target`: the next size follows the time
        this one took (at most doubling, so that one quick step cannot make the next one long)."""
        size = self._sizes.get(phase, FIRST_CHUNK)

        def timed() -> Step:
            started = time.perf_counter()
            try:
                return step(size)
            finally:
                elapsed = time.perf_counter() - started
                self.longest_step = max(self.longest_step, elapsed)
                scaled = int(size * self.hold_target / max(elapsed, 1e-4))
                self._sizes[phase] = max(1, min(scaled, size * 2, MAX_CHUNK))

        result = await self.store.write_patiently(timed)
        if result.stories:
            self.on_stories_changed(result.stories)
        return result

    def _removal(self, reason: str, limits: _Limits | None = None) -> SlackRemoval | None:
        """How the bot's Slack copies go; a purge's notice names the retention period that ended."""
        action = self.settings.slack_card_retention
        days = (limits.now - limits.cutoff).days if limits is not None else None
        return None if action == "keep" else SlackRemoval(action, reason, days)


def _dry_hash(source: str, external_id: str, created_at: str | None) -> str:
    """A dry run computes no hash (it would need the key, which it must not make): its rows are rolled back."""
    return DRY_RUN_HASH


def _needles(names: set[str]) -> list[str]:
    """What a stored digest or alert shows of an author: their handle (with or without "@") or name."""
    found = {normal_handle(name) for name in names if name}
    return sorted(name for name in found if len(name) >= MIN_QUOTED_NAME)


def schedule_purge(scheduler: AsyncIOScheduler, privacy: PrivacyService) -> None:
    """The daily purge, at night in BOT_TIMEZONE; an erasure a kill interrupted is finished first, at start."""
    scheduler.add_job(
        privacy.scheduled_purge,
        CronTrigger(hour=PURGE_HOUR, minute=PURGE_MINUTE, timezone=privacy.settings.bot_timezone),
        id="privacy-purge",
        name="retention purge",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
