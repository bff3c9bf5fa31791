"""How far a mention reaches, comparable across sources: a tier (low, medium, high) from each source's best public
signal, and the `[[outlet]]` table that gives news sites theirs.

A follower count, a Reddit score and a newspaper's audience are not the same quantity; the tiers only say, per
source, what counts as a wide audience there (`LEVELS`). Followers use the same 1,000 and 10,000 floors as
`mentions.REACH_TIERS`, so the tier of a count the public-body profile keeps only as its floor is the same.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from veilleur.core.mentions import Mention
from veilleur.core.watcher_config import ConfigProblem, WatcherFieldError, WatchersFileError

LEVEL_NAMES = ("low", "medium", "high")
# Per source: the signal read, and the least of it for "medium" and for "high". Followers (or a Lemmy community's
# subscribers, which Lemmy gives as the author's reach) where the source gives them; else what the post itself got:
# Reddit and Lemmy scores, Hacker News points, Discourse likes.
FOLLOWERS = (1_000, 10_000)
LEVELS: dict[str, tuple[str, tuple[int, int]]] = {
    "mastodon": ("followers", FOLLOWERS),
    "bluesky": ("followers", FOLLOWERS),
    "x": ("followers", FOLLOWERS),
    "youtube": ("followers", FOLLOWERS),
    "lemmy": ("followers", FOLLOWERS),
    "facebook": ("followers", FOLLOWERS),
    "instagram": ("followers", FOLLOWERS),
    "reddit": ("score", (100, 1_000)),
    "hackernews": ("score", (50, 300)),
    "discourse": ("likes", (10, 50)),
}
# Sources whose reach is their outlet's: a news site found by the domain of the mention's link.
BY_OUTLET = frozenset({"rss", "webpage"})
OUTLET_FIELDS = {"domain", "tier", "name"}
DEFAULT_OUTLETS = "outlets.toml"


@dataclass(frozen=True, slots=True)
class Outlet:
    domain: str  # without "www.": "ouest-france.fr" also covers "region.ouest-france.fr"
    tier: str
    name: str = ""


Outlets = Mapping[str, Outlet]


def reach_level(mention: Mention, outlets: Outlets) -> str | None:
    """"low", "medium" or "high", from the best public signal of the mention's source; None when the source gives
    none (an unknown outlet, a post without followers or score)."""
    if mention.source in BY_OUTLET:
        outlet = outlet_of(mention.url, outlets)
        return outlet.tier if outlet else None
    signal = LEVELS.get(mention.source)
    if signal is None:
        return None
    kind, (medium, high) = signal
    value = mention.author_reach if kind == "followers" else mention.engagement.get(kind)
    if value is None:
        return None
    return "high" if value >= high else "medium" if value >= medium else "low"


def is_high_followers(followers: int | None) -> bool:
    """Whether a follower count is "high" reach (where only the count is known, as in a conversation's posts)."""
    return followers is not None and followers >= FOLLOWERS[1]


def outlet_of(url: str, outlets: Outlets) -> Outlet | None:
    """The outlet whose domain the link is on, or a subdomain of (the longest match: "france3-regions.
    francetvinfo.fr" before "francetvinfo.fr")."""
    host = (urlparse(url).hostname or "").removeprefix("www.")
    while host:
        if host in outlets:
            return outlets[host]
        _, _, host = host.partition(".")
    return None


def parse_outlets(tables: Any, *, origin: str) -> tuple[dict[str, Outlet], list[ConfigProblem]]:
    if not isinstance(tables, list):
        raise WatchersFileError(f"{origin}: use [[outlet]] tables (double brackets)")
    outlets: dict[str, Outlet] = {}
    problems: list[ConfigProblem] = []
    for index, table in enumerate(tables, start=1):
        label = str(table.get("domain") or f"#{index}") if isinstance(table, dict) else f"#{index}"
        try:
            outlet = _parse_outlet(table)
        except WatcherFieldError as error:
            problems.append(ConfigProblem(label, error.field, error.message, kind="outlet"))
            continue
        outlets[outlet.domain] = outlet
    return outlets, problems


def _parse_outlet(table: Any) -> Outlet:
    if not isinstance(table, dict):
        raise WatcherFieldError("outlet", 'expected a table: domain = "lemonde.fr", tier = "high", name = "Le Monde"')
    unknown = sorted(set(table) - OUTLET_FIELDS)
    if unknown:
        raise WatcherFieldError(unknown[0], f"unknown field; known fields are {', '.join(sorted(OUTLET_FIELDS))}")
    domain = table.get("domain")
    if not isinstance(domain, str) or "." not in domain or "/" in domain:
        raise WatcherFieldError("domain", f"expected a domain such as \"ouest-france.fr\", got {domain!r}")
    tier = table.get("tier")
    if tier not in LEVEL_NAMES:
        raise WatcherFieldError("tier", f"expected one of {', '.join(LEVEL_NAMES)}, got {tier!r}")
    name = table.get("name", "")
    if not isinstance(name, str):
        raise WatcherFieldError("name", f"expected text in quotes, got {name!r}")
    return Outlet(domain=domain.strip().casefold().removeprefix("www."), tier=tier, name=name.strip())


def default_outlets() -> dict[str, Outlet]:
    """The French national and regional media shipped with Veilleur (veilleur/core/outlets.toml)."""
    text = resources.files("veilleur.core").joinpath(DEFAULT_OUTLETS).read_text(encoding="utf-8")
    outlets, problems = parse_outlets(tomllib.loads(text).get("outlet", []), origin=DEFAULT_OUTLETS)
    assert not problems, problems  # shipped data, checked by the tests
    return outlets


def load_outlets(path: Path) -> tuple[dict[str, Outlet], list[ConfigProblem]]:
    """The shipped outlets, with the `[[outlet]]` tables of the watchers file added or overriding them by domain; a
    file that cannot be read adds none (`load_watchers_file` says why)."""
    outlets = default_outlets()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return outlets, []
    own, problems = parse_outlets(document.get("outlet", []), origin=f"WATCHERS_FILE {str(path)!r}")
    return outlets | own, problems
