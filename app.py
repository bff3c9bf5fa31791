"""The Slack app: an AsyncApp wired to our services, with every listener group registered."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

import handlers

if TYPE_CHECKING:
    from runtime import Services


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
