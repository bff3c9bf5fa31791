"""Block Kit for /watch: the watcher form (add and edit), the list, test results, removal and reload replies.

Pure functions. The form's block ids are the watchers file's field names (`name`, `source`, `query`, `url`...),
so a `WatcherFieldError` from the file's own checks lands under the field at fault (`response_action=errors`).
Outside text (posts found by a test, error messages quoting a source) goes through slack_text's escaping.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from veilleur.core.i18n import CATALOGUE, Phrase, format_datetime, format_duration, t, t_plural
from veilleur.core.mentions import Mention
from veilleur.core.watcher_config import SUBJECT_LIMIT, WatcherFieldError
from veilleur.slack.admin_access import admin_mentions, admins_named
from veilleur.slack.cards import SOURCES as SOURCE_LABELS
from veilleur.slack.cards import confirm_or_cancel, quoted_mention_blocks
from veilleur.slack.markup import escape, markup, mrkdwn, phrase_line, plain_text
from veilleur.storage.store import WatcherStatus
from veilleur.watching.catalog import FILE, CatalogEntry, ReloadReport, Trial

WATCH_FORM = "watch_form"
SOURCE_ACTION = "watch_source"
QUERY_ACTION = "watch_query"
TEST_ACTION = "watch_test"
REMOVE_CONFIRM = "watch_remove_confirm"
REMOVE_CANCEL = "watch_remove_cancel"
# The fields each source reads besides name, source, query, channel, interval and backfill.
SOURCE_FIELDS: dict[str, tuple[str, ...]] = {
    "rss": ("url",),
    "mastodon": ("base_url", "options"),
    "bluesky": ("base_url", "options"),
    "hackernews": ("base_url", "options"),
    "reddit": ("base_url", "options"),
    "discourse": ("base_url", "options"),
    "lemmy": ("base_url", "options"),
    "webpage": ("url", "options"),
    "x": ("base_url", "options"),
    "youtube": ("options",),
    "facebook": ("options",),
    "instagram": ("options",),
}
DEFAULT_SOURCE = "rss"
DEFAULT_INTERVAL = "5m"
DEFAULT_BACKFILL = "3"
MODAL_TITLE_LIMIT = 24
LABEL_LIMIT = 2000
INPUT_LIMIT = 3000
PREVIEWS_IN_FORM = 3
PREVIEWS_IN_MESSAGE = 5
MESSAGE_BLOCK_LIMIT = 50
ERROR_LIMIT = 300
LINE_ERROR_LIMIT = 120
# Slack refuses a message past ~12k characters of blocks: stop adding watchers or previews before that.
MESSAGE_BUDGET = 10_000
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class FormDraft:
    """What the form holds: typed text, as Slack sends it back. `editing` is the name of the watcher edited."""

    source: str = DEFAULT_SOURCE
    name: str = ""
    query: str = ""
    channel: str = ""
    interval: str = DEFAULT_INTERVAL
    backfill: str = DEFAULT_BACKFILL
    url: str = ""
    base_url: str = ""
    options: str = ""
    subject: str = ""
    editing: str | None = None
    reply_channel: str = ""  # where /watch was typed: the confirmation goes there


# The form ---------------------------------------------------------------------------------------------------


def watcher_form(
    draft: FormDraft,
    lang: str,
    *,
    query_note: str | None = None,
    trial: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The add/edit modal. `query_note` is shown under the query (live check); `trial` are test result blocks."""
    title = "watch.form.edit_title" if draft.editing else "watch.form.add_title"
    blocks: list[dict[str, Any]] = []
    if draft.editing:
        blocks.append({"type": "context", "block_id": "editing",
                       "elements": [mrkdwn(t("watch.form.editing", lang, name=draft.editing))]})
    else:
        blocks.append(_text_input("name", lang, draft.name, max_length=64))
    blocks.append(_source_input(draft.source, lang))
    for field in SOURCE_FIELDS.get(draft.source, ()):
        blocks.append(_text_input(field, lang, getattr(draft, field), optional=_optional(draft.source, field),
                                  multiline=field == "options", hint=_hint(draft.source, field, lang)))
    # One line: Enter in a multiline input adds a line instead of sending the query to be checked.
    query = _text_input("query", lang, draft.query, hint=t("watch.form.query_hint", lang))
    query["dispatch_action"] = True
    query["element"]["dispatch_action_config"] = {"trigger_actions_on": ["on_enter_pressed"]}
    blocks.append(query)
    if query_note:
        blocks.append({"type": "context", "block_id": "query_note", "elements": [mrkdwn(query_note, ERROR_LIMIT * 2)]})
    blocks.append(_text_input("subject", lang, draft.subject, optional=True, hint=t("watch.form.subject_hint", lang),
                              max_length=SUBJECT_LIMIT))
    blocks.append(_channel_input(draft.channel, lang))
    blocks.append(_text_input("interval", lang, draft.interval, hint=t("watch.form.interval_hint", lang)))
    blocks.append(_backfill_input(draft.backfill, lang))
    blocks.append({"type": "actions", "block_id": "test", "elements": [
        {"type": "button", "action_id": TEST_ACTION, "text": plain_text(t("watch.form.test", lang), 75)}
    ]})
    blocks.extend(trial)
    return {
        "type": "modal",
        "callback_id": WATCH_FORM,
        "private_metadata": json.dumps({"editing": draft.editing, "reply_channel": draft.reply_channel}),
        "title": plain_text(t(title, lang), MODAL_TITLE_LIMIT),
        "submit": plain_text(t("watch.form.save", lang), MODAL_TITLE_LIMIT),
        "close": plain_text(t("watch.form.cancel", lang), MODAL_TITLE_LIMIT),
        "blocks": blocks,
    }


def _text_input(
    field: str, lang: str, value: str, *, optional: bool = False, multiline: bool = False, hint: str = "",
    max_length: int = INPUT_LIMIT,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": f"watch_{field}", "multiline": multiline,
                               "max_length": max_length}
    if value:
        element["initial_value"] = value[:max_length]
    block: dict[str, Any] = {"type": "input", "block_id": field, "optional": optional,
                             "label": plain_text(t(f"watch.field.{field}", lang), LABEL_LIMIT), "element": element}
    if hint:
        block["hint"] = plain_text(hint, LABEL_LIMIT)
    return block


def _source_input(source: str, lang: str) -> dict[str, Any]:
    options = [_option(name, label) for name, (_, label) in SOURCE_LABELS.items() if name in SOURCE_FIELDS]
    element: dict[str, Any] = {"type": "static_select", "action_id": SOURCE_ACTION, "options": options}
    chosen = next((option for option in options if option["value"] == source), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return {"type": "input", "block_id": "source", "dispatch_action": True,
            "label": plain_text(t("watch.field.source", lang), LABEL_LIMIT), "element": element}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": plain_text(label, 75), "value": value}


def _channel_input(channel: str, lang: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "conversations_select",
        "action_id": "watch_channel",
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if channel:
        element["initial_conversation"] = channel
    else:
        element["default_to_current_conversation"] = True
    return {"type": "input", "block_id": "channel", "label": plain_text(t("watch.field.channel", lang), LABEL_LIMIT),
            "hint": plain_text(t("watch.form.channel_hint", lang), LABEL_LIMIT), "element": element}


def _backfill_input(value: str, lang: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "number_input", "action_id": "watch_backfill", "is_decimal_allowed": False,
                               "min_value": "0", "max_value": "100"}
    if value:
        element["initial_value"] = value
    return {"type": "input", "block_id": "backfill", "optional": True,
            "label": plain_text(t("watch.field.backfill", lang), LABEL_LIMIT),
            "hint": plain_text(t("watch.form.backfill_hint", lang), LABEL_LIMIT), "element": element}


def _optional(source: str, field: str) -> bool:
    return not (field == "url" or (source in ("discourse", "lemmy") and field == "base_url"))


def _hint(source: str, field: str, lang: str) -> str:
    if field == "options":
        return t(f"watch.form.options_hint.{source}", lang)
    if field == "url":
        return t("watch.form.url_hint" if source == "rss" else f"watch.form.url_hint.{source}", lang)
    return t("watch.form.base_url_hint", lang)


def read_form(values: dict[str, Any], private_metadata: str) -> FormDraft:
    """The draft in a form's `view.state.values` (fields of another source are left out)."""
    metadata = json.loads(private_metadata or "{}")
    draft = FormDraft(editing=metadata.get("editing"), reply_channel=metadata.get("reply_channel") or "")
    typed = {field: _state_value(values, field) for field in
             ("source", "name", "query", "channel", "interval", "backfill", "url", "base_url", "options", "subject")}
    return replace(draft, **{field: value for field, value in typed.items() if value is not None})


def _state_value(values: dict[str, Any], field: str) -> str | None:
    state = next(iter((values.get(field) or {}).values()), None)
    if state is None:
        return None
    if state.get("type") == "static_select":
        return (state.get("selected_option") or {}).get("value") or ""
    if state.get("type") == "conversations_select":
        return state.get("selected_conversation") or ""
    return (state.get("value") or "").strip()


def draft_from_table(table: dict[str, Any], *, reply_channel: str) -> FormDraft:
    """The form prefilled with a stored watcher, to edit it."""
    return FormDraft(
        source=str(table.get("source", DEFAULT_SOURCE)),
        name=str(table["name"]),
        query=str(table.get("query", "")),
        channel=str(table.get("channel", "")),
        interval=str(table.get("interval", DEFAULT_INTERVAL)),
        backfill=str(table.get("backfill", 0)),
        url=str(table.get("url") or ""),
        base_url=str(table.get("base_url") or ""),
        options=options_text(table.get("options") or {}),
        subject=str(table.get("subject") or ""),
        editing=str(table["name"]),
        reply_channel=reply_channel,
    )


def draft_table(draft: FormDraft) -> dict[str, Any]:
    """The draft as a `[[watcher]]` table, for the file's own checks. Raises WatcherFieldError on backfill or
    options that are not even readable."""
    table: dict[str, Any] = {
        "name": draft.editing or draft.name,
        "source": draft.source,
        "query": draft.query,
        "channel": draft.channel,
        "interval": draft.interval or DEFAULT_INTERVAL,
        "backfill": _backfill(draft.backfill),
        "subject": draft.subject,
    }
    for field in SOURCE_FIELDS.get(draft.source, ()):
        value = getattr(draft, field)
        if field == "options":
            table["options"] = _options(value) if value else {}
        elif value:
            table[field] = value
    return {key: value for key, value in table.items() if value not in ("", None)}


def _backfill(raw: str) -> int:
    if not raw:
        return 0
    try:
        return int(raw)
    except ValueError:
        raise WatcherFieldError("backfill", Phrase.of("watch.form.bad_backfill", value=repr(raw))) from None


def _options(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise WatcherFieldError("options", Phrase.of("watch.form.bad_options", detail=str(error))) from None


def options_text(options: dict[str, Any]) -> str:
    """Options as the lines of TOML the form shows (and `_options` reads back)."""
    return "\n".join(f"{_toml_key(key)} = {_toml_value(value)}" for key, value in options.items())


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_value(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
    return json.dumps(str(value)).replace("\x7f", "\\u007f")


def query_note(explained: str | None, error: str | None, lang: str) -> str:
    if error is not None:
        return t("watch.form.query_error", lang, error=error[:ERROR_LIMIT])
    return t("watch.form.query_ok", lang, explained=(explained or "")[:ERROR_LIMIT])


def errors_for(error: WatcherFieldError, draft: FormDraft, lang: str) -> dict[str, str]:
    """`response_action=errors` for a field; a field without a block of its own is named under the first block."""
    blocks = form_block_ids(draft)
    if error.field in blocks:
        return {error.field: phrase_line(error.phrase, lang, LABEL_LIMIT)}
    return {blocks[0]: field_error(error, lang)[:LABEL_LIMIT]}


def field_error(error: WatcherFieldError, lang: str) -> str:
    """ "Feed URL: 127.0.0.1 is a loopback address, …", the field by its name in the form (plain text)."""
    return t("watch.field_error", lang, field=field_label(error.field, lang),
             error=phrase_line(error.phrase, lang, LABEL_LIMIT))


def field_label(field: str, lang: str) -> str:
    """A watcher's field as the form names it ("URL du flux"), or as the watchers file does when the form has no
    such field (`digest`)."""
    key = f"watch.field.{field}"
    return t(key, lang) if key in CATALOGUE else field


def form_block_ids(draft: FormDraft) -> list[str]:
    fields = ["source", *SOURCE_FIELDS.get(draft.source, ()), "query", "subject", "channel", "interval", "backfill"]
    return fields if draft.editing else ["name", *fields]


# Test results -----------------------------------------------------------------------------------------------


def trial_blocks(
    trial: Trial, *, watcher: str, tz: ZoneInfo, lang: str, previews: int, reach_tiers: bool = False
) -> list[dict[str, Any]]:
    """What a test found: the count, then the first few matches as compact quotes (reach as tiers with
    `reach_tiers`, PRIVACY_PROFILE=public-body)."""
    if trial.error is not None:
        return trial_problem(t("watch.test.failed", lang, error=phrase_line(trial.error, lang, ERROR_LIMIT)))
    summary = t_plural("watch.test.found", len(trial.matched), lang, matched=len(trial.matched),
                       fetched=trial.fetched)
    if len(trial.matched) > previews:
        summary += " " + t_plural("watch.test.first", previews, lang, count=previews)
    blocks: list[dict[str, Any]] = [{"type": "section", "block_id": "trial", "text": mrkdwn(summary)}]
    for index, mention in enumerate(trial.matched[:previews]):
        preview = [{"type": "divider", "block_id": f"trial_{index}"},
                   *_preview(mention, index, watcher=watcher, tz=tz, lang=lang, reach_tiers=reach_tiers)]
        if _size(blocks + preview) > MESSAGE_BUDGET:
            break
        blocks.extend(preview)
    return blocks


def _size(blocks: list[dict[str, Any]]) -> int:
    return len(json.dumps(blocks, ensure_ascii=False))


def _preview(
    mention: Mention, index: int, *, watcher: str, tz: ZoneInfo, lang: str, reach_tiers: bool
) -> list[dict[str, Any]]:
    """The card's quote of a mention, with block ids made unique for a list of several."""
    quoted = quoted_mention_blocks(mention, watcher=watcher, tz=tz, lang=lang, reach_tiers=reach_tiers)
    return [{**block, "block_id": f"trial_{index}_{block['block_id']}"} for block in quoted]


def trial_message(
    trial: Trial, *, query: str, source: str, tz: ZoneInfo, lang: str, reach_tiers: bool = False
) -> dict[str, Any]:
    """The ephemeral answer to `/watch test`."""
    heading = t("watch.test.heading", lang, query=query[:ERROR_LIMIT], source=SOURCE_LABELS[source][1])
    blocks = [{"type": "section", "block_id": "heading", "text": mrkdwn(heading)},
              *trial_blocks(trial, watcher="test", tz=tz, lang=lang, previews=PREVIEWS_IN_MESSAGE,
                            reach_tiers=reach_tiers)]
    return {"text": escape(heading), "blocks": blocks}


def trial_problem(text: str) -> list[dict[str, Any]]:
    return [{"type": "section", "block_id": "trial", "text": mrkdwn(text[:LABEL_LIMIT])}]


def testing_note(lang: str) -> list[dict[str, Any]]:
    return [{"type": "context", "block_id": "trial", "elements": [mrkdwn(t("watch.test.running", lang))]}]


# The list ---------------------------------------------------------------------------------------------------


def list_message(
    entries: Sequence[CatalogEntry], statuses: dict[str, WatcherStatus], *, tz: ZoneInfo, lang: str
) -> dict[str, Any]:
    if not entries:
        return {"text": t("watch.list.empty", lang)}
    heading = t_plural("watch.list.heading", len(entries), lang, count=len(entries))
    blocks: list[dict[str, Any]] = [{"type": "section", "block_id": "heading", "text": mrkdwn(heading)}]
    room = MESSAGE_BLOCK_LIMIT - 2
    for entry in entries[:room]:
        line = {"type": "section", "block_id": f"w_{entry.name}",
                "text": markup(watcher_line(entry, statuses[entry.name], tz=tz, lang=lang))}
        if _size([*blocks, line]) > MESSAGE_BUDGET:
            break
        blocks.append(line)
    shown = len(blocks) - 1
    if len(entries) > shown:
        blocks.append({"type": "context", "block_id": "more",
                       "elements": [mrkdwn(t_plural("watch.more", len(entries) - shown, lang,
                                                    count=len(entries) - shown))]})
    return {"text": heading, "blocks": blocks}


def watcher_line(entry: CatalogEntry, status: WatcherStatus, *, tz: ZoneInfo, lang: str) -> str:
    """Markup: "*name* · origin · source · #channel · every 5 min", then its health on a second line."""
    config = entry.config
    origin = t("watch.origin.file" if entry.origin == FILE else "watch.origin.slack", lang)
    every = t("watch.every", lang, interval=format_duration(timedelta(seconds=config.interval), lang))
    head = " · ".join([f"*{escape(config.name)}*", escape(origin), escape(SOURCE_LABELS[config.source][1]),
                       f"<#{config.channel}>", escape(every)])
    return f"{head}\n{escape(health_text(status, paused=entry.paused, tz=tz, lang=lang))}"


def health_text(status: WatcherStatus, *, paused: bool, tz: ZoneInfo, lang: str) -> str:
    """Plain text: paused, failing (since when, the last error), fine (last poll) or not polled yet."""
    if paused:
        return t("watch.health.paused", lang)
    if status.consecutive_failures:
        since = format_datetime(datetime.fromisoformat(status.failing_since or status.last_error_at or ""), tz, lang)
        error = phrase_line(status.problem, lang, LINE_ERROR_LIMIT)
        failures = status.consecutive_failures
        return t_plural("watch.health.failing", failures, lang, count=failures, since=since, error=error)
    if status.last_success_at is None:
        return t("watch.health.never", lang)
    return t("watch.health.ok", lang, at=format_datetime(datetime.fromisoformat(status.last_success_at), tz, lang))


# Other replies ----------------------------------------------------------------------------------------------


def remove_confirmation(name: str, lang: str) -> dict[str, Any]:
    """Asked before a removal: nothing happens until the person clicks Remove."""
    question = t("watch.remove.question", lang, name=name)
    buttons = confirm_or_cancel(
        "remove", name,
        confirm=(REMOVE_CONFIRM, t("watch.remove.button", lang)), cancel=(REMOVE_CANCEL, t("watch.remove.keep", lang)),
        title=t("watch.remove.confirm_title", lang), text=t("watch.remove.confirm_text", lang, name=name),
    )
    return {"text": question, "blocks": [
        {"type": "section", "block_id": "question", "text": mrkdwn(question)}, buttons,
    ]}


def reload_message(report: ReloadReport, file: str, lang: str) -> str:
    """Escaped text: what changed, then every problem by watcher and field (the file's text may hold anything)."""
    parts = [t("watch.reload.done", lang, file=file)]
    for key, names in (("watch.reload.added", report.added), ("watch.reload.changed", report.changed),
                       ("watch.reload.removed", report.removed)):
        if names:
            parts.append(t(key, lang, names=", ".join(names)))
    if not (report.added or report.changed or report.removed):
        parts.append(t("watch.reload.unchanged", lang))
    lines = [" ".join(parts)]
    if report.problems:
        lines.append(t("watch.reload.problems", lang))
        lines.extend(f"• {problem}"[:ERROR_LIMIT * 2] for problem in report.problems)
    return escape("\n".join(lines))


def refusal(admin_users: Sequence[str], admin_group: str | None, lang: str) -> str:
    """Markup: who may change watchers, for the person who may not."""
    people = admin_mentions(admin_users, admin_group)
    if not people:
        return t("watch.refused.workspace_admins", lang)
    return t_plural("watch.refused.only", admins_named(admin_users, admin_group), lang, people=people)


def who_may_change(admin_users: Sequence[str], admin_group: str | None, lang: str) -> str:
    """Markup: who may change watchers, for the App Home."""
    people = admin_mentions(admin_users, admin_group)
    return t("watch.who.only", lang, people=people) if people else t("watch.who.workspace_admins", lang)


def usage(lang: str) -> str:
    return t("watch.usage", lang)
