import logging
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.sql import sql
from veilleur.core.mentions import Mention
from veilleur.storage.store import Store
from veilleur.storage.wal_checkpoint import WalCheckpointer

MB = 1024 * 1024


def big_mentions(count: int, size: int) -> list[Mention]:
    return [
        Mention(
            source="rss",
            external_id=f"https://example.org/{n}",
            url=f"https://example.org/{n}",
            text=f"{n} " + "x" * size,
            created_at=datetime(2026, 11, 24, tzinfo=UTC),
        )
        for n in range(count)
    ]


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_commit_leaves_its_pages_in_the_log_for_the_thread(tmp_path: Path) -> None:
    # SQLite's default would checkpoint inside this 6 MB commit (its threshold is 1,000 pages, about 4 MB).
    path = tmp_path / "veilleur.db"
    store = Store.open(path, checkpoint_every=3600)
    try:
        store.record_poll("w", "C1", big_mentions(600, 10_000), {})
        assert path.with_name("veilleur.db-wal").stat().st_size > 5 * MB
        assert path.stat().st_size < 1 * MB
    finally:
        store.close()


def test_the_thread_copies_the_log_into_the_database_while_the_store_is_open(tmp_path: Path) -> None:
    path = tmp_path / "veilleur.db"
    store = Store.open(path, checkpoint_every=0.05)
    try:
        store.record_poll("w", "C1", big_mentions(600, 10_000), {})
        assert wait_for(lambda: path.stat().st_size > 5 * MB)
        assert sql(store).execute("select count(*) from mentions").fetchone()[0] == 600
    finally:
        store.close()
    assert store.checkpointer is not None and not store.checkpointer.running


def test_stop_runs_a_last_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("pragma journal_mode=wal")
    writer.execute("pragma wal_autocheckpoint=0")
    writer.execute("create table t (blob text)")
    checkpointer = WalCheckpointer(path, every=3600)
    checkpointer.start()
    writer.executemany("insert into t values (?)", [("y" * 10_000,) for _ in range(300)])
    assert path.stat().st_size < 1 * MB
    checkpointer.stop()
    # The writer is still open, so this is the thread's work, not SQLite's checkpoint at last close.
    assert path.stat().st_size > 2 * MB
    writer.close()


def test_a_failing_checkpoint_is_logged_and_retried(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "not-a-database.db"
    path.write_bytes(b"this is not an SQLite file" * 100)
    checkpointer = WalCheckpointer(path, every=0.02)
    with caplog.at_level(logging.WARNING, logger="veilleur.storage.wal_checkpoint"):
        checkpointer.start()
        assert wait_for(lambda: len([r for r in caplog.records if "will retry" in r.getMessage()]) >= 2)
        checkpointer.stop()
    assert not checkpointer.running


def test_an_in_memory_store_has_no_checkpoint_thread() -> None:
    store = Store.open(":memory:")
    assert store.checkpointer is None
    store.close()
