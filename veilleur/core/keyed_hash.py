"""Keyed hashes (HMAC-SHA-256) of authors: what the audit log and the suppression list hold instead of a handle.

Handles are few enough to be guessed one by one, so a plain hash of one could be reversed; a keyed hash cannot be
without the key. The key is PRIVACY_KEY, or else a random key kept in `privacy.key` beside the database (created
on first use, readable by its owner only), so that it is not in the database's backups.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from veilleur.core.settings import Settings
from veilleur.core.watcher_config import normal_handle

KEY_FILE = "privacy.key"
ANY_SOURCE = "*"


def keyed_hash(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def author_key(author: str, source: str | None) -> str:
    """What is hashed for an author: "source:handle", or "*:handle" for every source; no case, no leading "@"."""
    return f"{(source or ANY_SOURCE).strip().lower()}:{normal_handle(author)}"


def author_hash(key: bytes, author: str, source: str | None) -> str:
    return keyed_hash(key, author_key(author, source))


def load_key(settings: Settings) -> bytes:
    """PRIVACY_KEY, else the key in `privacy.key` beside the database, created when there is none."""
    if settings.privacy_key is not None:
        return settings.privacy_key.encode("utf-8")
    path = Path(settings.database_path).resolve().parent / KEY_FILE
    if not path.exists():
        # Written aside, then linked into place: another process starting at the same time either finds no file or
        # a whole key, never half of one, and the first link wins.
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32) + "\n")
        try:
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink()
    return path.read_bytes().strip()
