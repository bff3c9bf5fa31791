"""/digest posts a digest since the latest scheduled one in the current channel; /digest preview shows it only to
the requester.

Both are acknowledged at once ("building the digest…", ephemeral), then built; the preview replaces that message,
the digest itself goes through the outbox like every post (it does not count as the scheduled digest).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from handlers.assist_replies import AckFirst, EphemeralReply
from veilleur.assist.summary_cards import problem_message
from veilleur.digest.delivery import DigestService

if TYPE_CHECKING:
    from veilleur.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Digests:
    """What /digest uses."""

    service: DigestService
    lang: str
    pacing: AckFirst = field(default_factory=AckFirst)


async def handle_digest(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, *, digests: Digests) -> None:
    lang = digests.lang
    text = command.get("text", "").strip().lower()
    if text not in ("", "preview"):
        await ack(response_type="ephemeral", **problem_message("digest_delivery.usage", lang))
        return
    await ack(response_type="ephemeral", **problem_message("digest_delivery.working", lang))
    digests.pacing.acked()
    reply = EphemeralReply(respond)
    target = digests.service.target_for(command["channel_id"])
    try:
        await digests.pacing.give_way()
        if text == "preview":
            await reply.show(await digests.service.preview(target))
            return
        await digests.service.post_now(target)
        message = problem_message("digest_delivery.posted", lang)
    except Exception:
        log.exception("/digest in %s failed", target.channel)
        message = problem_message("digest_delivery.failed", lang)
    await reply.show(message)


def register(app: AsyncApp, services: Services) -> None:
    digests = Digests(services.digests, services.settings.bot_language)
    app.command("/digest")(partial(handle_digest, digests=digests))
