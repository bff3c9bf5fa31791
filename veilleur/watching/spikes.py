"""Spike alerts: a watcher whose mentions suddenly take off tells the team within one poll.

The rule (checked after every poll that brought new cards, see `is_spike`):

- a mention's time is when it was published, or when the bot first saw it if its source gave no date, and never
  later than that first sight: a catch-up poll after a day of downtime spreads its posts over the day instead of
  piling them into the last hour, and a post dated in the future counts when it was seen;
- the mentions counted are the watcher's cards (deliveries of kind 'card'), except the backlog of its first poll
  (the quiet ones and the backfill);
- `recent` is the count in the last hour, (now - 1 h, now]; the baseline is the mean count in the same one-hour
  window, by the clock of BOT_TIMEZONE, on each of the last 14 days the watcher was already watching (a window
  starting before its first poll is left out, rather than counted as a quiet hour);
- a spike is `recent >= SPIKE_MIN_MENTIONS` and `recent >= SPIKE_FACTOR * max(baseline, BASELINE_FLOOR)`, and no
  alert for that watcher in the last SPIKE_COOLDOWN (alerts are recorded in the `spikes` table at detection).

Detection runs on the loop's thread after every poll, so it must stay fast whatever the volume: each counted
card's time is copied once into `spike_times` (by delivery id, so cards made by any process are caught up,
SYNC_BATCH deliveries per transaction with the loop served between them), and an hour's count is then an index
range. The alert's content (top terms, sources, most-reached mentions, the extractive summary) is read in a worker
thread on a read connection of its own (`Store.read`); the LLM's summary is written in a task, which then lets the
held message go.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from veilleur.assist.conversations import Post
from veilleur.assist.llm import LLM, LLMUnavailable, estimate_tokens
from veilleur.assist.prompt_book import Fence, PromptBook
from veilleur.assist.pseudonyms import REAL_NAMES, Pseudonyms
from veilleur.assist.summarize import central_posts
from veilleur.core.i18n import Phrase
from veilleur.core.language import language_name, topic_words
from veilleur.core.query import Query
from veilleur.core.settings import Settings
from veilleur.core.stance_labels import tally_stances
from veilleur.core.text import one_line, title_then_text, truncate
from veilleur.core.watcher_config import WatcherConfig
from veilleur.storage.labels import MentionLabels, StoredLabels
from veilleur.storage.spikes import SpikeRecords
from veilleur.storage.store import PollOutcome, Store, iso, utcnow
from veilleur.watching import spike_cards
from veilleur.watching.spike_facts import SpikeFacts, SpikeMention, SpikeSummary, Volume

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
BASELINE_DAYS = 14
TOP_TERMS = 8
TOP_SOURCES = 6
TOP_MENTIONS = 3
# A term in a single mention says nothing about what is taking off.
MIN_TERM_MENTIONS = 2
# The content of an alert is read from at most this many of its mentions (the most reached); counts use them all.
FACT_MENTIONS = 1000
PROMPT_MENTIONS = 40
PROMPT_LINE_CHARS = 400
INSTRUCTION_TOKENS = 800
SUMMARY_TOKENS = 300
SUMMARY_CHARS = 600
HOLD_MARGIN = 30.0  # seconds an alert waits for its LLM summary beyond the LLM's own deadline
# Deliveries whose times are copied per transaction: about 1 ms per 1,000 (bench_after_poll.py's catch-up).
SYNC_BATCH = 5000


@dataclass(frozen=True, slots=True)
class SpikeRule:
    factor: float = 3.0
    min_mentions: int = 10
    cooldown: timedelta = timedelta(hours=6)
    channel: str | None = None  # None: each watcher's own channel

    @classmethod
    def from_settings(cls, settings: Settings) -> SpikeRule:
        return cls(
            factor=settings.spike_factor,
            min_mentions=settings.spike_min_mentions,
            cooldown=settings.spike_cooldown,
            channel=settings.spike_channel,
        )


def hour_windows(now: datetime, tz: ZoneInfo, days: int = BASELINE_DAYS) -> list[tuple[datetime, datetime]]:
    """The last hour, then the one-hour window ending at the same clock time (in `tz`) on each of the `days`
    previous days, yesterday first. Aware UTC datetimes; a window is (start, end]."""
    local = now.astimezone(tz)
    ends = [now.astimezone(UTC)]
    # Arithmetic on a ZoneInfo datetime is wall-clock arithmetic: across a DST change the clock time stays.
    ends += [(local - timedelta(days=day)).astimezone(UTC) for day in range(1, days + 1)]
    return [(end - HOUR, end) for end in ends]


async def catch_up_times(records: SpikeRecords) -> None:
    """`copy_card_times` in transactions of SYNC_BATCH deliveries, the loop served between them: after downtime, or
    when another process stored cards, there may be 100,000 to copy."""
    records.copy_card_times(SYNC_BATCH)
    while records.times_behind():
        await asyncio.sleep(0)
        records.copy_card_times(SYNC_BATCH)


def measure(store: Store, watcher: str, now: datetime, tz: ZoneInfo) -> Volume | None:
    """The watcher's volume in the last hour and in the same hour of the last 14 days; None if never polled.

    Reads `spike_times`: call `SpikeRecords.copy_card_times` first.
    """
    first_poll = store.watcher_status(watcher).first_polled_at
    if first_poll is None:
        return None
    windows = hour_windows(now, tz)
    watched = [window for window in windows[1:] if iso(window[0]) >= first_poll]
    counted = [windows[0], *watched]
    counts = SpikeRecords(store).counts_in(watcher, counted)
    return Volume(
        watcher=watcher, start=windows[0][0], end=windows[0][1], recent=counts[0], history=tuple(counts[1:])
    )


def is_spike(volume: Volume, rule: SpikeRule) -> bool:
    return volume.recent >= rule.min_mentions and volume.recent >= rule.factor * volume.reference


def gather_facts(store: Store, volume: Volume, query: Query | None = None) -> SpikeFacts:
    """The sources, top terms, most-reached mentions and stances of the last hour's mentions.

    The watcher's own query words are left out of the terms: every one of its mentions has them.
    """
    records = SpikeRecords(store)
    sources = tuple(records.sources_between(volume.watcher, volume.start, volume.end))
    sample = [
        SpikeMention(found.id, found.mention, found.at)
        for found in records.most_reached(volume.watcher, volume.start, volume.end, FACT_MENTIONS)
    ]
    top = sorted(
        sample, key=lambda s: (-(s.mention.author_reach or 0), -s.interactions, -s.at.timestamp())
    )[:TOP_MENTIONS]
    labels = MentionLabels(store).labels_of([found.id for found in sample])
    stances = tally_stances([
        labels.get(found.id, StoredLabels()).stance(title_then_text(found.mention.title, found.mention.text))
        for found in sample
    ])
    return SpikeFacts(
        volume=volume,
        terms=top_terms(sample, query_words(query) if query is not None else ()),
        sources=sources[:TOP_SOURCES],
        top=tuple(top),
        sample=tuple(sample),
        stances=stances,
    )


def query_words(query: Query) -> tuple[str, ...]:
    """The folded words a query looks for; a prefix keeps its "*"."""
    return tuple(dict.fromkeys(word.lstrip("#") for term in query.terms() for word in term.split()))


def top_terms(mentions: Sequence[SpikeMention], excluded: Sequence[str] = ()) -> tuple[tuple[str, int], ...]:
    """The folded words found in most mentions (each mention counts once), stop words and `excluded` left out.

    An excluded word ending in "*" leaves out every word it starts.
    """
    exact = {word for word in excluded if not word.endswith("*")}
    prefixes = tuple(word[:-1] for word in excluded if word.endswith("*"))
    found: Counter[str] = Counter()
    for mention in mentions:
        found.update({folded for folded, _ in topic_words(f"{mention.mention.title} {mention.mention.text}")})
    ranked = sorted(
        (
            (word, count)
            for word, count in found.items()
            if count >= MIN_TERM_MENTIONS
            and word not in exact
            and not (prefixes and word.startswith(prefixes))
        ),
        key=lambda pair: (-pair[1], pair[0]),
    )
    return tuple(ranked[:TOP_TERMS])


async def summarize_spike(facts: SpikeFacts, llm: LLM | None, prompts: PromptBook, lang: str) -> SpikeSummary:
    """Two sentences on what the mentions are about, by the LLM; the extractive sentence if it cannot. Never
    raises for want of an LLM."""
    if llm is None or not llm.configured:
        return await _extract(facts, reason="not_configured")
    try:
        text = await _ask_llm(facts, llm, prompts, lang)
    except LLMUnavailable as failure:
        return await _extract(facts, reason=failure.reason, detail=failure.detail)
    cleaned = truncate(one_line(text), SUMMARY_CHARS)
    if not cleaned:
        return await _extract(facts, reason="error", detail=Phrase.of("llm.empty"))
    return SpikeSummary(cleaned)


async def _extract(facts: SpikeFacts, *, reason: str, detail: str | Phrase = "") -> SpikeSummary:
    """`extractive_summary` in a worker thread: comparing up to FACT_MENTIONS texts takes a tenth of a second."""
    return await asyncio.to_thread(extractive_summary, facts, reason=reason, detail=detail)


async def _ask_llm(facts: SpikeFacts, llm: LLM, prompts: PromptBook, lang: str) -> str:
    budget = llm.input_tokens - INSTRUCTION_TOKENS - estimate_tokens(prompts.template("spike"))
    pseudonyms = Pseudonyms(lang, active=llm.pseudonymise)
    sent = facts.sample[:PROMPT_MENTIONS]
    for found in sent:
        pseudonyms.author(found.mention.author_handle, found.mention.author_name)
    lines: list[str] = []
    for number, mention in enumerate(sent, start=1):
        line = prompt_line(number, mention, pseudonyms)
        budget -= estimate_tokens(line) + 1
        if budget < 0:
            break
        lines.append(line)
    fence = Fence.new()
    prompt = prompts.prompt(
        "spike",
        fence.wrap("\n".join(lines)),
        fence,
        language=language_name(lang),
        recent=facts.volume.recent,
        shown=len(lines),
    )
    return pseudonyms.reveal(await llm.complete("spike", prompt, max_tokens=SUMMARY_TOKENS))


def prompt_line(number: int, found: SpikeMention, pseudonyms: Pseudonyms = REAL_NAMES) -> str:
    """"3. mastodon, Ann [reach 1200]: title. text", on one line (with active `pseudonyms`, "Author 2" and the
    people the text names hidden)."""
    mention = found.mention
    reach = f" [{pseudonyms.reach(mention.author_reach)}]" if mention.author_reach is not None else ""
    shown = mention.author_name or mention.author_handle
    author = one_line(pseudonyms.author(mention.author_handle, mention.author_name, shown=shown)) if shown else "?"
    body = one_line(pseudonyms.hide(f"{mention.title}. {mention.text}" if mention.title else mention.text))
    return f"{number}. {mention.source}, {author}{reach}: {truncate(body, PROMPT_LINE_CHARS)}"


def extractive_summary(facts: SpikeFacts, *, reason: str, detail: str | Phrase = "") -> SpikeSummary:
    """The mention most like all the others (see summarize.central_posts), quoted: labelled, never invented."""
    posts = [
        Post(author=m.author_name or m.author_handle, handle=m.author_handle, text=f"{m.title}\n{m.text}".strip(),
             source=m.source)
        for m in (found.mention for found in facts.sample)
    ]
    chosen = central_posts(posts, 1) or posts[:1]
    if not chosen:
        return SpikeSummary("", fallback=reason, detail=detail)
    post = chosen[0]
    return SpikeSummary(post.text, fallback=reason, detail=detail, author=post.author, source=post.source or "")


def alert_content(
    store: Store, volume: Volume, query: Query, reason: str, detail: str | Phrase = ""
) -> tuple[SpikeFacts, SpikeSummary]:
    """What an alert says, and its extractive summary (labelled with `reason`): reads only, for `Store.read`."""
    facts = gather_facts(store, volume, query)
    return facts, extractive_summary(facts, reason=reason, detail=detail)


class SpikeWatch:
    """The after-poll hook: detects spikes, records them, and has their alert written and queued in a task."""

    def __init__(
        self,
        store: Store,
        rule: SpikeRule,
        *,
        llm: LLM | None,
        prompts: PromptBook,
        lang: str,
        tz: ZoneInfo,
        on_queued: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = utcnow,
        reach_tiers: bool = False,
    ) -> None:
        self.store = store
        self.reach_tiers = reach_tiers
        self.records = SpikeRecords(store)
        self.rule = rule
        self.llm = llm
        self.prompts = prompts
        self.lang = lang
        self.tz = tz
        self.on_queued = on_queued
        self.clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    async def after_poll(self, config: WatcherConfig, outcome: PollOutcome) -> None:
        """Poller.after_record hook. Only a poll that brought new cards can start a spike."""
        if outcome.cards:
            await self.check(config, self.clock())

    async def check(self, config: WatcherConfig, now: datetime) -> int | None:
        """Detect a spike for `config` at `now`; if there is one, record it and start writing its alert.
        Returns the recorded spike's id, or None. The Poller never runs two checks of one watcher at once."""
        await catch_up_times(self.records)
        self.records.forget_times(config.name, now - timedelta(days=BASELINE_DAYS + 1))
        # The cheap tests first: most polls stop at the last hour's count.
        if self.records.count_between(config.name, now - HOUR, now) < self.rule.min_mentions:
            return None
        last = self.records.last_alert_at(config.name)
        if last is not None and now - last < self.rule.cooldown:
            return None
        volume = measure(self.store, config.name, now, self.tz)
        if volume is None or not is_spike(volume, self.rule):
            return None
        channel = self.rule.channel or config.channel
        # The alert is queued at once with an extractive summary, held while the LLM writes the real one: if the
        # bot stops in between, the alert is still posted (labelled), never lost, and the cooldown stays true.
        llm = self.llm if self.llm is not None and self.llm.configured else None
        if llm is not None:
            facts, placeholder = await self.store.read(alert_content, volume, config.query, "error", "interrupted")
            hold: datetime | None = utcnow() + timedelta(seconds=llm.deadline + HOLD_MARGIN)
        else:
            facts, placeholder = await self.store.read(alert_content, volume, config.query, "not_configured")
            hold = None
        spike_id, notice_id = self.records.record_alert(
            watcher=config.name,
            channel=channel,
            at=volume.end,
            recent=volume.recent,
            baseline=volume.baseline,
            baseline_days=len(volume.history),
            message=self._message(facts, placeholder, volume),
            not_before=hold,
            summary_by=placeholder.fallback or "llm",
        )
        log.info(
            "spike on %s: %d mentions in the last hour, usual %.1f over %d days",
            config.name,
            volume.recent,
            volume.baseline,
            len(volume.history),
        )
        if hold is None:
            self.on_queued()
            return spike_id
        task = asyncio.get_running_loop().create_task(
            self._summarize(spike_id, notice_id, facts, volume), name=f"spike:{config.name}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return spike_id

    async def wait(self) -> None:
        """Until every alert being written is in the outbox."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _message(self, facts: SpikeFacts, summary: SpikeSummary, volume: Volume) -> dict[str, Any]:
        return spike_cards.spike_alert(
            facts, summary, until=volume.end + self.rule.cooldown, lang=self.lang, tz=self.tz,
            reach_tiers=self.reach_tiers,
        )

    async def _summarize(self, spike_id: int, notice_id: int, facts: SpikeFacts, volume: Volume) -> None:
        """The LLM's summary replaces the held placeholder, which then goes at once."""
        try:
            summary = await summarize_spike(facts, self.llm, self.prompts, self.lang)
            if self.store.fill_notice(notice_id, self._message(facts, summary, volume)):
                self.records.record_summary_by(spike_id, summary.fallback or "llm")
            self.on_queued()
        except Exception:
            log.exception("the summary of spike alert %d could not be written", spike_id)
