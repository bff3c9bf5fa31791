"""The web page watcher over real HTTP: conditional GETs, the selected text, ignored noise and added lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.support.feed_server import FeedServer
from veilleur.core.mentions import Mention
from veilleur.core.query import parse_query
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError
from veilleur.watching.url_safety import UrlPolicy, new_guarded_http_client
from watchers import SOURCES, webpage
from watchers.base import SourceError, WatcherContext
from watchers.webpage import WebPageWatcher

FIXTURES = Path(__file__).parent.parent / "fixtures" / "webpage"
PAGE = "/actualites"
V1, V2 = FIXTURES / "SYNTHETIC_mairie_actualites_v1.html", FIXTURES / "SYNTHETIC_mairie_actualites_v2.html"
NEWS = "main#contenu ul.liste-actus li.actu"
NOISE = [r"\d{2}:\d{2}(:\d{2})?", r"mise à jour le .*", r"météo.*", r".*visites aujourd'hui"]
NEW_ITEM = "Fermeture exceptionnelle de la piscine municipale 3 mars 2026"


def watcher(feeds: FeedServer, http: httpx.AsyncClient, *, interval: int = 900, **options: Any) -> WebPageWatcher:
    config = WatcherConfig(name="mairie", source="webpage", query=parse_query("piscine OR travaux"), channel="C1",
                           url=feeds.url(PAGE), interval=interval, options=options)
    return WebPageWatcher(config, WatcherContext(http=http))


def html(path: Path) -> bytes:
    return path.read_bytes()


async def serve(feeds: FeedServer, body: bytes | str, **kwargs: Any) -> None:
    feeds.add(PAGE, body, content_type=kwargs.pop("content_type", "text/html"), **kwargs)


async def test_is_registered() -> None:
    assert SOURCES["webpage"] is WebPageWatcher


async def test_first_poll_records_the_selected_text(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    await serve(feeds, html(V1))
    (snapshot,) = (await watcher(feeds, http, selector=NEWS).poll({})).mentions
    assert snapshot.text == (
        "Budget participatif 2026 : déposez vos projets 1er mars 2026\n"
        "Travaux rue Victor Hugo : circulation alternée 26 février 2026"
    )
    assert (snapshot.source, snapshot.url, snapshot.lang) == ("webpage", feeds.url(PAGE), "fr")
    assert snapshot.title == "Actualités - Mairie d'Exempleville"
    assert snapshot.created_at is not None
    (request,) = feeds.requests(PAGE)
    assert "If-None-Match" not in request.headers and "If-Modified-Since" not in request.headers


async def test_an_added_item_is_one_mention_of_the_added_lines(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    await serve(feeds, html(V1))
    page = watcher(feeds, http, selector=NEWS)
    cursor = json.loads(json.dumps((await page.poll({})).cursor))
    await serve(feeds, html(V2))
    result = await page.poll(cursor)
    (change,) = result.mentions
    assert change.text == NEW_ITEM
    assert change.url == feeds.url(PAGE)
    assert parse_query("piscine").matches(change) and not parse_query("tramway").matches(change)
    again = await page.poll(json.loads(json.dumps(result.cursor)))
    assert again.mentions == [] and again.not_modified
    # The same lines added to the page later are the same mention (stable id), whatever the moment.
    assert change.external_id == webpage._digest(f"{feeds.url(PAGE)}\n{NEW_ITEM}")


async def test_conditional_get_makes_an_unchanged_page_a_304(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    await serve(feeds, html(V1))
    page = watcher(feeds, http)
    first = await page.poll({})
    second = await page.poll(json.loads(json.dumps(first.cursor)))
    assert second.not_modified and second.mentions == []
    request = feeds.requests(PAGE)[-1]
    assert request.headers["If-None-Match"] == feeds.routes[PAGE].etag
    assert "GMT" in request.headers["If-Modified-Since"]


async def test_a_server_ignoring_validators_costs_no_parsing_when_nothing_changed(
    feeds: FeedServer, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await serve(feeds, html(V1), conditional=False)
    page = watcher(feeds, http)
    cursor = (await page.poll({})).cursor
    parsed: list[bytes] = []
    monkeypatch.setattr(webpage, "read_page", lambda body, *args, **kwargs: parsed.append(body))
    result = await page.poll(cursor)
    assert result.not_modified and result.mentions == [] and parsed == []


async def test_ignored_noise_does_not_count_as_a_change(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    await serve(feeds, html(V1))
    page = watcher(feeds, http, ignore=NOISE)  # the whole body: cookie banner, weather, counters, clock...
    cursor = (await page.poll({})).cursor
    noisy = html(V1).replace(b"17:42:07", b"18:01:33").replace(b"1&nbsp;204", b"1&nbsp;388")
    noisy = noisy.replace(b"a8f3e1c9d2", b"ffff000011").replace(b"11\xc2\xb0C, nuageux", b"9\xc2\xb0C, pluie")
    await serve(feeds, noisy)
    quiet = await page.poll(cursor)
    assert quiet.mentions == [] and quiet.cursor["text"] == cursor["text"]
    await serve(feeds, html(V2))  # six noise changes and one new item
    (change,) = (await page.poll(quiet.cursor)).mentions
    assert change.text == NEW_ITEM


async def test_without_ignore_patterns_the_noise_shows(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    await serve(feeds, html(V1))
    page = watcher(feeds, http)
    cursor = (await page.poll({})).cursor
    await serve(feeds, html(V2))
    (change,) = (await page.poll(cursor)).mentions
    assert "Météo : 13°C, éclaircies" in change.text and "piscine" in change.text


async def test_removed_or_reordered_lines_are_not_news(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    await serve(feeds, html(V2))
    page = watcher(feeds, http, selector=NEWS)
    cursor = (await page.poll({})).cursor
    swapped = html(V1).replace(b"budget-participatif-2026", b"TMP").replace(b"travaux-rue-victor-hugo", b"budget")
    await serve(feeds, html(V1))  # the newest item gone
    removed = await page.poll(cursor)
    assert removed.mentions == [] and removed.cursor["text"] != cursor["text"]
    await serve(feeds, swapped)
    assert (await page.poll(removed.cursor)).mentions == []


async def test_plain_text_pages_give_their_added_lines(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    before, after = FIXTURES / "changedetection_snapshot_before.txt", FIXTURES / "changedetection_snapshot_after.txt"
    await serve(feeds, before.read_bytes(), content_type="text/plain")
    page = watcher(feeds, http)
    cursor = (await page.poll({})).cursor
    await serve(feeds, after.read_bytes(), content_type="text/plain")
    (change,) = (await page.poll(cursor)).mentions
    assert change.text == "xok\nnext-x-ok\nand something new"  # "ok" became "xok": a changed line is new


async def test_a_changed_selector_records_the_page_again_quietly(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    await serve(feeds, html(V1))
    cursor = (await watcher(feeds, http, selector=NEWS).poll({})).cursor
    await serve(feeds, html(V2))
    result = await watcher(feeds, http, selector="main#contenu").poll(cursor)
    assert result.mentions == []
    assert "If-None-Match" not in feeds.requests(PAGE)[-1].headers  # the old validators are for the old settings


async def test_the_page_charset_is_honoured(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    latin = ('<html lang="fr-FR"><head><meta charset="iso-8859-1"><title>Préfecture</title></head>'
             "<body><p>Arrêté préfectoral</p></body></html>")
    await serve(feeds, latin.encode("latin-1"))
    (snapshot,) = (await watcher(feeds, http).poll({})).mentions
    assert (snapshot.title, snapshot.text, snapshot.lang) == ("Préfecture", "Arrêté préfectoral", "fr-fr")
    by_header = "<html><body><p>Délibération n°12</p></body></html>".encode("cp1252")
    feeds.add_handler(PAGE, lambda _: web.Response(body=by_header, content_type="text/html", charset="windows-1252"))
    (snapshot,) = (await watcher(feeds, http).poll({})).mentions
    assert snapshot.text == "Délibération n°12"
    xhtml = '<?xml version="1.0" encoding="utf-8"?><html><body><p>Conseil municipal</p></body></html>'
    await serve(feeds, xhtml.encode(), content_type="application/xhtml+xml")
    (snapshot,) = (await watcher(feeds, http).poll({})).mentions
    assert snapshot.text == "Conseil municipal"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s: s.set_status(PAGE, 404), "HTTP 404 .*check the URL"),
        (lambda s: s.set_status(PAGE, 410), "gone"),
        (lambda s: s.add(PAGE, b"%PDF-1.7 ...", content_type="application/pdf"), "is not a web page: got content"),
        (lambda s: s.add(PAGE, '{"a": 1}', content_type="application/json"), "is not a web page"),
        (lambda s: s.add(PAGE, b"", content_type="text/html"), "cannot be read"),
        (lambda s: s.add(PAGE, html(V1), content_type="text/html"), "selector 'ul.nothing' finds nothing"),
    ],
    ids=["404", "410", "pdf", "json", "empty", "selector-finds-nothing"],
)
async def test_errors_say_what_to_do(feeds: FeedServer, http: httpx.AsyncClient, setup, message: str) -> None:
    setup(feeds)
    with pytest.raises(SourceError, match=message):
        await watcher(feeds, http, selector="ul.nothing").poll({})


async def test_the_fetch_is_bounded_like_every_source(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.add_bomb(PAGE, 1024**3, content_type="text/html")
    with pytest.raises(SourceError, match="larger than 10 MB; it was not read"):
        await watcher(feeds, http).poll({})


async def test_429_waits_as_asked(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    feeds.set_status(PAGE, 429, {"Retry-After": "120"})
    with pytest.raises(SourceError) as raised:
        await watcher(feeds, http).poll({})
    assert raised.value.retry_after == 120


async def test_slack_made_watchers_may_not_reach_private_addresses(feeds: FeedServer) -> None:
    await serve(feeds, html(V1))
    guarded = new_guarded_http_client(UrlPolicy())
    try:
        config = WatcherConfig(name="w", source="webpage", query=parse_query("piscine"), channel="C1",
                               url=feeds.url(PAGE))
        with pytest.raises(SourceError, match=r"127\.0\.0\.1 is a loopback address, refused"):
            await WebPageWatcher(config, WatcherContext(http=guarded)).poll({})
    finally:
        await guarded.aclose()
    assert feeds.requests(PAGE) == []


async def test_thread_is_the_mention(feeds: FeedServer, http: httpx.AsyncClient) -> None:
    change = Mention(source="webpage", external_id="x", url=feeds.url(PAGE), text=NEW_ITEM)
    assert await watcher(feeds, http).thread(change) == [change]


@pytest.mark.parametrize(
    ("options", "interval", "field", "message"),
    [
        ({"selector": "ul[["}, 900, "options", "is not a CSS selector"),
        ({"selector": 3}, 900, "options", "selector must be"),
        ({"ignore": ["(unclosed"]}, 900, "options", "not a regular expression"),
        ({"ignore": ["x"] * 21}, 900, "options", "at most 20"),
        ({"ignore": ["x" * 201]}, 900, "options", "1 to 200 characters"),
        ({"remove": "nav"}, 900, "options", "unknown option 'remove'"),
        ({}, 60, "interval", "every 5 minutes at most"),
    ],
)
async def test_bad_settings_are_refused(
    feeds: FeedServer, http: httpx.AsyncClient, options: dict[str, Any], interval: int, field: str, message: str
) -> None:
    with pytest.raises(WatcherFieldError, match=message) as raised:
        watcher(feeds, http, interval=interval, **options)
    assert raised.value.field == field


async def test_url_is_required(http: httpx.AsyncClient) -> None:
    config = WatcherConfig(name="w", source="webpage", query=parse_query("piscine"), channel="C1", interval=900)
    with pytest.raises(WatcherFieldError, match="needs the page's url") as raised:
        WebPageWatcher(config, WatcherContext(http=http))
    assert raised.value.field == "url"
