"""The persisted outbox: posts queued cards to Slack, paced, retried, exactly once; and removes the bot's own
messages that retention and erasure ask for.

Each card is committed before it is posted and carries its delivery id in the message metadata. A row is
marked `sending` before the call and `posted` with its `ts` after; if the process dies in between, or the
connection drops so we cannot know whether Slack got it, `reconcile()` looks for the metadata in the channel
before posting again. So a crash loses nothing and posts nothing twice.

An `update` row shows again, with chat.update, the message of its parent row (a false claim's, as it is now). A
removal row edits (chat.update) or deletes (chat.delete) the message at its `target_ts`. Those calls can be
made twice without harm, so a removal cut short is simply sent again. They are Tier 3 methods, limited per
workspace rather than per channel: removals go REMOVAL_PACE apart across all channels, and a 429 holds them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.storage.store import DatabaseError, Delivery, Store, database_problem, utcnow

log = logging.getLogger(__name__)

PACE_SECONDS = 1.02  # Slack allows about one message per second per channel
METADATA_EVENT = "veilleur_delivery"
MAX_ATTEMPTS = 10
MAX_BACKOFF = 900.0
# How long a channel waits after Slack could not say whether a message arrived, or after an unexpected error.
RECHECK_SECONDS = 5.0
# Slack refused the message itself: retrying the same message cannot succeed.
PERMANENT_ERRORS = {
    "channel_not_found",
    "is_archived",
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_too_long",
    "no_text",
    "too_many_attachments",
    "invalid_metadata_format",
    "restricted_action",
}
HINTS = {
    "channel_not_found": "check the watcher's channel ID",
    "not_in_channel": "invite the bot to the channel with /invite",
    "is_archived": "the channel is archived; point the watcher at another channel",
    "invalid_auth": "SLACK_BOT_TOKEN is wrong or revoked",
    "token_revoked": "SLACK_BOT_TOKEN was revoked; reinstall the app",
}
# chat.update and chat.delete are Tier 3: about 50 calls a minute per method and workspace, whatever the channel.
# Removals take 45 of them, leaving room for the card edits people make meanwhile (dismiss, escalation, stories).
REMOVAL_PACE = 60 / 45
# A removal Slack answers with this has nothing left to remove: someone deleted the message.
NOTHING_LEFT = "message_not_found"
# Removals Slack will never do, whatever we retry: the row ends `failed`, and what a person can do is logged once.
REMOVAL_REFUSED = {
    "channel_not_found": "the channel was deleted, or it is private and the bot was removed from it (then the"
    " message is still there: delete it by hand)",
    "not_in_channel": "the bot was removed from the channel: the message is still there; delete it by hand",
    "is_archived": "the channel is archived: the message is still there; unarchive the channel to delete it by hand",
    "is_inactive": "the channel is archived or frozen: the message is still there; delete it by hand once it is"
    " active again",
    "cant_update_message": "this message was not posted by this bot: Slack lets a bot change only its own",
    "cant_delete_message": "this message was not posted by this bot: Slack lets a bot delete only its own",
    "edit_window_closed": "the workspace's message editing setting forbids the edit: a workspace owner can allow"
    " editing, or set SLACK_CARD_RETENTION=delete",
    "compliance_exports_prevent_deletion": "the workspace's compliance exports forbid deleting messages: set"
    " SLACK_CARD_RETENTION=redact",
}
# Without the scope to edit or delete messages, every removal waits this long, then tries again.
MISSING_SCOPE_WAIT = 300.0

Render = Callable[[Delivery], dict[str, Any]]


def new_slack_client(token: str, api_url: str) -> AsyncWebClient:
    """A Web API client without slack_sdk's automatic retries: a blind retry after a dropped connection could
    post a card twice, so the outbox decides what to retry."""
    return AsyncWebClient(token=token, base_url=api_url, retry_handlers=[])


class Outbox:
    """Posts the outbox, each channel on its own.

    A channel with work gets one drain task: before each post it reads that channel's next due row (by priority,
    then in the order queued: an index seek, whatever the backlog), paced PACE_SECONDS apart, until nothing is
    due; a 429 or an error holds only that channel.
    So a card for a quiet channel goes out at once whatever the backlog of the others, and a health alert goes
    before the cards queued ahead of it in its own channel (see store.Priority). Removals come last in their
    channel, and take turns across channels `removal_pace` apart (longer after a 429): a channel whose next row is
    a removal ends its drain until the next turn, so a card queued meanwhile starts it again at once.
    """

    def __init__(
        self,
        store: Store,
        client: AsyncWebClient,
        render: Render,
        *,
        pace: float = PACE_SECONDS,
        removal_pace: float = REMOVAL_PACE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.client = client
        self.render = render
        self.pace = pace
        self.removal_pace = removal_pace
        self.clock = clock
        self._last_post: dict[str, float] = {}
        self._hold_until: dict[str, float] = {}
        # When the next removal may go (time.monotonic()), in any channel.
        self._removals_at = 0.0
        # What was already said about removals that cannot succeed: (channel, Slack's error); channel "" for all.
        self._said: set[tuple[str, str]] = set()
        self._drains: dict[str, asyncio.Task[int]] = {}
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Tell the running outbox that new rows are due."""
        self._wake.set()

    async def run(self) -> None:
        """Post forever; meant to run as one task beside the scheduler."""
        await self.reconcile()
        try:
            while True:
                await self._start_drains_then_wait(None)
        finally:
            await self._stop_drains()

    async def drain(self, within: float) -> int:
        """Post until nothing is pending or `within` seconds pass (the CLI's `once`); returns what is left."""
        deadline = time.monotonic() + within
        await self.reconcile()
        try:
            while self.store.pending_count() and time.monotonic() < deadline:
                await self._start_drains_then_wait(deadline - time.monotonic())
        finally:
            await self._stop_drains()
        return self.store.pending_count()

    async def flush(self) -> int:
        """Send everything due now, each channel on its own; returns how many rows were posted or removed."""
        self._start_drains()
        return sum(await asyncio.gather(*(task for task in self._drains.values() if not task.done())))

    async def _start_drains_then_wait(self, at_most: float | None) -> None:
        """Give each channel with work a drain task, then sleep until rows are queued, a drain ends, or the next
        delayed row or hold comes due."""
        self._wake.clear()
        try:
            self._start_drains()
            delay = self._idle_delay()
        except DatabaseError as error:
            log.error("outbox: %s; retrying shortly", database_problem(error, self.store.path))
            delay = RECHECK_SECONDS
        except Exception:
            log.exception("outbox pass failed; retrying shortly")
            delay = RECHECK_SECONDS
        if at_most is not None:
            delay = min(delay, at_most)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), max(delay, 0.0))

    def _start_drains(self) -> None:
        now = self.clock()
        for channel in self.store.channels_with_work():
            running = self._drains.get(channel)
            if (running is not None and not running.done()) or self._held(channel):
                continue
            # A channel whose rows all wait (for a later time, for their rollup, for removals to resume) gets no task
            # until they are due.
            if self.store.in_flight(channel) or self._has_due(channel, now):
                task = asyncio.create_task(self._drain_channel(channel), name=f"outbox:{channel}")
                task.add_done_callback(partial(self._drain_ended, channel))
                self._drains[channel] = task

    def _has_due(self, channel: str, now: datetime) -> bool:
        due = self.store.due_deliveries(now, channel=channel, limit=1)
        return bool(due) and not (due[0].kind == "removal" and self._removals_held())

    def _drain_ended(self, channel: str, task: asyncio.Task[int]) -> None:
        if self._drains.get(channel) is task:
            del self._drains[channel]
        self._wake.set()  # its channel may have work again (a row to settle, a hold ending)

    async def _stop_drains(self) -> None:
        """Stop every channel's drain; a post cut short stays `sending` and is settled by reconcile()."""
        tasks = list(self._drains.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._drains.clear()

    async def _drain_channel(self, channel: str) -> int:
        """Send one channel's due rows until none is left or the channel is held; returns how many were posted or
        removed."""
        sent = 0
        try:
            if self.store.in_flight(channel):
                await self.reconcile(channel)
                if self.store.in_flight(channel):  # Slack could not tell us: ask again a little later
                    self._hold(channel, RECHECK_SECONDS)
                    return sent
            while not self._held(channel):
                await self._wait_for_turn(channel)
                # Read after the wait: a notice queued meanwhile goes first, and a rollup just posted frees its replies.
                due = self.store.due_deliveries(self.clock(), channel=channel, limit=1)
                if not due:
                    return sent
                if due[0].kind == "removal":
                    if self._removals_held():
                        return sent  # started again at the next removal turn, or at once for a card
                    outcome = await self._remove(due[0])
                elif due[0].kind == "update":
                    outcome = await self._update(due[0])
                else:
                    outcome = await self._post(due[0])
                if outcome in ("posted", "removed"):
                    sent += 1
                elif outcome == "unknown":
                    return sent  # the next drain of this channel settles it first
        except DatabaseError as error:
            # A row left `sending` is settled from the channel's history once the database works again.
            log.error("outbox: cannot post to %s: %s; retrying shortly", channel,
                      database_problem(error, self.store.path))
            self._hold(channel, RECHECK_SECONDS)
        except Exception:
            log.exception("outbox: posting to %s failed; retrying shortly", channel)
            self._hold(channel, RECHECK_SECONDS)
        return sent

    async def _wait_for_turn(self, channel: str) -> None:
        wait = self._last_post.get(channel, -1e9) + self.pace - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def _hold(self, channel: str, seconds: float) -> None:
        self._hold_until[channel] = time.monotonic() + seconds

    def _held(self, channel: str) -> bool:
        return time.monotonic() < self._hold_until.get(channel, 0.0)

    def _removals_held(self) -> bool:
        return time.monotonic() < self._removals_at

    def _hold_removals(self, seconds: float) -> None:
        self._removals_at = max(self._removals_at, time.monotonic() + seconds)

    async def _post(self, delivery: Delivery) -> str:
        message = self.render(delivery)
        self.store.mark_sending(delivery.id, self.clock())
        self._last_post[delivery.channel] = time.monotonic()
        try:
            response = await self.client.chat_postMessage(
                channel=delivery.channel,
                thread_ts=delivery.thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"delivery_id": delivery.id}},
                **message,
            )
        except SlackApiError as error:
            return await self._handle_refusal(delivery, error)
        except Exception as error:
            # The request may or may not have reached Slack: leave it `sending` for reconcile() to settle.
            log.warning("posting delivery %d: no answer from Slack (%s); will check the channel", delivery.id, error)
            return "unknown"
        self.store.mark_posted(delivery.id, response["ts"], delivery.thread_ts, self.clock())
        return "posted"

    async def _update(self, delivery: Delivery) -> str:
        """Show again the message an `update` row points to (its parent), as `render` draws it now; an update
        cut short is simply sent again."""
        if delivery.thread_ts is None:  # the message itself was never posted
            self.store.mark_failed(delivery.id, "nothing to update: its message was not posted")
            return "failed"
        message = self.render(delivery)
        self.store.mark_sending(delivery.id, self.clock())
        self._last_post[delivery.channel] = time.monotonic()
        try:
            await self.client.chat_update(channel=delivery.channel, ts=delivery.thread_ts, **message)
        except SlackApiError as error:
            if _error_code(error) == NOTHING_LEFT:
                self.store.mark_failed(delivery.id, f"{NOTHING_LEFT} (someone deleted the message)")
                return "failed"
            return await self._handle_refusal(delivery, error)
        except Exception as error:
            self.store.requeue(delivery.id, self.clock() + timedelta(seconds=RECHECK_SECONDS),
                               f"no answer from Slack ({error})", count_attempt=True)
            return "hold"
        self.store.mark_updated(delivery.id, self.clock())
        return "posted"

    async def _handle_refusal(self, delivery: Delivery, error: SlackApiError) -> str:
        status, code = error.response.status_code, _error_code(error)
        now = self.clock()
        if status == 429 or code == "ratelimited":
            retry_after = _retry_after(error)
            self._hold(delivery.channel, retry_after)
            self.store.requeue(delivery.id, now + timedelta(seconds=retry_after), "rate limited", count_attempt=False)
            log.info("channel %s rate limited; resuming in %.0fs", delivery.channel, retry_after)
            return "hold"
        if code == "not_in_channel" and await self._join(delivery.channel):
            self.store.requeue(delivery.id, now, "joined the channel", count_attempt=False)
            return "retry"
        reason = f"{code or f'HTTP {status}'}" + (f" ({HINTS[code]})" if code in HINTS else "")
        attempts = delivery.attempts + 1
        if code in PERMANENT_ERRORS or attempts >= MAX_ATTEMPTS:
            self.store.mark_failed(delivery.id, reason)
            log.error("delivery %d to %s failed for good: %s", delivery.id, delivery.channel, reason)
            return "failed"
        backoff = _backoff(attempts)
        self._hold(delivery.channel, backoff)
        self.store.requeue(delivery.id, now + timedelta(seconds=backoff), reason, count_attempt=True)
        log.warning("delivery %d to %s: %s; retrying in %.0fs", delivery.id, delivery.channel, reason, backoff)
        return "hold"

    async def _join(self, channel: str) -> bool:
        try:
            await self.client.conversations_join(channel=channel)
        except SlackApiError as error:
            log.error("cannot join %s (%s): invite the bot with /invite", channel, error.response.get("error"))
            return False
        return True

    async def _remove(self, delivery: Delivery) -> str:
        """Redact (chat.update to the notice `render` gives) or delete the bot's message at the row's target_ts;
        "removed" once done (or found already gone), else "hold" or "failed"."""
        delete = (delivery.message or {}).get("action") == "delete"
        notice = None if delete else self.render(delivery)
        self._removals_at = time.monotonic() + self.removal_pace  # this turn is taken, whatever the answer
        self.store.mark_sending(delivery.id, self.clock())
        try:
            if notice is None:
                await self.client.chat_delete(channel=delivery.channel, ts=delivery.target_ts)
            else:
                # `blocks` replace every block of the card; an empty `attachments` drops any it had (an unfurl).
                await self.client.chat_update(channel=delivery.channel, ts=delivery.target_ts, attachments=[], **notice)
        except SlackApiError as error:
            return self._handle_removal_refusal(delivery, error)
        except Exception as error:
            return self._retry_removal(delivery, f"no answer from Slack ({error})")
        self.store.mark_removed(delivery.id, self.clock())
        return "removed"

    def _handle_removal_refusal(self, delivery: Delivery, error: SlackApiError) -> str:
        status, code = error.response.status_code, _error_code(error)
        if status == 429 or code == "ratelimited":
            retry_after = _retry_after(error)
            self._hold_removals(retry_after)
            self.store.requeue(delivery.id, self.clock() + timedelta(seconds=retry_after), "rate limited",
                               count_attempt=False)
            log.info("removals rate limited; resuming in %.0fs", retry_after)
            return "hold"
        if code == NOTHING_LEFT:
            self.store.mark_removed(delivery.id, self.clock(), nothing_left=code)
            return "removed"
        if code == "missing_scope":
            needed = error.response.get("needed") or "chat:write"
            self._hold_removals(MISSING_SCOPE_WAIT)
            self.store.requeue(delivery.id, self.clock() + timedelta(seconds=MISSING_SCOPE_WAIT),
                               f"missing_scope ({needed})", count_attempt=False)
            self._say_once("", code, "Slack refuses to edit or delete the bot's messages: the app lacks the %s"
                           " scope. Add it under OAuth & Permissions and reinstall the app; removals wait and try"
                           " again every %.0f minutes", needed, MISSING_SCOPE_WAIT / 60)
            return "hold"
        if code in REMOVAL_REFUSED or code in PERMANENT_ERRORS:
            hint = REMOVAL_REFUSED.get(code, "Slack refused the notice itself")
            self.store.mark_failed(delivery.id, f"{code} ({hint})")
            self._say_once(delivery.channel, code, "cannot remove the bot's messages in %s: %s (%s); each such"
                           " removal is recorded as failed", delivery.channel, code, hint)
            return "failed"
        return self._retry_removal(delivery, code or f"HTTP {status}")

    def _retry_removal(self, delivery: Delivery, reason: str) -> str:
        """Back off every removal (the trouble is seldom one message's), then send this one again."""
        attempts = delivery.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            self.store.mark_failed(delivery.id, reason)
            log.error("removal %d in %s failed for good: %s", delivery.id, delivery.channel, reason)
            return "failed"
        backoff = _backoff(attempts)
        self._hold_removals(backoff)
        self.store.requeue(delivery.id, self.clock() + timedelta(seconds=backoff), reason, count_attempt=True)
        log.warning("removal %d in %s: %s; retrying in %.0fs", delivery.id, delivery.channel, reason, backoff)
        return "hold"

    def _say_once(self, channel: str, code: str, message: str, *args: object) -> None:
        """Log `message` the first time `code` comes back for `channel`: ten thousand removals would say it as often."""
        if (channel, code) in self._said:
            log.debug(message, *args)
            return
        self._said.add((channel, code))
        log.error(message, *args)

    async def reconcile(self, channel: str | None = None) -> None:
        """Settle rows left `sending` (every channel's, or one's): posted if Slack has the message, else back to
        pending. A removal goes back to pending at once: sending it again does no harm."""
        for delivery in self.store.in_flight(channel):
            if delivery.kind in ("removal", "update"):
                self.store.requeue(delivery.id, self.clock(), "interrupted; sent again", count_attempt=False)
                continue
            try:
                ts = await self._find_posted(delivery)
            except (SlackApiError, OSError, TimeoutError) as error:
                if delivery.attempts + 1 >= 3:
                    # Cannot check: prefer a possible duplicate to a lost mention.
                    self.store.requeue(delivery.id, self.clock(), f"unverifiable: {error}", count_attempt=True)
                else:
                    self.store.count_attempt(delivery.id)
                continue
            if ts is not None:
                self.store.mark_posted(delivery.id, ts, delivery.thread_ts, self.clock())
            else:
                self.store.requeue(delivery.id, self.clock(), "not found in the channel after a crash",
                                   count_attempt=False)

    async def _find_posted(self, delivery: Delivery) -> str | None:
        sent = datetime.fromisoformat(delivery.sent_at).timestamp() if delivery.sent_at else time.time()
        args: dict[str, Any] = {
            "channel": delivery.channel,
            "oldest": f"{sent - 60:.6f}",
            "limit": 200,
            "include_all_metadata": True,
        }
        method = self.client.conversations_history
        if delivery.thread_ts:
            method = self.client.conversations_replies
            args["ts"] = delivery.thread_ts
        cursor = None
        while True:
            response = await method(**args, cursor=cursor) if cursor else await method(**args)
            for message in response.get("messages", []):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("delivery_id") == delivery.id:
                    return message["ts"]
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def _idle_delay(self) -> float:
        """Until the next delayed row, held channel or held removals are due (at most a minute, in case a wake-up
        was missed)."""
        due = self.store.next_due_time(self.clock())
        holds = [hold - time.monotonic() for hold in self._hold_until.values() if hold > time.monotonic()]
        candidates = [60.0, *holds]
        if self._removals_held():
            candidates.append(self._removals_at - time.monotonic())
        if due is not None:
            candidates.append((due - self.clock()).total_seconds())
        return max(0.05, min(candidates))


def _error_code(error: SlackApiError) -> str:
    return error.response.get("error", "") if isinstance(error.response.data, dict) else ""


def _retry_after(error: SlackApiError) -> float:
    headers = error.response.headers
    return float(headers.get("Retry-After", headers.get("retry-after", 1)))


def _backoff(attempts: int) -> float:
    return min(2.0**attempts + random.random(), MAX_BACKOFF)
