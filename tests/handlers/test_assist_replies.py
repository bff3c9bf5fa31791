"""Acknowledgements go first: background work waits for a quiet moment, never long."""

import asyncio
import time

from handlers.assist_replies import AckFirst, is_retry


async def test_with_no_ack_in_progress_work_goes_on_at_once() -> None:
    pacing = AckFirst(quiet=0.5, patience=5)
    started = time.monotonic()
    await pacing.give_way()
    assert time.monotonic() - started < 0.05


async def test_work_waits_until_acks_have_stopped_for_a_moment() -> None:
    pacing = AckFirst(quiet=0.1, patience=5)

    async def burst_of_acks() -> None:
        for _ in range(5):
            pacing.acked()
            await asyncio.sleep(0.05)

    acks = asyncio.create_task(burst_of_acks())
    await asyncio.sleep(0)
    started = time.monotonic()
    await pacing.give_way()
    waited = time.monotonic() - started
    await acks
    assert 0.25 <= waited < 0.6  # through the burst (about 0.25 s), then 0.1 s of quiet


async def test_work_never_waits_longer_than_its_patience() -> None:
    pacing = AckFirst(quiet=0.2, patience=0.3)

    async def endless_acks() -> None:
        while True:
            pacing.acked()
            await asyncio.sleep(0.05)

    acks = asyncio.create_task(endless_acks())
    started = time.monotonic()
    await pacing.give_way()
    waited = time.monotonic() - started
    acks.cancel()
    assert 0.25 <= waited < 0.5


def test_a_retried_event_is_recognised() -> None:
    assert is_retry({"x-slack-retry-num": ["1"]})
    assert not is_retry({"content-type": ["application/json"]})
