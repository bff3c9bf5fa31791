"""The persisted outbox: posts queued cards to Slack, paced, retried, exactly once.

Each card is committed before it is posted and carries its delivery id in the message metadata. A row is
marked `sending` before the call and `posted` with its `ts` after; if the process dies in between, or the
connection drops so we cannot know whether Slack got it, `reconcile()` looks for the metadata in the channel
before posting again. So a crash loses nothing and posts nothing twice.
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
    before the cards queued ahead of it in its own channel (see store.Priority).
    """

    def __init__(
        self,
        store: Store,
        client: AsyncWebClient,
        render: Render,
        *,
        pace: float = PACE_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.client = client
        self.render = render
        self.pace = pace
        self.clock = clock
        self._last_post: dict[str, float] = {}
        self._hold_until: dict[str, float] = {}
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
        """Post everything due now, each channel on its own; returns how many were posted."""
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
            # A channel whose rows all wait (for a later time, or for their rollup) gets no task until they are due.
            if self.store.in_flight(channel) or self.store.due_deliveries(now, channel=channel, limit=1):
                task = asyncio.create_task(self._drain_channel(channel), name=f"outbox:{channel}")
                task.add_done_callback(partial(self._drain_ended, channel))
                self._drains[channel] = task

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
        """Post one channel's due rows until none is left or the channel is held; returns how many were posted."""
        posted = 0
        try:
            if self.store.in_flight(channel):
                await self.reconcile(channel)
                if self.store.in_flight(channel):  # Slack could not tell us: ask again a little later
                    self._hold(channel, RECHECK_SECONDS)
                    return posted
            while not self._held(channel):
                await self._wait_for_turn(channel)
                # Read after the wait: a notice queued meanwhile goes first, and a rollup just posted frees its replies.
                due = self.store.due_deliveries(self.clock(), channel=channel, limit=1)
                if not due:
                    return posted
                outcome = await self._post(due[0])
                if outcome == "posted":
                    posted += 1
                elif outcome == "unknown":
                    return posted  # the next drain of this channel settles it first
        except DatabaseError as error:
            # A row left `sending` is settled from the channel's history once the database works again.
            log.error("outbox: cannot post to %s: %s; retrying shortly", channel,
                      database_problem(error, self.store.path))
            self._hold(channel, RECHECK_SECONDS)
        except Exception:
            log.exception("outbox: posting to %s failed; retrying shortly", channel)
            self._hold(channel, RECHECK_SECONDS)
        return posted

    async def _wait_for_turn(self, channel: str) -> None:
        wait = self._last_post.get(channel, -1e9) + self.pace - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def _hold(self, channel: str, seconds: float) -> None:
        self._hold_until[channel] = time.monotonic() + seconds

    def _held(self, channel: str) -> bool:
        return time.monotonic() < self._hold_until.get(channel, 0.0)

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

    async def _handle_refusal(self, delivery: Delivery, error: SlackApiError) -> str:
        status = error.response.status_code
        code = error.response.get("error", "") if isinstance(error.response.data, dict) else ""
        now = self.clock()
        if status == 429 or code == "ratelimited":
            retry_after = float(error.response.headers.get("Retry-After", error.response.headers.get("retry-after", 1)))
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
        backoff = min(2.0**attempts + random.random(), MAX_BACKOFF)
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

    async def reconcile(self, channel: str | None = None) -> None:
        """Settle rows left `sending` (every channel's, or one's): posted if Slack has the message, else back to
        pending."""
        for delivery in self.store.in_flight(channel):
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
        """Until the next delayed row or held channel is due (at most a minute, in case a wake-up was missed)."""
        due = self.store.next_due_time(self.clock())
        holds = [hold - time.monotonic() for hold in self._hold_until.values() if hold > time.monotonic()]
        candidates = [60.0, *holds]
        if due is not None:
            candidates.append((due - self.clock()).total_seconds())
        return max(0.05, min(candidates))
