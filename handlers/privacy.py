"""/privacy: what Veilleur holds about a person, exported or erased from Slack by the admins (admin_access.py).

`/privacy export <author> [source]` sends the JSON export (privacy/export.py) as a file in a direct message to the
admin who asked. `/privacy forget <author> [source]`, or a card's link, a post's URL or `#<mention id>`, shows what
would be erased and asks for confirmation; the Erase button then erases through the erasure service. Both are
recorded in the audit log under the author's keyed hash, never the handle.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.private_replies import ephemeral
from veilleur.core.errors import UserError
from veilleur.core.i18n import t, t_plural
from veilleur.core.keyed_hash import author_hash
from veilleur.core.settings import Settings
from veilleur.core.watcher_config import AuthorLabel
from veilleur.privacy import cards
from veilleur.privacy.export import AuthorExport, as_json, collect, nothing_held, subject
from veilleur.privacy.requests import AuthorRequest, author_of
from veilleur.slack.admin_access import AdminAccess, admin_mentions, admins_named
from veilleur.slack.markup import escape, user_error_text
from veilleur.slack.targets import MentionRef, bare_word, parse_target
from veilleur.storage.audit import AuditLog
from veilleur.storage.privacy_key import PrivacyKey
from veilleur.storage.store import DatabaseError, Store, utcnow
from watchers import SOURCES

if TYPE_CHECKING:
    from veilleur.services import Services

log = logging.getLogger(__name__)
Payload = dict[str, Any]

AUTHOR_LIMIT = 200  # characters: longer is no handle or name, and the request must fit in a button's value
_QUOTES = "\"'“”«»‘’"  # around a name with spaces, as people type it (straight or curly)


class ErasureReport(Protocol):
    """What an erasure removed (or, in a dry run, would remove): the author's mentions, and their cards in Slack
    (redacted, deleted or kept per SLACK_CARD_RETENTION)."""

    @property
    def mentions(self) -> int: ...

    @property
    def cards(self) -> int: ...


class Forget(Protocol):
    """The erasure service (veilleur/privacy/): erases what is held about an author and suppresses their posts."""

    async def __call__(
        self, author: str, source: str | None, *, requested_by: str, dry_run: bool = False
    ) -> ErasureReport: ...


@dataclass
class Privacy:
    """What the /privacy listeners use. `forget` is the erasure service (PrivacyService.forget)."""

    store: Store
    settings: Settings
    access: AdminAccess
    audit: AuditLog
    labels: Sequence[AuthorLabel]
    key: PrivacyKey
    forget: Forget

    @property
    def lang(self) -> str:
        return self.settings.bot_language

    def refusal(self) -> str:
        users, group = self.settings.admin_users, self.settings.admin_group
        people = admin_mentions(users, group)
        if not people:
            return t("privacy.refused.workspace_admins", self.lang)
        return t_plural("privacy.refused.only", admins_named(users, group), self.lang, people=people)

    def record(self, user: str, action: str, request: AuthorRequest) -> None:
        """An audit entry naming the author by keyed hash (the key is made when first needed)."""
        self.audit.record(user, action, author_hash(self.key.ensure(), request.author, request.source))


async def handle_privacy(
    ack: AsyncAck, command: Payload, client: AsyncWebClient, respond: AsyncRespond, *, privacy: Privacy
) -> None:
    verb, _, rest = command.get("text", "").strip().partition(" ")
    verb, user, lang = verb.lower(), command["user_id"], privacy.lang
    if verb not in ("export", "forget") or not rest.strip():
        await ephemeral(ack, t("privacy.usage", lang))
        return
    if not await privacy.access.is_admin(user):
        await ephemeral(ack, privacy.refusal())
        return
    try:
        request = forget_request(privacy.store, rest) if verb == "forget" else parse_author(rest)
    except UserError as error:
        await ephemeral(ack, user_error_text(error, lang))
        return
    if request is None:
        await ephemeral(ack, t("privacy.usage", lang))
    elif verb == "export":
        await ephemeral(ack, t("privacy.export.preparing", lang, author=cards.author_markup(request, lang)))
        await send_export(privacy, client, respond, request, user)
    else:
        await ephemeral(ack, t("privacy.forget.looking", lang, author=cards.author_markup(request, lang)))
        await ask_to_forget(privacy, privacy.forget, respond, request, user)


async def send_export(
    privacy: Privacy, client: AsyncWebClient, respond: AsyncRespond, request: AuthorRequest, user: str
) -> None:
    """Build the export off the loop, record it, and send it as a file in a direct message to `user`."""
    settings, lang = privacy.settings, privacy.lang
    try:
        export: AuthorExport = await privacy.store.read(
            collect, request.author, request.source, labels=privacy.labels, now=utcnow()
        )
        privacy.record(user, "export", request)
        if export.empty:
            await answer(respond, nothing_held(escape(request.author), request.source, settings))
            return
        opened = await client.conversations_open(users=user)
        await client.files_upload_v2(
            content=as_json(export, settings).encode("utf-8"),
            filename=f"veilleur-export-{export.generated_at:%Y%m%d-%H%M%S}.json",
            title=t("privacy.export.file_title", lang, author=subject(request.author, request.source, lang)),
            channel=opened["channel"]["id"],
        )
    except (SlackApiError, DatabaseError, OSError, TimeoutError) as error:
        reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
        log.warning("/privacy export for %s failed: %s", user, reason)
        await answer(respond, t("privacy.export.failed", lang, error=escape(str(reason))))
        return
    count = len(export.mentions)
    await answer(respond, t_plural("privacy.export.sent", count, lang, author=cards.author_markup(request, lang),
                                   count=count))


async def ask_to_forget(
    privacy: Privacy, forget: Forget, respond: AsyncRespond, request: AuthorRequest, user: str
) -> None:
    """A dry run, then the question with what would be erased: nothing changes until Erase is clicked. It is asked
    even when nothing is held: erasing also drops the author's future posts (an objection)."""
    report = await forget(request.author, request.source, requested_by=user, dry_run=True)
    question = cards.forget_question(request, mentions=report.mentions, cards=report.cards,
                                     card_retention=privacy.settings.slack_card_retention, lang=privacy.lang)
    await respond(response_type="ephemeral", replace_original=True, **question)


async def handle_forget_confirmed(
    ack: AsyncAck, body: Payload, action: Payload, respond: AsyncRespond, *, privacy: Privacy
) -> None:
    await ack()
    user, lang = body["user"]["id"], privacy.lang
    request = AuthorRequest.from_value(action.get("value", ""))
    if not await privacy.access.is_admin(user):
        await answer(respond, privacy.refusal())
        return
    if request is None:
        await answer(respond, t("privacy.usage", lang))
        return
    author = cards.author_markup(request, lang)
    await answer(respond, t("privacy.forget.working", lang, author=author))
    try:
        report = await privacy.forget(request.author, request.source, requested_by=user)
    except Exception as error:
        # The erasure service resumes an interrupted run; the admin is told to run it again, without the handle
        # in the log.
        log.exception("/privacy forget asked by %s failed", user)
        await answer(respond, t("privacy.forget.failed", lang, author=author, error=escape(type(error).__name__)))
        return
    privacy.record(user, "forget", request)
    await answer(respond, cards.forget_done(request, mentions=report.mentions, cards=report.cards,
                                            card_retention=privacy.settings.slack_card_retention, lang=lang))


async def handle_forget_cancelled(ack: AsyncAck, action: Payload, respond: AsyncRespond, *, privacy: Privacy) -> None:
    await ack()
    request = AuthorRequest.from_value(action.get("value", ""))
    author = cards.author_markup(request, privacy.lang) if request else "?"
    await answer(respond, t("privacy.forget.kept", privacy.lang, author=author))


async def answer(respond: AsyncRespond, text: str) -> None:
    """The next answer to the admin, in place of the previous one (only they see it)."""
    await respond(text=text, response_type="ephemeral", replace_original=True)


def parse_author(text: str) -> AuthorRequest | None:
    """`<author> [source]`: the source comes last, when it is one Veilleur knows; the author may hold spaces (a
    name from a feed), in quotes or not. None when no author is left, or one too long to be a handle or name."""
    words = [bare_word(word) for word in text.split()]
    source = None
    if len(words) > 1 and words[-1].lower() in SOURCES:
        source = words.pop().lower()
    author = " ".join(words).strip(_QUOTES + " ")
    if not author or len(author) > AUTHOR_LIMIT:
        return None
    return AuthorRequest(author, source)


def forget_request(store: Store, text: str) -> AuthorRequest | None:
    """Who `/privacy forget` is about: the author of the card, post or mention (`#12`, not a bare number, which
    could be a handle) that a single word points at, else the author as typed."""
    words = text.split()
    if len(words) == 1:
        target = parse_target(words[0])
        if isinstance(target, MentionRef) and not html.unescape(words[0]).startswith("#"):
            target = None
        if target is not None:
            return author_of(store, target)
    return parse_author(text)


def register(app: AsyncApp, services: Services) -> None:
    privacy = Privacy(
        services.store, services.settings, AdminAccess(services.settings, services.slack), services.audit,
        services.authors, key=services.privacy.key, forget=services.privacy.forget,
    )
    app.command("/privacy")(partial(handle_privacy, privacy=privacy))
    app.action(cards.FORGET_CONFIRM)(partial(handle_forget_confirmed, privacy=privacy))
    app.action(cards.FORGET_CANCEL)(partial(handle_forget_cancelled, privacy=privacy))
