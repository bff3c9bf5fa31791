"""One poll cycle over many API watchers (Mastodon, Bluesky, Reddit, Hacker News, Discourse), and isolation;
then one cycle over the newer sources (YouTube, Facebook Pages, Lemmy, X, web pages).

    .venv/bin/python bench/bench_sources.py [--per-source 40] [--new-watchers 200] [--timeout 2]

A second process plays back the recorded payloads of tests/fixtures/ for every source's endpoints. The cycle
polls all watchers at once through the real poller and store. Then the same cycle runs with one more watcher
whose server never answers: the others must finish as before, and that one fails after its timeout. Last, a
cycle of `--new-watchers` watchers of the newer sources, printed beside the first figure.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from aiohttp import web  # noqa: E402
from playback import playback_server  # noqa: E402

from tests.support.feed_server import FeedServer  # noqa: E402
from veilleur.core.query import parse_query  # noqa: E402
from veilleur.core.watcher_config import WatcherConfig  # noqa: E402
from veilleur.storage.store import Store  # noqa: E402
from veilleur.watching.polling import Poller  # noqa: E402
from watchers import build_watcher  # noqa: E402
from watchers.base import WatcherContext, new_http_client  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
SESSION = (
    '{"accessJwt": "bench-access", "refreshJwt": "bench-refresh", "handle": "bench.bsky.social",'
    ' "did": "did:plc:bench"}'
)
ROUTES = {
    "/api/v1/timelines/tag/rstats": FIXTURES / "mastodon" / "tag_timeline_rstats_fosstodon.json",
    "/xrpc/app.bsky.feed.searchPosts": FIXTURES / "bluesky" / "searchPosts_redistricting.json",
    "/xrpc/app.bsky.actor.getProfiles": FIXTURES / "bluesky" / "getProfiles.json",
    "/search": FIXTURES / "reddit" / "search_listing_r_all.json",
    "/api/v1/search_by_date": FIXTURES / "hackernews" / "search_by_date_story_apple.json",
    "/search.json": FIXTURES / "discourse" / "query_response.json",
    "/nodeinfo/2.1": FIXTURES / "lemmy" / "SYNTHETIC_nodeinfo_0.19.json",
    "/api/v3/search": FIXTURES / "lemmy" / "SYNTHETIC_v3_search_all_new.json",
}
PAGE = FIXTURES / "webpage" / "SYNTHETIC_mairie_actualites_v1.html"
FB_COMMENTS = FIXTURES / "facebook" / "SYNTHETIC_post_comments_stream_with_from_parent.json"
# The newer sources, each under its own prefix (YouTube's /search would meet Reddit's).
NEW_ROUTES = {
    "/yt/search": FIXTURES / "youtube" / "search_list_keywords_p1.json",
    "/yt/commentThreads": FIXTURES / "youtube" / "commentThreads_list_allThreadsRelatedToChannelId.json",
    "/yt/comments": FIXTURES / "youtube" / "comments_list_parentId_p1.json",
    "/fb/v25.0/19292868552/feed": FIXTURES / "facebook" / "page_feed_many_fields_cursor_paging.json",
    **{
        f"/fb/v25.0/19292868552_{post}/comments": FB_COMMENTS
        for post in ("10158349356748553", "10158347294088553", "10158345715593553", "10158343840773553",
                     "10158333323653553")
    },
}
ENV = {
    "BLUESKY_HANDLE": "bench.bsky.social",
    "BLUESKY_APP_PASSWORD": "bench-pass",
    "REDDIT_CLIENT_ID": "bench",
    "REDDIT_CLIENT_SECRET": "bench",
    "YOUTUBE_API_KEY": "bench",
    "FACEBOOK_PAGE_TOKEN": "bench",
    "X_BEARER_TOKEN": "bench",
}


def add_routes(server: FeedServer) -> None:
    for path, fixture in ROUTES.items():
        server.add_file(path, fixture, content_type="application/json")
    server.add_file("/page", PAGE, content_type="text/html")
    # The last page of a search: the recorded answer without its next_token (else every poll reads to its cap).
    x_page = json.loads((FIXTURES / "x" / "SYNTHETIC_search_recent_full_fields.json").read_text())
    del x_page["meta"]["next_token"]
    server.add("/2/tweets/search/recent", json.dumps(x_page), content_type="application/json")
    server.add("/xrpc/com.atproto.server.createSession", SESSION, content_type="application/json")
    server.add(
        "/api/v1/access_token",
        '{"access_token": "bench", "token_type": "bearer", "expires_in": 86400}',
        content_type="application/json",
    )
    server.hang("/hang/api/v1/timelines/tag/rstats")
    for path, fixture in NEW_ROUTES.items():
        server.add_file(path, fixture, content_type="application/json")
    server.add_handler("/yt/videos", partial(_by_ids, FIXTURES / "youtube" / "videos_list_snippet_statistics.json"))
    server.add_handler("/yt/channels", partial(_by_ids, FIXTURES / "youtube" / "channels_list_statistics.json"))


def _by_ids(fixture: Path, request: web.Request) -> web.Response:
    """videos.list / channels.list: the recorded resource under each id asked for, as the real API answers."""
    recorded = json.loads(fixture.read_text())["items"][0]
    items = [recorded | {"id": item_id} for item_id in request.query.get("id", "").split(",") if item_id]
    return web.json_response({"items": items})


def new_configs(base_url: str, count: int) -> list[WatcherConfig]:
    """`count` watchers of the newer sources, as many of each. The YouTube ones search and read a channel's
    comments, with a quota large enough that none is held back by the plan; Lemmy's search budget is raised: all
    of them share one instance."""
    query = parse_query("surfing OR google OR the OR travaux OR piscine OR budget")
    youtube = {"channels": ["UCa-vrCLQHviTOVnEKDOdetQ"], "q": "surfing", "quota_share": 1.0,
               "daily_quota": 100_000_000}
    shapes: dict[str, dict[str, Any]] = {
        "youtube": {"base_url": f"{base_url}/yt", "options": youtube},
        "facebook": {"base_url": f"{base_url}/fb", "options": {"page_id": "19292868552"}},
        "lemmy": {"base_url": base_url, "options": {"q": "travaux", "search_limit": 10_000}},
        "x": {"base_url": base_url},
        "webpage": {"url": f"{base_url}/page", "options": {"selector": "main li"}},
    }
    return [
        WatcherConfig(name=f"{source}-{n}", source=source, query=query, channel="C0BENCH", **shape)
        for n in range(count // len(shapes))
        for source, shape in shapes.items()
    ]


def configs(base_url: str, per_source: int) -> list[WatcherConfig]:
    query = parse_query("rstats OR redistricting OR apple OR discourse OR python OR the")
    shapes = {
        "mastodon": {"options": {"tags": ["rstats"]}},
        "bluesky": {"options": {"q": "redistricting"}},
        "reddit": {"options": {"q": "python", "search": True}},
        "hackernews": {"options": {"q": "apple"}},
        "discourse": {"options": {"q": "discourse"}},
    }
    return [
        WatcherConfig(name=f"{source}-{n}", source=source, query=query, channel="C0BENCH", base_url=base_url, **shape)
        for source, shape in shapes.items()
        for n in range(per_source)
    ]


async def cycle(
    base_url: str, all_configs: list[WatcherConfig], http_timeout: float, with_hanging: bool
) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "bench.db")
        http = new_http_client(httpx.Timeout(http_timeout))
        context = WatcherContext(http=http, env=ENV)
        all_configs = list(all_configs)
        if with_hanging:
            all_configs.append(
                WatcherConfig(name="hanging", source="mastodon", query=parse_query("rstats"), channel="C0BENCH",
                              base_url=f"{base_url}/hang", options={"tags": ["rstats"]})
            )
        watchers = {config.name: build_watcher(config, context) for config in all_configs}
        poller = Poller(store, watchers, burst_threshold=5)
        finished: dict[str, float] = {}
        started = time.perf_counter()

        async def timed(name: str):
            report = await poller.poll(name)
            finished[name] = time.perf_counter() - started
            return report

        reports = await asyncio.gather(*(timed(name) for name in watchers))
        total = time.perf_counter() - started
        failures = [r for r in reports if not r.ok and r.watcher != "hanging"]
        others = [at for name, at in finished.items() if name != "hanging"]
        result = {
            "total": total,
            "others_done": max(others),
            "hanging_done": finished.get("hanging"),
            "failures": failures,
            "mentions": store.count_mentions(),
            "fetched": sum(r.fetched for r in reports),
        }
        await http.aclose()
        store.close()
        return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-source", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--new-watchers", type=int, default=200)
    args = parser.parse_args()
    watchers = args.per_source * 5
    with playback_server(add_routes) as base_url:
        existing = configs(base_url, args.per_source)
        runs = [asyncio.run(cycle(base_url, existing, args.timeout, False)) for _ in range(args.runs)]
        first = runs[0]
        if first["failures"]:
            print(f"  {len(first['failures'])} failed polls, e.g. {first['failures'][0].error}")
        median = statistics.median(r["total"] for r in runs)
        print(f"{watchers} API watchers ({args.per_source} per source), all answering: cycle {median:.2f} s "
              f"(median of {args.runs}); {first['fetched']} items fetched, {first['mentions']} distinct mentions")
        hanging = asyncio.run(cycle(base_url, existing, args.timeout, True))
        print(
            f"same plus one watcher whose server never answers (timeout {args.timeout:.0f} s): the {watchers} others "
            f"done after {hanging['others_done']:.2f} s, the hanging one failed after {hanging['hanging_done']:.2f} s"
        )
        newer = new_configs(base_url, args.new_watchers)
        new_runs = [asyncio.run(cycle(base_url, newer, args.timeout, False)) for _ in range(args.runs)]
        if new_runs[0]["failures"]:
            print(f"  {len(new_runs[0]['failures'])} failed polls, e.g. {new_runs[0]['failures'][0].error}")
        new_median = statistics.median(r["total"] for r in new_runs)
        sources = sorted({config.source for config in newer})
        print(f"{len(newer)} watchers of the newer sources ({', '.join(sources)}): cycle {new_median:.2f} s "
              f"(median of {args.runs}), beside {median:.2f} s for the {watchers} above; "
              f"{new_runs[0]['fetched']} items fetched, {new_runs[0]['mentions']} distinct mentions")


if __name__ == "__main__":
    main()
