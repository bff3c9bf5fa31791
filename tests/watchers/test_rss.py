"""The RSS watcher over real HTTP against the feed playback server."""

from pathlib import Path

import httpx
import pytest

from tests.support.feed_server import FeedServer
from veilleur.core.query import parse_query
from veilleur.core.watcher_config import WatcherConfig
from watchers.base import USER_AGENT, SourceError, WatcherContext
from watchers.rss import RssWatcher

FIXTURES = Path(__file__).parent.parent / "fixtures" / "feeds"


def watcher(url: str, http: httpx.AsyncClient) -> RssWatcher:
    config = WatcherConfig(name="w", source="rss", query=parse_query("x"), channel="C1", url=url)
    return RssWatcher(config, WatcherContext(http=http))


async def test_google_alerts_feed_is_normalised(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_file("/alerts", FIXTURES / "google_alerts_atom_slack.xml")
    result = await watcher(feeds.url("/alerts"), http).poll({})
    assert result.mentions
    first = result.mentions[0]
    assert first.source == "rss"
    assert first.external_id.startswith("tag:google.com,2013:googlealerts/feed:")
    assert first.url.startswith("https://www.aglobalmarketresearch.com/")
    assert "<b>" not in first.title and "Slack" in first.title
    assert first.created_at is not None and first.created_at.utcoffset().total_seconds() == 0


async def test_sends_user_agent_and_uses_conditional_get(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_file("/feed", FIXTURES / "SYNTHETIC_fr_news_rss2.xml")
    rss = watcher(feeds.url("/feed"), http)
    first = await rss.poll({})
    assert first.mentions and not first.not_modified
    assert first.cursor.get("etag") and first.cursor.get("last_modified")
    second = await rss.poll(first.cursor)
    assert second.not_modified and second.mentions == []
    assert second.cursor == first.cursor
    requests = feeds.requests("/feed")
    assert requests[0].headers["User-Agent"] == USER_AGENT
    assert "If-None-Match" not in requests[0].headers
    assert requests[1].headers["If-None-Match"] == first.cursor["etag"]


async def test_french_feed_keeps_language_and_accents(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_file("/fr", FIXTURES / "SYNTHETIC_fr_news_rss2.xml")
    result = await watcher(feeds.url("/fr"), http).poll({})
    assert {m.lang for m in result.mentions} <= {"fr", "fr-fr", "fr-FR"}
    assert any(ch in "".join(m.title + m.text for m in result.mentions) for ch in "éèàç")


async def test_items_without_guid_get_their_link_as_id(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_file("/hn", FIXTURES / "hn_frontpage_rss2_no_guid.xml")
    result = await watcher(feeds.url("/hn"), http).poll({})
    assert result.mentions
    assert all(m.external_id.startswith("http") for m in result.mentions)
    assert len({m.external_id for m in result.mentions}) == len(result.mentions)


async def test_local_guids_are_scoped_to_their_feed(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    item = "<item><title>t</title><guid isPermaLink='false'>42</guid><description>d</description></item>"
    body = f"<?xml version='1.0'?><rss version='2.0'><channel><title>c</title>{item}</channel></rss>"
    feeds.add("/a", body)
    feeds.add("/b", body)
    (in_a,) = (await watcher(feeds.url("/a"), http).poll({})).mentions
    (in_b,) = (await watcher(feeds.url("/b"), http).poll({})).mentions
    assert in_a.external_id != in_b.external_id
    assert in_a.external_id.endswith("#42")


@pytest.mark.parametrize(
    ("setup", "message", "french"),
    [
        (lambda s: s.set_status("/x", 404), "HTTP 404", "HTTP 404 Not Found de {url} (introuvable : vérifiez l’URL)"),
        (lambda s: s.set_status("/x", 500), "HTTP 500", "de {url} (le serveur a rencontré un problème)"),
        (lambda s: s.add("/x", "<html><body>Not a feed</body></html>", content_type="text/html"), "readable feed",
         "{url} n’est pas un flux lisible : c’est une page HTML (text/html)"),
        (lambda s: s.add("/x", b""), "not a readable feed", "{url} n’est pas un flux lisible : la réponse est vide"),
        (lambda s: s.add("/x", '{"json": true}', content_type="application/json"), "not a readable feed",
         "c’est du JSON qui n’est pas un JSON Feed (application/json)"),
        (lambda s: s.add_huge("/x", 12 * 1024 * 1024), "answer larger than 10 MB",
         "{url} a envoyé une réponse de plus de 10 Mo : elle n’a pas été lue"),
        (lambda s: s.redirect("/x", "/x"), "redirects", "{url} redirige plus de 5 fois (une boucle de redirections ?)"),
        (lambda s: s.hang("/x"), "did not answer in time", "{url} n’a pas répondu à temps"),
    ],
    ids=["404", "500", "html", "empty", "json", "oversized", "redirect-loop", "timeout"],
)
async def test_bad_sources_raise_a_clear_source_error_in_each_language(
    feeds: FeedServer, http: httpx.AsyncClient, setup, message: str, french: str
) -> None:
    setup(feeds)
    with pytest.raises(SourceError, match=message) as raised:
        await watcher(feeds.url("/x"), http).poll({})
    assert feeds.url("/x") in str(raised.value)
    assert str(raised.value) == raised.value.phrase.say("en")  # the English kept for logs and the database
    assert french.format(url=feeds.url("/x")) in raised.value.phrase.say("fr").replace("\u202f", " ")


async def test_connection_failures_say_what_went_wrong_not_just_timeout(
    feeds: FeedServer, http: httpx.AsyncClient, free_port: int
) -> None:
    # httpx-aiohttp reports all three as a ConnectTimeout; none of them is a slow server.
    feeds.add("/x", "<rss/>")
    cases = [
        ("http://veilleur-test.invalid/feed", r"cannot find the host veilleur-test\.invalid .*check the address"),
        (f"http://127.0.0.1:{free_port}/feed", r"127\.0\.0\.1 refused the connection .*server down"),
        (feeds.url("/x").replace("http://", "https://"), r"no secure connection to 127\.0\.0\.1 "),
    ]
    french = ["hôte veilleur-test.invalid introuvable pour", "127.0.0.1 a refusé la connexion pour",
              "pas de connexion sécurisée (TLS) avec 127.0.0.1 pour"]
    for (url, message), in_french in zip(cases, french, strict=True):
        with pytest.raises(SourceError, match=message) as raised:
            await watcher(url, http).poll({})
        assert url in str(raised.value)
        assert "did not answer in time" not in str(raised.value)
        assert raised.value.phrase.say("fr").startswith(in_french)


async def test_rate_limited_feed_reports_retry_after(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.set_status("/slow-down", 429, headers={"Retry-After": "120"})
    with pytest.raises(SourceError) as raised:
        await watcher(feeds.url("/slow-down"), http).poll({})
    assert raised.value.retry_after == 120


async def test_follows_a_few_redirects(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_file("/real", FIXTURES / "news_rss2_huffpost_canada.xml")
    feeds.redirect("/old", "/real", status=301)
    result = await watcher(feeds.url("/old"), http).poll({})
    assert result.mentions


async def test_unchanged_body_from_a_server_ignoring_conditional_get_is_not_parsed_again(
    feeds: FeedServer, http: httpx.AsyncClient
) -> None:
    feeds.add_file("/deaf", FIXTURES / "SYNTHETIC_fr_news_rss2.xml", conditional=False)
    rss = watcher(feeds.url("/deaf"), http)
    first = await rss.poll({})
    assert first.mentions and first.cursor["body_hash"]
    second = await rss.poll(first.cursor)
    assert second.not_modified and second.mentions == []
    assert second.cursor == first.cursor
    assert feeds.requests("/deaf")[1].headers["If-None-Match"] == first.cursor["etag"]  # sent, and ignored
    feeds.add("/deaf", (FIXTURES / "SYNTHETIC_fr_news_rss2.xml").read_bytes() + b"\n", conditional=False)
    third = await rss.poll(second.cursor)
    assert not third.not_modified and len(third.mentions) == len(first.mentions)
    assert third.cursor["body_hash"] != first.cursor["body_hash"]
