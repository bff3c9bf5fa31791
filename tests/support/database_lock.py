"""Another program holding the database's write lock, as a backup tool or a second Veilleur would."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class DatabaseLock:
    def __init__(self, path: Path) -> None:
        # Its own connection, usable from any thread, that never waits for a lock itself.
        self._connection = sqlite3.connect(str(path), isolation_level=None, timeout=0, check_same_thread=False)
        self._connection.execute("BEGIN IMMEDIATE")

        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._connection.execute("ROLLBACK")
            self._connection.close()


@contextmanager
def locked_database(path: Path) -> Iterator[DatabaseLock]:
    """Hold the write lock of the database at `path` until the block ends or `release()` is called."""
    lock = DatabaseLock(path)
    try:
        yield lock
    finally:
        lock.release()
