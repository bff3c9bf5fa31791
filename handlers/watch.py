"""/watch: list, test, add, edit, pause, resume, remove and reload watchers from Slack, and the watcher form.

Anyone may list, test and read the help; changes are for the admins (admin_access.py). The form checks each
field with the watchers file's own rules (watcher_catalog.py) and answers errors under the field at fault.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.private_replies import ephemeral, tell_privately
from veilleur.core.errors import UserError
from veilleur.core.i18n import t, t_plural
from veilleur.core.query import QueryError, parse_query
from veilleur.core.settings import Settings
from veilleur.core.watcher_config import WatcherFieldError, WatchersFileError
from veilleur.slack.admin_access import AdminAccess
from veilleur.slack.markup import escape, user_error_text
from veilleur.storage.audit import AuditLog
from veilleur.watching import views as ui
from veilleur.watching.catalog import WatcherCatalog
from watchers import SOURCES

if TYPE_CHECKING:
    from veilleur.services import Services

log = logging.getLogger(__name__)
Payload = dict[str, Any]

CHANGES = frozenset({"add", "edit", "pause", "resume", "remove", "reload"})
NEEDS_NAME = frozenset({"edit", "pause", "resume", "remove"})
DEFAULT_TEST_SOURCE = "hackernews"  # public, no credentials, no URL to give
# Anyone may test, and each test fetches a source they name: enough for trying queries, not for using the bot
# as a fetcher.
TESTS_PER_USER = 5
TEST_WINDOW = 60.0  # seconds
_TRAILING_LINK = re.compile(r"(?:^|\s)<?(https?://[^|>\s]+)(?:\|[^>]*)?>?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Watching:
    """What the /watch listeners use: the catalogue, who may change it, the audit log of changes, and how many
    tests each person has left."""

    catalog: WatcherCatalog
    settings: Settings
    access: AdminAccess
    audit: AuditLog
    quota: TrialQuota = field(default_factory=lambda: TrialQuota(TESTS_PER_USER, TEST_WINDOW))

    @property
    def lang(self) -> str:
        return self.settings.bot_language

    def refusal(self) -> str:
        return ui.refusal(self.settings.admin_users, self.settings.admin_group, self.lang)

    def too_many_tests(self, user: str) -> str | None:
        """The refusal when `user` has used up their tests for now; None (and the test is counted) otherwise."""
        wait = self.quota.wait(user)
        if not wait:
            return None
        limit, seconds = self.quota.limit, math.ceil(wait)
        return " ".join([t_plural("watch.test.too_many", limit, self.lang, count=limit),
                         t_plural("watch.test.retry", seconds, self.lang, count=seconds)])


async def handle_watch(
    ack: AsyncAck, command: Payload, client: AsyncWebClient, respond: AsyncRespond, *, watching: Watching
) -> None:
    verb, _, rest = command.get("text", "").strip().partition(" ")
    verb, rest, user = verb.lower(), rest.strip(), command["user_id"]
    lang, catalog = watching.lang, watching.catalog
    if verb == "list":
        tz = watching.settings.bot_timezone
        await ack(response_type="ephemeral", **ui.list_message(catalog.entries(), catalog.statuses(), tz=tz, lang=lang))
    elif verb == "test":
        await run_test_command(watching, ack, respond, rest, command["channel_id"], user)
    elif verb not in CHANGES or (verb in NEEDS_NAME and not rest):
        await ephemeral(ack, ui.usage(lang))
    elif not await watching.access.is_admin(user):
        await ephemeral(ack, watching.refusal())
    else:
        try:
            await change(watching, verb, rest, ack, command, client, user)
        except UserError as error:
            await ephemeral(ack, user_error_text(error, lang))


async def change(
    watching: Watching, verb: str, name: str, ack: AsyncAck, command: Payload, client: AsyncWebClient, user: str
) -> None:
    catalog, lang = watching.catalog, watching.lang
    if verb == "add":
        await ack()
        form = ui.watcher_form(ui.FormDraft(reply_channel=command["channel_id"]), lang)
        await client.views_open(trigger_id=command["trigger_id"], view=form)
    elif verb == "edit":
        table = catalog.editable(name).table or {}
        await ack()
        draft = ui.draft_from_table(table, reply_channel=command["channel_id"])
        await client.views_open(trigger_id=command["trigger_id"], view=ui.watcher_form(draft, lang))
    elif verb == "pause":
        catalog.pause(name, user)
        watching.audit.record(user, "watch.pause", name)
        await ephemeral(ack, t("watch.paused", lang, name=name))
    elif verb == "resume":
        catalog.resume(name)
        watching.audit.record(user, "watch.resume", name)
        await ephemeral(ack, t("watch.resumed", lang, name=name))
    elif verb == "remove":
        catalog.editable(name)
        await ack(response_type="ephemeral", **ui.remove_confirmation(name, lang))
    else:
        await reload(watching, ack, user)


async def reload(watching: Watching, ack: AsyncAck, user: str) -> None:
    try:
        report = watching.catalog.reload()
    except WatchersFileError as error:
        await ephemeral(ack, t("watch.reload.unreadable", watching.lang, error=escape(str(error))))
        return
    watching.audit.record(user, "watch.reload")
    await ephemeral(ack, ui.reload_message(report, str(watching.settings.watchers_file), watching.lang))


async def run_test_command(
    watching: Watching, ack: AsyncAck, respond: AsyncRespond, text: str, channel: str, user: str
) -> None:
    lang = watching.lang
    query, source, url = parse_test_args(text)
    if not query:
        await ephemeral(ack, ui.usage(lang))
        return
    if refusal := watching.too_many_tests(user):
        await ephemeral(ack, refusal)
        return
    await ephemeral(ack, t("watch.test.running", lang))
    table: Payload = {"name": "test", "source": source, "query": query, "channel": channel}
    if url:
        table["url" if source == "rss" else "base_url"] = url
    try:
        config, watcher = await watching.catalog.for_trial(table)
    except WatcherFieldError as error:
        await respond(response_type="ephemeral", replace_original=True,
                      text=escape(t("watch.test.invalid", lang, problem=ui.field_error(error, lang))))
        return
    trial = await watching.catalog.trial(config, watcher)
    message = ui.trial_message(trial, query=query, source=source, tz=watching.settings.bot_timezone, lang=lang,
                               reach_tiers=watching.settings.public_body)
    await respond(response_type="ephemeral", replace_original=True, **message)


async def handle_source_changed(ack: AsyncAck, body: Payload, client: AsyncWebClient, *, watching: Watching) -> None:
    await ack()
    view = body["view"]
    draft = ui.read_form(view["state"]["values"], view["private_metadata"])
    await client.views_update(view_id=view["id"], view=ui.watcher_form(draft, watching.lang))


async def handle_query_entered(ack: AsyncAck, body: Payload, client: AsyncWebClient, *, watching: Watching) -> None:
    await ack()
    view, lang = body["view"], watching.lang
    draft = ui.read_form(view["state"]["values"], view["private_metadata"])
    try:
        note = ui.query_note(parse_query(draft.query).explain(), None, lang)
    except QueryError as error:
        note = ui.query_note(None, str(error), lang)
    await client.views_update(view_id=view["id"], view=ui.watcher_form(draft, lang, query_note=note))


async def handle_test_clicked(ack: AsyncAck, body: Payload, client: AsyncWebClient, *, watching: Watching) -> None:
    await ack()
    view, lang = body["view"], watching.lang
    draft = ui.read_form(view["state"]["values"], view["private_metadata"])
    if refusal := watching.too_many_tests(body["user"]["id"]):
        view_with_refusal = ui.watcher_form(draft, lang, trial=ui.trial_problem(refusal))
        await client.views_update(view_id=view["id"], view=view_with_refusal)
        return
    await client.views_update(view_id=view["id"], view=ui.watcher_form(draft, lang, trial=ui.testing_note(lang)))
    try:
        table = ui.draft_table(draft) | {"name": "test", "channel": draft.channel or "C0TEST"}
        config, watcher = await watching.catalog.for_trial(table)
    except WatcherFieldError as error:
        blocks = ui.trial_problem(t("watch.test.invalid", lang, problem=ui.field_error(error, lang)))
    else:
        trial = await watching.catalog.trial(config, watcher)
        blocks = ui.trial_blocks(trial, watcher=draft.editing or draft.name or "test",
                                 tz=watching.settings.bot_timezone, lang=lang, previews=ui.PREVIEWS_IN_FORM,
                                 reach_tiers=watching.settings.public_body)
    await client.views_update(view_id=view["id"], view=ui.watcher_form(draft, lang, trial=blocks))


async def handle_submitted(
    ack: AsyncAck, body: Payload, view: Payload, client: AsyncWebClient, *, watching: Watching
) -> None:
    user, catalog, lang = body["user"]["id"], watching.catalog, watching.lang
    draft = ui.read_form(view["state"]["values"], view["private_metadata"])
    if not await watching.access.is_admin(user):
        await ack(response_action="errors", errors={ui.form_block_ids(draft)[0]: watching.refusal()})
        return
    try:
        table = ui.draft_table(draft)
        config, watcher = await catalog.validate(table, editing=draft.editing)
    except WatcherFieldError as error:
        await ack(response_action="errors", errors=ui.errors_for(error, draft, lang))
        return
    await ack()
    notes = [await join(client, config.channel, lang)]
    try:
        if draft.editing:
            catalog.edit(draft.editing, table, config, watcher, user)
            watching.audit.record(user, "watch.edit", config.name)
            notes.insert(0, t("watch.edited", lang, name=config.name, channel=f"<#{config.channel}>"))
        else:
            catalog.add(table, config, watcher, user)
            watching.audit.record(user, "watch.add", config.name)
            notes.insert(0, t("watch.added", lang, name=config.name, channel=f"<#{config.channel}>"))
    except UserError as error:
        notes = [user_error_text(error, lang)]
    # In the channel where /watch was typed, else in a direct message.
    text = " ".join(note for note in notes if note)
    await tell_privately(client, draft.reply_channel, user, text, else_direct_message=True)


async def join(client: AsyncWebClient, channel: str, lang: str) -> str:
    """Join a public channel the bot is not in; for a private one, say to invite the bot ("" when fine)."""
    try:
        info = (await client.conversations_info(channel=channel)).get("channel") or {}
        if info.get("is_member"):
            return ""
        if not info.get("is_private") and not info.get("is_im"):
            await client.conversations_join(channel=channel)
            return ""
    except SlackApiError as error:
        log.info("could not join %s: %s", channel, error.response.get("error"))
    return t("watch.invite_me", lang, channel=f"<#{channel}>")


async def handle_remove_confirmed(
    ack: AsyncAck, body: Payload, action: Payload, respond: AsyncRespond, *, watching: Watching
) -> None:
    await ack()
    name, user = action["value"], body["user"]["id"]
    if not await watching.access.is_admin(user):
        text = watching.refusal()
    else:
        try:
            watching.catalog.remove(name)
            watching.audit.record(user, "watch.remove", name)
            text = t("watch.removed", watching.lang, name=name)
        except UserError as error:
            text = user_error_text(error, watching.lang)
    await respond(text=text, response_type="ephemeral", replace_original=True)


async def handle_remove_cancelled(ack: AsyncAck, action: Payload, respond: AsyncRespond, *, watching: Watching) -> None:
    await ack()
    await respond(text=t("watch.remove.kept", watching.lang, name=escape(action["value"])), response_type="ephemeral",
                  replace_original=True)


def register(app: AsyncApp, services: Services) -> None:
    access = AdminAccess(services.settings, services.slack)
    watching = Watching(services.catalog, services.settings, access, services.audit)
    app.command("/watch")(partial(handle_watch, watching=watching))
    app.action(ui.SOURCE_ACTION)(partial(handle_source_changed, watching=watching))
    app.action(ui.QUERY_ACTION)(partial(handle_query_entered, watching=watching))
    app.action(ui.TEST_ACTION)(partial(handle_test_clicked, watching=watching))
    app.view(ui.WATCH_FORM)(partial(handle_submitted, watching=watching))
    app.action(ui.REMOVE_CONFIRM)(partial(handle_remove_confirmed, watching=watching))
    app.action(ui.REMOVE_CANCEL)(partial(handle_remove_cancelled, watching=watching))


class TrialQuota:
    """At most `limit` tests per user in any `window` seconds (a sliding window, kept in memory)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._runs: dict[str, deque[float]] = {}

    def wait(self, user: str) -> float:
        """0 when `user` may run a test now, which is then counted; else the seconds until they may."""
        now = self.clock()
        runs = self._runs.setdefault(user, deque())
        while runs and runs[0] <= now - self.window:
            runs.popleft()
        if len(runs) >= self.limit:
            return runs[0] + self.window - now
        runs.append(now)
        return 0.0


def parse_test_args(text: str) -> tuple[str, str, str | None]:
    """`<query> [source] [url]`: the source and URL come last; with a URL and no source, the source is rss.

    The URL may come as typed or as Slack writes links (`<https://…>`, `<https://…|label>`).
    """
    url = None
    if link := _TRAILING_LINK.search(text):
        text, url = text[: link.start()], link.group(1)
    words = text.split()
    source = "rss" if url else DEFAULT_TEST_SOURCE
    if words and words[-1].lower() in SOURCES:
        source = words.pop().lower()
    return " ".join(words), source, url

