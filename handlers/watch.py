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
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.core.i18n import t
from veilleur.core.query import QueryError, parse_query
from veilleur.core.watcher_config import WatcherFieldError, WatchersFileError
from veilleur.slack.admin_access import AdminAccess
from veilleur.slack.markup import escape
from veilleur.watching import views as ui
from veilleur.watching.catalog import CatalogError
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


def register(app: AsyncApp, services: Services) -> None:
    catalog = services.catalog
    settings = services.settings
    lang, tz = settings.bot_language, settings.bot_timezone
    access = AdminAccess(settings, services.slack)

    def refusal() -> str:
        return ui.refusal(settings.admin_users, settings.admin_group, lang)

    def explain(error: CatalogError) -> str:
        """The refusal's sentence; its parameters (a name as typed, a path) are escaped."""
        return t(error.key, lang, **{key: escape(str(value)) for key, value in error.params.items()})

    quota = TrialQuota(TESTS_PER_USER, TEST_WINDOW)

    def too_many_tests(user: str) -> str | None:
        """The refusal when `user` has used up their tests for now; None (and the test is counted) otherwise."""
        wait = quota.wait(user)
        return t("watch.test.too_many", lang, limit=TESTS_PER_USER, seconds=math.ceil(wait)) if wait else None

    async def ephemeral(ack: AsyncAck, text: str) -> None:
        await ack(response_type="ephemeral", text=text)

    async def on_watch(ack: AsyncAck, command: Payload, client: AsyncWebClient, respond: AsyncRespond) -> None:
        verb, _, rest = command.get("text", "").strip().partition(" ")
        verb, rest, user = verb.lower(), rest.strip(), command["user_id"]
        if verb == "list":
            statuses = {entry.name: services.store.watcher_status(entry.name) for entry in catalog.entries()}
            await ack(response_type="ephemeral", **ui.list_message(catalog.entries(), statuses, tz=tz, lang=lang))
        elif verb == "test":
            await test_command(ack, respond, rest, command["channel_id"], user)
        elif verb not in CHANGES or (verb in NEEDS_NAME and not rest):
            await ephemeral(ack, ui.usage(lang))
        elif not await access.may_change_watchers(user):
            await ephemeral(ack, refusal())
        else:
            try:
                await change(verb, rest, ack, command, client, user)
            except CatalogError as error:
                await ephemeral(ack, explain(error))

    async def change(verb: str, name: str, ack: AsyncAck, command: Payload, client: AsyncWebClient, user: str) -> None:
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
            await ephemeral(ack, t("watch.paused", lang, name=name))
        elif verb == "resume":
            catalog.resume(name)
            await ephemeral(ack, t("watch.resumed", lang, name=name))
        elif verb == "remove":
            catalog.editable(name)
            await ack(response_type="ephemeral", **ui.remove_confirmation(name, lang))
        else:
            await reload(ack)

    async def reload(ack: AsyncAck) -> None:
        try:
            report = catalog.reload()
        except WatchersFileError as error:
            await ephemeral(ack, t("watch.reload.unreadable", lang, error=escape(str(error))))
            return
        await ephemeral(ack, ui.reload_message(report, str(settings.watchers_file), lang))

    async def test_command(ack: AsyncAck, respond: AsyncRespond, text: str, channel: str, user: str) -> None:
        query, source, url = parse_test_args(text)
        if not query:
            await ephemeral(ack, ui.usage(lang))
            return
        if refusal := too_many_tests(user):
            await ephemeral(ack, refusal)
            return
        await ephemeral(ack, t("watch.test.running", lang))
        table: Payload = {"name": "test", "source": source, "query": query, "channel": channel}
        if url:
            table["url" if source == "rss" else "base_url"] = url
        try:
            config, watcher = await catalog.for_trial(table)
        except WatcherFieldError as error:
            await respond(response_type="ephemeral", replace_original=True,
                          text=escape(t("watch.test.invalid", lang, field=error.field, error=error.message)))
            return
        trial = await catalog.trial(config, watcher)
        message = ui.trial_message(trial, query=query, source=source, tz=tz, lang=lang)
        await respond(response_type="ephemeral", replace_original=True, **message)

    async def source_changed(ack: AsyncAck, body: Payload, client: AsyncWebClient) -> None:
        await ack()
        view = body["view"]
        draft = ui.read_form(view["state"]["values"], view["private_metadata"])
        await client.views_update(view_id=view["id"], view=ui.watcher_form(draft, lang))

    async def query_entered(ack: AsyncAck, body: Payload, client: AsyncWebClient) -> None:
        await ack()
        view = body["view"]
        draft = ui.read_form(view["state"]["values"], view["private_metadata"])
        try:
            note = ui.query_note(parse_query(draft.query).explain(), None, lang)
        except QueryError as error:
            note = ui.query_note(None, str(error), lang)
        await client.views_update(view_id=view["id"], view=ui.watcher_form(draft, lang, query_note=note))

    async def test_clicked(ack: AsyncAck, body: Payload, client: AsyncWebClient) -> None:
        await ack()
        view = body["view"]
        draft = ui.read_form(view["state"]["values"], view["private_metadata"])
        if refusal := too_many_tests(body["user"]["id"]):
            view_with_refusal = ui.watcher_form(draft, lang, trial=ui.trial_problem(refusal))
            await client.views_update(view_id=view["id"], view=view_with_refusal)
            return
        await client.views_update(view_id=view["id"], view=ui.watcher_form(draft, lang, trial=ui.testing_note(lang)))
        try:
            table = ui.draft_table(draft) | {"name": "test", "channel": draft.channel or "C0TEST"}
            config, watcher = await catalog.for_trial(table)
        except WatcherFieldError as error:
            blocks = ui.trial_problem(t("watch.test.invalid", lang, field=error.field, error=error.message))
        else:
            trial = await catalog.trial(config, watcher)
            blocks = ui.trial_blocks(trial, watcher=draft.editing or draft.name or "test", tz=tz, lang=lang,
                                     previews=ui.PREVIEWS_IN_FORM)
        await client.views_update(view_id=view["id"], view=ui.watcher_form(draft, lang, trial=blocks))

    async def submitted(ack: AsyncAck, body: Payload, view: Payload, client: AsyncWebClient) -> None:
        user = body["user"]["id"]
        draft = ui.read_form(view["state"]["values"], view["private_metadata"])
        if not await access.may_change_watchers(user):
            await ack(response_action="errors", errors={ui.form_block_ids(draft)[0]: refusal()})
            return
        try:
            table = ui.draft_table(draft)
            config, watcher = await catalog.validate(table, editing=draft.editing)
        except WatcherFieldError as error:
            await ack(response_action="errors", errors=ui.errors_for(error, draft))
            return
        await ack()
        notes = [await join(client, config.channel)]
        try:
            if draft.editing:
                catalog.edit(draft.editing, table, config, watcher, user)
                notes.insert(0, t("watch.edited", lang, name=config.name, channel=f"<#{config.channel}>"))
            else:
                catalog.add(table, config, watcher, user)
                notes.insert(0, t("watch.added", lang, name=config.name, channel=f"<#{config.channel}>"))
        except CatalogError as error:
            notes = [explain(error)]
        await tell(client, draft.reply_channel, user, " ".join(note for note in notes if note))

    async def join(client: AsyncWebClient, channel: str) -> str:
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

    async def tell(client: AsyncWebClient, channel: str, user: str, text: str) -> None:
        """Only `user` sees it: in the channel where /watch was typed, else in a direct message."""
        if channel:
            try:
                await client.chat_postEphemeral(channel=channel, user=user, text=text)
                return
            except SlackApiError as error:
                log.info("could not answer %s in %s: %s", user, channel, error.response.get("error"))
        await client.chat_postMessage(channel=user, text=text)

    async def remove_confirmed(ack: AsyncAck, body: Payload, action: Payload, respond: AsyncRespond) -> None:
        await ack()
        name, user = action["value"], body["user"]["id"]
        if not await access.may_change_watchers(user):
            text = refusal()
        else:
            try:
                catalog.remove(name)
                text = t("watch.removed", lang, name=name)
            except CatalogError as error:
                text = explain(error)
        await respond(text=text, response_type="ephemeral", replace_original=True)

    async def remove_cancelled(ack: AsyncAck, action: Payload, respond: AsyncRespond) -> None:
        await ack()
        await respond(text=t("watch.remove.kept", lang, name=escape(action["value"])), response_type="ephemeral",
                      replace_original=True)

    app.command("/watch")(on_watch)
    app.action(ui.SOURCE_ACTION)(source_changed)
    app.action(ui.QUERY_ACTION)(query_entered)
    app.action(ui.TEST_ACTION)(test_clicked)
    app.view(ui.WATCH_FORM)(submitted)
    app.action(ui.REMOVE_CONFIRM)(remove_confirmed)
    app.action(ui.REMOVE_CANCEL)(remove_cancelled)


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

