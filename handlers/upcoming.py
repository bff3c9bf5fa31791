"""Commands the Slack app declares (manifest.yml) before their features exist: `/digest` (issue 6) and `/watch`
(issue 7). They answer the person who typed them, instead of Slack's "dispatch_failed" error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from i18n import t

if TYPE_CHECKING:
    from runtime import Services

UPCOMING_COMMANDS = ("/digest", "/watch")


def register(app: AsyncApp, services: Services) -> None:
    lang = services.settings.bot_language

    async def not_yet(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(t("command.not_available", lang, command=command["command"]))

    for name in UPCOMING_COMMANDS:
        app.command(name)(not_yet)
