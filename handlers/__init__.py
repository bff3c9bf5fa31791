"""Slack listeners, one module per group, each with a `register(app, services)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.async_app import AsyncApp

from handlers import card_actions, claims, digest, draft, escalation, home, privacy, summarize, watch

if TYPE_CHECKING:
    from veilleur.services import Services


def register(app: AsyncApp, services: Services) -> None:
    card_actions.register(app, services)
    escalation.register(app, services)
    summarize.register(app, services)
    draft.register(app, services)
    digest.register(app, services)
    watch.register(app, services)
    privacy.register(app, services)
    home.register(app, services)
    claims.register(app, services)
