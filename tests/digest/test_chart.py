"""The optional 7-day chart: drawn as a PNG, uploaded with Slack's v2 file flow in the digest's thread, and only
required when DIGEST_CHART=true."""

import struct
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.support.digest import ALL, DigestRun, found, paris, posted, watcher
from tests.support.slack_api import FakeSlack
from tests.support.sql import sql
from veilleur.core.settings import SettingsError, parse_settings
from veilleur.digest.chart import PNG_SIGNATURE, volume_chart


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    return struct.unpack(">II", png[16:24])


def test_the_chart_is_a_small_png() -> None:
    days = [date(2026, 11, 18) + timedelta(days=n) for n in range(7)]
    png = volume_chart({"tram": [(day, n) for n, day in enumerate(days)], "bus": [(day, 1) for day in days]},
                       title="Mentions per day")
    assert png.startswith(PNG_SIGNATURE)
    assert png_size(png) == (600, 300)
    assert len(png) < 100_000


def test_chart_on_without_matplotlib_is_a_start_up_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    with pytest.raises(SettingsError, match="DIGEST_CHART=true needs matplotlib"):
        parse_settings({"DIGEST_CHART": "true"})
    assert parse_settings({}).digest_chart is False  # off: the bot runs without it
    with pytest.raises(SettingsError, match="DIGEST_CHART must be true or false"):
        parse_settings({"DIGEST_CHART": "yes"})


async def test_the_chart_is_uploaded_in_the_digest_thread(tmp_path: Path, slack: FakeSlack) -> None:
    bot = DigestRun(tmp_path / "veilleur.db", slack, [watcher("tram", "C0TRAM")], DIGEST_CHART="true")
    try:
        found(bot.store, "tram", "C0TRAM", ["1", "2"], paris(2026, 11, 23, 18, 0))
        (digest_id,) = await bot.digests.post_scheduled(paris(2026, 11, 24, 8, 30))
        await bot.outbox.drain(within=10)
        await bot.digests.settle(within=10)
        (digest,) = posted(slack, ALL)
        (uploaded,) = slack.files.values()
        assert uploaded.content.startswith(PNG_SIGNATURE)
        assert (uploaded.channel, uploaded.thread_ts) == (ALL, digest["ts"])
        assert uploaded.filename == "digest-2026-11-24.png" and uploaded.title == "Mentions per day, last 7 days"
        assert [call.method for call in slack.calls if call.method.startswith("files.")] == [
            "files.getUploadURLExternal", "files.completeUploadExternal"
        ]
        row = sql(bot.store)["digests"].get(digest_id)
        assert (row["chart_state"], row["chart_file_id"]) == ("uploaded", uploaded.id)
        # a restart does not upload it again
        again = bot.restart()
        again.digests.start(paris(2026, 11, 24, 8, 45))
        await again.digests.settle(within=5)
        await again.digests.aclose()
        again.store.close()
        assert len(slack.files) == 1
    finally:
        await bot.digests.aclose()
        bot.store.close()


async def test_without_the_setting_no_chart_is_drawn(tmp_path: Path, slack: FakeSlack) -> None:
    bot = DigestRun(tmp_path / "veilleur.db", slack, [watcher("tram", "C0TRAM")])
    try:
        found(bot.store, "tram", "C0TRAM", ["1"], paris(2026, 11, 23, 18, 0))
        await bot.digests.post_scheduled(paris(2026, 11, 24, 8, 30))
        await bot.outbox.drain(within=10)
        await bot.digests.settle(within=1)
        assert len(posted(slack, ALL)) == 1 and slack.files == {}
    finally:
        await bot.digests.aclose()
        bot.store.close()
