"""The Slack app: an AsyncApp wired to our services, with every listener group registered, and its HTTP endpoint."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

import handlers
from veilleur.slack.request_verification import slack_signature_middleware

if TYPE_CHECKING:
    from veilleur.core.settings import Settings
    from veilleur.services import Services

EVENTS_PATH = "/slack/events"


class _TokenSkippedIsNoise(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself, then warns at every start that the client we give
    it wins over that token. The client carries the same token: an operator should not be told otherwise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


BOLT_LOGGER = logging.getLogger("slack_bolt")
TOKEN_SKIPPED_IS_NOISE = _TokenSkippedIsNoise()


def build_app(services: Services) -> AsyncApp:
    settings = services.settings
    BOLT_LOGGER.addFilter(TOKEN_SKIPPED_IS_NOISE)  # the same filter once, however many apps are built
    app = AsyncApp(
        client=services.slack,
        signing_secret=settings.slack_signing_secret,
        # Socket Mode needs no signing secret; in HTTP mode every request must be signed.
        request_verification_enabled=not settings.socket_mode,
        logger=BOLT_LOGGER,
    )
    handlers.register(app, services)
    return app


def build_web_app(app: AsyncApp, settings: Settings) -> web.Application:
    """HTTP mode's aiohttp application: Bolt's endpoint at EVENTS_PATH, behind our signature check."""
    assert settings.slack_signing_secret is not None, "require_slack_connection checks it before HTTP mode starts"
    web_app = app.web_app(path=EVENTS_PATH, port=settings.port)
    web_app.middlewares.append(slack_signature_middleware(settings.slack_signing_secret))
    return web_app
