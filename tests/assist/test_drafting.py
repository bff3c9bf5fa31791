"""Drafted replies through the real openai client and a fake server, the charter template fallback, and finding
what a draft answers (a mention with its official answer, or a Slack message)."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.openai_api import FakeOpenAI, LLMFactory
from veilleur.assist.conversations import ConversationFetcher, Post, WindowRef
from veilleur.assist.drafting import (
    Drafter,
    DraftRequest,
    context_lines,
    hostile_guidance,
    official_answer,
    resolve_subject,
    template_draft,
)
from veilleur.assist.prompt_book import Charter, PromptBook
from veilleur.core.errors import UserError
from veilleur.core.hostility import HostileMark
from veilleur.core.mentions import Mention
from veilleur.slack.targets import MentionRef, UrlRef
from veilleur.storage.escalations import EscalationStore
from veilleur.storage.store import Store, iso

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def post(text: str, author: str = "Ann", *, lang: str | None = None, key: str = "") -> Post:
    return Post(author=author, handle="@ann", text=text, source="mastodon", lang=lang, key=key, name=author)


@pytest.fixture
def drafter(make_llm: LLMFactory, store: Store) -> Callable[..., Drafter]:
    """`drafter(openai_api_or_None, lang="en", **env)`."""

    def make(openai_api: FakeOpenAI | None, lang: str = "en", **env: str) -> Drafter:
        return Drafter(make_llm(openai_api, **env), PromptBook(), lang)

    return make


async def test_the_prompt_holds_the_charter_the_conversation_and_the_official_answer(
    openai_api: FakeOpenAI, store: Store, drafter: Callable[..., Drafter]
) -> None:
    openai_api.reply = lambda request: "Hello Ann, the buses run every 10 minutes."
    subject = post("When do the replacement buses run?", key="2")
    request = DraftRequest(
        subject=subject,
        conversation=(post("The tram is closed", "Bob", key="1"), subject, post("Same question", "Cy", key="3")),
        official_answer="Replacement buses every 10 minutes until June.",
        instructions="mention the website",
    )
    draft = await drafter(openai_api).draft(request)
    assert draft.text == "Hello Ann, the buses run every 10 minutes." and draft.fallback is None and draft.used_answer
    (sent,) = openai_api.requests
    charter = PromptBook().charter()
    assert charter.section("forbidden topics") in sent.system and charter.section("signature") in sent.system
    assert "in English" in sent.system and "mention the website" in sent.system
    assert "Replacement buses every 10 minutes until June." in sent.user
    assert "Bob: The tram is closed" in sent.user and "Cy: Same question" in sent.user
    assert sent.user.index("Bob:") < sent.user.index("MESSAGE TO ANSWER") < sent.user.index("OFFICIAL ANSWER")


@pytest.mark.parametrize(
    ("subject", "bot_language", "name"),
    [
        (post("Quand passent les bus ?", lang="fr-FR"), "en", "French"),
        (post("Les travaux du tram sont encore en retard et personne ne nous dit rien"), "en", "French"),
        (post("When do the buses run? The works are late and nobody tells us"), "fr", "English"),
        (post("Tram!"), "fr", "French"),
    ],
)
async def test_drafts_are_in_the_language_of_the_message_answered(
    openai_api: FakeOpenAI, store: Store, subject: Post, bot_language: str, name: str, drafter: Callable[..., Drafter]
) -> None:
    await drafter(openai_api, lang=bot_language).draft(DraftRequest(subject=subject))
    assert f"in {name}," in openai_api.requests[0].system


@pytest.mark.parametrize(
    ("variant", "phrase"), [("shorter", "shorter"), ("formal", "more formal"), ("regenerate", "new version")]
)
async def test_buttons_rework_the_previous_draft(
    openai_api: FakeOpenAI, store: Store, variant: str, phrase: str, drafter: Callable[..., Drafter]
) -> None:
    request = DraftRequest(subject=post("Tram?"), variant=variant, previous="Hi! Buses every 10 min :)")
    await drafter(openai_api).draft(request)
    (sent,) = openai_api.requests
    assert phrase in sent.system.lower()
    assert "PREVIOUS DRAFT\nHi! Buses every 10 min :)" in sent.user


async def test_without_an_llm_the_charter_template_answers_in_the_message_language(
    store: Store, drafter: Callable[..., Drafter]
) -> None:
    request = DraftRequest(
        subject=post("Quand passent les bus ?", "Léa", lang="fr"), official_answer="Un bus toutes les 10 minutes."
    )
    draft = await drafter(None).draft(request)
    assert draft.fallback == "not_configured" and draft.lang == "fr" and draft.used_answer
    assert draft.text.startswith("Bonjour Léa,")
    assert "Voici la réponse du service concerné : Un bus toutes les 10 minutes." in draft.text
    assert draft.text.endswith("— L'équipe communauté d'Exempleville")


async def test_the_template_uses_the_bot_language_when_the_charter_lacks_the_message_language(
    store: Store, drafter: Callable[..., Drafter]
) -> None:
    draft = await drafter(None, lang="en").draft(DraftRequest(subject=post("Wann fährt der Bus?", lang="de")))
    assert draft.lang == "en" and draft.text.startswith("Hello Ann,")
    assert PromptBook().charter().section("signature") in draft.text
    assert "$answer" not in draft.text and "\n\n\n" not in draft.text


async def test_an_llm_timeout_gives_the_template_and_says_so(
    openai_api: FakeOpenAI, store: Store, drafter: Callable[..., Drafter]
) -> None:
    openai_api.delay = 30
    draft = await drafter(openai_api, LLM_TIMEOUT="1").draft(DraftRequest(subject=post("Tram late?")))
    assert draft.fallback == "timeout" and draft.text.startswith("Hello Ann,")


@pytest.mark.parametrize(("lang", "default", "chosen"), [("fr", "en", "fr"), ("de", "fr", "fr"), ("de", "it", "en")])
def test_the_hostile_guidance_is_in_the_posts_language_else_the_bots_else_the_first(
    lang: str, default: str, chosen: str
) -> None:
    charter = Charter.parse("## Hostile posts (en)\nDon't feed it.\n\n## Hostile posts (fr)\nNe pas alimenter.")
    guidance = hostile_guidance(charter, HostileMark(estimate=True), lang, default)
    assert guidance.lang == chosen and guidance.hostile == HostileMark(estimate=True)
    assert guidance.text == {"en": "Don't feed it.", "fr": "Ne pas alimenter."}[chosen]


async def test_a_hostile_post_gets_guidance_even_with_an_llm_which_is_not_asked(
    openai_api: FakeOpenAI, store: Store, drafter: Callable[..., Drafter]
) -> None:
    mark = HostileMark(estimate=False)
    draft = await drafter(openai_api).draft(DraftRequest(subject=post("Nice tram you have there"), hostile=mark))
    assert draft.hostile == mark and draft.text.startswith("Our policy: we do not answer abuse")
    assert draft.fallback is None and openai_api.requests == []


def test_template_without_fallback_sections_still_answers() -> None:
    draft = template_draft(
        Charter.parse("## Signature\n— Us"), DraftRequest(subject=post("Hi")), "fr", "en", reason="error"
    )
    assert draft.text.startswith("Hello Ann,") and draft.text.endswith("— Us")


def test_context_keeps_the_nearest_messages_within_budget() -> None:
    conversation = tuple(post(f"message {n} " + "word " * 50, f"u{n}", key=str(n)) for n in range(100))
    lines = context_lines(conversation, conversation[50], budget_tokens=600)
    authors = [line.split(":")[0] for line in lines]
    assert "u50" not in authors
    assert authors == sorted(authors, key=lambda a: int(a[1:]))
    assert {"u49", "u51"} <= set(authors) and "u0" not in authors


# Finding what to answer -------------------------------------------------------------------------------------


def stored_mention(store: Store, url: str = "https://m.example/@ann/1") -> int:
    mention = Mention(
        source="mastodon",
        external_id=url,
        url=url,
        text="Quand passent les bus ?",
        author_handle="@ann@m.example",
        author_name="Ann",
        lang="fr",
        author_reach=120,
    )
    store.record_poll("w", "C0CARDS", [mention], {}, backfill=1)
    return store.mention_ids_at_url(url)[0]


async def test_a_mention_is_answered_with_its_official_answer(store: Store) -> None:
    mention_id = stored_mention(store)
    records = EscalationStore(store)
    escalation = records.create(
        mention_id,
        card_id=None,
        watcher="w",
        channel="C0ESC",
        thread_ts=None,
        officials=["U0OFFICIAL"],
        user="U0HUMAN",
        via="command",
        note=None,
        now=NOW,
        next_reminder_at=None,
    )
    records.transition(
        escalation.id,
        "answered",
        allowed_from=("open",),
        user="U0OFFICIAL",
        now=NOW,
        state="answered",
        answered_at=iso(NOW),
        answered_by="U0OFFICIAL",
        answer="Every 10 minutes.",
    )
    assert official_answer(store, mention_id) == "Every 10 minutes."
    fetcher = ConversationFetcher(store, None, {}, [])
    subject = await resolve_subject(fetcher, UrlRef("https://m.example/@ann/1/"))
    assert subject.mention_id == mention_id and subject.official_answer == "Every 10 minutes."
    assert subject.post.text == "Quand passent les bus ?" and subject.post.lang == "fr"
    assert subject.post.author == "Ann (@ann@m.example)" and subject.post.name == "Ann"
    assert subject.thread is None  # its card was not posted yet


async def test_a_mention_without_escalation_has_no_official_answer(store: Store) -> None:
    mention_id = stored_mention(store)
    assert official_answer(store, mention_id) is None


@pytest.mark.parametrize(
    ("target", "key"),
    [
        (MentionRef(999), "assist.no_mention"),
        (UrlRef("https://nowhere.example/x"), "assist.unknown_url"),
        (WindowRef(timedelta(days=1)), "draft.usage"),
    ],
)
async def test_nothing_to_answer_is_a_conversation_error(store: Store, target, key: str) -> None:
    with pytest.raises(UserError) as problem:
        await resolve_subject(ConversationFetcher(store, None, {}, []), target)
    assert problem.value.key == key
