"""The fault matrix: one hostile source (or a failing Slack, or a database the bot cannot write) at a time, against
the real `bot.py once` with two steady watchers beside it.

Each fault is held to the same promises: the steady watchers post their new items in the same run (isolation), the
bot's peak resident memory stays under RSS_LIMIT_MB, the failing watcher is reported with one health alert, and
once the fault is gone one recovery notice follows and nothing is lost or posted twice.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.reliability.scene import FAULTY_CHANNEL, Scene, assert_contained, assert_recovers
from tests.reliability.support import (
    RSS_LIMIT_MB,
    card_link,
    cards,
    gzip_bomb,
    hn_answer,
    item_link,
    rss_feed,
    xml_bomb,
)
from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack

TOO_LARGE = "answer larger than 10 MB"
BOMB_MB = 256  # decompressed; about 256 KB on the wire


# ---- hostile sources -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["rss", "hackernews"])
async def test_a_50_mb_answer_is_cut_at_10_mb(tmp_path: Path, slack: FakeSlack, feeds: FeedServer,
                                               source: str) -> None:
    scene = Scene(tmp_path, slack, feeds, source=source)
    opening = b'{"hits": [' if source == "hackernews" else b'<?xml version="1.0"?><rss version="2.0"><channel>'
    feeds.add_huge(scene.fault_path, 50 * 1024 * 1024, prologue=opening)
    run = await scene.run()
    assert_contained(scene, run, TOO_LARGE)
    await assert_recovers(scene)


@pytest.mark.parametrize("source", ["rss", "hackernews"])
async def test_a_gzip_bomb_is_cut_at_10_mb_decompressed(tmp_path: Path, slack: FakeSlack, feeds: FeedServer,
                                                        source: str) -> None:
    scene = Scene(tmp_path, slack, feeds, source=source)
    if source == "hackernews":
        bomb, kind = gzip_bomb(b'{"hits": [', BOMB_MB, b"]}"), "application/json"
    else:
        bomb, kind = gzip_bomb(b"<?xml version='1.0'?><rss version='2.0'><channel>", BOMB_MB, b"</channel></rss>"), \
            "application/rss+xml"
    feeds.add(scene.fault_path, bomb, content_type=kind, headers={"Content-Encoding": "gzip"})
    run = await scene.run()
    assert_contained(scene, run, TOO_LARGE)
    await assert_recovers(scene)


async def test_an_xml_bomb_is_refused_before_any_parser_expands_it(scene: Scene) -> None:
    scene.feeds.add(scene.fault_path, xml_bomb("bomb-1"))
    run = await scene.run()
    assert_contained(scene, run, r"XML bomb")
    await assert_recovers(scene)


async def test_invalid_utf8_from_an_api_fails_that_watcher_alone(api_scene: Scene) -> None:
    body = hn_answer([7]).encode().replace(b"tram story 7", b"tram \xff\xfe story \xc3(7")
    api_scene.feeds.add(api_scene.fault_path, body, content_type="application/json")
    run = await api_scene.run()
    assert_contained(api_scene, run, None)
    await assert_recovers(api_scene)


async def test_invalid_utf8_in_a_feed_costs_the_bad_bytes_only(tmp_path: Path, slack: FakeSlack,
                                                                  feeds: FeedServer) -> None:
    """A feed is read leniently, as feed readers do: a few undecodable bytes in one item cost those characters, not
    the item, and not the accents of the rest of the feed (read as windows-1252, "école" would become "Ã©cole")."""
    scene = Scene(tmp_path, slack, feeds, faulty_backfill=2)
    body = rss_feed(["accents", "bad-bytes"]).encode()
    body = body.replace(b"tram accents", "tram accents école café".encode())
    body = body.replace(b"tram bad-bytes", b"tram \xff\xfe caf\xc3 bad-bytes")
    scene.feeds.add(scene.fault_path, body)
    scene.expected |= {item_link("accents"): FAULTY_CHANNEL, item_link("bad-bytes"): FAULTY_CHANNEL}
    run = await scene.run()
    assert run.code == 0, run.describe()
    texts = [m["text"] for m in scene.slack.messages[FAULTY_CHANNEL]]
    assert any("tram accents école café" in text for text in texts), texts
    assert any("tram" in text and "bad-bytes" in text for text in texts), texts
    scene.nothing_lost_or_doubled()


async def test_an_api_answering_html_fails_that_watcher_alone(api_scene: Scene) -> None:
    page = "<!doctype html><html><head><title>Sign in</title></head><body>Please sign in</body></html>"
    api_scene.feeds.add(api_scene.fault_path, page, content_type="text/html")
    run = await api_scene.run()
    assert_contained(api_scene, run, None)
    await assert_recovers(api_scene)


async def test_a_redirect_loop_fails_that_watcher_alone(scene: Scene) -> None:
    scene.feeds.redirect(scene.fault_path, scene.fault_path)
    run = await scene.run()
    assert_contained(scene, run, r"(?i)redirect")
    await assert_recovers(scene)


async def test_a_10000_item_feed_posts_a_capped_burst_and_stores_the_rest(scene: Scene) -> None:
    scene.env["MAX_CARDS_PER_POLL"] = "5"
    scene.feeds.add(scene.fault_path, rss_feed(["big-old"]))
    first = await scene.run()  # the big watcher's first poll: its one item recorded quietly (backfill 1 posts it)
    assert first.code == 0, first.describe()
    scene.expected[item_link("big-old")] = FAULTY_CHANNEL
    keys = [f"big-{n}" for n in range(10_000)]
    scene.feeds.add(scene.fault_path, rss_feed([*keys, "big-old"]))
    run = await scene.run(within=45)  # about 10 s with the cap; without it, hours of posting
    assert run.code == 0 and not run.timed_out, run.describe()
    assert run.peak_rss_mb <= RSS_LIMIT_MB, run.describe()
    big_cards = [link for (channel, link) in cards(scene.slack) if channel == FAULTY_CHANNEL]
    assert len(big_cards) <= 1 + 5, f"{len(big_cards)} cards for one poll"
    # in the watcher's channel, the one message that is neither a card nor in a thread is the roll-up
    rollups = [m for m in scene.slack.messages[FAULTY_CHANNEL]
               if card_link(m) is None and m.get("thread_ts", m["ts"]) == m["ts"]]
    assert len(rollups) == 1, rollups
    digits = re.sub(r"[\s,.\u00a0\u202f]", "", rollups[0]["text"])
    assert "9995" in digits or "10000" in digits, rollups[0]["text"]
    with sqlite3.connect(scene.workdir / "veilleur.db") as db:
        stored = db.execute("select count(*) from mentions where url like 'https://news.example/big-%'").fetchone()
    assert stored[0] == 10_001
    # the steady watchers were not held up, and the next poll posts nothing more of the burst
    scene.expected |= {link: FAULTY_CHANNEL for link in big_cards}
    scene.nothing_lost_or_doubled()
    posted = len(scene.slack.calls_to("chat.postMessage"))
    again = await scene.run()
    assert again.code == 0, again.describe()
    assert len([c for c in scene.slack.calls_to("chat.postMessage")[posted:]
                if c.args.get("channel") == FAULTY_CHANNEL]) == 0
    scene.nothing_lost_or_doubled()


# ---- a failing Slack --------------------------------------------------------------------------------------------


async def test_slack_429_500_and_dropped_answers_lose_nothing_and_post_nothing_twice(scene: Scene) -> None:
    """While Slack fails (and a source fails too), every card and the one health alert get through exactly once."""
    scene.feeds.set_status(scene.fault_path, 500)
    scene.slack.fail_next("chat.postMessage", status=429, retry_after=1, count=3)
    scene.slack.fail_next("chat.postMessage", status=500, count=2)
    scene.slack.drop_next("chat.postMessage", count=2, processed=True)
    scene.slack.drop_next("chat.postMessage", count=2, processed=False)
    run = await scene.run(within=120)
    assert "Traceback" not in run.output, run.describe()
    assert run.peak_rss_mb <= RSS_LIMIT_MB, run.describe()
    statuses = [call.status for call in scene.slack.calls_to("chat.postMessage")]
    assert statuses.count(429) == 3 and statuses.count(500) == 2 and statuses.count(0) == 4
    await assert_recovers(scene)  # Slack well again: nothing lost, nothing twice, the alert once


# ---- a database the bot cannot write ---------------------------------------------------------------------------


@pytest.fixture
def locked_database(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A connection of this process (another process to the bot) that can hold the bot's database's write lock."""
    holder = sqlite3.connect(tmp_path / "veilleur.db", isolation_level=None, timeout=0)
    yield holder
    holder.close()


async def test_a_locked_database_fails_the_run_with_one_line_and_loses_nothing(
    scene: Scene, locked_database: sqlite3.Connection
) -> None:
    first = await scene.run()
    assert first.code == 1, first.describe()  # the faulty watcher has no feed: 404
    scene.heal()
    locked_database.execute("begin exclusive")
    try:
        run = await scene.run(within=90)
    finally:
        locked_database.execute("rollback")
    assert not run.timed_out, run.describe()
    assert "Traceback" not in run.output, run.describe()
    assert run.code == 1, run.describe()
    assert "database is busy" in run.output, run.describe()
    again = await scene.run()
    assert again.code == 0, again.describe()
    scene.nothing_lost_or_doubled()


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[bool], None]]:
    """`read_only(True)` makes the bot's database file read-only, even for root, whom permission bits do not bind
    (the file is then made immutable with chattr)."""
    path = tmp_path / "veilleur.db"
    as_root = os.geteuid() == 0

    def set_read_only(on: bool) -> None:
        if as_root and not on:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o444 if on else 0o644)
        if as_root and on:
            subprocess.run(["chattr", "+i", str(path)], check=True)
        if on:
            with pytest.raises(sqlite3.OperationalError, match="readonly"), sqlite3.connect(path) as db:
                db.execute("create table probe (x)")

    yield set_read_only
    if path.exists():
        set_read_only(False)


async def test_a_read_only_database_fails_the_run_with_one_line_and_loses_nothing(
    scene: Scene, read_only: Callable[[bool], None]
) -> None:
    first = await scene.run()
    assert first.code == 1, first.describe()  # the faulty watcher has no feed: 404
    scene.heal()
    read_only(True)
    run = await scene.run()
    read_only(False)
    assert not run.timed_out, run.describe()
    assert "Traceback" not in run.output, run.describe()
    assert run.code == 1, run.describe()
    assert "database is read-only" in run.output, run.describe()
    again = await scene.run()
    assert again.code == 0, again.describe()
    scene.nothing_lost_or_doubled()
