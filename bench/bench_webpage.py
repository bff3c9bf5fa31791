"""Web page change detection: pages per second when nothing changed, and when every page changed.

    .venv/bin/python bench/bench_webpage.py [--pages 500] [--runs 3]

A second process serves town-hall news pages of about 100 KB (400 news items, a cookie banner, a clock, a visit
counter...). Each watcher first records its page; then the same watchers poll again:

- unchanged, conditional GET: the server answers 304 to the validators;
- unchanged, validators ignored (as many servers do): the page is downloaded and its hash found unchanged;
- changed: every page has one new item and six noise changes (clock, counter, weather...): the selector, the
  normalisation with `ignore` patterns and the diff find the one added item.

All pages are polled at once through the watchers' shared HTTP client. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playback import playback_server  # noqa: E402

from tests.support.feed_server import FeedServer  # noqa: E402
from veilleur.core.query import parse_query  # noqa: E402
from veilleur.core.watcher_config import WatcherConfig  # noqa: E402
from watchers.base import WatcherContext, new_http_client  # noqa: E402
from watchers.webpage import WebPageWatcher  # noqa: E402

SELECTOR = "main#contenu ul.liste-actus li.actu"
IGNORE = [r"\d{2}:\d{2}(:\d{2})?", r"mise à jour le .*", r"météo.*", r".*visites aujourd'hui"]
ITEMS = 400


def page(number: int, *, changed: bool) -> bytes:
    """A news page of about 100 KB; the changed one has one more item and its noise moved on."""
    clock, visits, weather = ("09:05:51", "87", "13°C, éclaircies") if changed else ("17:42:07", "1 204", "11°C")
    new = (
        f'<li class="actu"><a href="/actualites/nouvelle-{number}">Fermeture exceptionnelle de la piscine n°{number}'
        '</a><time datetime="2026-03-03">3 mars 2026</time></li>'
        if changed
        else ""
    )
    items = "".join(
        f'<li class="actu"><a href="/actualites/{n}">Conseil municipal : délibération n°{n} sur les travaux</a>'
        f'<time datetime="2026-02-{n % 28 + 1:02d}">{n % 28 + 1} février 2026</time>'
        f"<p>Résumé de la délibération {n} : budget, voirie, écoles et associations de la commune.</p></li>\n"
        for n in range(ITEMS)
    )
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Actualités</title>'
        f'<script>window.__CSRF="{number}{clock}";</script></head><body>'
        '<div id="cookie-banner">Ce site utilise des cookies.</div>'
        f'<header><p class="meteo">Météo : {weather}</p></header><main id="contenu"><h1>Actualités</h1>'
        f'<p class="maj">Page mise à jour le 03/03/2026 à {clock[:5]}</p><ul class="liste-actus">{new}{items}</ul>'
        f'<aside class="compteur">{visits} visites aujourd\'hui</aside></main>'
        f'<footer><span class="horloge">{clock}</span></footer></body></html>'
    ).encode()


def add_routes(pages: int, server: FeedServer) -> None:
    for number in range(pages):
        before = page(number, changed=False)
        server.add(f"/before/{number}", before, content_type="text/html")
        server.add(f"/ignoring/{number}", before, content_type="text/html", conditional=False)
        server.add(f"/after/{number}", page(number, changed=True), content_type="text/html")


def watchers(base_url: str, folder: str, context: WatcherContext, pages: int) -> list[WebPageWatcher]:
    query = parse_query("piscine OR conseil")
    return [
        WebPageWatcher(
            WatcherConfig(name=f"page-{n}", source="webpage", query=query, channel="C0BENCH", interval=900,
                          url=f"{base_url}/{folder}/{n}", options={"selector": SELECTOR, "ignore": IGNORE}),
            context,
        )
        for n in range(pages)
    ]


async def run(base_url: str, pages: int) -> dict[str, float]:
    http = new_http_client()
    context = WatcherContext(http=http)
    try:
        first = await asyncio.gather(*(w.poll({}) for w in watchers(base_url, "before", context, pages)))
        cursors = [result.cursor for result in first]
        figures: dict[str, float] = {}
        for label, folder in (("304", "before"), ("hash", "ignoring"), ("changed", "after")):
            polled = watchers(base_url, folder, context, pages)
            started = time.perf_counter()
            results = await asyncio.gather(*(w.poll(c) for w, c in zip(polled, cursors, strict=True)))
            figures[label] = pages / (time.perf_counter() - started)
            mentions = sum(len(result.mentions) for result in results)
            expected = pages if label == "changed" else 0
            if mentions != expected:
                print(f"  {label}: {mentions} mentions, expected {expected}")
        return figures
    finally:
        await http.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = len(page(0, changed=True)) / 1024
    with playback_server(partial(add_routes, args.pages)) as base_url:
        runs = [asyncio.run(run(base_url, args.pages)) for _ in range(args.runs)]
    median = {label: statistics.median(run[label] for run in runs) for label in runs[0]}
    print(f"{args.pages} web pages of {size:.0f} KB, median of {args.runs} runs:")
    print(f"  unchanged, conditional GET (304): {median['304']:,.0f} pages/s")
    print(f"  unchanged, validators ignored (download and hash): {median['hash']:,.0f} pages/s")
    print(f"  changed (selector, normalisation, diff; one new item each): {median['changed']:,.0f} pages/s")


if __name__ == "__main__":
    main()
