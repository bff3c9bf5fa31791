"""Many posted mentions at once, in bulk SQL: what the retention tests and bench/bench_purge.py start from.

Each mention gets what a posted card brings in the bot: its card (posted, with a Slack ts), a story of its own
with three lookup keys, and its spike time. Far faster than `record_poll` and story grouping (a million in about a
minute), which the other tests already cover.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tests.support.sql import sql
from veilleur.storage.store import Store, iso

BATCH = 10_000


def seed_mentions(
    store: Store,
    count: int,
    *,
    first_seen: datetime,
    every: timedelta = timedelta(seconds=1),
    author: Callable[[int], str] = lambda n: f"user{n % 5000}",
    watcher: str = "seeded",
    channel: str = "C0SEEDED",
    text: Callable[[int], str] = lambda n: f"Le tramway de Caen, ligne {n % 7}: bravo pour les travaux, post {n}",
) -> list[int]:
    """`count` mentions collected from `first_seen` on, one every `every`, by `author(n)` on Mastodon; returns
    their ids. Their created_at is their first_seen_at."""
    db = sql(store)
    conn = db.conn
    (last_mention,) = conn.execute("select coalesce(max(id), 0) from mentions").fetchone()
    (last_delivery,) = conn.execute("select coalesce(max(id), 0) from deliveries").fetchone()
    (last_story,) = conn.execute("select coalesce(max(id), 0) from stories").fetchone()
    conn.execute(
        "insert into watcher_state (name, first_polled_at, consecutive_failures) values (?, ?, 0)"
        " on conflict (name) do nothing",
        [watcher, iso(first_seen - timedelta(days=1))],
    )
    ids = []
    for start in range(0, count, BATCH):
        mentions, cards, stories, members, keys, times = [], [], [], [], [], []
        for n in range(start, min(start + BATCH, count)):
            mention_id, card_id, story_id = last_mention + n + 1, last_delivery + n + 1, last_story + n + 1
            at = iso(first_seen + every * n)
            handle = author(n)
            url = f"https://mastodon.example/@{handle}/{mention_id}"
            mentions.append((mention_id, "mastodon", f"seed-{mention_id}", url, text(n), handle, handle.title(),
                             120, at, "fr", at))
            cards.append((card_id, watcher, channel, mention_id, f"{1_700_000_000 + n}.{n % 1_000_000:06d}", at))
            stories.append((story_id, channel, watcher, card_id, at))
            members.append((card_id, story_id, mention_id, channel, f"mastodon:{handle}", n * 7919, at))
            keys.extend((channel, key, at, story_id, card_id)
                        for key in (url.removeprefix("https://"), f"b0:{n % 65536}", f"b1:{(n * 31) % 65536}"))
            times.append((card_id, watcher, at))
            ids.append(mention_id)
        with db.atomic():
            conn.executemany(
                "insert into mentions (id, source, external_id, url, text, author_handle, author_name, author_reach,"
                " created_at, lang, first_seen_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                mentions,
            )
            conn.executemany(
                "insert into deliveries (id, kind, watcher, channel, mention_id, state, attempts, slack_ts, created_at)"
                " values (?, 'card', ?, ?, ?, 'posted', 1, ?, ?)",
                cards,
            )
            conn.executemany(
                "insert into stories (id, channel, watcher, first_card_id, created_at) values (?, ?, ?, ?, ?)", stories
            )
            conn.executemany(
                "insert into story_members (card_id, story_id, mention_id, channel, author, fingerprint, joined_by, at)"
                " values (?, ?, ?, ?, ?, ?, 'first', ?)",
                members,
            )
            conn.executemany(
                "insert into story_keys (channel, key, at, story_id, card_id) values (?, ?, ?, ?, ?)", keys
            )
            conn.executemany("insert into spike_times (delivery_id, watcher, t) values (?, ?, ?)", times)
    return ids
