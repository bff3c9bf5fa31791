"""/summarize under load, and the extractive fallback on a long thread.

    .venv/bin/python bench/bench_summarize.py [--concurrency 20] [--rounds 10] [--messages 500]

1. The extractive summary (no LLM, or the LLM failing) of a 500-message thread: classify, rank, render.
2. The whole bot in HTTP mode receiving `--concurrency` signed `/summarize <thread link>` at once, `--rounds`
   times (each burst once the last one's summaries are delivered): the time to Slack's HTTP answer (the
   3-second ack) and to the summary reaching the response_url. A second process plays Slack (the Web API
   holding the thread, and the sender of the requests, timing them) and the LLM, as remote services would, so
   the figures measure the bot. Run once without an LLM and once with a fake one answering in 50 ms.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from tests.support import free_port
from tests.support.slack_requests import SlackRequests, send
from veilleur.assist.conversations import Conversation, Post
from veilleur.assist.summarize import extractive_summary
from veilleur.assist.summary_cards import summary_message
from veilleur.core.settings import parse_settings
from veilleur.runtime import Runtime

CHANNEL = "C0BENCH"
SECRET = "bench-signing-secret"
LLM_DELAY = 0.05
PHRASES = (
    "The tram works on the avenue are late again, what a mess",
    "Great news, I fully support the new line",
    "When will the replacement buses run on Sundays?",
    "Les travaux du tram sont encore en retard, c'est une honte",
    "Bravo à la mairie pour les bus de remplacement",
    "Qui paie pour tout ça ?",
    "The council meets on Tuesday to vote the budget",
)


def thread_text(n: int) -> str:
    return f"{PHRASES[n % len(PHRASES)]} (message {n}, about stop {n % 13} and line {n % 3})"


def fake_llm_answer(request: Any) -> str:
    from tests.support.openai_api import json_reply

    if "Label every message" not in request.system:
        return json_reply({"main_points": ["combined"], "next_steps": ["answer"]})
    numbered = request.numbered_messages()
    stances = ("for", "against", "neutral", "question")
    return json_reply({"labels": {str(n): stances[n % 4] for n, _, _ in numbered},
                       "points": ["a point"], "questions": [numbered[0][0]], "next_steps": ["answer"]})


def play_slack(messages: int, ports: multiprocessing.Queue, conn: Connection) -> None:
    """The second process: fake Slack Web API and fake LLM, and bursts of signed /summarize sent and timed here."""
    from tests.support.openai_api import FakeOpenAI
    from tests.support.slack_api import FakeSlack

    async def burst(
        client: httpx.AsyncClient, response_base: str, url: str, link: str, ids: list[str]
    ) -> list[tuple[str, float, float]]:
        requests = SlackRequests(SECRET, channel_id=CHANNEL)

        async def one(response_id: str) -> tuple[str, float, float]:
            request = requests.slash_command("/summarize", link, response_url=f"{response_base}/{response_id}")
            started = time.monotonic()
            response = await send(url, request, client)
            assert response.status_code == 200, response.text
            return response_id, started, time.monotonic() - started

        return list(await asyncio.gather(*(one(response_id) for response_id in ids)))

    async def serve() -> None:
        slack, llm = FakeSlack(), FakeOpenAI()
        root = slack.seed_message(CHANNEL, "Should the night tram run on Sundays?", user="U0ROOT")
        for n in range(messages - 1):
            slack.seed_message(CHANNEL, thread_text(n), user=f"U{n % 50:03d}X", thread_ts=root["ts"])
        llm.reply, llm.delay = fake_llm_answer, LLM_DELAY
        await slack.start()
        await llm.start()
        ports.put((slack.port, llm.port, root["ts"]))
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            while (command := await asyncio.to_thread(conn.recv))[0] != "stop":
                if command[0] == "burst":
                    conn.send(await burst(client, f"{slack.base_url}/response", *command[1:]))
                else:
                    conn.send({post.id: post.at for post in slack.responses})
        await slack.stop()
        await llm.stop()

    asyncio.run(serve())


def bench_extractive(messages: int, runs: int = 20) -> None:
    posts = tuple(
        Post(author=f"user{n % 50}", handle=f"@user{n % 50}", text=thread_text(n), reach=(n * 37) % 5000,
             source="mastodon")
        for n in range(messages)
    )
    conversation = Conversation(kind="mention", posts=posts, source="mastodon", url="https://m.example/1",
                                excerpt=posts[0].text)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        summary_message(extractive_summary(conversation, reason="not_configured"), "en")
        timings.append(time.perf_counter() - started)
    print(f"extractive summary of {messages} messages (classify, rank, render): "
          f"median {statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms over {runs} runs")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def milliseconds(values: list[float]) -> str:
    shares = ((".5", "p50"), (".95", "p95"), (".99", "p99"))
    figures = [f"{name} {percentile(values, float(share)) * 1000:6.1f} ms" for share, name in shares]
    return "  ".join([*figures, f"max {max(values) * 1000:6.1f} ms"])


async def bench_acks(
    label: str, env: dict[str, str], conn: Connection, concurrency: int, rounds: int, slack_url: str, root_ts: str
) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "watchers.toml").write_text("")
        settings = parse_settings({
            "DATABASE_PATH": f"{folder}/bench.db", "WATCHERS_FILE": f"{folder}/watchers.toml",
            "SLACK_BOT_TOKEN": "xoxb-bench", "SLACK_API_URL": f"{slack_url}/api/", "SLACK_SIGNING_SECRET": SECRET,
            "PORT": str(port), "LOG_LEVEL": "ERROR", **env,
        })
        runtime = Runtime(settings, host="127.0.0.1")
        await runtime.start()
        url = f"http://127.0.0.1:{port}/slack/events"
        link = f"https://fake.slack.com/archives/{CHANNEL}/p{root_ts.replace('.', '')}"

        async def ask(*command: object) -> Any:
            conn.send(command)
            return await asyncio.to_thread(conn.recv)

        async def delivered(ids: set[str]) -> dict[str, float]:
            deadline = time.monotonic() + 120
            arrivals = await ask("responses")
            while not ids <= arrivals.keys() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                arrivals = await ask("responses")
            return arrivals

        await ask("burst", url, link, [f"{label}-warmup"])
        await delivered({f"{label}-warmup"})
        sent: list[tuple[str, float, float]] = []
        for round_number in range(rounds):
            burst = await ask("burst", url, link, [f"{label}-{round_number}-{n}" for n in range(concurrency)])
            sent += burst
            await delivered({rid for rid, _, _ in burst})  # each burst on a bot that has finished the last one
        arrivals = await delivered(set())
        await runtime.stop()
    acks = [latency for _, _, latency in sent]
    done = [arrivals[rid] - started for rid, started, _ in sent if rid in arrivals]
    print(f"{label}: {len(acks)} /summarize ({concurrency} at once, {rounds} times)")
    print(f"  ack (HTTP answer)  {milliseconds(acks)}")
    if done:
        print(f"  summary delivered  {milliseconds(done)}  ({len(done)}/{len(acks)} arrived)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args()

    bench_extractive(args.messages)
    ports: multiprocessing.Queue = multiprocessing.Queue()
    ours, theirs = multiprocessing.Pipe()
    slack_side = multiprocessing.Process(target=play_slack, args=(args.messages, ports, theirs), daemon=True)
    slack_side.start()
    slack_port, llm_port, root_ts = ports.get(timeout=60)
    print(f"a thread of {args.messages} messages in the fake Slack (3 pages of conversations.replies per summary)")
    try:
        modes = (
            ("no LLM (extractive)", {}),
            (f"fake LLM ({LLM_DELAY * 1000:.0f} ms a request)",
             {"OPENAI_BASE_URL": f"http://127.0.0.1:{llm_port}/v1", "OPENAI_API_KEY": "sk-bench"}),
        )
        for label, env in modes:
            asyncio.run(
                bench_acks(label, env, ours, args.concurrency, args.rounds, f"http://127.0.0.1:{slack_port}", root_ts)
            )
    finally:
        ours.send(("stop",))
        slack_side.join(timeout=10)


if __name__ == "__main__":
    main()
