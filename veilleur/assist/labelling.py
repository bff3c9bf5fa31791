"""The LLM's stance and hostility labels on every newly stored mention, in batches, within the token budget.

Each mention is labelled toward its watcher's `subject` ("le projet de tramway"; by default what the watcher looks
for): for, against, question or neutral, and whether it insults, threatens or harasses someone. Mentions go in
batches as large as LLM_INPUT_TOKENS allows (each text cut to MENTION_CHARS), one request at a time, with the team's
latest corrections as examples. Only the text is sent, never the author (with PRIVACY_PROFILE=public-body, the
handles a text quotes are hidden too).

A mention is asked once (`labelled_at`), even when the model's answer skipped it or held nothing valid for it:
asking again would cost the same tokens for the same answer. When the LLM cannot answer (not configured, timeout,
error, the day's budget spent), nothing is marked and the job tries again later, backing off; the word list's
estimate stands meanwhile. The labelling starts from the mentions of the day before its first run
(`MentionLabels.first_to_label`): an upgrade does not send every mention ever stored.

The job runs in a task of its own, started after each poll's storing (`after_poll`) and at start-up, so neither
the poll nor the cards wait for the model. Its database steps are small: a page of the queue, one transaction per
batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from veilleur.assist.llm import LLM, LLMUnavailable, estimate_tokens, parse_json_object
from veilleur.assist.prompt_book import Fence, PromptBook
from veilleur.assist.pseudonyms import Pseudonyms
from veilleur.core.stances import LABELS, classify_lexically
from veilleur.core.text import one_line, title_then_text, truncate
from veilleur.core.watcher_config import WatcherConfig
from veilleur.storage.labels import Correction, MentionLabels, ModelLabel, Unlabelled
from veilleur.storage.store import DatabaseUnavailable, PollOutcome, Store, utcnow

log = logging.getLogger(__name__)

TASK = "stance"
TEMPLATE = "stance"
# A post's text is cut to this many characters: its stance shows in its first lines.
MENTION_CHARS = 600
EXAMPLE_CHARS = 300
EXAMPLES = 8
# At most this many mentions per request, however large LLM_INPUT_TOKENS is: the answer must fit too.
MAX_BATCH = 150
# Room for the guard and the subjects' list around the posts.
INSTRUCTION_TOKENS = 400
ANSWER_BASE_TOKENS = 40
ANSWER_TOKENS_PER_MENTION = 20
# After a failure, the next try waits this long, doubling up to RETRY_MAX (a spent budget waits RETRY_MAX).
RETRY_FIRST = 60.0
RETRY_MAX = 3600.0


@dataclass(frozen=True, slots=True)
class Batch:
    """One request's data (to be fenced) and the mentions it asks about, by their number in it (1, 2...)."""

    data: str
    mentions: dict[int, Unlabelled]


class Labeller:
    def __init__(
        self,
        store: Store,
        llm: LLM,
        prompts: PromptBook,
        watchers: Callable[[], Mapping[str, WatcherConfig]],
        *,
        lang: str,
        on_cards_changed: Callable[[list[int]], None] = lambda card_ids: None,
        enabled: bool = True,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`watchers`: the running watchers' configurations, by name (their subjects); `on_cards_changed` gets the
        posted cards whose shown stance or hostility the model changed, to redraw. `enabled`: LLM_LABELLING."""
        self.store = store
        self.labels = MentionLabels(store)
        self.llm = llm
        self.prompts = prompts
        self.watchers = watchers
        self.lang = lang
        self.on_cards_changed = on_cards_changed
        self.enabled = enabled
        self.clock = clock
        self.monotonic = monotonic  # when the next try may run after a failure
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._retry_at = 0.0
        self._failures = 0

    # Starting ---------------------------------------------------------------------------------------------

    def trigger(self) -> None:
        """Label what waits, in a task of its own; returns at once. Called while a run is under way, that run goes
        round once more when done."""
        if not (self.enabled and self.llm.configured):
            return
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name="labelling")

    async def after_poll(self, config: WatcherConfig, outcome: PollOutcome) -> None:
        """Poller.after_record hook: a poll that stored new mentions starts a run, without waiting for it."""
        if outcome.new_mentions:
            self.trigger()

    async def settled(self) -> None:
        """Wait for the run under way, if any (tests, shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.gather(self._task, return_exceptions=True)

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        try:
            while True:
                self._again = False
                await self.label_waiting()
                if not self._again:
                    return
        except Exception:
            log.exception("stance labelling failed; the next poll starts it again")

    # Labelling --------------------------------------------------------------------------------------------

    async def label_waiting(self) -> int:
        """Ask the model about the mentions waiting, batch after batch, until none is left or it cannot answer;
        how many mentions were marked as asked. Does nothing while backing off after a failure."""
        if self.monotonic() < self._retry_at:
            return 0
        since = self.labels.first_to_label(self.clock())
        asked = 0
        while waiting := self.labels.unlabelled(since, MAX_BATCH):
            try:
                asked += await self._label(waiting)
            except LLMUnavailable as failure:
                self._back_off(failure.reason)
                return asked
            except DatabaseUnavailable as error:
                log.warning("stance labels not stored (%s): asked again later", error)
                self._back_off("error")
                return asked
        self._failures = 0
        return asked

    async def _label(self, waiting: Sequence[Unlabelled]) -> int:
        batch = self.batch(waiting, self.labels.recent_corrections(EXAMPLES), self.watchers())
        fence = Fence.new()
        prompt = self.prompts.prompt(TEMPLATE, fence.wrap(batch.data), fence, count=len(batch.mentions))
        max_tokens = ANSWER_BASE_TOKENS + ANSWER_TOKENS_PER_MENTION * len(batch.mentions)
        text = await self.llm.complete(TASK, prompt, max_tokens=max_tokens)
        try:
            answers = read_answer(parse_json_object(text), batch.mentions)
        except LLMUnavailable as failure:
            # The model answered, with nothing usable: asking again would cost as much for the same answer.
            log.warning("stance labels: the model's answer was not valid (%s); %d mentions keep the word list's "
                        "estimate", failure, len(batch.mentions))
            answers = {}
        asked = [mention.id for mention in batch.mentions.values()]
        await self.store.write_patiently(lambda: self.labels.record_model(asked, answers, self.clock()))
        changed = shown_changes(batch.mentions.values(), answers)
        if changed:
            cards = self.store.posted_cards(changed)
            if cards:
                self.on_cards_changed(cards)
        self._failures = 0
        await asyncio.sleep(0)  # Slack's acks and the polls go between batches
        return len(asked)

    def batch(
        self, waiting: Sequence[Unlabelled], corrections: Sequence[Correction], watchers: Mapping[str, WatcherConfig]
    ) -> Batch:
        """As many of `waiting` (in order, at least one) as fit LLM_INPUT_TOKENS with the examples and subjects."""
        pseudonyms = Pseudonyms(self.lang, active=self.llm.pseudonymise)
        subjects: dict[str, str] = {}  # watcher -> "S1"...

        def subject_key(watcher: str) -> str:
            return subjects.setdefault(watcher, f"S{len(subjects) + 1}")

        examples = [
            f"E{number}. [{subject_key(item.watcher)}] "
            f"{_post_text(item.title, item.text, EXAMPLE_CHARS, pseudonyms)} => {item.stance}"
            for number, item in enumerate(reversed(corrections), start=1)
        ]
        budget = (
            self.llm.input_tokens - INSTRUCTION_TOKENS - estimate_tokens(self.prompts.template(TEMPLATE))
            - sum(estimate_tokens(line) + 1 for line in examples)
        )
        lines: list[str] = []
        chosen: dict[int, Unlabelled] = {}
        used = 0
        for mention in waiting:
            new_subject = mention.watcher not in subjects
            key = subject_key(mention.watcher)
            line = f"{len(chosen) + 1}. [{key}] {_post_text(mention.title, mention.text, MENTION_CHARS, pseudonyms)}"
            cost = estimate_tokens(line) + 1 + (
                estimate_tokens(subject_line(key, mention.watcher, watchers)) if new_subject else 0
            )
            if chosen and used + cost > budget:
                if new_subject:
                    del subjects[mention.watcher]
                break
            lines.append(line)
            chosen[len(chosen) + 1] = mention
            used += cost
        parts = ["Subjects:", *(subject_line(key, watcher, watchers) for watcher, key in subjects.items())]
        if examples:
            parts += ["", "Examples corrected by the team (post => stance):", *examples]
        parts += ["", "Posts to label:", *lines]
        return Batch(data="\n".join(parts), mentions=chosen)

    def _back_off(self, reason: str) -> None:
        """No try before a while: RETRY_FIRST, doubling with each failure in a row; RETRY_MAX for a spent budget."""
        self._failures += 1
        delay = RETRY_MAX if reason == "budget" else min(RETRY_FIRST * 2 ** (self._failures - 1), RETRY_MAX)
        self._retry_at = self.monotonic() + delay
        log.warning("stance labelling paused for %.0f s: %s", delay, reason)


def subject_line(key: str, watcher: str, watchers: Mapping[str, WatcherConfig]) -> str:
    """"S1: le projet de tramway", or, for a watcher without a subject, what it looks for."""
    config = watchers.get(watcher)
    if config is not None and config.subject:
        return f"{key}: {one_line(config.subject)}"
    if config is not None:
        return f'{key}: what the watcher "{watcher}" looks for, its query being: {one_line(config.query.text)}'
    return f'{key}: what the watcher "{watcher or "?"}" looks for'


def read_answer(answer: dict[str, Any], mentions: Mapping[int, Unlabelled]) -> dict[int, ModelLabel]:
    """The model's labels by mention id. The answer is data: entries for unknown numbers, stances other than
    LABELS and hostility other than true or false are left out; the first entry for a number wins."""
    labels: dict[int, ModelLabel] = {}
    entries = answer.get("labels")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        number = entry.get("id")
        if not isinstance(number, int) or isinstance(number, bool) or number not in mentions:
            continue
        mention_id = mentions[number].id
        if mention_id in labels:
            continue
        raw = entry.get("stance")
        stance = raw.strip().casefold() if isinstance(raw, str) else None
        hostile = entry.get("hostile")
        labels[mention_id] = ModelLabel(
            stance=stance if stance in LABELS else None, hostile=hostile if isinstance(hostile, bool) else None
        )
    return labels


def shown_changes(mentions: Iterable[Unlabelled], answers: Mapping[int, ModelLabel]) -> list[int]:
    """The mentions whose card must change: the model's stance differs from the word list's estimate shown until
    now (and no team correction overrides both), or the model found the post hostile."""
    changed = []
    for mention in mentions:
        answer = answers.get(mention.id)
        if answer is None:
            continue
        restanced = (
            mention.stance_team is None
            and answer.stance is not None
            and answer.stance != classify_lexically(title_then_text(mention.title, mention.text))
        )
        if restanced or answer.hostile:
            changed.append(mention.id)
    return changed


def _post_text(title: str, text: str, limit: int, pseudonyms: Pseudonyms) -> str:
    return truncate(one_line(pseudonyms.hide(title_then_text(title, text))), limit)
