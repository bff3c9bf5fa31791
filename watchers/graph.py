"""What the Facebook Pages and Instagram watchers share: Meta's Graph API, called politely.

Every call pins the API version (`options.api_version`, default DEFAULT_VERSION) in its URL, sends the token in
the Authorization header (never in a URL an error could quote) and, when FACEBOOK_APP_SECRET is set,
`appsecret_proof` (HMAC-SHA256 of the token with the app secret), which an app can require and which Page Public
Content Access calls need. `paging.next` links carry the token back: only their paging parameters are taken, on our
own URL. Meta announces usage as percentages of the limit in `X-App-Usage`, `X-Business-Use-Case-Usage` and
`X-Page-Usage`: above SLOW_DOWN_AT percent the token's calls pause (longer as usage grows, or as long as Meta says
in `estimated_time_to_regain_access`), so the limit is not reached. Errors are told by `code`/`error_subcode`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from veilleur.core.text import one_line
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError
from watchers.base import SourceError, WatcherContext, as_utc, fetch_json

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v25.0"
APP_SECRET_ENV = "FACEBOOK_APP_SECRET"
VERSION = re.compile(r"^v\d{1,2}\.\d$")
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")
GRAPH_ID = re.compile(r"^[0-9]{1,25}$")
PAGING_KEYS = frozenset({"after", "before", "until", "since", "__paging_token", "__previous", "limit"})
USAGE_HEADERS = ("x-app-usage", "x-business-use-case-usage", "x-page-usage", "x-ad-account-usage")
SLOW_DOWN_AT = 75  # percent of a limit
STOP_AT = 90
SHORT_PAUSE = 5.0  # a pause this short is waited out within the poll
THROTTLE_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80004})
TRANSIENT_CODES = frozenset({1, 2})
THROTTLE_PAUSE = 900.0
MAX_MESSAGE = 200


class Usage:
    """How close one token (and its app) is to Meta's limits, from the usage headers of its last answers."""

    def __init__(self) -> None:
        self.resume_at = 0.0
        self.percent = 0

    def note(self, headers: Mapping[str, str]) -> None:
        percent, regain_minutes = usage_of(headers)
        self.percent = percent
        if regain_minutes:
            pause = regain_minutes * 60.0
        elif percent >= STOP_AT:
            pause = 600.0
        elif percent >= SLOW_DOWN_AT:
            pause = 60.0 * (1 + (percent - SLOW_DOWN_AT) * 9 / (STOP_AT - SLOW_DOWN_AT))  # 1 to 10 minutes
        else:
            pause = 0.0
        self.resume_at = max(self.resume_at, time.monotonic() + pause) if pause else self.resume_at

    def pause(self) -> float:
        return max(0.0, self.resume_at - time.monotonic())


def usage_of(headers: Mapping[str, str]) -> tuple[int, int]:
    """The highest percentage any usage header reports, and the longest wait (minutes) Meta announces."""
    percent, regain = 0, 0
    for name in USAGE_HEADERS:
        raw = headers.get(name)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        entries = [value] if isinstance(value, dict) and "call_count" in value else []
        if isinstance(value, dict) and not entries:  # business use case: {"<id>": [{...}, ...]}
            entries = [e for group in value.values() if isinstance(group, list) for e in group if isinstance(e, dict)]
        for entry in entries:
            for key in ("call_count", "total_cputime", "total_time", "acc_id_util_pct"):
                count = entry.get(key)
                if isinstance(count, int | float) and not isinstance(count, bool):
                    percent = max(percent, int(count))
            wait = entry.get("estimated_time_to_regain_access")
            if isinstance(wait, int) and not isinstance(wait, bool):
                regain = max(regain, wait)
    return percent, regain


# Usage by HTTP client (one per running app), then by token hash: watchers sharing a token share its budget.
_USAGE: weakref.WeakKeyDictionary[httpx.AsyncClient, dict[str, Usage]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class GraphError:
    """The parts of a Graph API error body a watcher acts on."""

    code: int | None
    subcode: int | None
    message: str
    user_message: str
    trace: str

    @classmethod
    def parse(cls, body: bytes) -> GraphError | None:
        try:
            error = json.loads(body).get("error")
        except (ValueError, AttributeError):
            return None
        if not isinstance(error, dict):
            return None
        number = lambda value: value if isinstance(value, int) and not isinstance(value, bool) else None  # noqa: E731
        text = lambda value: one_line(value)[:MAX_MESSAGE] if isinstance(value, str) else ""  # noqa: E731
        return cls(
            number(error.get("code")),
            number(error.get("error_subcode")),
            text(error.get("message")),
            text(error.get("error_user_msg")),
            text(error.get("fbtrace_id")),
        )


class GraphClient:
    """Graph API calls for one watcher: its token, the app secret if any, and the token's usage budget."""

    def __init__(self, config: WatcherConfig, context: WatcherContext, *, token_env: str, product: str) -> None:
        version = config.options.get("api_version", DEFAULT_VERSION)
        if not isinstance(version, str) or not VERSION.match(version):
            raise WatcherFieldError("options", f'api_version must look like "{DEFAULT_VERSION}", got {version!r}')
        token = context.env.get(token_env, "").strip()
        if not token:
            raise WatcherFieldError("source", f"{config.source} needs {token_env} in the environment ({product})")
        secret = context.env.get(APP_SECRET_ENV, "").strip()
        self.context = context
        self.token_env = token_env
        self.base_url = f"{(config.base_url or DEFAULT_BASE_URL).rstrip('/')}/{version}"
        self._token = token
        self._proof = hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest() if secret else None
        self.usage = _USAGE.setdefault(context.http, {}).setdefault(
            hashlib.sha256(token.encode()).hexdigest()[:16], Usage()
        )

    async def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """GET `path` (below the versioned root); wait out a short pause, refuse to call during a long one."""
        pause = self.usage.pause()
        if pause > SHORT_PAUSE:
            raise SourceError(
                f"Meta's rate limit for {self.token_env} is at {self.usage.percent}% (usage headers): calls pause "
                f"{pause / 60:.0f} min so that it is not reached",
                retry_after=pause,
            )
        if pause:
            await asyncio.sleep(pause)
        query = dict(params)
        if self._proof:
            query["appsecret_proof"] = self._proof
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            response, body = await fetch_json(
                self.context, url, params=query, headers={"Authorization": f"Bearer {self._token}"}
            )
        except SourceError as error:
            raise self.explained(error) from None
        self.usage.note(response.headers)
        if not isinstance(body, dict):
            raise SourceError(f"{url} did not send a JSON object")
        return body

    def explained(self, error: SourceError) -> SourceError:
        graph = GraphError.parse(error.body)
        if graph is None:
            return error
        retry_after = error.retry_after
        code = graph.code or 0
        if code == 190:
            hint = token_hint(self.token_env, graph.subcode)
        elif code == 10 or 200 <= code <= 299:
            hint = permission_hint(self.token_env)
        elif code == 100 and "secret proof" in graph.message.lower():
            hint = (
                f"set {APP_SECRET_ENV} to the app's secret (App settings > Basic), so that calls carry appsecret_proof"
            )
        elif code == 100:
            hint = (
                "no such object, or not visible to this token: check the ids in options and the permissions of "
                f"{self.token_env}'s token"
            )
        elif code in THROTTLE_CODES:
            hint, retry_after = "Meta's rate limit is reached; calls pause", retry_after or THROTTLE_PAUSE
        elif code in TRANSIENT_CODES:
            hint = "a temporary problem at Meta; trying again later"
        else:
            hint = graph.user_message or graph.message
        what = f"code {code}" + (f"/{graph.subcode}" if graph.subcode else "")
        trace = f" (fbtrace_id {graph.trace})" if graph.trace else ""
        return SourceError(
            f"{error} [{what}]: {hint}{trace}", retry_after=retry_after, status=error.status, code=str(code)
        )


def token_hint(token_env: str, subcode: int | None) -> str:
    why = {
        463: "has expired",
        467: "is no longer valid (the person logged out)",
        460: "was invalidated by a password change",
        458: "was invalidated: the app was removed",
        492: "was invalidated: the person lost their role on the Page",
    }.get(subcode or 0, "is invalid or expired")
    return (
        f"the token in {token_env} {why}: get a long-lived one (exchange a user token with "
        "grant_type=fb_exchange_token, then GET /me/accounts gives Page tokens that do not expire) and restart"
    )


def permission_hint(token_env: str) -> str:
    return (
        f"the token in {token_env} lacks a permission: pages_read_engagement and pages_read_user_content for the "
        "team's Page (instagram_basic and instagram_manage_comments for Instagram), or the Page Public Content "
        "Access feature for other Pages; add them to the app (App Review) and make a new token"
    )


def token_env(config: WatcherConfig, default: str) -> str:
    value = config.options.get("token_env", default)
    if not isinstance(value, str) or not ENV_NAME.match(value):
        raise WatcherFieldError("options", f"token_env must name an environment variable, got {value!r}")
    return value


def graph_id(config: WatcherConfig, name: str) -> str:
    value = config.options.get(name)
    value = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(value, str) or not GRAPH_ID.match(value):
        raise WatcherFieldError("options", f'{name} must be the numeric id, e.g. {name} = "111222333444555"')
    return value


def next_page(body: dict[str, Any]) -> dict[str, str] | None:
    """The paging parameters of `paging.next` (never the token it carries), or None on the last page."""
    paging = body.get("paging")
    link = paging.get("next") if isinstance(paging, dict) else None
    if not isinstance(link, str) or not link:
        return None
    return {key: value for key, value in parse_qsl(urlsplit(link).query, keep_blank_values=True) if key in PAGING_KEYS}


def data_of(body: dict[str, Any], what: str) -> list[dict[str, Any]]:
    data = body.get("data")
    if not isinstance(data, list):
        raise SourceError(f"the Graph API answer for {what} has no data list (has the API changed?)")
    return [item for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)]


def summary_count(item: dict[str, Any], edge: str) -> int | None:
    """`total_count` of an edge asked with `.summary(true).limit(0)` (comments, reactions)."""
    value = item.get(edge)
    summary = value.get("summary") if isinstance(value, dict) else None
    count = summary.get("total_count") if isinstance(summary, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def graph_time(item: dict[str, Any], key: str) -> Any:
    """A Graph time ("2026-03-01T09:14:02+0000") as an aware datetime, or None."""
    return as_utc(item.get(key))
