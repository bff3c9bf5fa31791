"""Slack messages for mentions: pure functions, data in, `{"text": …, "blocks": […]}` out.

Every field of a Mention is outside text. It reaches Slack escaped, in verbatim mrkdwn only (plain_text holds
our own words and numbers), so no `<!channel>`, `<@U…>` or `<url|label>` of its own ever leaves this module. Each
field is cut to a budget that keeps a card within Block Kit's limits (3000 characters per text, 75 per button label,
3000 per button URL) and under 10k characters of blocks, below the ~12k at which Slack refuses a message.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from veilleur.core.hostility import HostileMark
from veilleur.core.i18n import Phrase, format_count, format_datetime, format_duration, format_reach, t, t_plural
from veilleur.core.mentions import Mention
from veilleur.core.stance_labels import Stance, StanceTally
from veilleur.core.stances import LABELS
from veilleur.core.text import one_line, truncate, without_invisible
from veilleur.slack.markup import (
    TEXT_LIMIT,
    escape,
    link,
    markup,
    mrkdwn,
    phrase_line,
    plain_text,
    url_as_shown,
    web_url,
)

SOURCES: dict[str, tuple[str, str]] = {
    "rss": (":newspaper:", "RSS"),
    "mastodon": (":elephant:", "Mastodon"),
    "bluesky": (":butterfly:", "Bluesky"),
    "reddit": (":large_orange_circle:", "Reddit"),
    "hackernews": (":large_orange_square:", "Hacker News"),
    "discourse": (":speech_balloon:", "Discourse"),
    "lemmy": (":mouse2:", "Lemmy"),
    "webpage": (":globe_with_meridians:", "Web page"),
    "x": (":heavy_multiplication_x:", "X"),
    "youtube": (":arrow_forward:", "YouTube"),
    "facebook": (":large_blue_square:", "Facebook"),
    "instagram": (":camera:", "Instagram"),
}
UNKNOWN_SOURCE_EMOJI = ":mag:"
ENGAGEMENT_SIGNS = (
    ("views", "▷"), ("likes", "♥"), ("reposts", "↻"), ("replies", "💬"), ("score", "▲"), ("comments", "💬"),
)
# (action_id, catalogue key of the label, style); each button's value is the mention's id.
MENTION_BUTTONS = (
    ("mention_draft", "button.draft", None),
    ("mention_flag", "button.flag", "danger"),
    ("mention_summarize", "button.summarize", None),
    ("mention_claim", "button.claim", None),
    ("mention_dismiss", "button.dismiss", None),
)
# The stance menu on a card: its value is "mention id:stance".
STANCE_ACTION = "mention_stance"

# Budgets, in characters of outside text before escaping.
NAME_LIMIT = 80
TITLE_LIMIT = 200
SNIPPET_LIMIT = 600
SNIPPET_LINES = 8
EXCERPT_LIMIT = 100
LINK_LABEL_LIMIT = 60
# A longer link stays out of the text (the Open button still carries it): it would crowd out the rest.
LINK_MARKUP_LIMIT = 1000
# In a one-line mention (mention_line), a longer link is left out and the excerpt shown unlinked.
LINE_URL_LIMIT = 500
BUTTON_URL_LIMIT = 3000
STATUS_LIMIT = 500
# "Also seen on": the first few other sources of a story, each linked, then how many more.
ALSO_SEEN_SHOWN = 5
ALSO_SEEN_URL_LIMIT = 300
ALSO_SEEN_LIMIT = 2000

_WEB_SCHEME = re.compile(r"^https?://", re.IGNORECASE)


def mention_card(
    mention: Mention,
    *,
    mention_id: int,
    watcher: str,
    tz: ZoneInfo,
    lang: str,
    status: str | None = None,
    also_seen: Sequence[AlsoSeen] = (),
    campaign: CampaignFlag | None = None,
    reach_tiers: bool = False,
    level: str | None = None,
    hostile: HostileMark | None = None,
    claim: int | None = None,
    stance: Stance | None = None,
) -> dict[str, object]:
    """The card for one mention, for chat.postMessage (or chat.update, with `status` set).

    `status` is markup we wrote ("Dismissed by <@U1>"), shown as is under the buttons. `also_seen` lists the other
    mentions of the same story (not posted: see stories.py); `campaign` warns of a possible coordinated campaign.
    `reach_tiers` shows the author's reach as a tier (PRIVACY_PROFILE=public-body), not as a count; `level` is the
    mention's reach compared across sources (`reach.reach_level`: low, medium, high). `hostile` marks a post that
    insults or threatens (core/hostility.py): a line about the post, never a label on its author. `claim` is the
    open false claim the post repeats (its id), said under the details so that no one marks it twice. `stance` is the
    mention's effective stance, shown in a menu that lets the team correct it (said to be an estimate when it is
    only the word list's).
    """
    source = _source_line(mention, tz, lang, reach_tiers, level)
    blocks: list[dict[str, object]] = [{"type": "section", "block_id": "source", "text": source}]
    body = _body(mention)
    if body:
        blocks.append({"type": "section", "block_id": "body", "text": mrkdwn(body)})
    blocks.append({"type": "context", "block_id": "details", "elements": _details(mention, watcher, lang)})
    if hostile is not None:
        line = t("card.hostile.estimate" if hostile.estimate else "card.hostile.model", lang)
        blocks.append({"type": "context", "block_id": "hostile", "elements": [plain_text(f":shield: {line}", 300)]})
    if claim is not None:
        line = t("card.claim", lang, id=claim)
        blocks.append({"type": "context", "block_id": "claim",
                       "elements": [plain_text(f":triangular_flag_on_post: {line}", 300)]})
    if also_seen:
        blocks.append({"type": "context", "block_id": "also_seen", "elements": [_also_seen(also_seen, lang)]})
    if campaign is not None:
        warning = markup(campaign_warning(campaign, lang))
        blocks.append({"type": "context", "block_id": "campaign", "elements": [warning]})
    elements = _buttons(mention, mention_id, lang)
    if stance is not None:
        elements.append(stance_menu(stance, mention_id, lang))
    blocks.append({"type": "actions", "block_id": "actions", "elements": elements})
    if status:
        blocks.append({"type": "context", "block_id": "status", "elements": [markup(status, STATUS_LIMIT)]})
    return {"text": escape(_fallback(mention, lang)), "blocks": blocks}


def rollup_message(
    watcher: str, count: int, lang: str, *, more: int = 0, best: Sequence[Mention] = (), reach_tiers: bool = False
) -> dict[str, object]:
    """The parent message of a burst of cards, which go in its thread.

    `more` mentions of the same poll got no card (past MAX_CARDS_PER_POLL): the message says how many, and lists
    the `best` of them (outside text, escaped).
    """
    sentence = t_plural("rollup", count, lang, count=count, watcher=_clean(watcher, NAME_LIMIT))
    if more:
        # The cards may all have joined stories elsewhere: then only the overflow is left to tell.
        overflow = t_plural("rollup.more", more, lang, count=more)
        sentence = f"{sentence}. {overflow}" if count else overflow
    blocks: list[dict[str, object]] = [
        {"type": "section", "block_id": "rollup", "text": mrkdwn(f":inbox_tray: {sentence}")}
    ]
    if more and best:
        lines = "\n".join(f"• {mention_line(mention, lang, reach_tiers=reach_tiers)}" for mention in best)
        heading = t("rollup.more_best", lang)
        blocks.append({"type": "section", "block_id": "best", "text": markup(f"*{heading}*\n{lines}")})
    return {"text": escape(sentence), "blocks": blocks}


def confirm_or_cancel(
    block_id: str, value: str, *, confirm: tuple[str, str], cancel: tuple[str, str], title: str, text: str
) -> dict[str, object]:
    """The buttons under a question about something that cannot be undone: `confirm` (action id, label), which
    Slack confirms once more in a dialog (`title`, `text`), and `cancel`. Both carry `value`."""
    confirm_id, confirm_label = confirm
    cancel_id, cancel_label = cancel
    dialog = {
        "title": plain_text(title, 100),
        "text": plain_text(text, 300),
        "confirm": plain_text(confirm_label, 30),
        "deny": plain_text(cancel_label, 30),
        "style": "danger",
    }
    return {"type": "actions", "block_id": block_id, "elements": [
        {"type": "button", "action_id": confirm_id, "style": "danger", "value": value,
         "text": plain_text(confirm_label, 75), "confirm": dialog},
        {"type": "button", "action_id": cancel_id, "value": value, "text": plain_text(cancel_label, 75)},
    ]}


def mention_line(mention: Mention, lang: str, *, reach_tiers: bool = False) -> str:
    """One mention on one line, as markup: its excerpt (linked), author, source and reach."""
    excerpt = _clean(mention.title or mention.text, EXCERPT_LIMIT) or _clean(mention.url, EXCERPT_LIMIT) or "…"
    url = web_url(mention.url)
    parts = [link(url, excerpt) if url is not None and len(url) <= LINE_URL_LIMIT else escape(excerpt)]
    author = _clean(mention.author_name or mention.author_handle, NAME_LIMIT)
    if author:
        parts.append(escape(author))
    emoji, name = _source(mention.source)
    parts.append(f"{emoji} {escape(name)}")
    if mention.author_reach is not None:
        parts.append(format_reach(mention.author_reach, lang, tiers=reach_tiers))
    return " · ".join(parts)


def health_alert(
    watcher: str, source: str, error: Phrase, since: datetime | None, failures: int, *, tz: ZoneInfo, lang: str
) -> dict[str, object]:
    """Told once when a watcher keeps failing: silence must not pass for calm. The error, said in `lang`, quotes
    outside text (URLs, a source's own message)."""
    sentence = t_plural(
        "health.alert",
        failures,
        lang,
        watcher=_clean(watcher, NAME_LIMIT),
        source=_source(source)[1],
        count=failures,
        since=_moment(since, tz, lang),
        error=phrase_line(error, lang, SNIPPET_LIMIT),
    )
    return _health_notice(":warning:", sentence, t("health.alert_hint", lang))


def health_recovered(
    watcher: str, source: str, since: datetime | None, *, tz: ZoneInfo, lang: str
) -> dict[str, object]:
    sentence = t(
        "health.recovered",
        lang,
        watcher=_clean(watcher, NAME_LIMIT),
        source=_source(source)[1],
        since=_moment(since, tz, lang),
    )
    return _health_notice(":white_check_mark:", sentence)


def database_alert(reason: Phrase, *, lang: str) -> dict[str, object]:
    """Sent straight to Slack, not through the outbox: the outbox lives in the database that fails."""
    sentence = t("health.database_down", lang, reason=phrase_line(reason, lang, SNIPPET_LIMIT))
    return _health_notice(":warning:", sentence, t("health.database_down_hint", lang))


def database_recovered(*, lang: str) -> dict[str, object]:
    return _health_notice(":white_check_mark:", t("health.database_up", lang))


def _health_notice(icon: str, sentence: str, hint: str | None = None) -> dict[str, object]:
    """A health message: the sentence (holding outside text, escaped here) and an optional hint of ours."""
    blocks: list[dict[str, object]] = [{"type": "section", "block_id": "health", "text": mrkdwn(f"{icon} {sentence}")}]
    if hint is not None:
        blocks.append({"type": "context", "block_id": "hint", "elements": [plain_text(hint, TEXT_LIMIT)]})
    return {"text": escape(sentence), "blocks": blocks}


def removal_notice(reason: str, lang: str, *, days: int | None = None) -> dict[str, object]:
    """What a message of ours becomes once its mention is purged (`reason` "retention", after `days` when known) or
    erased at its author's request ("author_request"): our words only, nothing of the mention. Sent with
    chat.update, whose `blocks` replace every block the message had."""
    if reason == "retention" and days is not None:
        sentence = t_plural("removal.retention_days", days, lang, days=days)
    else:
        sentence = t(f"removal.{reason}", lang)
    notice = plain_text(f":wastebasket: {sentence}", TEXT_LIMIT)
    return {"text": sentence, "blocks": [{"type": "context", "block_id": "removed", "elements": [notice]}]}


def _moment(moment: datetime | None, tz: ZoneInfo, lang: str) -> str:
    return format_datetime(moment, tz, lang) if moment is not None else t("health.unknown_time", lang)


def quoted_mention_blocks(
    mention: Mention, *, watcher: str, tz: ZoneInfo, lang: str, reach_tiers: bool = False
) -> list[dict[str, object]]:
    """The card's source line, text and details without its buttons, for messages that quote a mention."""
    source = _source_line(mention, tz, lang, reach_tiers)
    blocks: list[dict[str, object]] = [{"type": "section", "block_id": "source", "text": source}]
    body = _body(mention)
    if body:
        blocks.append({"type": "section", "block_id": "body", "text": mrkdwn(body)})
    blocks.append({"type": "context", "block_id": "details", "elements": _details(mention, watcher, lang)})
    return blocks


def mention_excerpt(mention: Mention) -> str:
    """A mention in a few words (its title, else the start of its text, else its link): plain, unescaped text."""
    return _clean(mention.title or mention.text, EXCERPT_LIMIT) or _link_label(mention.url) or "…"


def _source_line(
    mention: Mention, tz: ZoneInfo, lang: str, reach_tiers: bool, level: str | None = None
) -> dict[str, object]:
    emoji, name = _source(mention.source)
    parts = [f"{emoji} *{escape(name)}*"]
    author = _author(mention)
    if author:
        parts.append(escape(author))
    if mention.author_reach is not None:
        parts.append(format_reach(mention.author_reach, lang, tiers=reach_tiers))
    if level is not None:
        parts.append(t(f"reach.level.{level}", lang))
    if mention.created_at is not None:
        parts.append(format_datetime(mention.created_at, tz, lang))
    return markup(" · ".join(parts))


def _source(source: str) -> tuple[str, str]:
    return SOURCES.get(source) or (UNKNOWN_SOURCE_EMOJI, _clean(source, NAME_LIMIT) or "?")


def _author(mention: Mention) -> str:
    """ "Name (@handle)", or whichever of the two the source gave."""
    name = _clean(mention.author_name, NAME_LIMIT)
    handle = _clean(mention.author_handle, NAME_LIMIT)
    if name and handle and name != handle:
        return f"{name} ({handle})"
    return name or handle


def _body(mention: Mention) -> str:
    """The bold title over the start of the text, as unescaped mrkdwn."""
    title = _clean(mention.title, TITLE_LIMIT)
    lines = [one_line(line) for line in mention.text.splitlines()]  # a Mention holds no invisible characters
    lines = [line for line in lines if line]
    # Past a few paragraphs, the rest runs on: a text of many short lines would make a very tall card.
    head, rest = lines[: SNIPPET_LINES - 1], lines[SNIPPET_LINES - 1 :]
    snippet = truncate("\n".join([*head, " ".join(rest)] if rest else head), SNIPPET_LIMIT)
    if title and snippet:
        return f"*{title}*\n{snippet}"
    return f"*{title}*" if title else snippet


def _details(mention: Mention, watcher: str, lang: str) -> list[dict[str, object]]:
    elements = []
    engagement = " · ".join(
        f"{sign} {format_count(mention.engagement[key], lang)}"
        for key, sign in ENGAGEMENT_SIGNS
        if key in mention.engagement
    )
    if engagement:
        elements.append(plain_text(engagement, TEXT_LIMIT))
    label = _link_label(mention.url)
    if label:
        linked = link(mention.url, label)
        text = linked if len(linked) <= LINK_MARKUP_LIMIT else escape(label)
        elements.append(markup(f":link: {text}"))
    elements.append(mrkdwn(t("card.watcher", lang, name=_clean(watcher, NAME_LIMIT))))
    return elements


def _link_label(url: str) -> str:
    """The URL as people read it: shortened, without http(s)://. Showing the real target means no spoofing."""
    return _clean(url_as_shown(_WEB_SCHEME.sub("", url.strip())), LINK_LABEL_LIMIT)


def _buttons(mention: Mention, mention_id: int, lang: str) -> list[dict[str, object]]:
    buttons: list[dict[str, object]] = []
    for action_id, label_key, style in MENTION_BUTTONS:
        button: dict[str, object] = {
            "type": "button",
            "action_id": action_id,
            "text": plain_text(t(label_key, lang), 75),
            "value": str(mention_id),
        }
        if style:
            button["style"] = style
        buttons.append(button)
    url = web_url(mention.url)
    if url is not None and len(url) <= BUTTON_URL_LIMIT:
        buttons.append(
            {"type": "button", "action_id": "mention_open", "text": plain_text(t("button.open", lang), 75), "url": url}
        )
    return buttons


def stance_menu(stance: Stance, mention_id: int, lang: str) -> dict[str, object]:
    """The menu that shows the mention's stance and sets the team's: each option's value is "mention id:stance".
    The current one says who gave it (the team, the model, or the word list's estimate)."""
    options = []
    for label in LABELS:
        text = t(f"card.stance.{label}", lang)
        if label == stance.label:
            text = t(f"card.stance.by.{stance.by}", lang, stance=text)
        options.append({"text": plain_text(text, 75), "value": f"{mention_id}:{label}"})
    return {
        "type": "static_select",
        "action_id": STANCE_ACTION,
        "placeholder": plain_text(t("card.stance.placeholder", lang), 150),
        "options": options,
        "initial_option": options[LABELS.index(stance.label)],
    }


def stance_shares_line(tallied: StanceTally, lang: str) -> str:
    """ "Against 60% · For 20% · …" with, when the word list estimated every stance, "(estimate)"; when it
    estimated some, how many. Plain text of ours (numbers and catalogue words)."""
    shares = " · ".join(
        t("digest.themes.stance", lang, stance=t(f"stance.{share.label}", lang), percent=share.percent)
        for share in tallied.shares
        if share.count
    )
    if tallied.all_estimated:
        return f"{shares} {t('stance.estimate_tag', lang)}"
    if tallied.estimated:
        return f"{shares} {t_plural('stance.estimated_some', tallied.estimated, lang, count=tallied.estimated)}"
    return shares


def _fallback(mention: Mention, lang: str) -> str:
    """The notification text: who said what where, in one short line."""
    _, source = _source(mention.source)
    author = _clean(mention.author_handle, NAME_LIMIT) or _clean(mention.author_name, NAME_LIMIT)
    excerpt = _clean(mention.title or mention.text, EXCERPT_LIMIT) or _link_label(mention.url) or "…"
    if author:
        return t("card.fallback", lang, source=source, author=author, excerpt=excerpt)
    return t("card.fallback_anonymous", lang, source=source, excerpt=excerpt)


def _clean(text: str, limit: int) -> str:
    """Outside text for one line: whitespace collapsed, invisible characters dropped, cut to `limit`."""
    return truncate(one_line(without_invisible(text)), limit)


@dataclass(frozen=True, slots=True)
class AlsoSeen:
    """Another mention of the story a card tells: where it was seen (all outside text)."""

    source: str
    url: str
    author: str = ""


@dataclass(frozen=True, slots=True)
class CampaignFlag:
    """Near-identical posts from many accounts in a short while: a signal of coordination, not a proof."""

    posts: int
    authors: int
    window: timedelta


def campaign_warning(flag: CampaignFlag, lang: str) -> str:
    """The warning line, as markup (only our words and numbers)."""
    return t(
        "story.campaign",
        lang,
        copies=t_plural("story.campaign.posts", flag.posts, lang, count=flag.posts),
        accounts=t_plural("story.campaign.accounts", flag.authors, lang, count=flag.authors),
        window=format_duration(flag.window, lang),
    )


def campaign_notice(mention: Mention, flag: CampaignFlag, *, lang: str) -> dict[str, object]:
    """The one message that tells the channel about a possible coordinated campaign, quoting its first post."""
    warning = campaign_warning(flag, lang)
    excerpt = t("story.campaign_example", lang, excerpt=mention_excerpt(mention))
    return {
        "text": escape(f"{warning} {excerpt}"),
        "blocks": [
            {"type": "section", "block_id": "campaign", "text": markup(warning)},
            {"type": "context", "block_id": "example", "elements": [mrkdwn(excerpt)]},
        ],
    }


def _also_seen(members: Sequence[AlsoSeen], lang: str) -> dict[str, object]:
    shown = [_also_seen_item(member) for member in members[:ALSO_SEEN_SHOWN]]
    sources = ", ".join(shown)
    if len(members) > ALSO_SEEN_SHOWN:
        more = len(members) - ALSO_SEEN_SHOWN
        sources = t_plural("story.also_seen_more", more, lang, sources=sources, count=format_count(more, lang))
    return markup(t("story.also_seen", lang, sources=sources), ALSO_SEEN_LIMIT)


def _also_seen_item(member: AlsoSeen) -> str:
    """ "Bluesky (alice)", the source's name linked to the mention when its link is short enough."""
    name = _source(member.source)[1]
    label = link(member.url, name) if len(member.url) <= ALSO_SEEN_URL_LIMIT else escape(name)
    author = _clean(member.author, NAME_LIMIT)
    return f"{label} ({escape(author)})" if author else label
