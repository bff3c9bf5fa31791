"""Access by author (GDPR art. 15): everything Veilleur holds about one author, as JSON or CSV.

`collect` gathers it (a read of every mention, about a second per million: run it off the loop with `Store.read`);
`as_json` adds what article 15 asks to be told besides the data (purposes, recipients, retention, source, rights),
in BOT_LANGUAGE; `as_csv` is one row per mention. The output is personal data: nothing here logs it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from veilleur.core.i18n import t, t_plural
from veilleur.core.settings import Settings
from veilleur.core.watcher_config import AuthorLabel, normal_handle
from veilleur.slack.cards import SOURCES
from veilleur.storage.authors import AuthorRecords
from veilleur.storage.store import Store, iso
from veilleur.storage.subject_access import SubjectAccess

FORMATS = ("json", "csv")
DEFAULT_LLM_HOST = "api.openai.com"  # where the OpenAI client sends prompts when OPENAI_BASE_URL is unset
CSV_COLUMNS = (
    "mention_id", "source", "external_id", "url", "title", "text", "author_handle", "author_name", "author_reach",
    "created_at", "first_seen_at", "lang", "engagement", "conversation_id", "parent_id", "slack_cards", "dismissed",
    "stories", "campaign", "escalations", "stance_model", "hostile_model", "stance_team", "false_claims",
)
# A spreadsheet runs a cell starting with one of these as a formula: outside text must not become one.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuthorExport:
    """What is held about `author` (on `source`, or on any source when None): their mentions, each with its Slack
    cards, story places, escalations and the false claims it was found to repeat, and the `[[author]]` labels that
    name them."""

    author: str
    source: str | None
    generated_at: datetime
    mentions: list[dict[str, Any]]
    labels: list[dict[str, Any]]

    @property
    def empty(self) -> bool:
        return not self.mentions and not self.labels


def collect(
    reader: Store, author: str, source: str | None, *, labels: Sequence[AuthorLabel], now: datetime
) -> AuthorExport:
    ids = AuthorRecords(reader).mention_ids(author, source)
    access = SubjectAccess(reader)
    related = {"slack_cards": access.cards(ids), "stories": access.story_places(ids),
               "escalations": access.escalations(ids), "false_claims": access.false_claims(ids)}
    mentions = []
    for mention in access.mentions(ids):
        for key, rows in related.items():
            mention[key] = [_without_mention_id(row) for row in rows if row["mention_id"] == mention["id"]]
        mentions.append(mention)
    return AuthorExport(author, source, now, mentions, _labels_of(author, source, labels))


def _without_mention_id(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != "mention_id"}


def _labels_of(author: str, source: str | None, labels: Sequence[AuthorLabel]) -> list[dict[str, Any]]:
    """The `[[author]]` tables naming this author by handle or name (compared as `AuthorRecords` compares them)."""
    wanted = normal_handle(author)
    found = []
    for label in labels:
        if source is not None and label.source not in (None, source):
            continue
        if wanted in (normal_handle(label.handle or ""), normal_handle(label.name or "")):
            found.append({"handle": label.handle, "name": label.name, "source": label.source,
                          "labels": list(label.labels)})
    return found


def as_json(export: AuthorExport, settings: Settings) -> str:
    """The export with its header: who it is about, when it was made, and what article 15 asks to be told."""
    sources = sorted({mention["source"] for mention in export.mentions} | ({export.source} if export.source else set()))
    document = {
        "author": export.author,
        "source": export.source,
        "generated_at": iso(export.generated_at),
        "retention_days": settings.retention_days,
        "escalation_retention_days": settings.escalation_retention_days,
        **notice(settings, sources),
        "labels": export.labels,
        "mentions": export.mentions,
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def notice(settings: Settings, sources: Sequence[str]) -> dict[str, str]:
    """Article 15's information, as sentences in BOT_LANGUAGE: purposes, recipients, retention, source, rights."""
    lang = settings.bot_language
    host = llm_host(settings)
    recipients = t("privacy.notice.recipients", lang)
    if host is not None:
        recipients += " " + t("privacy.notice.recipients_llm", lang, host=host)
    retention = t_plural("privacy.notice.retention", settings.retention_days, lang, days=settings.retention_days)
    retention += " " + t_plural(
        "privacy.notice.escalation_retention", settings.escalation_retention_days, lang,
        days=settings.escalation_retention_days,
    )
    platforms = ", ".join(source_name(source) for source in sources) or t("privacy.notice.no_platform", lang)
    return {
        "purposes": t("privacy.notice.purposes", lang),
        "recipients": recipients,
        "retention": retention,
        "origin": t("privacy.notice.origin", lang, platforms=platforms),
        "rights": t("privacy.notice.rights", lang),
    }


def llm_host(settings: Settings) -> str | None:
    """The host that receives prompts, None without an LLM."""
    if not settings.llm_enabled:
        return None
    return urlsplit(settings.openai_base_url).hostname if settings.openai_base_url else DEFAULT_LLM_HOST


def source_name(source: str) -> str:
    return SOURCES[source][1] if source in SOURCES else source


def as_csv(export: AuthorExport) -> str:
    """One row per mention (CSV_COLUMNS; README, "Access requests"). Lists are joined with "; "."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for mention in export.mentions:
        cards, stories, escalations = mention["slack_cards"], mention["stories"], mention["escalations"]
        row = [
            mention["id"], *(mention[column] for column in CSV_COLUMNS[1:12]),
            json.dumps(mention["engagement"], ensure_ascii=False) if mention["engagement"] else "",
            mention["conversation_id"], mention["parent_id"],
            "; ".join(f"{c['channel']} {c['slack_ts'] or '-'} {c['state']}" for c in cards),
            any(card["dismissed"] for card in cards),
            "; ".join(str(place["story_id"]) for place in stories),
            any(place["campaign_at"] for place in stories),
            "; ".join(f"{e['id']} {e['state']}" for e in escalations),
            mention["stance_model"], mention["hostile_model"], mention["stance_team"],
            "; ".join(f"{claim['claim_id']} {claim['state']}" for claim in mention["false_claims"]),
        ]
        writer.writerow([_inert(value) for value in row])
    return out.getvalue()


def _inert(value: Any) -> Any:
    """A cell a spreadsheet shows as text: outside text starting like a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def subject(author: str, source: str | None, lang: str) -> str:
    """The author as sentences name them: "ann" or "ann on Mastodon"."""
    return t("privacy.author_on", lang, author=author, source=source_name(source)) if source else author


def nothing_held(author: str, source: str | None, settings: Settings) -> str:
    """The answer when nothing is held, with the retention period (an answer is due even then)."""
    lang, days = settings.bot_language, settings.retention_days
    return t_plural("privacy.nothing_held", days, lang, author=subject(author, source, lang), days=days)
