"""The App Home tab: what Veilleur watches and how each watcher is doing, open escalations, the LLM, the commands.

A pure builder. A home view holds at most 100 blocks: watchers and escalations beyond the room left are counted
in an "and N more" line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from veilleur.core.i18n import format_datetime, t, t_plural
from veilleur.core.mentions import Mention
from veilleur.escalation.cards import escalation_status
from veilleur.slack.cards import mention_excerpt
from veilleur.slack.markup import escape, markup, mrkdwn, plain_text
from veilleur.storage.escalations import Escalation
from veilleur.storage.store import WatcherStatus
from veilleur.watching.catalog import CatalogEntry
from veilleur.watching.views import watcher_line

BLOCK_LIMIT = 100
MAX_ESCALATIONS = 15
HEADER_LIMIT = 150


@dataclass(frozen=True)
class HomeWatcher:
    entry: CatalogEntry
    status: WatcherStatus
    last_day: int  # mentions found in the last 24 h


@dataclass(frozen=True)
class HomeEscalation:
    escalation: Escalation
    mention: Mention


def home_view(
    watchers: Sequence[HomeWatcher],
    escalations: Sequence[HomeEscalation],
    *,
    llm_enabled: bool,
    who_may_change: str,
    tz: ZoneInfo,
    lang: str,
) -> dict[str, Any]:
    llm = t("home.llm_on" if llm_enabled else "home.llm_off", lang)
    top = [
        {"type": "header", "block_id": "title", "text": plain_text(t("home.title", lang), HEADER_LIMIT)},
        {"type": "context", "block_id": "llm", "elements": [mrkdwn(llm)]},
        _header("watchers_title", _count_or_none(len(watchers), "home.watchers", "home.no_watchers", lang)),
    ]
    shown_escalations = list(escalations[:MAX_ESCALATIONS])
    middle = [
        {"type": "divider", "block_id": "escalations_divider"},
        _header("escalations_title",
                _count_or_none(len(escalations), "home.escalations", "home.no_escalations", lang)),
        *[_escalation(item, tz, lang) for item in shown_escalations],
    ]
    if len(escalations) > len(shown_escalations):
        hidden = len(escalations) - MAX_ESCALATIONS
        middle.append(_context("more_escalations", t_plural("watch.more", hidden, lang, count=hidden)))
    bottom = [
        {"type": "divider", "block_id": "commands_divider"},
        _header("commands_title", t("home.commands_title", lang)),
        {"type": "section", "block_id": "commands", "text": mrkdwn(t("watch.usage", lang))},
        {"type": "context", "block_id": "who", "elements": [markup(who_may_change)]},
    ]
    room = BLOCK_LIMIT - len(top) - len(middle) - len(bottom)
    watcher_blocks = [_watcher(item, tz, lang) for item in watchers]
    if not watchers:
        watcher_blocks = [_context("no_watchers", t("home.no_watchers_hint", lang))]
    elif len(watcher_blocks) > room:
        watcher_blocks = watcher_blocks[: room - 1]
        hidden = len(watchers) - (room - 1)
        watcher_blocks.append(_context("more_watchers", t_plural("watch.more", hidden, lang, count=hidden)))
    return {"type": "home", "blocks": [*top, *watcher_blocks, *middle, *bottom]}


def _watcher(item: HomeWatcher, tz: ZoneInfo, lang: str) -> dict[str, Any]:
    line = watcher_line(item.entry, item.status, tz=tz, lang=lang)
    count = t_plural("home.last_day", item.last_day, lang, count=item.last_day)
    return {"type": "section", "block_id": f"w_{item.entry.name}", "text": markup(f"{line} · {escape(count)}")}


def _escalation(item: HomeEscalation, tz: ZoneInfo, lang: str) -> dict[str, Any]:
    escalation = item.escalation
    since = format_datetime(escalation.created_at, tz, lang)
    text = f"{escalation_status(escalation, lang)}\n{escape(mention_excerpt(item.mention))} · {escape(since)}"
    return {"type": "section", "block_id": f"e_{escalation.id}", "text": markup(text)}


def _count_or_none(count: int, key: str, none_key: str, lang: str) -> str:
    """ "3 watchers", or for none one sentence of its own ("No watcher yet") rather than "0 watchers"."""
    return t_plural(key, count, lang, count=count) if count else t(none_key, lang)


def _header(block_id: str, text: str) -> dict[str, Any]:
    return {"type": "header", "block_id": block_id, "text": plain_text(text, HEADER_LIMIT)}


def _context(block_id: str, text: str) -> dict[str, Any]:
    return {"type": "context", "block_id": block_id, "elements": [mrkdwn(text)]}
