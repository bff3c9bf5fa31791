"""Is the bot bounded and responsive under load? The figures of issue 12, on the whole bot.

    .venv/bin/python bench/bench_responsiveness.py [--quick] [--storm 60] [--hostile 30] [--quiet-within 30]

The bot runs in this process, in HTTP mode (runtime.Runtime, as bot.py starts it), on a database of 100,000 posted
mentions. It watches 300 feeds of 10 items in 10 channels (each poll: one new item per feed) and 2 feeds bringing
1,000 new items per poll. A second process serves the feeds and plays Slack (5 ms per Web API call); a third
sends 20 signed slash commands (`/flag list`) every 0.5 s and times Slack's HTTP answer (the 3-second ack), so the
figures measure the bot, not the fakes. The benchmark polls every watcher (`poll_all()`) at fixed times during the
commands; bench/loop_monitor.py times every callback of the bot's loop, and bench/stall_sampler.py tells which of
the bot's functions the longest ones spent their time in.

1. The normal workload: slash-command ack p50/p99/max (target p99 <= 200 ms), the longest loop callback (target
   <= 50 ms) and the top 5 stalls, the bot process's peak RSS (target <= 250 MB).
2. The same with two sources turned hostile: a gzip bomb on a Hacker News watcher's API (1 GiB once decompressed,
   1 MiB on the wire) and a 50 MB feed: peak RSS.
3. A fresh bot on the same database: 2,000 cards queued in one channel; once they are being posted, one new card in
   a quiet channel: seconds from queued to posted (target <= 2 s), measured while the backlog is still large.
4. `bot.py once` over 500 unchanged feeds (every one answered 304), whole process wall time, beside the import time
   of bot.py's modules (python -X importtime).

Every wait has a limit: what does not happen in time is printed as "did not happen within N s". Linux only (peak
RSS is read from /proc). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import math
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_summarize import milliseconds
from responsiveness_world import (
    BATCH,
    SECRET,
    Ack,
    Remote,
    Workload,
    build_history,
    busy_backlog,
    serve_client,
    serve_world,
    watchers_toml,
)
from stall_sampler import SampledLoopMonitor

from tests.support import free_port
from veilleur.core.settings import Settings, parse_settings
from veilleur.runtime import Runtime
from veilleur.watching.catalog import poll_job_id
from veilleur.watching.polling import PollReport

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot.py"
# /flag list acks at once and answers through response_url. /watch list builds its answer before the ack: about
# 13 ms of the loop with 306 watchers, a figure of its own (compare with --commands "/watch list").
COMMANDS = ("/flag list",)
PER_TICK, PERIOD = 20, 0.5
ACK_TARGET, SLACK_ACK_LIMIT = 0.2, 3.0
HOLD_TARGET = 0.05
RSS_TARGET_MB = 250
QUIET_TARGET = 2.0
START_LIMIT = 60.0  # seconds for the bot to start, a helper to answer, a poll to end after the commands stop
ONCE_LIMIT = 180.0


@dataclass
class PollRun:
    number: int
    started: float  # time.monotonic()
    seconds: float | None = None
    reports: list[PollReport] = field(default_factory=list)

    def overlaps(self, ack: Ack) -> bool:
        """Whether the command waited for its answer while this poll ran."""
        ended = self.started + (math.inf if self.seconds is None else self.seconds)
        assert ack.seconds is not None
        return ack.sent_at <= ended and self.started <= ack.sent_at + ack.seconds


class ErrorLog(logging.Handler):
    """The bot's error lines, counted by their first line: printed after each phase instead of tracebacks."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.name}: {record.getMessage()[:160]}"] += 1

    def report(self) -> None:
        for line, count in self.counts.most_common(5):
            print(f"  the bot logged {count} x {line}")
        self.counts.clear()


class PeakMemory:
    """The process's peak RSS since the last `reset()` (Linux resets the high-water mark through clear_refs)."""

    def reset(self) -> None:
        Path("/proc/self/clear_refs").write_text("5")

    def peak_mb(self) -> float:
        status = Path("/proc/self/status").read_text()
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        return int(match.group(1)) / 1024 if match else math.nan


@dataclass
class Bench:
    """What every phase uses: the helper processes, where the bot listens and what it is sent."""

    folder: Path
    world: Remote
    client: Remote
    slack_url: str
    commands: Sequence[str]
    monitor: SampledLoopMonitor
    errors: ErrorLog
    memory: PeakMemory = field(default_factory=PeakMemory)

    def settings(self, database: Path) -> Settings:
        return parse_settings({
            "DATABASE_PATH": str(database), "WATCHERS_FILE": str(self.folder / "watchers.toml"),
            "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_API_URL": f"{self.slack_url}/api/",
            "SLACK_SIGNING_SECRET": SECRET, "PORT": str(free_port()),
        })


async def start_bot(settings: Settings) -> Runtime:
    runtime = Runtime(settings, host="127.0.0.1")
    await asyncio.wait_for(runtime.start(), START_LIMIT)
    # The benchmark polls at fixed times itself: the scheduled polls (first run within 10 s of the start) go.
    assert runtime.scheduler is not None and runtime.services is not None
    for name in runtime.services.watchers:
        runtime.scheduler.remove_job(poll_job_id(name))
    return runtime


def poll_offsets(seconds: float, every: float) -> list[float]:
    """When to poll during a storm of `seconds`: 2 s in, then every `every` s while 5 s are left."""
    return [2.0 + k * every for k in range(int((seconds - 7.0) // every) + 1)]


async def timed_poll(runtime: Runtime, run: PollRun) -> None:
    assert runtime.services is not None
    run.reports = await runtime.services.poller.poll_all()
    run.seconds = time.monotonic() - run.started


async def command_storm(
    bench: Bench, runtime: Runtime, seconds: float, every: float, *, advance_first: bool
) -> tuple[list[Ack], list[PollRun]]:
    """Slash commands for `seconds` while polls run at fixed times; each poll but the first of a storm started with
    `advance_first=False` finds its feeds moved on."""
    url = f"http://127.0.0.1:{runtime.settings.port}/slack/events"
    start = time.monotonic()
    sending = asyncio.create_task(bench.client.ask(
        "storm", url, f"{bench.slack_url}/response", seconds, PER_TICK, PERIOD, bench.commands,
        within=seconds + START_LIMIT,
    ))
    polls: list[PollRun] = []
    tasks: list[asyncio.Task[None]] = []
    for number, offset in enumerate(poll_offsets(seconds, every), 1):
        await asyncio.sleep(max(0.0, start + offset - time.monotonic()))
        if advance_first or number > 1:
            await bench.world.ask("advance", within=START_LIMIT)
        polls.append(PollRun(number, time.monotonic()))
        tasks.append(asyncio.create_task(timed_poll(runtime, polls[-1])))
    try:
        acks = await sending
    except TimeoutError as error:
        print(f"  slash commands: did not happen ({error})")
        acks = []
    _, late = await asyncio.wait(tasks, timeout=START_LIMIT) if tasks else (set(), set())
    for task in late:
        task.cancel()
    return acks, polls


def report_polls(polls: list[PollRun]) -> None:
    for run in polls:
        if run.seconds is None:
            print(f"  poll #{run.number}: did not happen within {START_LIMIT:.0f} s after the commands ended")
            continue
        cards = sum(report.outcome.queued for report in run.reports if report.outcome is not None)
        failed = [report for report in run.reports if not report.ok]
        print(f"  poll #{run.number} of {len(run.reports)} watchers: {run.seconds:.2f} s, {cards:,} new cards queued,"
              f" {len(failed)} failed")
        for report in failed:
            print(f"    {report.watcher}: {(report.error or '')[:160]}")


def report_acks(acks: list[Ack], polls: list[PollRun], commands: Sequence[str]) -> None:
    if not acks:
        return
    answered = [ack.seconds for ack in acks if ack.seconds is not None]
    in_poll = [(ack.seconds, any(run.overlaps(ack) for run in polls)) for ack in acks if ack.seconds is not None]
    during = [seconds for seconds, polling in in_poll if polling]
    between = [seconds for seconds, polling in in_poll if not polling]
    failed = [ack for ack in acks if ack.seconds is None]
    print(f"  slash-command ack, {len(acks):,} sent ({PER_TICK} every {PERIOD} s: {', '.join(commands)}),"
          f" target p99 <= {ACK_TARGET * 1000:.0f} ms:")
    if answered:
        print(f"    all              {milliseconds(answered)}")
    if during:
        print(f"    waited on a poll {milliseconds(during)}")
    if between:
        print(f"    no poll running  {milliseconds(between)}")
    late = sum(1 for seconds in answered if seconds > SLACK_ACK_LIMIT)
    reasons = sorted({ack.error for ack in failed})
    print(f"    over Slack's {SLACK_ACK_LIMIT:.0f} s limit: {late}; no answer: {len(failed)}"
          + (f" ({', '.join(reasons)})" if reasons else ""))


def report_loop(monitor: SampledLoopMonitor) -> None:
    print(f"  longest loop callback: {monitor.longest * 1000:,.1f} ms (target <= {HOLD_TARGET * 1000:.0f} ms);"
          f" {monitor.count_over(HOLD_TARGET)} callbacks over {HOLD_TARGET * 1000:.0f} ms; top 5:")
    for hold in monitor.top(5):
        print(f"    {hold.seconds * 1000:9,.1f} ms  {hold.what}: {monitor.explain(hold) or 'not sampled'}")


async def storm_phases(bench: Bench, database: Path, args: argparse.Namespace) -> None:
    runtime = await start_bot(bench.settings(database))
    try:
        for label, seconds, hostile in (("1. normal workload", args.storm, False),
                                        ("2. with two hostile sources", args.hostile, True)):
            print(f"{label}: {seconds:.0f} s of slash commands, polls at "
                  + ", ".join(f"{offset:.0f} s" for offset in poll_offsets(seconds, args.poll_every)))
            if hostile:
                await bench.world.ask("hostile", True, within=START_LIMIT)
                print(f"  hostile-json (hackernews) answers a gzip bomb ({args.bomb_mib:,} MiB once decompressed);"
                      f" hostile-feed streams {args.huge_feed_mb} MB")
            bench.monitor.reset()
            bench.memory.reset()
            acks, polls = await command_storm(bench, runtime, seconds, args.poll_every, advance_first=hostile)
            report_polls(polls)
            report_acks(acks, polls, bench.commands)
            report_loop(bench.monitor)
            print(f"  peak RSS of the bot process: {bench.memory.peak_mb():,.0f} MB (target <= {RSS_TARGET_MB} MB)")
            bench.errors.report()
    finally:
        await runtime.stop()


async def wait_until(condition: Callable[[], bool], within: float) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def quiet_card(bench: Bench, database: Path, backlog: int, within: float) -> None:
    print(f"3. a quiet channel's new card while another channel has {backlog:,} cards to post (fresh bot):")
    runtime = await start_bot(bench.settings(database))
    services = runtime.services
    assert services is not None
    store = services.store
    try:
        posted_before = store.delivery_counts("busy").get("posted", 0)
        for batch in busy_backlog(backlog):
            store.record_poll("busy", "C0BUSY", batch, {}, burst_threshold=BATCH)
        services.outbox.wake()
        if not await wait_until(lambda: store.delivery_counts("busy").get("posted", 0) >= posted_before + 3, within):
            print(f"  the busy channel's first cards: did not happen within {within:.0f} s")
            return
        await bench.world.ask("quiet", within=START_LIMIT)
        report = await services.poller.poll("quiet")
        if report.outcome is None or not report.outcome.cards:
            print(f"  the quiet channel's poll queued no card: {report}")
            return
        card_id = report.outcome.cards[0][0]
        settled = await wait_until(lambda: store.delivery(card_id).state not in ("pending", "sending"), within)
        row = store._db.execute(
            "select state, created_at, posted_at from deliveries where id = ?", [card_id]
        ).fetchone()
        counts = store.delivery_counts("busy")
        busy = f"busy channel: {counts.get('posted', 0) - posted_before:,} posted, {counts.get('pending', 0):,} pending"
        if not settled:
            print(f"  queued to posted: did not happen within {within:.0f} s ({busy})")
        elif row[0] != "posted":
            print(f"  the quiet card ended {row[0]!r}, not posted ({busy})")
        else:
            seconds = (datetime.fromisoformat(row[2]) - datetime.fromisoformat(row[1])).total_seconds()
            print(f"  queued to posted: {seconds:.2f} s (target <= {QUIET_TARGET:.0f} s); {busy}")
    finally:
        await runtime.stop()
        bench.errors.report()


def run_bot_once(folder: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(BOT), "once"], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=ONCE_LIMIT, check=False)
    return time.perf_counter() - started, done


IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")


def import_times() -> dict[str, float]:
    """Seconds each top-level module took to import, its own imports included, while `import bot` ran."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import bot"], cwd=ROOT, capture_output=True,
                          text=True, timeout=ONCE_LIMIT, check=True)
    times: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match and "." not in match.group(4):
            times.setdefault(match.group(4), int(match.group(2)) / 1e6)
    return times


def is_installed_package(name: str) -> bool:
    spec = importlib.util.find_spec(name)
    return spec is not None and "site-packages" in (spec.origin or "")


def once_figures(bench: Bench, feed_url: str, workload: Workload, runs: int) -> None:
    feeds = workload.once_feeds_list()
    print(f"4. bot.py once, warm, over {len(feeds)} unchanged feeds (each answered 304):")
    work = bench.folder / "once"
    work.mkdir()
    (work / "watchers.toml").write_text(watchers_toml(feeds, feed_url))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "OPENAI_"))}
    env |= {"DATABASE_PATH": str(work / "veilleur.db"), "WATCHERS_FILE": str(work / "watchers.toml"),
            "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_API_URL": f"{bench.slack_url}/api/", "LOG_LEVEL": "WARNING"}
    try:
        cold, done = run_bot_once(work, env)
        if done.returncode != 0:
            print(f"  the cold run failed ({done.returncode}): {done.stderr.strip()[-300:]}")
            return
        warm = [run_bot_once(work, env) for _ in range(runs)]
    except subprocess.TimeoutExpired:
        print(f"  a run: did not happen within {ONCE_LIMIT:.0f} s")
        return
    unchanged = min(done.stdout.count("(not modified)") for _, done in warm)
    seconds = [wall for wall, _ in warm]
    print(f"  whole process: {statistics.median(seconds):.2f} s (median of {runs}: "
          + ", ".join(f"{wall:.2f}" for wall in seconds) + f"); cold first run {cold:.2f} s;"
          f" {unchanged}/{len(feeds)} feeds not modified")
    imports = [import_times() for _ in range(runs)]
    total = statistics.median(times["bot"] for times in imports)
    packages = {name: statistics.median(times.get(name, 0.0) for times in imports) for name in imports[0]}
    heaviest = sorted((name for name in packages if is_installed_package(name)), key=packages.get, reverse=True)[:5]
    print(f"  of which importing bot.py's modules: {total:.2f} s (python -X importtime -c 'import bot', median);"
          " heaviest packages: " + ", ".join(f"{name} {packages[name]:.2f} s" for name in heaviest))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter phases (under 2 minutes in all)")
    parser.add_argument("--storm", type=float, default=60.0, help="seconds of the normal workload")
    parser.add_argument("--hostile", type=float, default=30.0, help="seconds of the workload with hostile sources")
    parser.add_argument("--poll-every", type=float, default=20.0, help="seconds between two triggered polls")
    parser.add_argument("--quiet-within", type=float, default=30.0, help="seconds to wait for the quiet card")
    parser.add_argument("--backlog", type=int, default=2000, help="cards queued in the busy channel")
    parser.add_argument("--once-runs", type=int, default=3)
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--new-per-feed", type=int, default=1, help="new items in each of the 300 feeds per poll")
    parser.add_argument("--commands", nargs="+", default=list(COMMANDS), help="slash commands sent in turn")
    parser.add_argument("--slack-latency", type=float, default=5.0, help="ms the fake Slack takes per call")
    parser.add_argument("--bomb-mib", type=int, default=1024, help="size of the gzip bomb once decompressed")
    parser.add_argument("--huge-feed-mb", type=int, default=50)
    args = parser.parse_args()
    if args.quick:
        args.storm, args.hostile, args.poll_every, args.quiet_within, args.once_runs = 25.0, 15.0, 10.0, 15.0, 1
    return args


def main() -> None:
    args = parse_args()
    errors = ErrorLog()
    logging.basicConfig(level=logging.ERROR, handlers=[errors])
    workload = Workload(
        mentions=args.mentions, new_per_feed=args.new_per_feed, slack_latency=args.slack_latency / 1000,
        backlog=args.backlog,
        bomb_bytes=args.bomb_mib << 20, huge_feed_bytes=args.huge_feed_mb * 1024 * 1024,
    )
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        world, client = Remote(serve_world, workload), Remote(serve_client)
        try:
            started = time.perf_counter()
            database = folder / "bench.db"
            builder = multiprocessing.Process(target=build_history, args=(database, workload), daemon=True)
            builder.start()
            builder.join(timeout=600)
            feed_port, slack_port = world.first_answer(START_LIMIT)
            client.first_answer(START_LIMIT)
            if builder.exitcode != 0:
                print(f"the database could not be built (exit code {builder.exitcode})")
                return
            feed_url, slack_url = f"http://127.0.0.1:{feed_port}", f"http://127.0.0.1:{slack_port}"
            print(f"{workload.mentions:,} posted mentions generated in {time.perf_counter() - started:.1f} s;"
                  f" {workload.feeds} feeds x {workload.items} items ({workload.new_per_feed} new per feed and poll,"
                  f" {workload.feed_channels} channels), {workload.burst_feeds} feeds of {workload.burst_items:,} new"
                  f" items per poll; fake Slack {args.slack_latency:.0f} ms per call")
            (folder / "watchers.toml").write_text(watchers_toml(workload.bot_feeds(), feed_url))
            fresh = folder / "fresh.db"
            shutil.copy(database, fresh)
            with SampledLoopMonitor() as monitor:
                bench = Bench(folder, world, client, slack_url, args.commands, monitor, errors)
                asyncio.run(storm_phases(bench, database, args))
            asyncio.run(quiet_card(bench, fresh, workload.backlog, args.quiet_within))
            once_figures(bench, feed_url, workload, args.once_runs)
        finally:
            world.close()
            client.close()


if __name__ == "__main__":
    main()
