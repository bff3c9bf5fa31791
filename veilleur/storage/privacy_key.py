"""The key of the keyed hashes (core/keyed_hash.py): PRIVACY_KEY, or else a random key kept in `privacy.key` beside
the database, made on first need (mode 0600).

It is made only when something is to be hashed and stored (a suppression, an erased item): a dry run, or a poll
checking posts against an empty list, never makes it. Losing it makes every stored hash useless (suppressed
authors would be collected again): back it up, apart from the database's backups, which must not hold it (with
both, handles could be hashed one by one until one matches).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from veilleur.core.settings import SettingsError

KEY_FILE = "privacy.key"


class PrivacyKeyError(SettingsError):
    """The key file is there but cannot be used: a configuration error (start-up stops on it, a poll fails on it
    rather than let a suppressed author through); the message says what to do."""


class PrivacyKey:
    def __init__(self, configured: str | None, folder: Path | None) -> None:
        """`configured`: PRIVACY_KEY, which wins; `folder`: where the key file lives (None for an in-memory
        database, whose key lives as long as the process)."""
        self._secret = configured.encode("utf-8") if configured else None
        self.path = folder / KEY_FILE if folder is not None else None

    @classmethod
    def for_database(cls, configured: str | None, database_path: Path | str) -> PrivacyKey:
        in_memory = str(database_path) == ":memory:"
        return cls(configured, None if in_memory else Path(database_path).resolve().parent)

    def load(self) -> bytes | None:
        """The key if there is one yet; never makes it."""
        if self._secret is None and self.path is not None and self.path.exists():
            self._secret = self._read(self.path)
        return self._secret

    def ensure(self) -> bytes:
        """The key, made now if there is none."""
        if (secret := self.load()) is not None:
            return secret
        if self.path is None:
            self._secret = secrets.token_hex(32).encode("ascii")
            return self._secret
        self._create(self.path)
        secret = self._read(self.path)
        self._secret = secret
        return secret

    @staticmethod
    def _create(path: Path) -> None:
        """Write a new key to a private temporary file, then link it in place: a process killed meanwhile leaves
        no empty key file, and of two processes making one at once, the first link wins and both read it."""
        scratch = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as file:
                file.write(secrets.token_hex(32) + "\n")
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(scratch, path)
        finally:
            scratch.unlink(missing_ok=True)

    @staticmethod
    def _read(path: Path) -> bytes:
        try:
            secret = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise PrivacyKeyError(
                f"cannot read the privacy key {path} ({error}): restore it from its backup"
                " (or set PRIVACY_KEY, if the key is kept elsewhere)"
            ) from None
        if len(secret) < 32:
            raise PrivacyKeyError(f"the privacy key {path} is damaged (too short): restore it from its backup")
        return secret.encode("ascii")
