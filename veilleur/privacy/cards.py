"""What /privacy shows: the erasure's question and its outcome (pure: data in, text or blocks out)."""

from __future__ import annotations

from typing import Any

from veilleur.core.i18n import t, t_plural
from veilleur.privacy.export import subject
from veilleur.privacy.requests import AuthorRequest
from veilleur.slack.cards import confirm_or_cancel
from veilleur.slack.markup import escape, markup

FORGET_CONFIRM = "privacy_forget_confirm"
FORGET_CANCEL = "privacy_forget_cancel"


def author_markup(request: AuthorRequest, lang: str) -> str:
    """The author as a sentence names them, escaped: what the admin typed is outside text."""
    return escape(subject(request.author, request.source, lang))


def forget_question(
    request: AuthorRequest, *, mentions: int, cards: int, card_retention: str, lang: str
) -> dict[str, Any]:
    """Asked before an erasure, with what it would remove: nothing happens until the admin clicks Erase."""
    author = author_markup(request, lang)
    question = " ".join([t("privacy.forget.question", lang, author=author),
                         t_plural("privacy.forget.held", mentions, lang, count=mentions),
                         cards_sentence(cards, card_retention, lang)]).strip()
    buttons = confirm_or_cancel(
        "forget", request.as_value(),
        confirm=(FORGET_CONFIRM, t("privacy.forget.button", lang)),
        cancel=(FORGET_CANCEL, t("privacy.forget.cancel", lang)),
        title=t("privacy.forget.confirm_title", lang),
        text=t("privacy.forget.confirm_text", lang, author=subject(request.author, request.source, lang)),
    )
    return {"text": question, "blocks": [
        {"type": "section", "block_id": "question", "text": markup(question)}, buttons,
    ]}


def forget_done(request: AuthorRequest, *, mentions: int, cards: int, card_retention: str, lang: str) -> str:
    """Markup: what the erasure removed, and what becomes of the cards in Slack."""
    done = t_plural("privacy.forget.done", mentions, lang, author=author_markup(request, lang), count=mentions)
    return f"{done} {cards_sentence(cards, card_retention, lang)}".strip()


def cards_sentence(cards: int, card_retention: str, lang: str) -> str:
    """What SLACK_CARD_RETENTION does to the author's cards in Slack ("" when there are none)."""
    return t_plural(f"privacy.forget.cards.{card_retention}", cards, lang, count=cards) if cards else ""
