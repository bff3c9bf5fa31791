"""The digest's escalation figures, per period and per watcher."""

from datetime import datetime, timedelta

from tests.support.digest_figures import DAY, END, found, mention
from tests.support.sql import sql
from veilleur.digest.compute import compute_digest
from veilleur.storage.escalations import EscalationStore
from veilleur.storage.store import Store


def test_escalation_figures(store: Store) -> None:
    found(store, "tram", [mention(f"e{n}") for n in range(5)], END - timedelta(days=4))
    found(store, "parks", [mention("p0")], END - timedelta(days=4))
    records = EscalationStore(store)
    ids = {row["external_id"]: row["id"] for row in sql(store).query("select id, external_id from mentions")}

    def raise_(key: str, at: datetime, watcher: str = "tram"):
        return records.create(ids[key], card_id=None, watcher=watcher, channel="C1", thread_ts=None,
                              officials=["U0OFFICIAL"], user="U0ASKER", via="command", note=None, now=at,
                              next_reminder_at=None)

    def answer(escalation_id: int, at: datetime) -> None:
        records.transition(escalation_id, "answered", allowed_from=("open",), user="U0OFFICIAL", now=at,
                           state="answered", answered_at=at, answered_by="U0OFFICIAL", answer="done")

    old = raise_("e0", END - timedelta(days=3))  # still waiting: 3 days old
    answered_today = raise_("e1", END - timedelta(days=2))  # raised before, answered in the period after 44 h
    answer(answered_today.id, END - timedelta(hours=4))
    quick = raise_("e2", END - timedelta(hours=10))  # raised and answered in the period, after 2 h
    answer(quick.id, END - timedelta(hours=8))
    late = raise_("e3", END - timedelta(hours=5))  # answered after the period: waiting at its end
    answer(late.id, END + timedelta(hours=1))
    raise_("p0", END - timedelta(hours=3), watcher="parks")
    records.transition(old.id, "acknowledged", allowed_from=("open",), user="U0TAKER", now=END - timedelta(days=2),
                       state="acknowledged", acknowledged_at=END - timedelta(days=2), acknowledged_by="U0TAKER")

    figures = compute_digest(store, DAY).escalations
    tram_figures = compute_digest(store, DAY, watchers=["tram"]).escalations

    assert (figures.opened, figures.answered, figures.still_open) == (3, 2, 3)
    assert figures.median_to_answer == (timedelta(hours=44) + timedelta(hours=2)) / 2
    assert [(item.escalation.id, item.age) for item in figures.oldest_open] == [
        (old.id, timedelta(days=3)), (late.id, timedelta(hours=5)), (figures.oldest_open[2].escalation.id,
                                                                      timedelta(hours=3))]
    assert figures.oldest_open[0].escalation.owners == ("U0TAKER",)
    assert figures.oldest_open[0].excerpt == "something"
    assert (tram_figures.opened, tram_figures.still_open) == (2, 2)
