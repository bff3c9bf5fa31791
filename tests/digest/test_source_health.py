"""The digest's source health: the watchers that failed in the period or are failing now."""

from datetime import timedelta

from tests.support.digest_figures import DAY, END, found, mention
from veilleur.digest.compute import compute_digest
from veilleur.storage.store import Store


def test_source_health_lists_the_watchers_that_failed(store: Store) -> None:
    found(store, "flaky", [mention("f")], END - timedelta(days=2))
    found(store, "broken", [mention("b")], END - timedelta(days=2))
    found(store, "fine", [mention("x")], END - timedelta(days=2))
    store.record_poll_failure("flaky", "HTTP 503", now=END - timedelta(hours=6))
    store.record_poll_failure("flaky", "timeout", now=END - timedelta(hours=5))
    found(store, "flaky", [], END - timedelta(hours=4))
    store.record_poll_failure("broken", "HTTP 404", now=END - timedelta(hours=30))
    store.record_poll_failure("broken", "HTTP 404 again", now=END - timedelta(hours=2))
    store.record_poll_failure("fine", "before the period", now=END - timedelta(days=2))
    found(store, "fine", [], END - timedelta(hours=36))

    failures = compute_digest(store, DAY).failures

    assert [(f.watcher, f.failures, f.still_failing, f.last_error) for f in failures] == [
        ("broken", 1, True, "HTTP 404 again"),
        ("flaky", 2, False, "timeout"),
    ]
    assert failures[0].failing_since == END - timedelta(hours=30)
    assert failures[1].last_at == END - timedelta(hours=5)


def test_watchers_never_polled_are_named_not_counted_as_working(store: Store) -> None:
    found(store, "polled", [mention("p")], END - timedelta(days=2))
    store.record_poll_failure("failed-first", "HTTP 404", now=END - timedelta(hours=2))

    digest = compute_digest(store, DAY, watchers=["polled", "failed-first", "new"])

    assert digest.unpolled == ("new",)
    assert [failure.watcher for failure in digest.failures] == ["failed-first"]
