"""What a purge or a `forget` removed (or would remove), and how it reads, in BOT_LANGUAGE: the CLI prints these
lines, the Slack command answers with them."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from veilleur.core.i18n import format_datetime, t, t_plural
from veilleur.core.watcher_config import AuthorLabel
from veilleur.storage.retention import ErasureCounts

# The counts each report tells, in the order it tells them.
_COUNTED = ("mentions", "cards", "story_entries", "escalations", "notices", "poll_failures", "audit_entries",
            "claims")


@dataclass(frozen=True)
class ErasureReport:
    """What `forget` erased about one author. `labels`: the `[[author]]` tables of the watchers file naming them,
    which the operator removes; `suppressed`: their future posts are (or, in a dry run, would be) dropped."""

    author: str
    source: str | None
    dry_run: bool = False
    mentions: int = 0
    cards: int = 0
    story_entries: int = 0
    escalations: int = 0
    slack_messages: int = 0  # the bot's Slack messages queued for removal
    notices: int = 0  # stored copies of digests and alerts that quoted them, cleared
    labels: tuple[AuthorLabel, ...] = ()
    suppressed: bool = False
    already_suppressed: bool = False
    resumed: bool = False
    slack_action: str = "redact"

    @classmethod
    def of(cls, counts: ErasureCounts, author: str, source: str | None, **values: Any) -> ErasureReport:
        return cls(author, source, **_picked(cls, counts), **values)

    @property
    def held(self) -> bool:
        """Whether anything was held about them (labels aside, which the bot does not hold)."""
        return any((self.mentions, self.escalations, self.notices))


@dataclass(frozen=True)
class PurgeReport:
    """What a purge erased: the mentions collected before `cutoff`, and what had outlived its own retention."""

    cutoff: datetime
    days: int
    dry_run: bool = False
    mentions: int = 0
    cards: int = 0
    story_entries: int = 0
    escalations: int = 0
    slack_messages: int = 0
    notices: int = 0
    poll_failures: int = 0
    audit_entries: int = 0
    claims: int = 0
    kept_for_escalation: int = 0
    resumed: bool = False
    slack_action: str = "redact"

    @classmethod
    def of(cls, counts: ErasureCounts, cutoff: datetime, days: int, **values: Any) -> PurgeReport:
        return cls(cutoff, days, **_picked(cls, counts), **values)

    @property
    def held(self) -> bool:
        return any(getattr(self, name) for name in _COUNTED)


def _picked(report: type, counts: ErasureCounts) -> dict[str, int]:
    names = {f.name for f in fields(report)}
    return {f.name: getattr(counts, f.name) for f in fields(counts) if f.name in names}


def forget_lines(report: ErasureReport, lang: str, *, watchers_file: Path | str) -> list[str]:
    """The sentences that tell an operator what `forget` did (or would do), then what is left for them to do."""
    scope = _scope(report.source, lang)
    values = {"author": report.author, "scope": scope}
    lines = []
    if not report.held and not report.dry_run and not report.resumed:
        lines.append(t("privacy.forget.nothing", lang, **values))
    else:
        heading = "dry_run" if report.dry_run else "resumed" if report.resumed else "done"
        lines.append(t(f"privacy.forget.{heading}", lang, **values))
        lines.extend(_count_lines(report, lang))
    if report.already_suppressed:
        lines.append(t("privacy.suppressed.already", lang, scope=scope))
    elif report.suppressed:
        lines.append(t("privacy.suppressed.would" if report.dry_run else "privacy.suppressed.now", lang, scope=scope))
    if report.labels:
        count = len(report.labels)
        lines.append(t_plural("privacy.labels", count, lang, count=count, file=str(watchers_file)))
        lines.extend(author_table(label) for label in report.labels)
    return lines


def purge_lines(report: PurgeReport, lang: str, *, tz: ZoneInfo) -> list[str]:
    """The sentences that tell an operator what a purge did (or would do)."""
    date = format_datetime(report.cutoff, tz, lang)
    if not report.held and not report.dry_run and not report.resumed:
        lines = [t("privacy.purge.nothing", lang, date=date)]
    else:
        heading = "dry_run" if report.dry_run else "resumed" if report.resumed else "done"
        lines = [t(f"privacy.purge.{heading}", lang, date=date), *_count_lines(report, lang)]
        if report.mentions:
            lines.append(t("privacy.purge.counts_kept", lang))
    if report.kept_for_escalation:
        count = report.kept_for_escalation
        lines.append(t_plural("privacy.purge.kept", count, lang, count=count))
    return lines


def _count_lines(report: ErasureReport | PurgeReport, lang: str) -> list[str]:
    lines = []
    for name in _COUNTED:
        count = getattr(report, name, 0)
        if count:
            lines.append("- " + t_plural(f"privacy.count.{name}", count, lang, count=count))
    if report.slack_messages:
        count = report.slack_messages
        lines.append("- " + t_plural(f"privacy.count.slack.{report.slack_action}", count, lang, count=count))
        lines.append(t("privacy.slack.pace", lang))
    elif report.cards and report.slack_action == "keep":
        lines.append(t("privacy.slack.kept", lang))
    return lines


def _scope(source: str | None, lang: str) -> str:
    return t("privacy.scope.source", lang, source=source) if source else t("privacy.scope.all", lang)


def author_table(label: AuthorLabel) -> str:
    """An `[[author]]` table as the watchers file writes it, to find it there."""
    fields_ = {"handle": label.handle, "name": label.name, "source": label.source}
    # A JSON string is a TOML basic string (the same escapes).
    lines = ["[[author]]", *(f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in fields_.items()
                             if value)]
    lines.append(f"labels = {json.dumps(list(label.labels), ensure_ascii=False)}")
    return "\n".join(lines)
