"""Scheduling: each watcher on its own job; a hanging source never delays the others."""

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from tests.support.feed_server import FeedServer
from veilleur.assist.conversations import author_labels
from veilleur.core.public_roles import PublicRole
from veilleur.core.settings import parse_settings
from veilleur.runtime import open_local_services, schedule_watchers
from veilleur.storage.public_roles import PublicRoles
from veilleur.storage.store import Store
from watchers.base import new_http_client

FEED = "<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


def settings_for(tmp_path: Path, feeds: FeedServer, names: list[str], interval: str = "30s"):
    (tmp_path / "watchers.toml").write_text(
        "\n".join(
            f'[[watcher]]\nname = "{name}"\nsource = "rss"\nurl = "{feeds.url("/" + name)}"\nquery = "tram"\n'
            f'channel = "C0TEST"\ninterval = "{interval}"\n'
            for name in names
        )
    )
    return parse_settings({"WATCHERS_FILE": str(tmp_path / "watchers.toml"), "DATABASE_PATH": ":memory:"})


async def test_each_watcher_gets_its_own_job_with_jitter(tmp_path: Path, feeds: FeedServer) -> None:
    services = open_local_services(settings_for(tmp_path, feeds, ["a", "b"], "5m"))
    scheduler = AsyncIOScheduler()
    schedule_watchers(scheduler, services)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"poll:a", "poll:b"}
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce
        assert job.trigger.interval.total_seconds() == 300
        assert 0 < job.trigger.jitter <= 60
    await services.aclose()


async def test_a_hanging_source_does_not_delay_the_others(tmp_path: Path, feeds: FeedServer) -> None:
    feeds.hang("/stuck")
    feeds.add("/fine", FEED)
    services = open_local_services(settings_for(tmp_path, feeds, ["stuck", "fine"]))
    patient_http = new_http_client(httpx.Timeout(30.0))
    for watcher in services.watchers.values():
        watcher.http = patient_http
    fine_polled = asyncio.Event()
    poll = services.poller.poll

    async def noting_poll(name: str):
        report = await poll(name)
        if name == "fine":
            fine_polled.set()
        return report

    services.poller.poll = noting_poll
    scheduler = AsyncIOScheduler()
    schedule_watchers(scheduler, services)
    now = datetime.now(UTC)
    scheduler.modify_job("poll:stuck", next_run_time=now)
    scheduler.modify_job("poll:fine", next_run_time=now + timedelta(seconds=0.5))
    scheduler.start()
    try:
        await asyncio.wait_for(fine_polled.wait(), 5)
        assert services.store.watcher_status("fine").last_success_at is not None
        assert feeds.requests("/stuck")  # the stuck poll is under way, and did not hold the fine one back
        assert services.store.watcher_status("stuck").last_success_at is None
    finally:
        scheduler.shutdown(wait=False)
        await patient_http.aclose()
        await services.aclose()


async def test_two_polls_of_one_watcher_never_overlap(tmp_path: Path, feeds: FeedServer) -> None:
    feeds.add("/slow", FEED)
    feeds.set_delay("/slow", 0.5)
    services = open_local_services(settings_for(tmp_path, feeds, ["slow"]))
    first, second = await asyncio.gather(services.poller.poll("slow"), services.poller.poll("slow"))
    assert len(feeds.requests("/slow")) == 1
    assert first.skipped != second.skipped
    await services.aclose()


async def test_imported_public_roles_join_the_author_tables_and_win_on_conflict(tmp_path: Path) -> None:
    (tmp_path / "watchers.toml").write_text(
        '[[author]]\nhandle = "@ann"\nsource = "mastodon"\nlabels = ["journalist"]\n'
        '[[author]]\nhandle = "bob"\nlabels = ["media"]\n'
    )
    store = Store.open(tmp_path / "veilleur.db")
    PublicRoles(store).save([PublicRole("ann", "mastodon", "elected", "Ann"),
                             PublicRole("", "rss", "journalist", "Jean Dupont")], datetime.now(UTC))
    settings = parse_settings({"WATCHERS_FILE": str(tmp_path / "watchers.toml"),
                               "DATABASE_PATH": str(tmp_path / "veilleur.db")})
    services = open_local_services(settings, store=store)
    try:
        assert author_labels(services.authors, "mastodon", "Ann", "") == ("elected",)
        assert author_labels(services.authors, "rss", "", "jean dupont") == ("journalist",)
        assert author_labels(services.authors, "bluesky", "bob", "") == ("media",)
    finally:
        await services.aclose()
