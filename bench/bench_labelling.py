"""The LLM's stance labelling of stored mentions, against the fake OpenAI-compatible server over a socket.

    .venv/bin/python bench/bench_labelling.py [--mentions 2000] [--input-tokens 12000] [--delay 0.05]

Stores `--mentions` mentions (French and English posts of 60 to 700 characters) in a database file, then has the
labelling job (veilleur/assist/labelling.py) ask about all of them, batch after batch, with 8 team corrections as
examples. A second process plays the LLM (answering every post after `--delay` seconds), as a remote endpoint
would, so the figures measure the bot. Prints mentions per request, tokens per mention (prompt and completion, as
the server's usage reports them: characters / 4), mentions labelled per second and the longest hold of the loop.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.loop_monitor import LoopMonitor
from veilleur.assist.labelling import Labeller
from veilleur.assist.llm import LLM
from veilleur.assist.prompt_book import PromptBook
from veilleur.core.mentions import Mention
from veilleur.core.query import Query
from veilleur.core.settings import parse_settings
from veilleur.core.watcher_config import WatcherConfig
from veilleur.storage.labels import MentionLabels
from veilleur.storage.store import Store

CHANNEL = "C0BENCH"
PHRASES = (
    "Génial, encore une panne du tram… merci la mairie",
    "Les travaux du tram sont encore en retard, c'est une honte pour la ville",
    "Quand est-ce que la ligne 3 ouvrira enfin ? Personne ne sait répondre",
    "Bravo pour les nouvelles rames, elles sont silencieuses et confortables",
    "The council votes the tram budget on Tuesday, details in the minutes",
    "I really don't think the new tram line is a bad idea, quite the opposite",
    "Réunion publique sur le tracé du tram jeudi à 18 h à la salle des fêtes",
)
LINE = re.compile(r"^(\d+)\. \[S\d+\] ", re.MULTILINE)


def post_text(n: int) -> str:
    """60 to 700 characters: a phrase, then more of the same as long posts and articles do."""
    base = f"{PHRASES[n % len(PHRASES)]} (post {n})"
    return (base + " ") * (1 + n % 7)


def answer(request: Any) -> str:
    from tests.support.openai_api import json_reply

    stances = ("for", "against", "question", "neutral")
    numbers = [int(number) for number in LINE.findall(request.user)]
    return json_reply({"labels": [{"id": n, "stance": stances[n % 4], "hostile": n % 17 == 0} for n in numbers]})


def play_llm(delay: float, ports: multiprocessing.Queue, stop: Any) -> None:
    """The second process: the fake OpenAI-compatible server."""
    from tests.support.openai_api import FakeOpenAI

    async def serve() -> None:
        llm = FakeOpenAI()
        llm.reply, llm.delay = answer, delay
        await llm.start()
        ports.put(llm.api_url)
        await asyncio.to_thread(stop.wait)
        await llm.stop()

    asyncio.run(serve())


def seed(store: Store, count: int) -> None:
    store.record_poll("tram", CHANNEL, [], {})  # the first poll: quiet
    for start in range(0, count, 500):
        mentions = [
            Mention(source="mastodon", external_id=str(n), url=f"https://m.example/{n}", text=post_text(n),
                    author_handle=f"@user{n % 300}@m.example")
            for n in range(start, min(start + 500, count))
        ]
        store.record_poll("tram", CHANNEL, mentions, {}, max_cards=1)
    labels = MentionLabels(store)
    for mention_id in range(2, 10):
        labels.correct(mention_id, "against", "U0BENCH")


async def run(args: argparse.Namespace, api_url: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(Path(folder) / "bench.db")
        seed(store, args.mentions)
        settings = parse_settings({"OPENAI_BASE_URL": api_url, "OPENAI_API_KEY": "sk-bench",
                                   "LLM_INPUT_TOKENS": str(args.input_tokens), "LLM_TIMEOUT": "60"})
        llm = LLM(settings, store)
        config = WatcherConfig(name="tram", source="mastodon", query=Query("tram"), channel=CHANNEL,
                               subject="le projet de tramway")
        labeller = Labeller(store, llm, PromptBook(), lambda: {"tram": config}, lang="fr")
        with LoopMonitor() as monitor:
            started = time.perf_counter()
            asked = await labeller.label_waiting()
            seconds = time.perf_counter() - started
        rows = next(store._db.query(
            "select count(*) as requests, sum(prompt_tokens) as prompt, sum(completion_tokens) as completion"
            " from llm_usage where task = 'stance'"
        ))
        await llm.aclose()
        store.close()
    requests = rows["requests"] or 1
    print(f"{asked} mentions labelled in {rows['requests']} requests (LLM_INPUT_TOKENS {args.input_tokens}, "
          f"model answering in {args.delay * 1000:.0f} ms)")
    print(f"  mentions per request: {asked / requests:.1f}")
    print(f"  tokens per mention: {(rows['prompt'] + rows['completion']) / asked:.0f} "
          f"({rows['prompt'] / asked:.0f} prompt + {rows['completion'] / asked:.0f} completion)")
    print(f"  mentions labelled per second: {asked / seconds:.0f} ({seconds:.2f} s in all)")
    print(f"  longest hold of the loop: {monitor.longest * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=2000)
    parser.add_argument("--input-tokens", type=int, default=12000)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds the fake model takes per request")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    ports, stop = context.Queue(), context.Event()
    server = context.Process(target=play_llm, args=(args.delay, ports, stop), daemon=True)
    server.start()
    try:
        asyncio.run(run(args, ports.get(timeout=30)))
    finally:
        stop.set()
        server.join(timeout=10)


if __name__ == "__main__":
    main()
