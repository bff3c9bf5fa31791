"""Keyed hashes (HMAC-SHA-256) of authors and posts: how the suppression list and the erased items name them.

A plain hash of a handle could be reversed by hashing every handle a platform has; a keyed one cannot without the
key, which lives apart from the database (PRIVACY_KEY, or the `privacy.key` file beside it, see
storage/privacy_key.py). Handles and names are compared as `[[author]]` tables compare them (`normal_handle`).
"""

from __future__ import annotations

import hashlib
import hmac

from veilleur.core.watcher_config import normal_handle

EVERY_SOURCE = "*"


def keyed_hash(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def author_key(author: str, source: str | None) -> str:
    """What names an author on one source ("mastodon:ann@mastodon.social"), or on every one ("*:…")."""
    return f"{source or EVERY_SOURCE}:{normal_handle(author)}"


def author_keys(source: str, handle: str, name: str) -> list[str]:
    """Every key a post's author may be suppressed under: its handle and its name, on its source and on all."""
    found = (normal_handle(value) for value in (handle, name) if value)
    return [f"{scope}:{author}" for author in dict.fromkeys(a for a in found if a) for scope in (source, EVERY_SOURCE)]


def item_key(source: str, external_id: str) -> str:
    return f"{source}:{external_id}"


def author_hash(key: bytes, author: str, source: str | None) -> str:
    """What the audit log names an export or an erasure by: never the handle itself."""
    return keyed_hash(key, author_key(author, source))
