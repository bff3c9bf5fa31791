"""Settings from the process environment and `.env`, validated once at start-up.

A wrong value stops the bot with one line naming the variable and what it expects (`SettingsError`), so an
operator never has to read a traceback to fix a typo.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from importlib import import_module
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from veilleur.core.business_hours import OFFICE_HOURS, BusinessHours, PublicHolidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
USERGROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")
DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
SLACK_CARD_RETENTION = ("redact", "delete", "keep")
PRIVACY_PROFILES = ("standard", "public-body")
HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$|^\[?[0-9a-f:.]+\]?$")
# A keyed hash is only as strong as its key: 32 characters of a random secret at least (`openssl rand -hex 32`).
PRIVACY_KEY_MIN_LENGTH = 32
# Where the openai client sends prompts when OPENAI_BASE_URL is not set.
DEFAULT_LLM_BASE_URL = "https://api.openai.com/v1"


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names the variable and what it expects."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    port: int = 3000
    health_port: int | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_path: Path = Path("data/veilleur.db")
    watchers_file: Path = Path("watchers.toml")
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = 30.0
    llm_input_tokens: int = 12000
    llm_daily_token_budget: int | None = None
    draft_visibility: str = "ephemeral"
    # With an LLM, every new post's text goes to it for its stance and hostility (assist/labelling.py); off keeps
    # the word list's estimates and sends posts only when the team asks (summaries, drafts).
    llm_labelling: bool = True
    prompts_dir: Path | None = None
    bot_language: str = "en"
    bot_timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Paris"))
    escalation_channel: str | None = None
    escalation_emoji: tuple[str, ...] = ("rotating_light",)
    officials: tuple[str, ...] = ()
    admin_users: tuple[str, ...] = ()
    admin_group: str | None = None
    escalation_remind_after: timedelta = timedelta(hours=4)
    escalation_max_reminders: int = 3
    business_hours: BusinessHours = OFFICE_HOURS
    digest_channel: str | None = None
    digest_time: time = time(8, 30)
    digest_days: tuple[str, ...] = WEEKDAYS[:5]
    digest_chart: bool = False
    burst_threshold: int = 5
    max_cards_per_poll: int = 20
    health_channel: str | None = None
    health_alert_after: int = 3
    spike_factor: float = 3.0
    spike_min_mentions: int = 10
    spike_cooldown: timedelta = timedelta(hours=6)
    spike_channel: str | None = None
    story_window: timedelta = timedelta(hours=48)
    campaign_min_posts: int = 5
    campaign_window: timedelta = timedelta(hours=1)
    allow_private_urls: bool = False
    private_url_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    log_level: str = "INFO"
    log_format: str = "text"
    retention_days: int = 90
    escalation_retention_days: int = 365
    audit_retention_days: int = 365
    slack_card_retention: str = "redact"
    privacy_profile: str = "standard"
    llm_allowed_hosts: tuple[str, ...] = ()
    privacy_key: str | None = field(default=None, repr=False)
    # Everything read (environment over .env): source credentials such as REDDIT_CLIENT_ID are looked up here.
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def llm_enabled(self) -> bool:
        return self.openai_api_key is not None or self.openai_base_url is not None

    @property
    def public_body(self) -> bool:
        """PRIVACY_PROFILE=public-body: reach tiers, public-role labels only, pseudonyms to the LLM."""
        return self.privacy_profile == "public-body"

    @property
    def llm_host(self) -> str | None:
        """The host that receives the LLM's prompts (lower case, IPv6 without brackets); None without an LLM."""
        if not self.llm_enabled:
            return None
        return urlparse(self.openai_base_url or DEFAULT_LLM_BASE_URL).hostname or ""


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
    """Read settings from `.env` (if present) overlaid by the process environment, which wins."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return parse_settings(values)


def parse_settings(env: Mapping[str, str]) -> Settings:
    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    bot_token = _optional_prefixed(get, "SLACK_BOT_TOKEN", "xoxb-")
    app_token = _optional_prefixed(get, "SLACK_APP_TOKEN", "xapp-")
    settings = Settings(
        slack_bot_token=bot_token,
        slack_app_token=app_token,
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        port=_int(get, "PORT", 3000, 1, 65535),
        health_port=_optional_int(get, "HEALTH_PORT", 1, 65535),
        slack_api_url=_api_url(get("SLACK_API_URL") or "https://slack.com/api/"),
        database_path=Path(get("DATABASE_PATH") or "data/veilleur.db"),
        watchers_file=Path(get("WATCHERS_FILE") or "watchers.toml"),
        openai_api_key=get("OPENAI_API_KEY"),
        openai_base_url=_optional_url(get, "OPENAI_BASE_URL"),
        llm_model=get("LLM_MODEL") or "gpt-4o-mini",
        llm_timeout=_int(get, "LLM_TIMEOUT", 30, 1, 600),
        llm_input_tokens=_int(get, "LLM_INPUT_TOKENS", 12000, 2000, 1_000_000),
        llm_daily_token_budget=_optional_int(get, "LLM_DAILY_TOKEN_BUDGET", 1, 10**12),
        draft_visibility=_choice(get, "DRAFT_VISIBILITY", ("ephemeral", "thread"), "ephemeral"),
        llm_labelling=_choice(get, "LLM_LABELLING", ("on", "off"), "on") == "on",
        prompts_dir=_optional_dir(get, "PROMPTS_DIR"),
        bot_language=_choice(get, "BOT_LANGUAGE", ("en", "fr"), "en"),
        bot_timezone=_timezone(get("BOT_TIMEZONE") or "Europe/Paris"),
        escalation_channel=_channel(get, "ESCALATION_CHANNEL"),
        escalation_emoji=_emoji_list(get("ESCALATION_EMOJI") or "rotating_light"),
        officials=_user_list(get, "OFFICIALS"),
        admin_users=_user_list(get, "ADMIN_USERS"),
        admin_group=_usergroup(get, "ADMIN_GROUP"),
        escalation_remind_after=_duration(get, "ESCALATION_REMIND_AFTER", timedelta(hours=4)),
        escalation_max_reminders=_int(get, "ESCALATION_MAX_REMINDERS", 3, 0, 20),
        business_hours=replace(
            _business_hours(get("BUSINESS_HOURS") or "mon-fri 09:00-18:00"),
            holidays=_holidays(get("BUSINESS_HOLIDAYS") or "FR"),
        ),
        digest_channel=_channel(get, "DIGEST_CHANNEL"),
        digest_time=_clock(get("DIGEST_TIME") or "08:30"),
        digest_days=_days(get("DIGEST_DAYS") or "mon-fri"),
        digest_chart=_digest_chart(get),
        burst_threshold=_int(get, "BURST_THRESHOLD", 5, 1, 1000),
        max_cards_per_poll=_int(get, "MAX_CARDS_PER_POLL", 20, 1, 1000),
        health_channel=_channel(get, "HEALTH_CHANNEL"),
        health_alert_after=_int(get, "HEALTH_ALERT_AFTER", 3, 1, 100),
        spike_factor=_factor(get, "SPIKE_FACTOR", 3.0),
        spike_min_mentions=_int(get, "SPIKE_MIN_MENTIONS", 10, 1, 1_000_000),
        spike_cooldown=_duration(get, "SPIKE_COOLDOWN", timedelta(hours=6)),
        spike_channel=_channel(get, "SPIKE_CHANNEL"),
        story_window=_duration(get, "STORY_WINDOW", timedelta(hours=48)),
        campaign_min_posts=_int(get, "CAMPAIGN_MIN_POSTS", 5, 2, 1000),
        campaign_window=_duration(get, "CAMPAIGN_WINDOW", timedelta(hours=1)),
        allow_private_urls=(get("ALLOW_PRIVATE_URLS") or "false").lower() == "true",
        private_url_networks=_private_url_networks(get("ALLOW_PRIVATE_URLS") or "false"),
        log_level=_choice(get, "LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", upper=True),
        log_format=_choice(get, "LOG_FORMAT", ("text", "json"), "text"),
        retention_days=_int(get, "RETENTION_DAYS", 90, 1, 3650),
        escalation_retention_days=_int(get, "ESCALATION_RETENTION_DAYS", 365, 1, 3650),
        audit_retention_days=_int(get, "AUDIT_RETENTION_DAYS", 365, 1, 3650),
        slack_card_retention=_choice(get, "SLACK_CARD_RETENTION", SLACK_CARD_RETENTION, "redact"),
        privacy_profile=_choice(get, "PRIVACY_PROFILE", PRIVACY_PROFILES, "standard"),
        llm_allowed_hosts=_hosts(get, "LLM_ALLOWED_HOSTS"),
        privacy_key=_privacy_key(get, "PRIVACY_KEY"),
        env=dict(env),
    )
    check_llm_host(settings)
    return settings


def check_llm_host(settings: Settings) -> None:
    """Refuse an LLM host the operator has not allowed: with LLM_ALLOWED_HOSTS, any host it does not list; in the
    public-body profile without it, any host outside this machine and its private networks.

    Nothing is resolved (no DNS lookup at start-up, and a name's address can change): a name is compared as written,
    an IP address by value, and only "localhost" names and loopback or private addresses count as local.
    """
    host = settings.llm_host
    if host is None:
        return
    base_url = settings.openai_base_url or f"{DEFAULT_LLM_BASE_URL} (the default)"
    if settings.llm_allowed_hosts:
        if not any(_same_host(host, allowed) for allowed in settings.llm_allowed_hosts):
            raise SettingsError(
                f"OPENAI_BASE_URL {base_url} sends prompts to {host}, which LLM_ALLOWED_HOSTS does not list "
                f"({', '.join(settings.llm_allowed_hosts)}): add it to LLM_ALLOWED_HOSTS, or set OPENAI_BASE_URL "
                "to an allowed host"
            )
        return
    if settings.public_body and not _is_local_host(host):
        raise SettingsError(
            f"OPENAI_BASE_URL {base_url} sends prompts to {host}, outside this machine and its private networks, "
            "which PRIVACY_PROFILE=public-body refuses by default: list it in LLM_ALLOWED_HOSTS once its processor "
            "contract (GDPR art. 28) and any transfer outside the EU are checked, or use a self-hosted model"
        )


def _same_host(host: str, allowed: str) -> bool:
    address, allowed_address = _ip_address(host), _ip_address(allowed)
    if address is not None and allowed_address is not None:
        return address == allowed_address
    return host.rstrip(".") == allowed.strip("[]").rstrip(".")


def _is_local_host(host: str) -> bool:
    address = _ip_address(host)
    if address is None:
        name = host.rstrip(".")
        return name == "localhost" or name.endswith(".localhost")
    return address.is_loopback or address.is_private or address.is_link_local


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def require_slack_connection(settings: Settings) -> str:
    """Check what running the Slack app (not a CLI dry run) needs; returns the bot token."""
    if settings.slack_bot_token is None:
        raise SettingsError("SLACK_BOT_TOKEN is not set: expected the bot token (xoxb-…) from OAuth & Permissions")
    if not settings.socket_mode and settings.slack_signing_secret is None:
        raise SettingsError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode (no SLACK_APP_TOKEN) needs the app's signing secret "
            "from Basic Information, or set SLACK_APP_TOKEN (xapp-…) for Socket Mode"
        )
    return settings.slack_bot_token


def _optional_prefixed(get, name: str, prefix: str) -> str | None:
    value = get(name)
    if value is not None and not value.startswith(prefix):
        raise SettingsError(f"{name} must start with {prefix!r} (got a value starting {value[:5]!r}…)")
    return value


def _int(get, name: str, default: int, low: int, high: int) -> int:
    raw = get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number from {low} to {high} (got {raw!r})") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be a whole number from {low} to {high} (got {value})")
    return value


def _optional_int(get, name: str, low: int, high: int) -> int | None:
    return None if get(name) is None else _int(get, name, low, low, high)


def _optional_dir(get, name: str) -> Path | None:
    raw = get(name)
    if raw is not None and not Path(raw).is_dir():
        raise SettingsError(f"{name} must be an existing folder (got {raw!r})")
    return Path(raw) if raw is not None else None


def _api_url(raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(f"SLACK_API_URL must be an http(s) URL such as https://slack.com/api/ (got {raw!r})")
    return raw if raw.endswith("/") else raw + "/"


def _optional_url(get, name: str) -> str | None:
    raw = get(name)
    if raw is None:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(f"{name} must be an http(s) URL such as https://api.openai.com/v1 (got {raw!r})")
    return raw


def _choice(get, name: str, choices: tuple[str, ...], default: str, upper: bool = False) -> str:
    raw = get(name)
    if raw is None:
        return default
    value = raw.upper() if upper else raw.lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)} (got {raw!r})")
    return value


def _timezone(raw: str) -> ZoneInfo:
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"BOT_TIMEZONE must be an IANA time zone such as Europe/Paris or America/Montreal (got {raw!r})"
        ) from None


def _channel(get, name: str) -> str | None:
    raw = get(name)
    if raw is not None and not CHANNEL_ID.match(raw):
        raise SettingsError(
            f"{name} must be a channel ID such as C0123456789 (in Slack: channel details, bottom) (got {raw!r})"
        )
    return raw


def _user_list(get, name: str) -> tuple[str, ...]:
    raw = get(name)
    if raw is None:
        return ()
    users = tuple(part.strip() for part in raw.split(",") if part.strip())
    for user in users:
        if not USER_ID.match(user):
            raise SettingsError(
                f"{name} must be comma-separated user IDs such as U0123ABCD (profile → ⋮ → Copy member ID) "
                f"(got {user!r})"
            )
    return users


def _usergroup(get, name: str) -> str | None:
    raw = get(name)
    if raw is not None and not USERGROUP_ID.match(raw):
        raise SettingsError(
            f"{name} must be a user group ID such as S0123ABCD (People → User groups → the group → ⋮ → Copy group ID) "
            f"(got {raw!r})"
        )
    return raw


def _emoji_list(raw: str) -> tuple[str, ...]:
    names = tuple(part.strip().strip(":") for part in raw.split(",") if part.strip().strip(":"))
    for name in names:
        if not re.fullmatch(r"[a-z0-9_+\-']+", name):
            raise SettingsError(
                f"ESCALATION_EMOJI must be emoji names such as rotating_light or sos, comma-separated (got {name!r})"
            )
    return names


def _clock(raw: str) -> time:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", raw)
    if not match:
        raise SettingsError(f"DIGEST_TIME must be a 24-hour time HH:MM such as 08:30 (got {raw!r})")
    return time(int(match[1]), int(match[2]))


def _days(raw: str) -> tuple[str, ...]:
    days: list[str] = []
    for part in raw.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise SettingsError(
                f"DIGEST_DAYS must be days such as mon-fri or mon,wed,fri (got {raw!r})"
            )
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        span = range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)]
        days.extend(WEEKDAYS[i] for i in span if WEEKDAYS[i] not in days)
    return tuple(days)


def _digest_chart(get) -> bool:
    """DIGEST_CHART=true draws the digest's chart with matplotlib, an optional dependency: check it is there now
    rather than at 08:30."""
    raw = (get("DIGEST_CHART") or "false").lower()
    if raw not in ("true", "false"):
        raise SettingsError(f"DIGEST_CHART must be true or false (got {raw!r})")
    if raw == "false":
        return False
    try:
        import_module("matplotlib")
    except ImportError:
        raise SettingsError(
            "DIGEST_CHART=true needs matplotlib: run .venv/bin/pip install matplotlib, or set DIGEST_CHART=false"
        ) from None
    return True


def _factor(get, name: str, default: float) -> float:
    raw = get(name)
    if raw is None:
        return default
    problem = SettingsError(f"{name} must be a number greater than 1, such as 3 or 2.5 (got {raw!r})")
    try:
        value = float(raw)
    except ValueError:
        raise problem from None
    if not 1 < value <= 1000:
        raise problem
    return value


def _duration(get, name: str, default: timedelta) -> timedelta:
    raw = get(name)
    if raw is None:
        return default
    match = re.fullmatch(r"(\d+)\s*(m|h|d)", raw.lower())
    if not match or int(match[1]) == 0:
        raise SettingsError(f"{name} must be a duration such as 30m, 4h or 2d (got {raw!r})")
    return timedelta(**{DURATION_UNITS[match[2]]: int(match[1])})


def _business_hours(raw: str) -> BusinessHours:
    """ "mon-fri 09:00-18:00": days as in DIGEST_DAYS, then one daily window (24:00 ends at midnight)."""
    problem = SettingsError(
        f"BUSINESS_HOURS must be days and a time range such as mon-fri 09:00-18:00 (got {raw!r})"
    )
    days, _, window = raw.strip().rpartition(" ")
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)-([01]?\d|2[0-4]):([0-5]\d)", window)
    if not match:
        raise problem
    start, end = int(match[1]) * 60 + int(match[2]), int(match[3]) * 60 + int(match[4])
    if not start < end <= 24 * 60:
        raise problem
    try:
        weekdays = _days(days or "mon-sun")
    except SettingsError:
        raise problem from None
    return BusinessHours(days=frozenset(WEEKDAYS.index(day) for day in weekdays), start=start, end=end)


def _private_url_networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """ALLOW_PRIVATE_URLS: true, false, or the networks (CIDR or single addresses) allowed besides public ones."""
    if raw.lower() in ("true", "false"):
        return ()
    networks = []
    for part in (part.strip() for part in raw.split(",") if part.strip()):
        try:
            networks.append(ipaddress.ip_network(part))
        except ValueError as error:
            raise SettingsError(
                "ALLOW_PRIVATE_URLS must be true, false, or comma-separated networks or addresses such as "
                f"10.1.2.0/24, 192.168.1.20 (got {part!r}: {error})"
            ) from None
    return tuple(networks)


def _hosts(get, name: str) -> tuple[str, ...]:
    """Comma-separated host names or addresses (no scheme, no port), compared without case."""
    raw = get(name)
    if raw is None:
        return ()
    hosts = tuple(part.strip().lower() for part in raw.split(",") if part.strip())
    for host in hosts:
        if not HOST.match(host):
            raise SettingsError(
                f"{name} must be comma-separated host names such as api.mistral.ai, llm.mairie.local or 10.0.0.5 "
                f"(no scheme, no port) (got {host!r})"
            )
    return hosts


def _privacy_key(get, name: str) -> str | None:
    raw = get(name)
    if raw is not None and len(raw) < PRIVACY_KEY_MIN_LENGTH:
        raise SettingsError(
            f"{name} must be a random secret of at least {PRIVACY_KEY_MIN_LENGTH} characters, such as the output of "
            f"`openssl rand -hex 32` (got {len(raw)} characters)"
        )
    return raw



def _holidays(raw: str) -> PublicHolidays:
    """BUSINESS_HOLIDAYS: `none`, or comma-separated public holiday calendars (a country code, with a subdivision
    after a dash: FR, FR-57 for Moselle, FR-6AE for Alsace) and single dates (2026-05-15, a bridge day)."""
    if raw.strip().lower() == "none":
        return PublicHolidays()
    calendars: list[str] = []
    dates: set[date] = set()
    for part in (part.strip() for part in raw.split(",") if part.strip()):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", part):
            try:
                dates.add(date.fromisoformat(part))
            except ValueError:
                raise SettingsError(f"BUSINESS_HOLIDAYS: {part!r} is not a date (YYYY-MM-DD)") from None
        elif re.fullmatch(r"[A-Za-z]{2,3}(-[\w -]+)?", part):
            country, dash, subdivision = part.partition("-")
            calendars.append(country.upper() + dash + subdivision)
        else:
            raise SettingsError(
                "BUSINESS_HOLIDAYS must be none, or country codes (FR, or FR-57 for Moselle) and dates (2026-05-15), "
                f"comma-separated (got {part!r})"
            )
    holidays = PublicHolidays(tuple(calendars), frozenset(dates))
    if calendars != ["FR"]:
        # The default is known good; anything else is checked now, not at the first reminder.
        try:
            holidays.load()
        except ValueError as error:
            raise SettingsError(f"BUSINESS_HOLIDAYS: {error} (FR, BE, CH, CA…; or none)") from None
    return holidays
