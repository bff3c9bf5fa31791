"""Write-ahead-log checkpoints from a thread of their own, so the asyncio loop never waits for the disk.

In WAL mode, a commit appends pages to the `-wal` file; a *checkpoint* copies them back into the database file and
syncs both to disk. By default SQLite runs one inside whichever commit pushes the log past 1,000 pages: on the
loop's connection, that is a poll or a Slack handler stalled for two fsyncs (measured: a fifth of the time spent
storing 5,000 new mentions, and far more on a slow SD card). SQLite's documentation suggests the alternative used
here: turn automatic checkpoints off on the writing connection and run them from another thread.

Durability is unchanged: with `synchronous=NORMAL`, a commit was never synced by itself.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 1.0


class WalCheckpointer:
    """A daemon thread that runs a PASSIVE checkpoint every `every` seconds on its own connection.

    PASSIVE never waits for a lock, so the writer is never blocked; what a busy moment leaves in the log is copied
    at the next round. `stop()` runs a last round, then closes the thread's connection.
    """

    def __init__(self, path: Path | str, *, every: float = CHECKPOINT_EVERY) -> None:
        self.path = str(path)
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"wal-checkpoint {Path(path).name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            while not self._stop.wait(self.every):
                self._checkpoint(connection)
            self._checkpoint(connection)
        finally:
            connection.close()

    @staticmethod
    def _checkpoint(connection: sqlite3.Connection) -> None:
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as error:
            # A failed round leaves the pages in the log, safe: the next round copies them.
            log.warning("WAL checkpoint failed, will retry: %s", error)


def checkpoint_once(path: Path | str) -> None:
    """One PASSIVE checkpoint now, on a connection of its own (call it in a worker thread)."""
    connection = sqlite3.connect(str(path), isolation_level=None)
    try:
        WalCheckpointer._checkpoint(connection)
    finally:
        connection.close()


def truncate_log(path: Path | str, *, attempts: int = 40, pause: float = 0.25) -> bool:
    """Copy every page of the log into the database file and empty the log, on a connection of its own (call it in
    a worker thread): after an erasure, no erased byte is left in the `-wal` file.

    It waits for readers of older pages to finish (a read in progress, another process), trying `attempts` times;
    False when it could not finish, the log then emptied by a later checkpoint.
    """
    connection = sqlite3.connect(str(path), isolation_level=None, timeout=pause)
    try:
        for attempt in range(attempts):
            try:
                busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error as error:
                log.warning("WAL truncation failed (attempt %d): %s", attempt + 1, error)
                busy = 1
            if not busy:
                return True
            time.sleep(pause)
        return False
    finally:
        connection.close()
