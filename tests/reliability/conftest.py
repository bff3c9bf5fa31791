"""The reliability suite's fixtures: the fault matrix's scenes, and the slow-loris case, which starts in the
background with the suite's first test (see `slow_loris`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.reliability.scene", "tests.reliability.support")

from tests.reliability.scene import Scene, assert_contained, assert_recovers  # noqa: E402
from tests.reliability.support import Background  # noqa: E402
from tests.support.feed_server import FeedServer  # noqa: E402  (after the assert-rewrite registration)
from tests.support.slack_api import FakeSlack  # noqa: E402

TRICKLE_EVERY = 0.5  # seconds between two bytes of the slow-loris answer: no read ever waits long


@pytest.fixture
def scene(tmp_path: Path, slack: FakeSlack, feeds: FeedServer) -> Scene:
    return Scene(tmp_path, slack, feeds)


@pytest.fixture
def api_scene(tmp_path: Path, slack: FakeSlack, feeds: FeedServer) -> Scene:
    """The faulty watcher is a Hacker News watcher whose API root is the playback server."""
    return Scene(tmp_path, slack, feeds, source="hackernews")


async def slow_loris_case(workdir: Path) -> None:
    """A source that answers 200 at once, then one byte every half second, forever: no read times out, so only
    the whole-answer deadline (40 s) ends it. The steady watchers still post in that run; one alert, one recovery."""
    async with FakeSlack() as slack, FeedServer() as feeds:
        scene = Scene(workdir, slack, feeds)
        feeds.add_trickle(scene.fault_path, TRICKLE_EVERY)
        run = await scene.run(within=120)
        assert_contained(scene, run, r"still sending its answer after")
        await assert_recovers(scene)


@pytest.fixture(scope="package", autouse=True)
def slow_loris(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Background]:
    """The slow-loris case waits a minute, mostly idle: it plays in the background from the suite's first test on,
    and test_slow_source.py, which runs last, waits for its outcome."""
    case = Background(lambda: slow_loris_case(tmp_path_factory.mktemp("slow-loris")))
    case.start()
    yield case
    case.stop()
