"""Ask Slack once, at start-up, whether it takes the bot's tokens.

Without this, a wrong SLACK_APP_TOKEN has slack_sdk's Socket Mode client retry forever with a traceback every
10 seconds, and a wrong SLACK_BOT_TOKEN only shows when the first card fails. A refused token is a configuration
error, reported by name; a Slack that cannot be reached (network, DNS, an outage) is retried, with one line each
time, for as long as it takes or until the bot is stopped.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.core.settings import Settings, SettingsError

log = logging.getLogger(__name__)

RETRY_DELAYS = (2.0, 5.0, 10.0, 30.0, 60.0)  # seconds; the last one repeats

HINTS = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions, after installing the app",
    "SLACK_APP_TOKEN": "create an app-level token (xapp-…) with the connections:write scope under Basic Information, "
    "and turn Socket Mode on",
}


async def check_slack_tokens(
    client: AsyncWebClient, settings: Settings, *, retry_delays: Sequence[float] = RETRY_DELAYS
) -> None:
    """Return once Slack has accepted the bot token (and, in Socket Mode, the app token).

    Raises SettingsError naming the variable when Slack refuses one; waits and retries while Slack cannot be reached.
    """
    await _accepted("SLACK_BOT_TOKEN", client.auth_test, settings, retry_delays)
    if settings.socket_mode:
        open_connection = partial(client.apps_connections_open, app_token=settings.slack_app_token)
        await _accepted("SLACK_APP_TOKEN", open_connection, settings, retry_delays)


async def _accepted(
    name: str, call: Callable[[], Awaitable[object]], settings: Settings, retry_delays: Sequence[float]
) -> None:
    for attempt in itertools.count():
        try:
            await call()
            return
        except SlackApiError as error:
            status = error.response.status_code
            if status != 429 and status < 500:
                code = error.response.get("error") or f"HTTP {status}"
                raise SettingsError(f"{name} was refused by Slack ({code}): {HINTS[name]}") from None
            reason = f"HTTP {status}"
        except (aiohttp.ClientError, OSError) as error:
            reason = str(error) or error.__class__.__name__
        delay = retry_delays[min(attempt, len(retry_delays) - 1)]
        log.warning(
            "cannot reach Slack at %s to check %s (%s); retrying in %.0f s", settings.slack_api_url, name, reason, delay
        )
        await asyncio.sleep(delay)
