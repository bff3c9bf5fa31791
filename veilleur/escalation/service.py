"""Escalation to officials: raise it, route it, post it, follow it to the end, remind whoever is late.

A mention card is escalated by a reaction (ESCALATION_EMOJI), `/flag`, the "Flag to an official" message
shortcut or the card's Flag button. The escalation goes to ESCALATION_CHANNEL (else into the card's thread),
pinging the officials named by the person escalating, else those of the matching `[[route]]` tables, else
OFFICIALS. Its message carries the lifecycle buttons; the card shows where it stands. An escalation nobody has
acknowledged is reminded after ESCALATION_REMIND_AFTER of business time, then after twice as long each time.

Raising is idempotent: Slack retries events and several people react, and all of them end up listed on one
escalation. Every database change happens before the first `await` of a step, so two requests handled at
once on the event loop cannot both create an escalation.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.core.business_hours import add_business_time
from veilleur.core.errors import UserError
from veilleur.core.mentions import Mention
from veilleur.core.settings import USER_ID, Settings
from veilleur.core.text import truncate
from veilleur.core.watcher_config import ConfigProblem, RouteConfig, load_routes_file
from veilleur.escalation import cards as escalation_cards
from veilleur.slack import cards
from veilleur.slack.links import MessageRef
from veilleur.slack.targets import MentionRef, PostTarget, parse_target
from veilleur.storage.escalations import Escalation, EscalationStore
from veilleur.storage.labels import MentionLabels
from veilleur.storage.store import Delivery, Store, utcnow

log = logging.getLogger(__name__)

REMINDER_CHECK_SECONDS = 300
FINISH_OUTCOMES = ("not_ours", "dismissed")
TARGET_ECHO_LIMIT = 100
_USER_TOKEN = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
# Slack's escaped forms in command text (should_escape): shown to people as they typed them.
_SLACK_SEQUENCES = (
    (re.compile(r"<@[UW][A-Z0-9]+\|([^>]*)>"), r"@\1"),
    (re.compile(r"<@([UW][A-Z0-9]+)>"), r"@\1"),
    (re.compile(r"<#[CG][A-Z0-9]+\|([^>]*)>"), r"#\1"),
    (re.compile(r"<#([CG][A-Z0-9]+)>"), r"#\1"),
    (re.compile(r"<!subteam\^[A-Z0-9]+\|([^>]*)>"), r"\1"),
    (re.compile(r"<!([a-z]+)(?:\|[^>]*)?>"), r"@\1"),
    (re.compile(r"<(https?://[^|>]+)(?:\|[^>]*)?>"), r"\1"),
)


class NotAllowed(Exception):
    """Only the officials, the people who escalated and admins may close or dismiss an escalation."""

    def __init__(self, escalation: Escalation) -> None:
        super().__init__(f"not allowed to finish escalation {escalation.id}")
        self.escalation = escalation


# What `/flag` and the shortcut point at ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlagRequest:
    target: PostTarget
    officials: tuple[str, ...]
    note: str | None


def parse_flag_text(text: str) -> FlagRequest:
    """`<message link | mention URL | mention id> [@official…] [note]`, as Slack sends it with should_escape.

    Raises UserError with the usage, or naming what could not be understood.
    """
    words = text.strip().split(maxsplit=1)
    if not words:
        raise UserError("flag.usage")
    first, rest = words[0], (words[1] if len(words) > 1 else "")
    target = parse_target(first)
    if target is None:
        raise UserError("flag.bad_target", target=truncate(unslack(first), TARGET_ECHO_LIMIT))
    officials: list[str] = []
    while rest:
        head, _, tail = rest.partition(" ")
        user = _USER_TOKEN.match(head)
        if user is None:
            break
        officials.append(user[1])
        rest = tail.strip()
    note = unslack(rest).strip() or None
    return FlagRequest(target=target, officials=tuple(dict.fromkeys(officials)), note=note)


def reaction_name(reaction: str) -> str:
    """The emoji without its skin tone: `thumbsup::skin-tone-2` is `thumbsup`."""
    return reaction.split("::", 1)[0]


def unslack(text: str) -> str:
    """Command text as the person typed it: `<@U1|ann>` back to `@ann`, links unwrapped, entities decoded."""
    for pattern, replacement in _SLACK_SEQUENCES:
        text = pattern.sub(replacement, text)
    return html.unescape(text)


# The service ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolved:
    """The mention to escalate, and its card in Slack if it has one."""

    mention_id: int
    card: Delivery | None


@dataclass(frozen=True, slots=True)
class FlagResult:
    escalation: Escalation
    outcome: str  # created, joined (a new person), already (nothing new), finished (reaction on a finished one)


def load_routes(settings: Settings) -> tuple[list[RouteConfig], list[ConfigProblem]]:
    routes, problems = load_routes_file(settings.watchers_file)
    for problem in problems:
        log.error("%s: %s (this route is not used)", settings.watchers_file, problem)
    return routes, problems


class EscalationService:
    def __init__(
        self,
        store: Store,
        slack: AsyncWebClient,
        settings: Settings,
        routes: Sequence[RouteConfig] = (),
        *,
        render_card: Callable[[Delivery, Escalation], dict[str, Any]] | None = None,
    ) -> None:
        """`render_card(card, escalation)` draws a card as it should look now, given its escalation's new state
        (the bot's, with its story); without it, the card is drawn here with the escalation's status line."""
        self.store = store
        self.render_card = render_card
        self.records = EscalationStore(store)
        self.slack = slack
        self.settings = settings
        self.routes = tuple(routes)
        self.lang = settings.bot_language
        self.tz = settings.bot_timezone
        self._publishing: set[int] = set()  # escalations whose message is being posted right now

    # Finding what to escalate ------------------------------------------------------------------------------

    def card_at(self, channel: str, ts: str, thread_ts: str | None = None) -> Delivery | None:
        """Our card at this message, or the card in whose thread the message is."""
        card = self.store.card_for_message(channel, ts)
        if card is None and thread_ts and thread_ts != ts:
            card = self.store.card_for_message(channel, thread_ts)
        return card

    def resolve(self, target: PostTarget) -> Resolved:
        """The mention a target points at; raises UserError when there is none."""
        if isinstance(target, MessageRef):
            card = self.card_at(target.channel, target.ts, target.thread_ts)
            if card is None or card.mention_id is None:
                raise UserError("flag.not_a_card")
            return Resolved(card.mention_id, card)
        if isinstance(target, MentionRef):
            if not self.store.has_mention(target.mention_id):
                raise UserError("flag.not_found", target=str(target.mention_id))
            return Resolved(target.mention_id, self.store.latest_posted_card(target.mention_id))
        found = [Resolved(mid, self.store.latest_posted_card(mid)) for mid in self.store.mention_ids_at_url(target.url)]
        if not found:
            raise UserError("flag.not_found", target=truncate(target.url, TARGET_ECHO_LIMIT))
        # Several sources may link the same page: prefer the newest mention that has a card.
        return next((r for r in reversed(found) if r.card is not None), found[-1])

    def officials_for(self, watcher: str | None, mention: Mention) -> tuple[str, ...]:
        """The officials of every route matching the mention, else OFFICIALS."""
        routed = [o for route in self.routes if route.matches(watcher or "", mention) for o in route.officials]
        return tuple(dict.fromkeys(routed)) or self.settings.officials

    # Raising ---------------------------------------------------------------------------------------------------

    async def escalate(
        self,
        resolved: Resolved,
        *,
        user: str,
        via: str,
        note: str | None = None,
        officials: Sequence[str] = (),
        reopen: bool = True,
        now: datetime | None = None,
    ) -> FlagResult:
        """Escalate a mention, or add `user` to its escalation in progress.

        `officials` are the ones the person named. With `reopen` false (a reaction), a mention whose last
        escalation is finished is left alone: a reaction added later is most often agreement, not a new case.
        """
        now = now or utcnow()
        named = tuple(o for o in officials if USER_ID.match(o))
        latest = self.records.latest_for_mention(resolved.mention_id)
        if latest is not None and latest.in_progress:
            return await self._join(latest, user=user, via=via, note=note, officials=named, now=now)
        if latest is not None and not reopen:
            return FlagResult(latest, "finished")
        card = resolved.card
        channel = self.settings.escalation_channel or (card.channel if card else None)
        if channel is None:
            raise UserError("flag.no_channel")
        thread_ts = None if self.settings.escalation_channel or card is None else (card.thread_ts or card.slack_ts)
        watcher = card.watcher if card else self.store.watcher_of(resolved.mention_id)
        mention = self.store.mention(resolved.mention_id)
        escalation = self.records.create(
            resolved.mention_id,
            card_id=card.id if card else None,
            watcher=watcher,
            channel=channel,
            thread_ts=thread_ts,
            officials=named or self.officials_for(watcher, mention),
            user=user,
            via=via,
            note=note,
            now=now,
            next_reminder_at=self._reminder_after(now, 0),
        )
        return FlagResult(await self._publish(escalation), "created")

    async def _join(
        self, escalation: Escalation, *, user: str, via: str, note: str | None, officials: tuple[str, ...],
        now: datetime,
    ) -> FlagResult:
        new_person = all(e.user != user for e in escalation.escalators)
        if not self.records.join(escalation.id, user=user, via=via, note=note, officials=officials, now=now):
            return FlagResult(escalation, "already")
        updated = self.get(escalation.id)
        added = [o for o in updated.officials if o not in escalation.officials]
        # While the message is not posted yet, whoever is posting it shows this change too (see _publish).
        if updated.message_ts is not None:
            if note or added:
                await self._post(
                    updated.channel, escalation_cards.joined_note(user, note, added, self.lang), self._thread(updated)
                )
            await self._refresh(updated)
        return FlagResult(updated, "joined" if new_person else "already")

    async def publish_pending(self) -> None:
        """Post the escalations whose message Slack did not take (it failed, or the bot stopped meanwhile)."""
        for escalation in self.records.unposted():
            if escalation.in_progress and escalation.id not in self._publishing:
                await self._publish(escalation)

    async def _publish(self, escalation: Escalation) -> Escalation:
        """Post the escalation's message, tell the card's thread, and show the escalation on the card."""
        message = self._message(escalation)
        self._publishing.add(escalation.id)
        try:
            ts = await self._post(escalation.channel, message, escalation.thread_ts)
            if ts is None:
                return escalation
            permalink = await self._permalink(escalation.channel, ts)
            self.records.record_message(escalation.id, message_ts=ts, permalink=permalink)
        finally:
            self._publishing.discard(escalation.id)
        escalation = self.get(escalation.id)
        card = self._card(escalation)
        if card is not None and escalation.thread_ts is None:
            await self._post(card.channel, escalation_cards.thread_note(escalation, self.lang),
                             card.thread_ts or card.slack_ts)
        escalation = self.get(escalation.id)
        if self._message(escalation) != message:  # someone joined or moved it while it was being posted
            await self._update(escalation.channel, ts, self._message(escalation))
        await self._update_card(escalation)
        return escalation

    # Lifecycle ---------------------------------------------------------------------------------------------

    def get(self, escalation_id: int) -> Escalation:
        escalation = self.records.get(escalation_id)
        if escalation is None:
            raise UserError("escalation.gone")
        return escalation

    def mention(self, mention_id: int) -> Mention:
        return self.store.mention(mention_id)

    def mention_of(self, escalation: Escalation) -> Mention:
        return self.mention(escalation.mention_id)

    def may_finish(self, escalation: Escalation, user: str) -> bool:
        """Closing or dismissing is for the officials, whoever escalated it, and admins."""
        allowed = {*escalation.officials, *(e.user for e in escalation.escalators), *self.settings.admin_users}
        return user in allowed

    async def acknowledge(self, escalation_id: int, user: str, now: datetime | None = None) -> Escalation:
        now = now or utcnow()
        escalation = self.records.transition(
            escalation_id, "acknowledged", allowed_from=("open",), user=user, now=now,
            state="acknowledged", acknowledged_at=now, acknowledged_by=user, next_reminder_at=None,
        )
        await self._refresh(escalation)
        return escalation

    async def answer(self, escalation_id: int, user: str, text: str, now: datetime | None = None) -> Escalation:
        """Store the official's answer (answering also acknowledges) and show it on the card's thread."""
        now = now or utcnow()
        values: dict[str, Any] = {"state": "answered", "answered_at": now, "answered_by": user, "answer": text,
                                  "next_reminder_at": None}
        if self.get(escalation_id).acknowledged_at is None:
            values |= {"acknowledged_at": now, "acknowledged_by": user}
        escalation = self.records.transition(
            escalation_id, "answered", allowed_from=("open", "acknowledged"), user=user, now=now, detail=text,
            **values,
        )
        await self._refresh(escalation)
        card = self._card(escalation)
        if card is not None and escalation.thread_ts is None:
            await self._post(card.channel, escalation_cards.thread_answer(escalation, self.lang),
                             card.thread_ts or card.slack_ts)
        return escalation

    async def close(self, escalation_id: int, user: str, now: datetime | None = None) -> Escalation:
        now = now or utcnow()
        self._check_may_finish(self.get(escalation_id), user)
        escalation = self.records.transition(
            escalation_id, "closed", allowed_from=("answered",), user=user, now=now,
            state="closed", finished_at=now, finished_by=user,
        )
        await self._refresh(escalation)
        return escalation

    async def finish(
        self, escalation_id: int, user: str, outcome: str, reason: str, now: datetime | None = None
    ) -> Escalation:
        """End an escalation that will not be answered: `not_ours` or `dismissed`, with the reason why."""
        if outcome not in FINISH_OUTCOMES:
            raise ValueError(f"outcome must be one of {FINISH_OUTCOMES}, got {outcome!r}")
        now = now or utcnow()
        self._check_may_finish(self.get(escalation_id), user)
        escalation = self.records.transition(
            escalation_id, outcome, allowed_from=("open", "acknowledged"), user=user, now=now, detail=reason,
            state=outcome, finished_at=now, finished_by=user, reason=reason, next_reminder_at=None,
        )
        await self._refresh(escalation)
        return escalation

    def _check_may_finish(self, escalation: Escalation, user: str) -> None:
        if not self.may_finish(escalation, user):
            raise NotAllowed(escalation)

    # Queries -----------------------------------------------------------------------------------------------

    def in_progress(self) -> list[tuple[Escalation, Mention]]:
        """Escalations not finished yet, oldest first, each with its mention."""
        return [(escalation, self.mention_of(escalation)) for escalation in self.records.in_progress()]

    def answered_for(self, mention_id: int) -> Escalation | None:
        """The latest official answer about a mention (its `answer`, `answered_by`, `answered_at`), for drafting."""
        return self.records.answered_for_mention(mention_id)

    # Reminders -----------------------------------------------------------------------------------------------

    async def check(self, now: datetime | None = None) -> int:
        """The periodic job: post what is still unposted, then send the reminders that are due."""
        await self.publish_pending()
        return await self.remind_due(now or utcnow())

    async def remind_due(self, now: datetime) -> int:
        """Remind every escalation still waiting for acknowledgement whose time has come; reminders are only
        sent in business hours. Returns how many were reminded."""
        if not self.settings.business_hours.contains(now, self.tz):
            return 0
        reminded = 0
        for escalation in self.records.due_reminders(now):
            if escalation.message_ts is None or escalation.reminders_sent >= self.settings.escalation_max_reminders:
                continue
            message = escalation_cards.reminder(
                escalation, now=now, limit=self.settings.escalation_max_reminders, lang=self.lang
            )
            if await self._post(escalation.channel, message, self._thread(escalation)) is None:
                continue  # Slack is unreachable: the next check tries again
            self.records.record_reminder(
                escalation.id, now=now, next_reminder_at=self._reminder_after(now, escalation.reminders_sent + 1)
            )
            await self._direct_reminders(escalation, now)
            reminded += 1
        return reminded

    def _reminder_after(self, moment: datetime, sent: int) -> datetime | None:
        """When to remind next, after `sent` reminders: REMIND_AFTER, then twice as long each time."""
        if sent >= self.settings.escalation_max_reminders:
            return None
        delay: timedelta = self.settings.escalation_remind_after * 2**sent
        return add_business_time(moment, delay, self.settings.business_hours, self.tz)

    async def _direct_reminders(self, escalation: Escalation, now: datetime) -> None:
        message = escalation_cards.reminder_dm(escalation, self.mention_of(escalation), now=now, lang=self.lang)
        for official in escalation.officials:
            try:
                opened = await self.slack.conversations_open(users=official)
            except SlackApiError as error:
                log.warning("escalation %d: no DM with %s: %s", escalation.id, official, error.response.get("error"))
                continue
            await self._post(opened["channel"]["id"], message, None)

    # Slack ---------------------------------------------------------------------------------------------------

    def _message(self, escalation: Escalation) -> dict[str, object]:
        return escalation_cards.escalation_message(
            escalation, self.mention_of(escalation), tz=self.tz, lang=self.lang, reach_tiers=self.settings.public_body
        )

    def _card(self, escalation: Escalation) -> Delivery | None:
        if escalation.card_id is None:
            return None
        card = self.store.delivery(escalation.card_id)
        return card if card.slack_ts else None

    def _thread(self, escalation: Escalation) -> str | None:
        """The thread for news about an escalation: its own message's, or the card thread it was posted in."""
        return escalation.thread_ts or escalation.message_ts

    async def _refresh(self, escalation: Escalation) -> None:
        """Show the escalation's state, as a step just left it, on its message and on the card.

        Each step changes the state first (the store returns the escalation as it is now), then draws from that
        returned state with the builders of escalation/cards.py: drawing never reads the escalation back."""
        if escalation.message_ts is not None:
            await self._update(escalation.channel, escalation.message_ts, self._message(escalation))
        await self._update_card(escalation)

    async def _update_card(self, escalation: Escalation) -> None:
        card = self._card(escalation)
        if card is None or card.slack_ts is None:
            return
        if self.render_card is not None:
            await self._update(card.channel, card.slack_ts, self.render_card(card, escalation))
            return
        mention = self.mention_of(escalation)
        message = cards.mention_card(
            mention,
            mention_id=escalation.mention_id,
            watcher=card.watcher,
            tz=self.tz,
            lang=self.lang,
            status=escalation_cards.escalation_status(escalation, self.lang),
            reach_tiers=self.settings.public_body,
            hostile=MentionLabels(self.store).hostile_mark(escalation.mention_id, mention),
        )
        await self._update(card.channel, card.slack_ts, message)

    async def _post(self, channel: str, message: dict[str, object], thread_ts: str | None) -> str | None:
        """Post a message of ours; its `ts`, or None when Slack refused (logged: the escalation goes on)."""
        try:
            response = await self.slack.chat_postMessage(
                channel=channel, thread_ts=thread_ts, unfurl_links=False, unfurl_media=False, **message
            )
        except SlackApiError as error:
            log.warning("posting to %s failed: %s", channel, error.response.get("error"))
            return None
        return response["ts"]

    async def _update(self, channel: str, ts: str, message: dict[str, object]) -> None:
        try:
            await self.slack.chat_update(channel=channel, ts=ts, **message)
        except SlackApiError as error:
            log.warning("updating %s/%s failed: %s", channel, ts, error.response.get("error"))

    async def _permalink(self, channel: str, ts: str) -> str | None:
        try:
            response = await self.slack.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError as error:
            log.warning("no permalink for %s/%s: %s", channel, ts, error.response.get("error"))
            return None
        return response["permalink"]


def schedule_reminders(scheduler: AsyncIOScheduler, escalations: EscalationService) -> None:
    """Check for unposted escalations and due reminders every few minutes."""
    scheduler.add_job(
        escalations.check,
        IntervalTrigger(seconds=REMINDER_CHECK_SECONDS),
        id="escalations",
        name="escalation reminders",
        max_instances=1,
        coalesce=True,
    )
