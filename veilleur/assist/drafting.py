"""Drafted replies to a mention or a Slack message, in the team's voice. A person always posts them: the bot never
writes on a social network.

A draft is written in the language of the message it answers (the source's tag, else detected, else
BOT_LANGUAGE), from that message, its conversation, the team's charter and any official answer recorded by an
escalation or, for a post repeating a false claim the team follows, the claim's official correction. Without an
LLM, or when it fails, a template from the charter answers instead, labelled as such.

A post marked hostile (its card says so: the model's flag, else the word list's estimate; the word list for a
Slack message or a URL) gets no reply at all, drafted or templated: the charter's "Hostile posts (xx)" guidance is
shown instead (do not feed it, hide or report it, escalate threats), and no LLM is asked. The team may still ask
for a reply ("Draft a reply anyway") when the mark is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from string import Template

from veilleur.assist.conversations import ConversationFetcher, Post, Target
from veilleur.assist.llm import LLM, LLMUnavailable, estimate_tokens
from veilleur.assist.prompt_book import Charter, Fence, PromptBook
from veilleur.assist.pseudonyms import REAL_NAMES, Pseudonyms
from veilleur.core.errors import UserError
from veilleur.core.hostility import HostileMark, hostile_mark
from veilleur.core.i18n import Phrase, t
from veilleur.core.language import base_language, detect_language, language_name
from veilleur.core.text import one_line, truncate
from veilleur.slack.links import MessageRef
from veilleur.slack.targets import MentionRef, UrlRef
from veilleur.storage.claims import Claim, ClaimRecords
from veilleur.storage.escalations import EscalationStore
from veilleur.storage.labels import MentionLabels
from veilleur.storage.store import Store

VARIANTS = ("initial", "regenerate", "shorter", "formal")
# What each button asks of the model, on top of the draft template.
VARIANT_INSTRUCTIONS = {
    "initial": "",
    "regenerate": "Write a new version, worded differently from the previous draft.",
    "shorter": "Make it clearly shorter than the previous draft, keeping what matters.",
    "formal": "Make it more formal than the previous draft.",
}
DRAFT_CHARS = 2500
CONTEXT_MESSAGES = 40
MESSAGE_CHARS = 1000
ANSWER_CHARS = 3000
DRAFT_ANSWER_TOKENS = 800
INSTRUCTION_TOKENS = 1500
DEFAULT_FALLBACK = "Hello $author,\n\nThank you for your message.\n$answer\n\n$signature"
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class DraftRequest:
    """What to answer (`subject`), in which conversation, with which official answer and extra instructions.

    `variant` is one of VARIANTS; all but "initial" rework `previous`, the draft shown before. `hostile`: the post
    is marked hostile, and the charter's guidance is given instead of a reply (None when the team asked for a reply
    anyway).
    """

    subject: Post
    conversation: tuple[Post, ...] = ()
    official_answer: str | None = None
    instructions: str = ""
    variant: str = "initial"
    previous: str | None = None
    hostile: HostileMark | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    """The reply (plain, outside text), its language, and why a template wrote it when `fallback` is set.

    With `hostile` set, `text` is not a reply but the charter's guidance for a hostile post (the team's text:
    escaped like the rest when shown)."""

    text: str
    lang: str
    fallback: str | None = None
    fallback_detail: str | Phrase = ""
    used_answer: bool = False
    hostile: HostileMark | None = None


@dataclass(frozen=True, slots=True)
class DraftSubject:
    """What a draft answers, and where: `thread` is the (channel, ts) of the Slack thread it belongs to (the
    mention's card, or the Slack message's own thread), when there is one. `hostile`: the post is marked hostile."""

    post: Post
    conversation: tuple[Post, ...]
    mention_id: int | None
    official_answer: str | None
    thread: tuple[str, str] | None
    hostile: HostileMark | None = None
    # The false claim the mention repeats (watching/claims.py): its correction is part of the official answer.
    claim: Claim | None = None


def official_answer(store: Store, mention_id: int, claim: Claim | None = None) -> str | None:
    """The latest answer an official recorded for the mention through an escalation (escalation_store.py), and the
    official correction of the false claim it repeats: both are the team's own word, what a reply relies on."""
    escalation = EscalationStore(store).answered_for_mention(mention_id)
    answers = [escalation.answer if escalation is not None else None, claim.correction if claim else None]
    return "\n\n".join(answer for answer in answers if answer) or None


async def resolve_subject(fetcher: ConversationFetcher, target: Target) -> DraftSubject:
    """The mention (by id, URL, or its card's link) or the Slack message that `target` points at.

    Raises UserError when there is nothing to answer there.
    """
    if isinstance(target, MessageRef):
        mention_id = fetcher.mention_id_for_card(target.channel, target.ts)
        if mention_id is None:
            root = target.thread_ts or target.ts
            thread = await fetcher.slack_thread(target.channel, root)
            post = next((post for post in thread.posts if post.key == target.ts), None)
            if post is None:
                raise UserError("assist.no_message")
            return DraftSubject(post, thread.posts, None, None, (target.channel, root), hostile_mark(None, post.text))
    elif isinstance(target, UrlRef):
        mention_id = fetcher.mention_id_for_url(target.url)
    elif isinstance(target, MentionRef):
        mention_id = target.mention_id
    else:
        raise UserError("draft.usage")
    mention = fetcher.mention(mention_id)
    conversation = await fetcher.mention_conversation(mention_id)
    claim = ClaimRecords(fetcher.store).claim_of_mention(mention_id)
    return DraftSubject(
        post=fetcher.mention_post(mention),
        conversation=conversation.posts,
        mention_id=mention_id,
        official_answer=official_answer(fetcher.store, mention_id, claim),
        thread=fetcher.card_thread(mention_id),
        hostile=MentionLabels(fetcher.store).hostile_mark(mention_id, mention),
        claim=claim,
    )


class Drafter:
    def __init__(self, llm: LLM, prompts: PromptBook, default_lang: str) -> None:
        self.llm = llm
        self.prompts = prompts
        self.default_lang = default_lang

    def language_of(self, post: Post) -> str:
        return base_language(post.lang) or detect_language(post.text) or self.default_lang

    async def draft(self, request: DraftRequest) -> Draft:
        lang = self.language_of(request.subject)
        charter = self.prompts.charter()
        if request.hostile is not None:
            return hostile_guidance(charter, request.hostile, lang, self.default_lang)
        if not self.llm.configured:
            return template_draft(charter, request, lang, self.default_lang, reason="not_configured")
        try:
            text = await self._write(request, lang, charter)
        except LLMUnavailable as failure:
            return template_draft(
                charter, request, lang, self.default_lang, reason=failure.reason, detail=failure.detail
            )
        return Draft(text=truncate(text.strip(), DRAFT_CHARS), lang=lang, used_answer=bool(request.official_answer))

    async def _write(self, request: DraftRequest, lang: str, charter: Charter) -> str:
        fence = Fence.new()
        template = self.prompts.template("draft")
        budget = self.llm.input_tokens - INSTRUCTION_TOKENS - estimate_tokens(template + charter.text)
        pseudonyms = Pseudonyms(self.default_lang, active=self.llm.pseudonymise)
        for post in (request.subject, *request.conversation):
            pseudonyms.author(post.handle, post.name)
        prompt = self.prompts.prompt(
            "draft",
            fence.wrap(draft_data(request, budget, pseudonyms)),
            fence,
            charter=charter.text,
            language=language_name(lang),
            source=request.subject.source or "the web",
            variant=VARIANT_INSTRUCTIONS[request.variant],
            instructions=one_line(pseudonyms.hide(request.instructions)),
        )
        # "Hello Author 1" becomes "Hello Jean Dupont": the reply the team reads names the person it answers.
        return pseudonyms.reveal(await self.llm.complete("draft", prompt, max_tokens=DRAFT_ANSWER_TOKENS))


def draft_data(request: DraftRequest, budget_tokens: int, pseudonyms: Pseudonyms = REAL_NAMES) -> str:
    """The outside text of a draft request, as one block: conversation, message to answer, official answer,
    previous draft. The conversation keeps the messages nearest the one answered, within `budget_tokens`.
    Active `pseudonyms` hide the people in all of it (the official answer and the previous draft name them too)."""
    parts = [f"MESSAGE TO ANSWER\n{message_line(request.subject, pseudonyms)}"]
    if request.official_answer:
        parts.append(f"OFFICIAL ANSWER (what the team's official answered; rely on it)\n"
                     f"{truncate(pseudonyms.hide(request.official_answer.strip()), ANSWER_CHARS)}")
    if request.previous:
        parts.append(f"PREVIOUS DRAFT\n{truncate(pseudonyms.hide(request.previous.strip()), DRAFT_CHARS)}")
    room = budget_tokens - sum(estimate_tokens(part) for part in parts)
    context = context_lines(request.conversation, request.subject, room, pseudonyms)
    if context:
        parts.insert(0, "CONVERSATION (oldest first)\n" + "\n".join(context))
    return "\n\n".join(parts)


def message_line(post: Post, pseudonyms: Pseudonyms = REAL_NAMES) -> str:
    """"Ann (@ann): text", on one line (with active `pseudonyms`, "Author 2: text")."""
    author = pseudonyms.author(post.handle, post.name, shown=post.author)
    return f"{one_line(author)}: {truncate(one_line(pseudonyms.hide(post.text)), MESSAGE_CHARS)}"


def context_lines(
    conversation: Sequence[Post], subject: Post, budget_tokens: int, pseudonyms: Pseudonyms = REAL_NAMES
) -> list[str]:
    """Lines for the messages around `subject` (up to CONTEXT_MESSAGES, nearest first), in conversation order."""
    others = [index for index, post in enumerate(conversation) if not _same(post, subject)]
    position = next((index for index, post in enumerate(conversation) if _same(post, subject)), 0)
    nearest = sorted(others, key=lambda index: (abs(index - position), index))[:CONTEXT_MESSAGES]
    chosen: list[int] = []
    used = 0
    for index in nearest:
        cost = estimate_tokens(conversation[index].text[:MESSAGE_CHARS]) + 10
        if used + cost > budget_tokens:
            break
        chosen.append(index)
        used += cost
    return [message_line(conversation[index], pseudonyms) for index in sorted(chosen)]


def template_draft(
    charter: Charter, request: DraftRequest, lang: str, default_lang: str, *, reason: str, detail: str | Phrase = ""
) -> Draft:
    """The no-LLM draft: the charter's "## Fallback reply (xx)" in the message's language if it has one (else
    BOT_LANGUAGE's, else the first), with the official answer through "## Fallback answer (xx)"."""
    languages = charter.languages_with("fallback reply")
    chosen = next((code for code in (lang, default_lang, *languages) if code in languages), None)
    template = charter.section(f"fallback reply ({chosen})") if chosen else DEFAULT_FALLBACK
    answer = ""
    if request.official_answer:
        wrapper = charter.section(f"fallback answer ({chosen})") if chosen else ""
        official = request.official_answer.strip()
        answer = Template(wrapper).safe_substitute(answer=official) if wrapper else official
    text = Template(template).safe_substitute(
        author=one_line(request.subject.name or request.subject.author),
        answer=answer,
        signature=charter.section("signature"),
    )
    return Draft(
        text=truncate(_BLANK_LINES.sub("\n\n", text).strip(), DRAFT_CHARS),
        lang=chosen or "en",
        fallback=reason,
        fallback_detail=detail,
        used_answer=bool(request.official_answer),
    )


def hostile_guidance(charter: Charter, mark: HostileMark, lang: str, default_lang: str) -> Draft:
    """The charter's "## Hostile posts (xx)" in the post's language if it has one (else BOT_LANGUAGE's, else the
    first); a charter without the section gets the catalogue's short version of the usual policy."""
    languages = charter.languages_with("hostile posts")
    chosen = next((code for code in (lang, default_lang, *languages) if code in languages), None)
    if chosen is None:
        return Draft(text=t("draft.hostile.no_charter", default_lang), lang=default_lang, hostile=mark)
    return Draft(text=truncate(charter.section(f"hostile posts ({chosen})"), DRAFT_CHARS), lang=chosen, hostile=mark)


def _same(post: Post, subject: Post) -> bool:
    if post.key and subject.key:
        return post.key == subject.key
    return post.author == subject.author and post.text == subject.text
