"""A database of found mentions for the digest's tests: filled through the real Store.record_poll, with a frozen
clock (END), so every figure is computed from rows the bot itself would have written."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from veilleur.core.mentions import Mention
from veilleur.digest.model import DigestPeriod
from veilleur.storage.store import Store

PARIS = ZoneInfo("Europe/Paris")
END = datetime(2026, 3, 10, 8, 30, tzinfo=PARIS)
DAY = DigestPeriod(END - timedelta(days=1), END)

TRAM = ["The tram works on the avenue are late again, tram avenue delays", "Tram avenue works: more delays",
        "Delays on the tram avenue works, late tram", "tram works avenue delays late",
        "Again tram delays, avenue works late"]
PARK = ["Bravo for the new park gardens, great trees", "The park gardens and trees are great, thanks",
        "Great park, lovely gardens and trees"]
BUDGET = ["Budget vote: council taxes shame", "Council budget taxes, a shame and a disaster",
          "Council budget taxes vote?"]


def mention(key: str, text: str = "something", *, source: str = "mastodon", reach: int | None = None,
            likes: int = 0, handle: str = "", name: str = "") -> Mention:
    return Mention(source=source, external_id=key, url=f"https://social.example/{key}", text=text,
                   author_handle=handle or f"@{key}", author_name=name, author_reach=reach,
                   engagement={"likes": likes} if likes else {})


def found(store: Store, watcher: str, mentions: list[Mention], at: datetime) -> None:
    """`mentions` found by `watcher` at `at` (after a first, empty poll: nothing is recorded quietly)."""
    if store.watcher_status(watcher).first_polled_at is None:
        store.record_poll(watcher, "C1", [], {}, now=at - timedelta(days=30))
    store.record_poll(watcher, "C1", mentions, {}, now=at)
