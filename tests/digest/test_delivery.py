"""When and where digests are posted, and that each scheduled one is posted once: slots, periods, restarts, catch-up,
per-channel digests and the CLI. The clock is frozen by passing `now`; Slack is the fake Web API."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from tests.support.cli import env_for, run_cli
from tests.support.digest import ALL, PARIS, DigestRun, found, mention, paris, posted, watcher
from tests.support.slack_api import FakeSlack
from tests.support.sql import sql
from veilleur.core.settings import parse_settings
from veilleur.digest.compute import compute_digest
from veilleur.digest.delivery import DigestSchedule, DigestTarget, digest_targets, start_digests
from veilleur.digest.model import DigestPeriod
from veilleur.runtime import open_services
from veilleur.slack.outbox import new_slack_client
from veilleur.storage.store import Store

# ---- the schedule ------------------------------------------------------------------------------------------------


def schedule(days: str = "mon-fri", at: str = "08:30") -> DigestSchedule:
    return DigestSchedule.from_settings(parse_settings({"DIGEST_DAYS": days, "DIGEST_TIME": at}))


def test_monday_covers_the_weekend() -> None:
    period = schedule().scheduled_period(paris(2026, 11, 23, 8, 30))
    assert period == DigestPeriod(paris(2026, 11, 20, 8, 30), paris(2026, 11, 23, 8, 30))
    assert schedule().scheduled_period(paris(2026, 11, 24, 12, 0)) == DigestPeriod(
        paris(2026, 11, 23, 8, 30), paris(2026, 11, 24, 8, 30)
    )


def test_before_the_time_the_latest_slot_is_the_previous_day() -> None:
    period = schedule().scheduled_period(paris(2026, 11, 23, 8, 29, 59))
    assert period == DigestPeriod(paris(2026, 11, 19, 8, 30), paris(2026, 11, 20, 8, 30))


def test_slots_stay_at_the_local_time_across_daylight_saving_changes() -> None:
    # Paris leaves summer time on Sunday 25 October 2026: that day's digest covers 25 hours, at 08:30 both days.
    period = schedule("mon-sun").scheduled_period(paris(2026, 10, 25, 9, 0))
    assert period.end - period.start == timedelta(hours=25)
    assert [moment.astimezone(PARIS).strftime("%d %H:%M") for moment in (period.start, period.end)] == [
        "24 08:30", "25 08:30"
    ]
    spring = schedule("mon-sun").scheduled_period(paris(2026, 3, 29, 9, 0))
    assert spring.end - spring.start == timedelta(hours=23)


def test_a_digest_asked_for_now_covers_the_time_since_the_latest_slot() -> None:
    now = paris(2026, 11, 24, 15, 0)
    assert schedule().period_until(now) == DigestPeriod(paris(2026, 11, 24, 8, 30), now)
    assert schedule().period_until(paris(2026, 11, 24, 8, 30)).start == paris(2026, 11, 23, 8, 30)


def test_the_cron_trigger_fires_at_the_slots() -> None:
    trigger = schedule("mon,wed", "07:05").trigger()
    fire = trigger.get_next_fire_time(None, paris(2026, 11, 24, 12, 0))
    assert fire == paris(2026, 11, 25, 7, 5)
    assert schedule("mon,wed", "07:05").slot_before(fire, inclusive=True) == fire


# ---- destinations ------------------------------------------------------------------------------------------------


def test_destinations_are_the_digest_channel_and_the_channels_of_watchers_that_ask() -> None:
    configs = [watcher("b", "C0TRAM", digest=True), watcher("a", "C0TRAM", digest=True), watcher("c", "C0BUS"),
               watcher("d", "C0ROADS", digest=True), watcher("e", ALL, digest=True)]
    assert digest_targets(ALL, configs) == [
        DigestTarget(ALL, None), DigestTarget("C0ROADS", ("d",)), DigestTarget("C0TRAM", ("a", "b"))
    ]
    assert digest_targets(None, [watcher("c", "C0BUS")]) == []


# ---- the service, with the fake Slack ----------------------------------------------------------------------------


@pytest.fixture
async def bot(tmp_path: Path, slack: FakeSlack) -> AsyncIterator[DigestRun]:
    made = DigestRun(tmp_path / "veilleur.db", slack, [watcher("tram", "C0TRAM"), watcher("bus", "C0BUS")])
    yield made
    await made.digests.aclose()
    made.store.close()


async def test_the_scheduled_digest_is_posted_once_per_period(bot: DigestRun, slack: FakeSlack) -> None:
    found(bot.store, "tram", "C0TRAM", ["1", "2"], paris(2026, 11, 23, 18, 0))
    found(bot.store, "tram", "C0TRAM", ["3"], paris(2026, 11, 24, 9, 0))  # after the slot: next digest
    found(bot.store, "bus", "C0BUS", ["4"], paris(2026, 11, 24, 7, 0))
    assert len(await bot.digests.post_scheduled(paris(2026, 11, 24, 8, 30, 1))) == 1
    assert await bot.digests.post_scheduled(paris(2026, 11, 24, 9, 15)) == []
    await bot.outbox.drain(within=10)
    (message,) = posted(slack, ALL)
    period = DigestPeriod(paris(2026, 11, 23, 8, 30), paris(2026, 11, 24, 8, 30))
    expected = await bot.expected(period)
    assert compute_digest(bot.store, period).total == 3
    assert (message["text"], message["blocks"]) == (expected["text"], expected["blocks"])
    # the next slot makes the next digest
    assert len(await bot.digests.post_scheduled(paris(2026, 11, 25, 8, 30))) == 1
    await bot.outbox.drain(within=10)
    assert len(posted(slack, ALL)) == 2


async def test_no_second_digest_after_a_restart(bot: DigestRun, slack: FakeSlack) -> None:
    found(bot.store, "tram", "C0TRAM", ["1"], paris(2026, 11, 23, 18, 0))
    await bot.digests.post_scheduled(paris(2026, 11, 24, 8, 30))
    await bot.outbox.drain(within=10)
    again = bot.restart()
    try:
        assert await again.digests.post_scheduled(paris(2026, 11, 24, 8, 31)) == []
        assert await again.digests.catch_up(paris(2026, 11, 24, 10, 0)) == []
        await again.outbox.drain(within=10)
    finally:
        again.store.close()
    assert len(posted(slack, ALL)) == 1


async def test_a_crash_while_posting_neither_loses_nor_repeats_the_digest(bot: DigestRun, slack: FakeSlack) -> None:
    found(bot.store, "tram", "C0TRAM", ["1"], paris(2026, 11, 23, 18, 0))
    slack.drop_next("chat.postMessage", processed=True)  # Slack posts it; the answer is lost, then we "crash"
    await bot.digests.post_scheduled(paris(2026, 11, 24, 8, 30))
    await bot.outbox.flush()
    again = bot.restart()
    try:
        assert await again.digests.catch_up(paris(2026, 11, 24, 8, 40)) == []
        await again.outbox.drain(within=10)
    finally:
        again.store.close()
    assert len(posted(slack, ALL)) == 1


async def test_catch_up_posts_the_latest_missed_digest_once(bot: DigestRun, slack: FakeSlack) -> None:
    found(bot.store, "tram", "C0TRAM", ["1"], paris(2026, 11, 16, 18, 0))
    found(bot.store, "tram", "C0TRAM", ["2", "3"], paris(2026, 11, 23, 18, 0))
    # down from Monday 16 to Tuesday 24 at 10:00: one digest, the latest slot's (Monday 08:30 to Tuesday 08:30)
    assert len(await bot.digests.catch_up(paris(2026, 11, 24, 10, 0))) == 1
    assert await bot.digests.catch_up(paris(2026, 11, 24, 11, 0)) == []
    await bot.outbox.drain(within=10)
    (message,) = posted(slack, ALL)
    expected = await bot.expected(DigestPeriod(paris(2026, 11, 23, 8, 30), paris(2026, 11, 24, 8, 30)))
    assert message["blocks"] == expected["blocks"]


async def test_a_fresh_install_has_nothing_to_catch_up(bot: DigestRun, slack: FakeSlack) -> None:
    bot.store.record_poll("tram", "C0TRAM", [mention("1")], {}, now=paris(2026, 11, 24, 9, 0))
    assert await bot.digests.catch_up(paris(2026, 11, 24, 10, 0)) == []
    assert len(await bot.digests.post_scheduled(paris(2026, 11, 25, 8, 30))) == 1


async def test_channels_that_ask_get_a_digest_of_their_watchers(tmp_path: Path, slack: FakeSlack) -> None:
    configs = [watcher("tram", "C0TRAM", digest=True), watcher("tram2", "C0TRAM", digest=True),
               watcher("bus", "C0BUS")]
    bot = DigestRun(tmp_path / "veilleur.db", slack, configs)
    try:
        for name, key in (("tram", "1"), ("tram2", "2"), ("bus", "3")):
            found(bot.store, name, configs[0].channel if name != "bus" else "C0BUS", [key], paris(2026, 11, 23, 12))
        assert len(await bot.digests.post_scheduled(paris(2026, 11, 24, 8, 30))) == 2
        await bot.outbox.drain(within=10)
        period = DigestPeriod(paris(2026, 11, 23, 8, 30), paris(2026, 11, 24, 8, 30))
        assert compute_digest(bot.store, period, watchers=("tram", "tram2")).total == 2
        (tram,) = posted(slack, "C0TRAM")
        assert tram["blocks"] == (await bot.expected(period, ("tram", "tram2")))["blocks"]
        (everything,) = posted(slack, ALL)
        assert everything["blocks"] == (await bot.expected(period))["blocks"]
        assert posted(slack, "C0BUS") == []
    finally:
        await bot.digests.aclose()
        bot.store.close()


async def test_the_loop_serves_others_while_a_digest_is_computed_and_the_digest_is_the_same(
    bot: DigestRun, slack: FakeSlack
) -> None:
    found(bot.store, "tram", "C0TRAM", [str(n) for n in range(300)], paris(2026, 11, 24, 8, 45))
    now = paris(2026, 11, 24, 9, 0)
    steps_meanwhile = 0
    preview = asyncio.create_task(bot.digests.preview(bot.digests.target_for("C0TRAM"), now))

    async def run_meanwhile() -> None:
        nonlocal steps_meanwhile
        while not preview.done():
            steps_meanwhile += 1
            await asyncio.sleep(0)

    message, _ = await asyncio.gather(preview, run_meanwhile())
    assert steps_meanwhile > 0  # the preview was computed off the loop (a worker thread, a read connection)
    period = DigestPeriod(paris(2026, 11, 24, 8, 30), now.astimezone(UTC))
    assert compute_digest(bot.store, period, watchers=("tram",)).total == 300
    expected = await bot.expected(period, ("tram",))
    assert (message["text"], message["blocks"]) == (expected["text"], expected["blocks"])


async def test_a_manual_digest_does_not_count_as_the_scheduled_one(bot: DigestRun, slack: FakeSlack) -> None:
    found(bot.store, "tram", "C0TRAM", ["1"], paris(2026, 11, 24, 9, 0))
    await bot.digests.post_now(bot.digests.target_for("C0TRAM"), paris(2026, 11, 24, 15, 0))
    await bot.digests.post_now(bot.digests.target_for("C0TRAM"), paris(2026, 11, 24, 15, 5))
    assert len(await bot.digests.post_scheduled(paris(2026, 11, 25, 8, 30))) == 1
    await bot.outbox.drain(within=10)
    assert len(posted(slack, "C0TRAM")) == 2 and len(posted(slack, ALL)) == 1
    (first, _) = posted(slack, "C0TRAM")
    expected = await bot.expected(DigestPeriod(paris(2026, 11, 24, 8, 30), paris(2026, 11, 24, 15, 0)), ("tram",))
    assert first["blocks"] == expected["blocks"]


# ---- start-up ----------------------------------------------------------------------------------------------------


@pytest.fixture
def watchers_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "watchers.toml"
    path.write_text('[[watcher]]\nname = "tram"\nsource = "rss"\nurl = "https://news.example/feed"\n'
                    'query = "tram"\nchannel = "C0TRAM"\n')
    yield path


@pytest.mark.parametrize("digest_channel", ["", ALL])
async def test_the_digest_job_is_scheduled_only_with_a_destination(
    tmp_path: Path, slack: FakeSlack, watchers_file: Path, caplog: pytest.LogCaptureFixture, digest_channel: str
) -> None:
    settings = parse_settings({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.api_url,
                               "DATABASE_PATH": str(tmp_path / "db"), "WATCHERS_FILE": str(watchers_file),
                               "DIGEST_CHANNEL": digest_channel, "DIGEST_TIME": "07:45"})
    services = open_services(settings, new_slack_client("xoxb-test", slack.api_url))
    scheduler = AsyncIOScheduler(timezone=PARIS)
    try:
        with caplog.at_level(logging.INFO, logger="veilleur.digest.delivery"):
            start_digests(scheduler, services.digests)
        job = scheduler.get_job("digest")
        if digest_channel:
            assert job is not None
            assert job.trigger.get_next_fire_time(None, paris(2026, 11, 27, 8, 0)) == paris(2026, 11, 30, 7, 45)
        else:
            assert job is None
            assert "no digest destination" in caplog.text
    finally:
        await services.aclose()


# ---- the command line --------------------------------------------------------------------------------------------


async def test_cli_dry_run_prints_the_digest_and_changes_nothing(tmp_path: Path, slack: FakeSlack) -> None:
    (tmp_path / "watchers.toml").write_text(
        '[[watcher]]\nname = "tram"\nsource = "rss"\nurl = "https://news.example/feed"\nquery = "tram"\n'
        'channel = "C0TRAM"\n'
    )
    store = Store.open(tmp_path / "veilleur.db")
    now = datetime.now(UTC)
    found(store, "tram", "C0TRAM", ["1", "2"], now - timedelta(minutes=5))
    before = {table: sql(store)[table].count for table in ("deliveries", "digests", "mentions")}
    store.close()
    # the latest slot was two hours ago: the digest covers the mentions found five minutes ago
    slot = (now - timedelta(hours=2)).astimezone(PARIS)
    env = env_for(tmp_path, slack, DIGEST_CHANNEL=ALL, DIGEST_DAYS="mon-sun", DIGEST_TIME=f"{slot:%H:%M}")
    code, out, err = await run_cli(tmp_path, env, "digest", "--dry-run")
    assert code == 0, err
    header, _, readable = out.partition("\n")
    assert header == f"--- #{ALL}"
    assert "Tram 1" in readable and "&amp;" not in readable and '"blocks"' not in readable and "[{" not in readable
    code, out, err = await run_cli(tmp_path, env, "digest", "--dry-run", "--json")
    assert code == 0, err
    text, _, blocks = out.partition("\n")[2].partition("\n[")
    assert text and isinstance(json.loads("[" + blocks), list)
    assert "Tram 1" in blocks
    assert slack.calls == []
    store = Store.open(tmp_path / "veilleur.db")
    assert {table: sql(store)[table].count for table in before} == before
    store.close()
    # without --dry-run the same command posts it, once, to the destination
    code, _, err = await run_cli(tmp_path, env, "digest")
    assert code == 0, err
    (message,) = posted(slack, ALL)
    assert "Tram 1" in json.dumps(message["blocks"], ensure_ascii=False)
    store = Store.open(tmp_path / "veilleur.db")
    assert [row["kind"] for row in sql(store)["digests"].rows] == ["manual"]
    store.close()
