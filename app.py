"""The Slack app: an AsyncApp wired to our services, with every listener group registered."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

import handlers

if TYPE_CHECKING:
    from runtime import Services


def build_app(services: Services) -> AsyncApp:
    settings = services.settings
    app = AsyncApp(
        client=services.slack,
        signing_secret=settings.slack_signing_secret,
        # Socket Mode needs no signing secret; in HTTP mode every request must be signed.
        request_verification_enabled=not settings.socket_mode,
        logger=logging.getLogger("slack_bolt"),
    )
    handlers.register(app, services)
    return app
