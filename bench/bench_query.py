"""Throughput of the query language on ~20k synthetic mentions: prints figures, asserts nothing.

Run from the repository root: `.venv/bin/python bench/bench_query.py`.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from veilleur.core.mentions import Mention
from veilleur.core.query import MatchableText, matchable, parse_query

MENTIONS = 20_000
QUERIES = {
    "one word": "tramway",
    "design example": '"Caen la mer" OR tramway -football lang:fr',
    "grouped example": '("Caen la mer" OR tramway) -football lang:fr',
    "phrase + prefix": '"Saint-Étienne" OR tram*',
    "20-word OR list": (
        "vélo OR bus OR métro OR tramway OR navette OR parking OR gare OR péage OR autoroute OR train OR "
        "covoiturage OR trottinette OR piéton OR voirie OR chantier OR travaux OR bouchon OR rocade OR "
        "périphérique OR aéroport"
    ),
    "hashtags": "#tram OR #caen",
    "fields": "site:ouest-france.fr OR author:@bob -lang:en",
    "nested": '(élection OR vote) (Caen OR Rouen) -(football OR rugby) NOT "fake news"',
}
FRENCH_WORDS = (
    "le la les de des du un une et à est pour dans sur avec par au aux ce qui que ne pas plus été être "
    "école élection mairie conseil municipal tramway métro vélo réunion publique habitants quartier travaux "
    "budget région département l'État l'école d'abord aujourd'hui Caen Rouen Saint-Étienne Normandie "
    "football rugby débat écologie énergie coût sécurité santé hôpital théâtre festival été hiver"
)
ENGLISH_WORDS = (
    "the a of and to in is for on with by at this that from city council transit tram bus bike meeting "
    "public residents budget region election vote football energy health festival news update report"
)
FRENCH = FRENCH_WORDS.split()
ENGLISH = ENGLISH_WORDS.split()
PUNCTUATION = [",", ".", " :", " !", " ?", "", "", "", "", "", "", "", " «", " »", "’s", "…"]
EMOJI = ["🚋", "🎉", "👍", "🔥", "😡", "🇫🇷"]
SITES = [
    "https://www.ouest-france.fr/normandie/caen/",
    "https://actu.fr/",
    "https://mastodon.social/@x/",
    "https://example.org/",
]
SCRIPTS = {
    "English (ASCII)": "The city council met on Tuesday to discuss the new tram line; residents raised concerns. " * 6,
    "French": "Le conseil municipal s’est réuni mardi pour débattre du tramway ; les habitants (coût, bruit). " * 6,
    "French + emoji": "Le conseil s’est réuni mardi 🚋🔥 pour débattre du tramway 👍 ; les habitants (coût, bruit). "
    * 6,
    "Polish": "Rada miejska zebrała się we wtorek, aby omówić nową linię tramwajową; mieszkańcy wyrazili obawy. " * 6,
    "Russian": "Городской совет собрался во вторник, чтобы обсудить новую линию трамвая; жители выразили. " * 6,
}
AUTHORS = ["@bob@mastodon.social", "alice.bsky.social", "@Jean_Dupont", "carol"]


def synthetic_mention(rng: random.Random, index: int) -> Mention:
    """A mention shaped like the typical one: 80-character title, 400-character text, mostly French."""
    kind = rng.random()
    vocabulary = ENGLISH if kind < 0.2 else FRENCH
    words: list[str] = []
    while sum(len(word) + 1 for word in words) < 480:
        word = rng.choice(vocabulary)
        if rng.random() < 0.1:
            word = word.capitalize()
        words.append(word + rng.choice(PUNCTUATION))
        if rng.random() < 0.03:
            words.append("#" + rng.choice(vocabulary).lower())
        if kind > 0.75 and rng.random() < 0.02:
            words.append(rng.choice(EMOJI))
        if kind > 0.97 and rng.random() < 0.05:
            words.append("Привет")
    body = " ".join(words)
    return Mention(
        source="bench",
        external_id=str(index),
        url=rng.choice(SITES) + str(index),
        title=body[:80],
        text=body[80:480],
        author_handle=rng.choice(AUTHORS),
        author_name="Jean Dupont",
        lang=rng.choice(["fr", "fr-FR", "en", None]),
    )


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>12,.0f}/s  {seconds / count * 1e6:7.2f} µs each"


def best_time(run: Callable[[], object], repeats: int = 3, setup: Callable[[], object] | None = None) -> float:
    """Fastest of a few runs, `setup` untimed before each: the figure least disturbed by other processes."""
    timings = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    rng = random.Random(20_240_601)
    mentions = [synthetic_mention(rng, index) for index in range(MENTIONS)]
    mean_length = sum(len(mention.title) + len(mention.text) for mention in mentions) / len(mentions)
    print(f"{len(mentions)} mentions, mean title+text {mean_length:.0f} chars; best of 3 runs\n")

    queries = [parse_query(text) for text in QUERIES.values()]
    elapsed = best_time(lambda: [parse_query(text) for text in QUERIES.values() for _ in range(100)])
    print(f"parse_query (mean of {len(QUERIES)} shapes)     {rate(100 * len(QUERIES), elapsed)}")
    elapsed = best_time(lambda: [MatchableText(mention) for mention in mentions])
    print(f"normalise a mention (MatchableText)     {rate(len(mentions), elapsed)}")

    print("\nmatch only, mention already normalised (what each extra watcher on a mention costs):")
    texts: list[MatchableText] = []

    def normalise_afresh() -> None:  # site and author forms are computed on first use: include that cost
        texts[:] = [MatchableText(mention) for mention in mentions]

    for name, query in zip(QUERIES, queries, strict=True):
        elapsed = best_time(lambda query=query: [query.matches_text(text) for text in texts], setup=normalise_afresh)
        hits = sum(query.matches_text(text) for text in texts)
        print(f"  {name:<20} {rate(len(texts), elapsed)}   {hits:>6} hits")

    print("\nnormalise + match: Query.matches on mentions it has not seen (one watcher per mention):")
    for name, query in zip(QUERIES, queries, strict=True):
        elapsed = best_time(lambda query=query: [query.matches(mention) for mention in mentions])
        print(f"  {name:<20} {rate(len(mentions), elapsed)}")

    def every_query_on_every_mention() -> None:
        for mention in mentions:
            text = matchable(mention)
            for query in queries:
                query.matches_text(text)

    elapsed = best_time(every_query_on_every_mention)
    print(f"\nall {len(queries)} queries on each mention, normalised once: {rate(len(mentions), elapsed)} per mention")

    print("\nnormalise one 480-character mention, by script:")
    for name, sample in SCRIPTS.items():
        one = Mention(source="bench", external_id="1", url="https://example.org/", title=sample[:80], text=sample[80:])
        elapsed = best_time(lambda one=one: [MatchableText(one) for _ in range(20_000)])
        print(f"  {name:<20} {rate(20_000, elapsed)}")


if __name__ == "__main__":
    main()
