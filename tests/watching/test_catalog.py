"""The watcher catalogue on its own: what survives a restart, what an edit keeps, what Slack-made watchers may use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.support.feed_server import FeedServer
from tests.support.world import feed
from veilleur.core.errors import UserError
from veilleur.core.settings import parse_settings
from veilleur.core.watcher_config import WatcherFieldError
from veilleur.runtime import open_local_services
from veilleur.services import LocalServices
from veilleur.watching.catalog import SLACK

Opener = Callable[..., LocalServices]


@pytest.fixture
async def open_bot(tmp_path: Path, feeds: FeedServer) -> AsyncIterator[Opener]:
    """`open_bot(**env)`: the services as the bot builds them (no Slack), on one database and watchers file."""
    (tmp_path / "watchers.toml").write_text(
        f'[[watcher]]\nname = "news"\nsource = "rss"\nurl = "{feeds.url("/news")}"\nquery = "tram"\n'
        'channel = "C0NEWS"\n'
    )
    opened: list[LocalServices] = []

    def start(**env: str) -> LocalServices:
        values = {"DATABASE_PATH": str(tmp_path / "veilleur.db"), "WATCHERS_FILE": str(tmp_path / "watchers.toml"),
                  "ALLOW_PRIVATE_URLS": "true", "SLACK_BOT_TOKEN": "xoxb-secret", "MY_TOKEN": "t"}
        services = open_local_services(parse_settings(values | env))
        opened.append(services)
        return services

    yield start
    for services in opened:
        await services.aclose()


def tram_table(feeds: FeedServer, path: str = "/tram", **fields: object) -> dict[str, object]:
    return {"name": "tram", "source": "rss", "url": feeds.url(path), "query": "tram", "channel": "C0TRAM",
            "interval": "5m"} | fields


async def add(services: LocalServices, table: dict[str, object]) -> None:
    catalog = services.catalog
    config, watcher = await catalog.validate(table)
    catalog.add(table, config, watcher, "U0ADMIN")


async def test_slack_made_and_paused_watchers_survive_a_restart(open_bot: Opener, feeds: FeedServer) -> None:
    services = open_bot()
    await add(services, tram_table(feeds))
    services.catalog.pause("news", "U0ADMIN")
    await services.aclose()

    again = open_bot()
    entries = {entry.name: entry for entry in again.catalog.entries()}
    assert entries["tram"].origin == SLACK and entries["tram"].created_by == "U0ADMIN"
    assert entries["news"].paused
    assert set(again.watchers) == {"tram"}  # the paused one does not poll


async def test_an_edit_starts_over_only_when_the_watcher_reads_another_feed(
    open_bot: Opener, feeds: FeedServer
) -> None:
    feeds.add("/tram", feed([("1", "tram strike")]))
    feeds.add("/other", feed([("2", "tram late")]))
    services = open_bot()
    await add(services, tram_table(feeds))
    await services.poller.poll("tram")
    catalog = services.catalog
    first_run = services.store.watcher_status("tram").first_polled_at
    assert first_run is not None

    table = tram_table(feeds, query="tram OR metro")
    config, watcher = await catalog.validate(table, editing="tram")
    catalog.edit("tram", table, config, watcher, "U0ADMIN")
    assert services.store.watcher_status("tram").first_polled_at == first_run

    table = tram_table(feeds, "/other")
    config, watcher = await catalog.validate(table, editing="tram")
    catalog.edit("tram", table, config, watcher, "U0ADMIN")
    assert services.store.watcher_status("tram").first_polled_at is None
    report = await services.poller.poll("tram")
    assert report.outcome is not None and report.outcome.quiet == 1  # a first run again: the backlog stays quiet


async def test_slack_made_watchers_do_not_see_the_bot_secrets(open_bot: Opener) -> None:
    env = open_bot().catalog.slack_context.env
    assert "SLACK_BOT_TOKEN" not in env and env["MY_TOKEN"] == "t"


async def test_urls_in_options_are_checked_too(open_bot: Opener, feeds: FeedServer) -> None:
    services = open_bot(ALLOW_PRIVATE_URLS="false")
    table = {"name": "toots", "source": "mastodon", "query": "tram", "channel": "C0TRAM",
             "options": {"tags": ["tram"], "instances": ["http://10.0.0.1"]}}
    with pytest.raises(WatcherFieldError) as refused:
        await services.catalog.validate(table)
    assert refused.value.field == "options" and "ALLOW_PRIVATE_URLS" in refused.value.message


async def test_a_web_page_given_in_slack_may_not_be_private(open_bot: Opener, feeds: FeedServer) -> None:
    services = open_bot(ALLOW_PRIVATE_URLS="false")
    table = {"name": "mairie", "source": "webpage", "url": feeds.url("/actualites"), "query": "piscine",
             "channel": "C0TRAM", "interval": "15m", "options": {"selector": "main li"}}
    with pytest.raises(WatcherFieldError) as refused:
        await services.catalog.validate(table)
    assert refused.value.field == "url" and "loopback" in refused.value.message


async def test_a_file_entry_named_like_a_slack_watcher_is_left_out(
    open_bot: Opener, feeds: FeedServer, tmp_path: Path
) -> None:
    services = open_bot()
    await add(services, tram_table(feeds))
    await services.aclose()
    watchers_file = tmp_path / "watchers.toml"
    watchers_file.write_text(
        watchers_file.read_text()
        + f'\n[[watcher]]\nname = "tram"\nsource = "rss"\nurl = "{feeds.url("/x")}"\nquery = "x"\nchannel = "C0X"\n'
    )
    again = open_bot()
    assert [(p.watcher, p.field) for p in again.problems] == [("tram", "name")]
    assert again.catalog.get("tram").origin == SLACK
    assert again.watchers["tram"].config.query.text == "tram"


async def test_unknown_names_and_double_pauses_are_refused(open_bot: Opener) -> None:
    catalog = open_bot().catalog
    with pytest.raises(UserError) as unknown:
        catalog.pause("nope", "U0ADMIN")
    assert unknown.value.key == "watch.unknown"
    with pytest.raises(UserError) as resumed:
        catalog.resume("news")
    assert resumed.value.key == "watch.not_paused"
