"""The message that shows a draft, here the one for a hostile post: the charter's guidance, escaped, and nothing to
copy and post."""

from __future__ import annotations

import json

from tests.support.block_kit import (
    HOSTILE,
    assert_outside_text_is_inert,
    assert_within_block_kit_limits,
    block,
    has_block,
)
from veilleur.assist.conversations import Post
from veilleur.assist.draft_cards import DRAFT_ANYWAY, draft_message
from veilleur.assist.drafting import Draft
from veilleur.core.hostility import HostileMark

SUBJECT = Post(author=f"troll {HOSTILE}", handle="@x", text="…", source="mastodon")


def guidance(mark: HostileMark, text: str = "Do not feed it.", **options: str) -> dict[str, object]:
    message = draft_message(Draft(text=text, lang="en", hostile=mark), subject=SUBJECT, state='{"m": 1, "a": 1}',
                            lang="en", **options)
    assert_within_block_kit_limits(message)
    return message


def test_a_hostile_posts_guidance_has_a_heading_says_who_marked_it_and_offers_a_reply_anyway() -> None:
    message = guidance(HostileMark(estimate=True))
    assert block(message, "title")["text"]["text"].startswith(":shield: *Hostile post* from troll &lt;!channel&gt;")
    notes = [element["text"] for element in block(message, "how")["elements"]]
    assert notes == ["Marked hostile by the word list (estimate).", "Only you can see this draft."]
    assert block(message, "guidance")["text"]["text"] == "Do not feed it."
    (button,) = block(message, "guidance_actions")["elements"]
    assert button["action_id"] == DRAFT_ANYWAY and button["value"] == '{"m": 1, "a": 1}'
    assert "```" not in json.dumps(message) and not has_block(message, "draft")


def test_the_guidance_is_escaped_and_says_whom_it_was_asked_for() -> None:
    assert_outside_text_is_inert(guidance(HostileMark(estimate=False), text=f"Policy {HOSTILE}"))
    message = guidance(HostileMark(estimate=False), requester="U0ASK")
    notes = [element["text"] for element in block(message, "how")["elements"]]
    assert notes == ["Marked hostile by the LLM.", "Drafted for <@U0ASK>."]


def test_a_long_guidance_stays_within_block_kit_limits() -> None:
    guidance(HostileMark(estimate=True), text="- keep a screenshot & report it <b>\n" * 400)
