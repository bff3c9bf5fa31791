"""Cost of following false claims, per new mention, with 10, 100 and 500 open claims: prints figures, asserts
nothing.

Two figures per size: matching alone (`ClaimIndex.match`: the mention's words, the phrases filed under them, its
fingerprint against every claim's), and the poll's whole step (`ClaimService.set_aside` on a poll of new cards in a
file database: reading each mention, matching it, and for the few that repeat a claim, recording them, withholding
their card and queueing the claim's message update). Then the longest hold of the event loop while one poll of
BIG_POLL new mentions is checked against 100 open claims (in steps of CHECK_CHUNK, its cards held back meanwhile).

Run from the repository root: `.venv/bin/python bench/bench_claims.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from loop_monitor import LoopMonitor

from veilleur.core.mentions import Mention
from veilleur.storage.audit import AuditLog
from veilleur.storage.store import Store
from veilleur.watching.claim_matching import ClaimIndex, ClaimKeys, claim_fingerprint, parse_phrases
from veilleur.watching.claims import ClaimDraft, ClaimService

WORDS = (
    "le", "la", "les", "de", "des", "du", "un", "une", "et", "pour", "dans", "sur", "avec", "par", "au", "aux", "ce",
    "qui", "que", "ne", "pas", "plus", "mairie", "conseil", "municipal", "tramway", "métro", "vélo", "réunion",
    "publique", "habitants", "quartier", "travaux", "budget", "région", "département", "école", "élection", "Caen",
    "Rouen", "Normandie", "parking", "stationnement", "place", "rue", "avenue", "chantier", "fermeture", "ligne",
    "bus", "gare", "hôpital", "sécurité", "santé", "impôts", "taxe", "hausse", "baisse", "millions", "euros",
    "projet", "concertation", "enquête", "promesse", "maire", "adjoint", "opposition", "majorité", "vote",
    "délibération", "subvention", "association", "commerce", "centre-ville", "piétons", "cyclistes",
)
SIZES = (10, 100, 500)
BIG_POLL = 5000
MENTIONS = 2000
POLL = 200
WATCHER = SimpleNamespace(name="w")  # the step names its watcher in a log line, nothing more


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def claims(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """(text, key phrases) of claims in the posts' common words, each with a few words of its own (a place, a name,
    a figure), which its key phrases hold as a team would type them."""
    made = []
    for _ in range(count):
        own = [rare_word(rng) for _ in range(3)]
        figure = str(rng.randint(10, 9999))
        text = f"{sentence(rng, 10)} {' '.join(own)} {figure} {sentence(rng, 6)}"
        made.append((text, f"{own[0]} {own[1]}\n{figure} {own[2]}"))
    return made


def rare_word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfglmnprstvz") + rng.choice("aeiou") for _ in range(4))


def mentions(rng: random.Random, count: int, prefix: str = "m") -> list[Mention]:
    """Posts of 10 to 60 words, one in ten an article of 400 words, with a few words of their own."""
    found = []
    for number in range(count):
        words = 400 if number % 10 == 0 else rng.randint(10, 60)
        text = f"{sentence(rng, words)} {rare_word(rng)} {rng.randint(10, 9999)}"
        found.append(Mention(source="mastodon", external_id=f"{prefix}{number}",
                             url=f"https://example.social/@a/{number}", text=text, author_handle=f"a{number % 97}",
                             author_reach=rng.randint(0, 20_000)))
    return found


def bench_match(size: int, rng: random.Random) -> tuple[float, float]:
    """µs per mention to match, and ms to build the index."""
    made = claims(rng, size)
    started = time.perf_counter()
    index = ClaimIndex(ClaimKeys(number, parse_phrases(phrases), claim_fingerprint(text))
                       for number, (text, phrases) in enumerate(made))
    built = time.perf_counter() - started
    posts = mentions(rng, MENTIONS)
    started = time.perf_counter()
    matched = sum(1 for post in posts if index.match(post))
    elapsed = time.perf_counter() - started
    if matched > MENTIONS // 2:
        print(f"  (note: {matched} of {MENTIONS} random posts matched a claim)")
    return elapsed / MENTIONS * 1e6, built * 1e3


def bench_poll_step(size: int, rng: random.Random, folder: Path) -> float:
    """µs per new card for the poll's claim step, one card in twenty repeating a claim."""
    store = Store.open(folder / f"claims-{size}.db")
    try:
        service = ClaimService(store, lang="en", tz=ZoneInfo("Europe/Paris"), audit=AuditLog(store))
        made = claims(rng, size)
        for text, phrases in made:
            service.mark(ClaimDraft(text, phrases, "", "C1"), user="U1")
        total, cards = 0.0, 0
        for poll in range(5):
            posts = mentions(rng, POLL, prefix=f"p{poll}-")
            for number in range(0, POLL, 20):
                posts[number] = Mention(source="reddit", external_id=f"c{poll}-{number}", url="",
                                        text=f"RT {rng.choice(made)[0]}", author_handle="copier")
            outcome = store.record_poll("w", "C1", posts, {}, backfill=POLL, max_cards=POLL, burst_threshold=POLL)
            started = time.perf_counter()
            asyncio.run(service.set_aside(WATCHER, outcome))  # type: ignore[arg-type]
            total += time.perf_counter() - started
            cards += len(outcome.cards)
        return total / cards * 1e6
    finally:
        store.close()


def bench_big_poll(rng: random.Random, folder: Path) -> tuple[float, float]:
    """Seconds to check one poll of BIG_POLL new mentions against 100 open claims, and the loop's longest hold."""
    store = Store.open(folder / "claims-big.db")
    try:
        service = ClaimService(store, lang="en", tz=ZoneInfo("Europe/Paris"), audit=AuditLog(store))
        made = claims(rng, 100)
        for text, phrases in made:
            service.mark(ClaimDraft(text, phrases, "", "C1"), user="U1")
        posts = mentions(rng, BIG_POLL, prefix="big-")
        outcome = store.record_poll("w", "C1", posts, {}, backfill=BIG_POLL, max_cards=BIG_POLL,
                                    burst_threshold=BIG_POLL)

        async def check() -> float:
            started = time.perf_counter()
            await service.set_aside(WATCHER, outcome)  # type: ignore[arg-type]
            return time.perf_counter() - started

        with LoopMonitor() as monitor:
            seconds = asyncio.run(check())
        return seconds, monitor.longest
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"{'open claims':>11}  {'match µs/mention':>16}  {'index build ms':>14}  {'poll step µs/card':>17}")
    with tempfile.TemporaryDirectory() as folder:
        for size in SIZES:
            match_us, build_ms = bench_match(size, rng)
            step_us = bench_poll_step(size, rng, Path(folder))
            print(f"{size:>11}  {match_us:>16.1f}  {build_ms:>14.1f}  {step_us:>17.1f}")
        seconds, longest = bench_big_poll(rng, Path(folder))
        print(f"one poll of {BIG_POLL:,} new mentions against 100 open claims: {seconds:.2f} s,"
              f" longest loop hold {longest * 1000:.1f} ms")


if __name__ == "__main__":
    main()
