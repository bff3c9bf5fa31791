"""The `[[watcher]]` and `[[route]]` tables of `WATCHERS_FILE`, checked one by one.

A bad entry is reported with its name and the field at fault and left out; the others still run.
A route says which officials an escalation goes to: those of every route matching the mention's watcher and
text, when the person escalating names nobody.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from veilleur.core.i18n import Phrase, technical
from veilleur.core.mentions import Mention
from veilleur.core.query import Query, QueryError, parse_query
from veilleur.core.settings import CHANNEL_ID, USER_ID

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)?\s*$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL = 30
KNOWN_FIELDS = {
    "name", "source", "url", "base_url", "query", "channel", "interval", "backfill", "options", "digest", "subject"
}
# What the model labels each mention's stance toward ("le projet de tramway"), in a few words.
SUBJECT_LIMIT = 200
ROUTE_FIELDS = {"name", "query", "watchers", "officials"}


@dataclass(frozen=True)
class WatcherConfig:
    name: str
    source: str
    query: Query
    channel: str
    interval: int = 300
    url: str | None = None
    base_url: str | None = None
    backfill: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    # Its channel also gets a morning digest of the watchers there that say so (see digest_delivery.py).
    digest: bool = False
    # What its mentions' stances are toward (see assist/labelling.py); None: what the watcher looks for.
    subject: str | None = None


@dataclass(frozen=True)
class RouteConfig:
    """Escalations of mentions matching `query` and seen by one of `watchers` (each when given) go to `officials`."""

    name: str
    officials: tuple[str, ...]
    query: Query | None = None
    watchers: frozenset[str] = frozenset()

    def matches(self, watcher: str, mention: Mention) -> bool:
        if self.watchers and watcher not in self.watchers:
            return False
        return self.query is None or self.query.matches(mention)


@dataclass(frozen=True)
class ConfigProblem:
    watcher: str
    field: str
    message: str
    kind: str = "watcher"

    def __str__(self) -> str:
        return f"{self.kind} {self.watcher!r}, field {self.field!r}: {self.message}"


class WatchersFileError(ValueError):
    """The file as a whole cannot be read (missing, not TOML)."""


def load_watchers_file(path: Path, sources: Collection[str]) -> tuple[list[WatcherConfig], list[ConfigProblem]]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WatchersFileError(
            f"WATCHERS_FILE {str(path)!r} does not exist: create it (see watchers.example.toml) or set WATCHERS_FILE"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise WatchersFileError(f"WATCHERS_FILE {str(path)!r} is not valid TOML: {error}") from None
    tables = document.get("watcher", [])
    if not isinstance(tables, list):
        raise WatchersFileError(f"WATCHERS_FILE {str(path)!r}: use [[watcher]] tables (double brackets)")
    return parse_watchers(tables, sources)


def load_routes_file(path: Path) -> tuple[list[RouteConfig], list[ConfigProblem]]:
    """The `[[route]]` tables of the watchers file (which `load_watchers_file` has already found readable)."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise WatchersFileError(f"WATCHERS_FILE {str(path)!r} cannot be read: {error}") from None
    tables = document.get("route", [])
    if not isinstance(tables, list):
        raise WatchersFileError(f"WATCHERS_FILE {str(path)!r}: use [[route]] tables (double brackets)")
    names = {str(table.get("name")) for table in document.get("watcher", []) if isinstance(table, dict)}
    return parse_routes(tables, names)


def parse_routes(
    tables: list[dict[str, Any]], watcher_names: Collection[str]
) -> tuple[list[RouteConfig], list[ConfigProblem]]:
    routes: list[RouteConfig] = []
    problems: list[ConfigProblem] = []
    for index, table in enumerate(tables, start=1):
        label = str(table.get("name") or f"#{index}")
        try:
            routes.append(parse_route(table, watcher_names, label))
        except WatcherFieldError as error:
            problems.append(ConfigProblem(label, error.field, error.message, kind="route"))
    return routes, problems


def parse_route(table: dict[str, Any], watcher_names: Collection[str], name: str) -> RouteConfig:
    unknown = sorted(set(table) - ROUTE_FIELDS)
    if unknown:
        raise WatcherFieldError(unknown[0], f"unknown field; known fields are {', '.join(sorted(ROUTE_FIELDS))}")
    officials = _text_list(table, "officials")
    if not officials:
        raise WatcherFieldError("officials", "is required: the user IDs to ping, e.g. officials = [\"U0123ABCD\"]")
    for official in officials:
        if not USER_ID.match(official):
            raise WatcherFieldError("officials", f"expected user IDs such as U0123ABCD, got {official!r}")
    watchers = _text_list(table, "watchers")
    for watcher in watchers:
        if watcher not in watcher_names:
            raise WatcherFieldError("watchers", f"no [[watcher]] is named {watcher!r}")
    query = None
    if "query" in table:
        try:
            query = parse_query(_text(table, "query"))
        except QueryError as error:
            raise WatcherFieldError("query", str(error)) from None
    if query is None and not watchers:
        raise WatcherFieldError("query", "give a query, watchers, or both: a route needs something to match")
    return RouteConfig(name=name, officials=tuple(dict.fromkeys(officials)), query=query, watchers=frozenset(watchers))


def parse_watchers(
    tables: list[dict[str, Any]], sources: Collection[str]
) -> tuple[list[WatcherConfig], list[ConfigProblem]]:
    watchers: list[WatcherConfig] = []
    problems: list[ConfigProblem] = []
    names: set[str] = set()
    for index, table in enumerate(tables, start=1):
        label = str(table.get("name") or f"#{index}")
        try:
            watcher = parse_watcher(table, sources)
        except WatcherFieldError as error:
            problems.append(ConfigProblem(label, error.field, error.message))
            continue
        if watcher.name in names:
            problems.append(ConfigProblem(label, "name", "is used by another watcher; names must be unique"))
            continue
        names.add(watcher.name)
        watchers.append(watcher)
    return watchers, problems


class WatcherFieldError(ValueError):
    """A field of a watcher that cannot be taken: `message` in English (the watchers file's errors are the
    operator's), `phrase` to tell someone in Slack in their language (a `technical` one when the check has no
    sentence of its own)."""

    def __init__(self, field: str, message: str | Phrase) -> None:
        self.phrase = message if isinstance(message, Phrase) else technical(message)
        self.field = field
        self.message = str(self.phrase)
        super().__init__(f"{field}: {self.message}")


def parse_watcher(table: dict[str, Any], sources: Collection[str]) -> WatcherConfig:
    unknown = sorted(set(table) - KNOWN_FIELDS)
    if unknown:
        raise WatcherFieldError(
            unknown[0],
            f"unknown field; known fields are {', '.join(sorted(KNOWN_FIELDS))} (put source settings in options)",
        )
    name = _text(table, "name")
    if not NAME.match(name):
        raise WatcherFieldError("name", "use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit")
    source = _text(table, "source").lower()
    if source not in sources:
        raise WatcherFieldError("source", f"{source!r} is not a known source; use one of {', '.join(sorted(sources))}")
    try:
        query = parse_query(_text(table, "query"))
    except QueryError as error:
        raise WatcherFieldError("query", str(error)) from None
    channel = _text(table, "channel")
    if not CHANNEL_ID.match(channel):
        raise WatcherFieldError("channel", f"expected a channel ID such as C0123456789, got {channel!r}")
    url = _optional_url(table, "url")
    if source == "rss" and url is None:
        raise WatcherFieldError("url", "an rss watcher needs the feed's url")
    options = table.get("options", {})
    if not isinstance(options, dict):
        raise WatcherFieldError("options", "expected a table, e.g. options = { tags = [\"tram\"] }")
    backfill = table.get("backfill", 0)
    if not isinstance(backfill, int) or isinstance(backfill, bool) or not 0 <= backfill <= 100:
        raise WatcherFieldError("backfill", f"expected a whole number from 0 to 100, got {backfill!r}")
    digest = table.get("digest", False)
    if not isinstance(digest, bool):
        raise WatcherFieldError("digest", f"expected true or false, got {digest!r}")
    return WatcherConfig(
        name=name,
        source=source,
        query=query,
        channel=channel,
        interval=parse_interval(table.get("interval", "5m")),
        url=url,
        base_url=_optional_url(table, "base_url"),
        backfill=backfill,
        options=options,
        digest=digest,
        subject=_subject(table),
    )


def _subject(table: dict[str, Any]) -> str | None:
    value = table.get("subject")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise WatcherFieldError(
            "subject", f"expected text in quotes, e.g. subject = \"le projet de tramway\", got {value!r}"
        )
    subject = " ".join(value.split())
    if len(subject) > SUBJECT_LIMIT:
        raise WatcherFieldError(
            "subject", f"at most {SUBJECT_LIMIT} characters (got {len(subject)}): name what is followed in a few words"
        )
    return subject


def parse_interval(raw: object) -> int:
    """'90s', '5m', '1h', '1d' or a number of seconds; at least 30 s so sources are not hammered."""
    match = DURATION.match(str(raw)) if isinstance(raw, str | int) and not isinstance(raw, bool) else None
    if not match:
        raise WatcherFieldError("interval", f"expected a duration such as 90s, 5m or 1h, got {raw!r}")
    seconds = int(match[1]) * UNIT_SECONDS[match[2] or "s"]
    if seconds < MIN_INTERVAL:
        raise WatcherFieldError("interval", f"must be at least {MIN_INTERVAL}s, got {raw!r}")
    return seconds


def _text(table: dict[str, Any], key: str) -> str:
    value = table.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise WatcherFieldError(key, "is required")
    if not isinstance(value, str):
        raise WatcherFieldError(key, f"expected text in quotes, got {value!r}")
    return value.strip()


def _optional_url(table: dict[str, Any], key: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    parsed = urlparse(str(value))
    if not isinstance(value, str) or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise WatcherFieldError(key, f"expected an http(s) URL, got {value!r}")
    return value


def _text_list(table: dict[str, Any], key: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise WatcherFieldError(key, f"expected a list of text in quotes, e.g. {key} = [\"a\", \"b\"], got {value!r}")
    return [item.strip() for item in value]


AUTHOR_FIELDS = {"handle", "name", "source", "labels"}
AUTHOR_LABELS = ("journalist", "elected", "media", "institution", "opposition", "troll")
# The labels that name a public role, the only ones PRIVACY_PROFILE=public-body accepts: a label such as "troll"
# or "opposition" on a person is an inference about them, not something they made public.
PUBLIC_ROLES = ("elected", "journalist", "media", "institution")


@dataclass(frozen=True)
class AuthorLabel:
    """Who an author is, for summaries: an `[[author]]` table, found by handle or by name (per source if given).

    Handles compare without case or a leading "@", so "@Ann@mastodon.social" finds "ann@mastodon.social"; a Slack
    user is found by its user ID (U…) as handle.
    """

    labels: tuple[str, ...]
    handle: str | None = None
    name: str | None = None
    source: str | None = None

    def matches(self, source: str | None, handle: str, name: str) -> bool:
        if self.source is not None and source != self.source:
            return False
        if self.handle is not None and handle and normal_handle(handle) == normal_handle(self.handle):
            return True
        return self.name is not None and bool(name) and name.casefold() == self.name.casefold()


def normal_handle(handle: str) -> str:
    return handle.strip().removeprefix("@").casefold()


def load_authors_file(
    path: Path, sources: Collection[str], *, public_roles_only: bool = False
) -> tuple[list[AuthorLabel], list[ConfigProblem]]:
    """The `[[author]]` tables of the watchers file; a file that cannot be read has none. With `public_roles_only`
    (the public-body profile), a label outside PUBLIC_ROLES stops start-up (WatchersFileError)."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return [], []
    tables = document.get("author", [])
    if not isinstance(tables, list):
        return [], [ConfigProblem("author", "author", "use [[author]] tables (double brackets)", kind="author")]
    try:
        return parse_authors(tables, sources, public_roles_only=public_roles_only)
    except WatchersFileError as error:
        raise WatchersFileError(f"WATCHERS_FILE {str(path)!r}: {error}") from None


def parse_authors(
    tables: list[dict[str, Any]], sources: Collection[str], *, public_roles_only: bool = False
) -> tuple[list[AuthorLabel], list[ConfigProblem]]:
    authors: list[AuthorLabel] = []
    problems: list[ConfigProblem] = []
    for index, table in enumerate(tables, start=1):
        label = str(table.get("handle") or table.get("name") or f"#{index}") if isinstance(table, dict) else f"#{index}"
        try:
            authors.append(parse_author(table, sources, public_roles_only=public_roles_only))
        except NotPublicRole as error:
            # Not an entry to leave out while the rest runs: a public body must not run with it written down.
            raise WatchersFileError(str(ConfigProblem(label, error.field, error.message, kind="author"))) from None
        except WatcherFieldError as error:
            problems.append(ConfigProblem(label, error.field, error.message, kind="author"))
    return authors, problems


class NotPublicRole(WatcherFieldError):
    """A label outside PUBLIC_ROLES on an `[[author]]` table, in the public-body profile."""


def parse_author(table: dict[str, Any], sources: Collection[str], *, public_roles_only: bool = False) -> AuthorLabel:
    if not isinstance(table, dict):
        raise WatcherFieldError("author", "expected a table with handle or name, and labels")
    unknown = sorted(set(table) - AUTHOR_FIELDS)
    if unknown:
        raise WatcherFieldError(unknown[0], f"unknown field; known fields are {', '.join(sorted(AUTHOR_FIELDS))}")
    handle = _text(table, "handle") if "handle" in table else None
    name = _text(table, "name") if "name" in table else None
    if handle is None and name is None:
        raise WatcherFieldError("handle", "give the author's handle, name, or both")
    source = _text(table, "source").lower() if "source" in table else None
    if source is not None and source not in sources:
        raise WatcherFieldError("source", f"{source!r} is not a known source; use one of {', '.join(sorted(sources))}")
    labels = table.get("labels")
    if not isinstance(labels, list) or not labels or not all(label in AUTHOR_LABELS for label in labels):
        raise WatcherFieldError("labels", f"expected a list of {', '.join(AUTHOR_LABELS)}, got {labels!r}")
    private = [label for label in labels if label not in PUBLIC_ROLES]
    if public_roles_only and private:
        raise NotPublicRole(
            "labels",
            f"{private[0]!r} is not a public role: PRIVACY_PROFILE=public-body allows only {', '.join(PUBLIC_ROLES)} "
            "in [[author]] tables (classify posts, not people); remove that label, or this table",
        )
    return AuthorLabel(labels=tuple(dict.fromkeys(labels)), handle=handle, name=name, source=source)
