"""Slack message links: `https://team.slack.com/archives/C123/p1700000000000100[?thread_ts=…&cid=…]`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

_PERMALINK_PATH = re.compile(r"^/archives/([CGD][A-Z0-9]+)/p(\d{10})(\d{6})/?$")
_SLACK_HOST = re.compile(r"(^|\.)slack(-gov)?\.com$")


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A Slack message; `thread_ts` is its thread's parent when it is a reply."""

    channel: str
    ts: str
    thread_ts: str | None = None


def parse_permalink(url: str) -> MessageRef | None:
    """The message a permalink points to (the `p` part is the ts without its dot), else None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    match = _PERMALINK_PATH.match(parts.path)
    if parts.scheme not in ("http", "https") or not _SLACK_HOST.search(parts.hostname or "") or not match:
        return None
    thread_ts = parse_qs(parts.query).get("thread_ts", [None])[0]
    return MessageRef(channel=match[1], ts=f"{match[2]}.{match[3]}", thread_ts=thread_ts)
