"""The buttons on a mention card.

Draft, Flag and Summarize arrive with their own issues; until then they answer, only to the person who
clicked, that the feature is not available yet. The Open button is a link, but Slack still sends its click.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

import cards

if TYPE_CHECKING:
    from runtime import Services

COMING_SOON = {"mention_draft": "draft", "mention_flag": "flag", "mention_summarize": "summarize",
               "mention_dismiss": "dismiss"}


def register(app: AsyncApp, services: Services) -> None:
    lang = services.settings.bot_language

    async def not_yet(ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await respond(
            text=cards.not_available_yet(COMING_SOON[action["action_id"]], lang),
            response_type="ephemeral",
            replace_original=False,
        )

    async def open_link(ack: AsyncAck) -> None:
        await ack()

    for action_id in COMING_SOON:
        app.action(action_id)(not_yet)
    app.action("mention_open")(open_link)
