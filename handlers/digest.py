"""/digest posts a digest since the latest scheduled one in the current channel; /digest preview shows it only to
the requester.

Both are acknowledged at once ("building the digest…", ephemeral), then built; the preview replaces that message,
the digest itself goes through the outbox like every post (it does not count as the scheduled digest).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from handlers.assist_replies import AckFirst, EphemeralReply
from veilleur.assist.summary_cards import problem_message

if TYPE_CHECKING:
    from veilleur.services import Services

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    lang = services.settings.bot_language
    digests = services.digests
    pacing = AckFirst()

    async def command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        text = command.get("text", "").strip().lower()
        if text not in ("", "preview"):
            await ack(response_type="ephemeral", **problem_message("digest_delivery.usage", lang))
            return
        await ack(response_type="ephemeral", **problem_message("digest_delivery.working", lang))
        pacing.acked()
        reply = EphemeralReply(respond)
        target = digests.target_for(command["channel_id"])
        try:
            await pacing.give_way()
            if text == "preview":
                await reply.show(await digests.preview(target))
                return
            await digests.post_now(target)
            message = problem_message("digest_delivery.posted", lang)
        except Exception:
            log.exception("/digest in %s failed", target.channel)
            message = problem_message("digest_delivery.failed", lang)
        await reply.show(message)

    app.command("/digest")(command)
