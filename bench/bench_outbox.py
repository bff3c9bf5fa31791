"""What the outbox costs with a large backlog, and how soon a quiet channel's card goes out beside it.

    .venv/bin/python bench/bench_outbox.py [--sizes 100000,1000000]

1. Reads, on a file-backed database holding N pending outbox rows (90% in one channel, the rest over 50 others)
   and as many posted ones: the unbounded read every flush did before `m010_outbox_priority` (every due row of
   every channel, oldest first), against what a drain now reads: the channels with work, one channel's next row,
   and when the next delayed row is due. Twice: with every row a card, and with the busy channel's rows in
   bursts (a rollup and its 20 replies, the first rollup held by a 429). Medians of 7 runs each.
2. Latency, through the real Outbox and the fake Slack Web API over a socket, paced 1.02 s per channel as in
   production: 2,000 cards pending in one channel, then one card queued for another; how long until it is posted,
   and the longest event-loop hold meanwhile (bench/loop_monitor.py).
3. Removals (retention, erasure), through the real Outbox and the fake Slack, on a file-backed database holding
   10,000 of them: how many redactions a minute the outbox sends unpaced (what it costs itself) and paced as in
   production (REMOVAL_PACE, shared by all channels), with one channel and with three; how soon a card queued
   meanwhile is posted; so how long redacting 10,000 cards takes. `--removal-seconds` sets each paced run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from loop_monitor import LoopMonitor

from tests.support.slack_api import FakeSlack
from veilleur.core.mentions import Mention
from veilleur.slack.cards import removal_notice
from veilleur.slack.outbox import REMOVAL_PACE, Outbox, new_slack_client
from veilleur.storage.store import Delivery, Store, iso, utcnow

OTHER_CHANNELS = 50
BURST = 20  # MAX_CARDS_PER_POLL's default
RUNS = 7
# The read every Outbox.flush made before m010_outbox_priority.
UNBOUNDED_READ = """
    select d.*, p.slack_ts as parent_ts from deliveries d
    left join deliveries p on p.id = d.parent_id
    where d.state = 'pending' and (d.not_before is null or d.not_before <= ?)
      and (d.parent_id is null or p.slack_ts is not null or p.state = 'failed')
    order by d.id
"""


def fill(store: Store, pending: int, *, bursts: bool) -> None:
    """`pending` pending outbox rows and as many posted ones; 90% of the pending in channel CBUSY.

    With `bursts`, CBUSY's rows are polls' rollups, each with MAX_CARDS_PER_POLL (20) replies waiting for it, and
    the first rollup is held by a 429: its replies are the rows a read must step over.
    """
    stamp, later = iso(utcnow()), iso(utcnow() + timedelta(hours=1))
    busy = pending * 9 // 10
    with store._db.atomic():
        store._db.conn.executemany(
            "insert into deliveries (kind, watcher, channel, state, attempts, created_at) values (?, ?, ?, ?, ?, ?)",
            (("card", "w", f"C{n % OTHER_CHANNELS:03d}", "posted", 0, stamp) for n in range(pending)),
        )
        store._db.conn.executemany(
            "insert into deliveries (kind, watcher, channel, state, attempts, created_at) values (?, ?, ?, ?, ?, ?)",
            (("card", "w", f"C{n % OTHER_CHANNELS:03d}", "pending", 0, stamp) for n in range(pending - busy)),
        )
        rollup = None
        for n in range(busy):
            if bursts and n % (BURST + 1) == 0:
                rollup = store._db.conn.execute(
                    "insert into deliveries (kind, watcher, channel, state, attempts, not_before, created_at)"
                    " values ('rollup', 'w', 'CBUSY', 'pending', 0, ?, ?)",
                    [later if n == 0 else None, stamp],
                ).lastrowid
                continue
            store._db.conn.execute(
                "insert into deliveries (kind, watcher, channel, parent_id, state, attempts, created_at)"
                " values ('card', 'w', 'CBUSY', ?, 'pending', 0, ?)",
                [rollup, stamp],
            )
    store._db.execute("analyze")


def median_ms(work: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def reads(pending: int, *, bursts: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "bench.db")
        try:
            fill(store, pending, bursts=bursts)
            now = utcnow()
            before = median_ms(lambda: store._db.execute(UNBOUNDED_READ, [iso(now)]).fetchall())
            channels = median_ms(store.channels_with_work)
            page = median_ms(lambda: store.due_deliveries(now, channel="CBUSY", limit=1))
            quiet_page = median_ms(lambda: store.due_deliveries(now, channel="C007", limit=1))
            next_due = median_ms(lambda: store.next_due_time(now))
            shape = ", the busy channel in bursts of 20, the first held by a 429" if bursts else ""
            print(f"{pending:,} pending{shape}:")
            print(f"  before: every due row of every channel {before:.2f} ms")
            print(f"  now: channels with work {channels:.3f} ms, the busy channel's next row {page:.3f} ms,"
                  f" a quiet channel's {quiet_page:.3f} ms, next delayed row {next_due:.3f} ms")
        finally:
            store.close()


def text(delivery: Delivery) -> dict[str, str]:
    return {"text": f"card {delivery.id}"}


async def latency() -> None:
    async with FakeSlack() as slack:
        store = Store.open(":memory:")
        for watcher, channel, count in (("busy", "CBUSY", 2000), ("quiet", "CQUIET", 1)):
            store.record_poll(watcher, channel, [], {})
            if watcher == "busy":
                store.record_poll(watcher, channel, mentions(watcher, count), {}, burst_threshold=10**6)
        outbox = Outbox(store, new_slack_client("xoxb-bench", slack.api_url), text)
        with LoopMonitor() as monitor:
            task = asyncio.create_task(outbox.run())
            await asyncio.sleep(3.0)  # the busy channel is draining
            queued_at = time.monotonic()
            store.record_poll("quiet", "CQUIET", mentions("quiet", 1), {})
            outbox.wake()
            while True:  # polled, so the figure includes no wake-up of ours
                if slack.posted_messages("CQUIET"):
                    break
                await asyncio.sleep(0.005)
            delay = time.monotonic() - queued_at
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        busy = len(slack.posted_messages("CBUSY"))
        print(f"quiet channel's card posted {delay * 1000:.0f} ms after it was queued, while CBUSY had 2,000 pending"
              f" ({busy} posted by then); longest loop hold {monitor.longest * 1000:.1f} ms")
        store.close()


def mentions(watcher: str, count: int) -> list[Mention]:
    return [Mention(source="rss", external_id=f"{watcher}-{n}", url=f"https://e.org/{n}", text="x")
            for n in range(count)]


REMOVALS = 10_000
UNPACED_REMOVALS = 2_000


def notice(delivery: Delivery) -> dict[str, object]:
    return removal_notice("retention", "fr", days=90) if delivery.kind == "removal" else text(delivery)


def queue_removals(store: Store, slack: FakeSlack, channels: list[str], count: int) -> None:
    """`count` of the bot's messages spread over `channels`, and a redaction queued for each."""
    for n in range(count):
        channel = channels[n % len(channels)]
        ts = slack.seed_message(channel, f"card {n}", user="UBOT", bot_id="BBOT")["ts"]
        store.queue_card_removal("w", channel, ts, "redact", "retention", days=90)


async def redactions(store: Store, slack: FakeSlack, channels: list[str], seconds: float) -> None:
    """Paced as in production for `seconds`: redactions a minute, and a card queued halfway."""
    queue_removals(store, slack, channels, REMOVALS)
    before = len(slack.calls_to("chat.update"))
    outbox = Outbox(store, new_slack_client("xoxb-bench", slack.api_url), notice)
    with LoopMonitor() as monitor:
        task = asyncio.create_task(outbox.run())
        started = time.monotonic()
        await asyncio.sleep(seconds / 2)
        store.record_poll("w", channels[0], mentions(channels[0], 1), {})
        queued_at = time.monotonic()
        outbox.wake()
        posts = len(slack.calls_to("chat.postMessage"))
        await slack.wait_for_calls("chat.postMessage", posts + 1, within=seconds)
        card_delay = time.monotonic() - queued_at
        await asyncio.sleep(max(0.0, started + seconds - time.monotonic()))
        elapsed = time.monotonic() - started
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    done = len(slack.calls_to("chat.update")) - before
    per_minute = done / elapsed * 60
    print(f"  paced, {len(channels)} channel(s): {per_minute:.1f} redactions/min over {elapsed:.0f} s"
          f" ({per_minute / len(channels):.1f} per channel); 10,000 take {REMOVALS / per_minute / 60:.1f} h;"
          f" a card queued meanwhile posted {card_delay * 1000:.0f} ms later; longest loop hold"
          f" {monitor.longest * 1000:.1f} ms")


async def removals(seconds: float) -> None:
    print(f"removals (REMOVAL_PACE {REMOVAL_PACE:.2f} s, all channels together):")
    with tempfile.TemporaryDirectory() as folder:
        async with FakeSlack() as slack:
            store = Store.open(Path(folder) / "removals.db")
            store.record_poll("w", "CBENCH", [], {})
            queue_removals(store, slack, ["CBENCH"], UNPACED_REMOVALS)
            outbox = Outbox(store, new_slack_client("xoxb-bench", slack.api_url), notice, pace=0, removal_pace=0)
            started = time.monotonic()
            await outbox.drain(within=300)
            rate = UNPACED_REMOVALS / (time.monotonic() - started)
            print(f"  unpaced, 1 channel: {rate:.0f} redactions/s ({rate * 60:,.0f}/min): the outbox's own cost")
            for channels in (["C1"], ["C2", "C3", "C4"]):
                for channel in channels:
                    store.record_poll("w", channel, [], {})
                await redactions(store, slack, channels, seconds)
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="pending rows, comma-separated")
    parser.add_argument("--removal-seconds", type=float, default=60.0, help="length of each paced removal run")
    args = parser.parse_args()
    for size in (int(value) for value in args.sizes.split(",")):
        for bursts in (False, True):
            reads(size, bursts=bursts)
    asyncio.run(latency())
    asyncio.run(removals(args.removal_seconds))


if __name__ == "__main__":
    main()
