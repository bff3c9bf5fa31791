"""The summary and draft messages: Block Kit limits, hostile text (from people and from the LLM), both languages."""

import json
from datetime import timedelta

import pytest

from tests.support.block_kit import HOSTILE, assert_outside_text_is_inert, assert_within_block_kit_limits
from veilleur.assist.conversations import Conversation, Post
from veilleur.assist.draft_cards import code_block, draft_in_thread_notice, draft_message
from veilleur.assist.drafting import Draft
from veilleur.assist.summarize import AuthorStat, StanceLine, Summary, extractive_summary
from veilleur.assist.summary_cards import problem_message, summary_message, window_text, working_message
from veilleur.core.stance_synthesis import AuthorStance, synthesize
from veilleur.core.stances import LABELS


def hostile_post(n: int, length: int = 200) -> Post:
    return Post(author=f"{HOSTILE} troll{n}", handle=f"@t{n}", text=(HOSTILE + " ") * (length // len(HOSTILE) + 1),
                reach=10**n, labels=("troll",), source="mastodon", name="x")


def llm_summary(conversation: Conversation, **changes) -> Summary:
    posts = conversation.posts
    stat = AuthorStat(author=HOSTILE * 3, handle="@x", reach=12_345, posts=3, labels=("opposition", "troll"),
                      stances=(("against", 2), ("question", 1)))
    values = dict(
        conversation=conversation,
        covered=len(posts),
        stances=tuple(StanceLine(label, 3, 25, 2, 4_000, (("troll", 1),)) for label in LABELS),
        influential=(stat,) * 5,
        by_reach=True,
        labelled=(stat,) * 10,
        questions=posts[:5],
        main_points=tuple(f"{HOSTILE} point {n} " + "x" * 500 for n in range(6)),
        next_steps=tuple(f"{HOSTILE} step {n}" for n in range(4)),
        chunks=3,
    )
    values.update(changes)
    return Summary(**values)


def hostile_conversation(kind: str = "mention", count: int = 20) -> Conversation:
    return Conversation(kind=kind, posts=tuple(hostile_post(n % 8, 3000) for n in range(count)), channel="C0CHANNEL",
                        window=timedelta(days=3), source="mastodon", url=f"https://m.example/{HOSTILE}",
                        excerpt=HOSTILE * 20, problem="conversation.source_failed", problem_detail=HOSTILE * 30)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_an_llm_summary_of_hostile_text_is_inert_and_within_limits(lang: str) -> None:
    message = summary_message(llm_summary(hostile_conversation()), lang)
    assert_within_block_kit_limits(message)
    assert_outside_text_is_inert(message)
    assert len(json.dumps(message["blocks"])) < 12_000


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_an_extractive_summary_of_hostile_text_is_inert_and_within_limits(lang: str) -> None:
    summary = extractive_summary(hostile_conversation(count=500), reason="error", detail=HOSTILE)
    message = summary_message(summary, lang)
    assert_within_block_kit_limits(message)
    assert_outside_text_is_inert(message)


def test_a_thread_or_channel_title_links_only_the_channel() -> None:
    for kind in ("thread", "channel"):
        message = summary_message(llm_summary(hostile_conversation(kind)), "en")
        title = message["blocks"][0]["text"]["text"]
        assert "<#C0CHANNEL>" in title
        without_channel = json.loads(json.dumps(message).replace("<#C0CHANNEL>", "#C0CHANNEL"))
        assert_outside_text_is_inert(without_channel)
    bad = Conversation(kind="thread", posts=(), channel="<!channel>")
    assert "<!channel>" not in json.dumps(summary_message(llm_summary(bad), "en"))


def section_texts(message: dict) -> dict[str, str]:
    return {block["block_id"]: json.dumps(block, ensure_ascii=False) for block in message["blocks"]}


def test_the_numbers_shown_are_the_summary_numbers() -> None:
    conversation = Conversation(kind="mention", posts=tuple(Post("a", "a", "t") for _ in range(40)), source="reddit")
    stances = (StanceLine("for", 12, 30, 5, 12_300, ()), StanceLine("against", 20, 50, 3, None, (("opposition", 4),)),
               StanceLine("neutral", 6, 15, 6, None, ()), StanceLine("question", 2, 5, 2, None, ()))
    summary = llm_summary(conversation, stances=stances, labelled=(), influential=(), questions=())
    texts = section_texts(summary_message(summary, "en"))
    assert "For: *12* messages (30%) · 5 authors · reach 12.3K" in texts["stances"]
    assert "Against: *20* messages (50%) · 3 authors · including opposition 4" in texts["stances"]
    assert "40 messages covered" in texts["title"] and "Reddit" in texts["title"]
    assert "from 3 parts" in texts["how"]
    french = section_texts(summary_message(summary, "fr"))
    assert "Pour\u202f: *12* messages (30\u202f%) · 5 auteurs · audience 12,3\u00a0k" in french["stances"]
    assert "Contre\u202f: *20* messages (50\u202f%) · 3 auteurs · dont opposition 4" in french["stances"]


@pytest.mark.parametrize(
    ("reason", "english", "french"),
    [
        ("not_configured", "no LLM is configured", "aucun LLM n’est configuré"),
        ("timeout", "did not answer in time", "n’a pas répondu à temps"),
        ("error", "the LLM failed", "le LLM a échoué"),
        ("budget", "budget is spent", "budget de jetons LLM du jour est épuisé"),
    ],
)
def test_the_fallback_says_why(reason: str, english: str, french: str) -> None:
    conversation = Conversation(kind="mention", posts=(Post("a", "a", "Tram works again, what a mess"),))
    summary = extractive_summary(conversation, reason=reason, detail="HTTP 500")
    assert english in section_texts(summary_message(summary, "en"))["how"]
    assert french in section_texts(summary_message(summary, "fr"))["how"]
    assert "Extractive summary" in section_texts(summary_message(summary, "en"))["how"]


def test_extractive_next_steps_follow_from_the_figures() -> None:
    angry = [Post(f"u{n}", f"u{n}", "What a disaster, a scandal") for n in range(6)]
    posts = (*angry, Post("q", "q", "When does it reopen?"))
    texts = section_texts(summary_message(extractive_summary(Conversation("mention", posts), reason="error"), "en"))
    assert "Answer the question above" in texts["next_steps"]
    assert "Most messages are against (86%)" in texts["next_steps"]


def test_windows_read_naturally() -> None:
    assert window_text(timedelta(hours=24), "en") == "the last day"
    assert window_text(timedelta(hours=24), "fr") == "le dernier jour"
    assert window_text(timedelta(days=3), "fr") == "les 3 derniers jours"
    assert window_text(timedelta(hours=12), "en") == "the last 12 hours"
    assert window_text(timedelta(weeks=2), "en") == "the last 2 weeks"


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_working_and_problem_messages(lang: str) -> None:
    for kind in ("summary", "draft", "redraft"):
        assert_within_block_kit_limits(working_message(kind, lang))
    problem = problem_message("assist.unknown_url", lang, url=HOSTILE)
    assert_within_block_kit_limits(problem)
    assert_outside_text_is_inert(problem)


# Drafts --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("requester", [None, "U0HUMAN"])
def test_a_hostile_draft_is_shown_inert_in_a_code_block(lang: str, requester: str | None) -> None:
    text = f"```\n{HOSTILE}\n```" + " ignore all that" * 300
    draft = Draft(text=text, lang="fr", fallback="error", fallback_detail=HOSTILE, used_answer=True)
    message = draft_message(draft, subject=hostile_post(1), state="{}", lang=lang, requester=requester)
    assert_within_block_kit_limits(message)
    without_requester = json.loads(json.dumps(message).replace(f"<@{requester}>", "@requester"))
    assert_outside_text_is_inert(without_requester)
    body = section_texts(message)["draft"]
    shown = json.loads(body)["text"]["text"]
    assert shown.startswith("```\n") and shown.endswith("\n```") and shown.count("```") == 2


def test_a_draft_has_its_three_buttons_carrying_the_state() -> None:
    draft = Draft(text="Hello", lang="en")
    message = draft_message(draft, subject=Post("Ann", "@ann", "Hi", source="bluesky"), state='{"m": 4}', lang="en")
    (actions,) = [block for block in message["blocks"] if block["type"] == "actions"]
    assert [(e["action_id"], e["text"]["text"], e["value"]) for e in actions["elements"]] == [
        ("draft_regenerate", "Regenerate", '{"m": 4}'),
        ("draft_shorter", "Shorter", '{"m": 4}'),
        ("draft_formal", "More formal", '{"m": 4}'),
    ]
    texts = section_texts(message)
    assert "Only you can see this draft" in texts["how"] and "Drafted by an LLM, in EN" in texts["how"]
    assert "Bluesky" in texts["title"] and "never posts" in texts["copy_hint"]


def test_code_block_keeps_the_text_and_escapes_it() -> None:
    assert code_block("a < b & c") == "```\na &lt; b &amp; c\n```"


def test_the_thread_notice_links_the_draft() -> None:
    notice = draft_in_thread_notice("https://fake.slack.com/archives/C1/p1", "en")
    assert "<https://fake.slack.com/archives/C1/p1|" in notice["text"]
    assert_within_block_kit_limits(notice)


def test_with_reach_tiers_a_summary_shows_tiers_and_what_a_stance_reaches_at_least() -> None:
    conversation = Conversation(kind="mention", posts=(Post("a", "a", "t"),), source="mastodon", reach_tiers=True)
    stances = (StanceLine("for", 12, 30, 5, 12_000, ()), StanceLine("against", 20, 50, 3, None, ()))
    stat = AuthorStat(author="Ann", handle="@ann", reach=1000, posts=3, labels=("journalist",), stances=())
    summary = llm_summary(conversation, stances=stances, influential=(stat,), labelled=(stat,), questions=())
    texts = section_texts(summary_message(summary, "en"))
    assert "For: *12* messages (30%) · 5 authors · reach at least 12K" in texts["stances"]
    assert "*Ann* · 1K–10K followers · 3 messages · journalist" in texts["influential"]
    assert "1,000" not in texts["influential"] and "1K followers" not in texts["influential"]
    french = section_texts(summary_message(summary, "fr"))
    assert "audience d’au moins 12\u00a0k" in french["stances"] and "1\u00a0k à 10\u00a0k abonnés" in french["labelled"]


@pytest.mark.parametrize(("lang", "sentence"), [
    ("en", "67% of the 3 authors are against, 1 of them high-reach; the elected official is for"),
    ("fr", "67\u202f% des 3 auteurs sont contre, dont 1 à forte audience\u202f; l’élu est pour"),
])
def test_the_stances_section_ends_with_the_synthesis_sentence(lang: str, sentence: str) -> None:
    people = [AuthorStance("against", True), AuthorStance("against", False), AuthorStance("for", False, ("elected",))]
    message = summary_message(llm_summary(hostile_conversation(), synthesis=synthesize(people)), lang)
    (stances,) = [block for block in message["blocks"] if block.get("block_id") == "stances"]
    assert stances["text"]["text"].splitlines()[-1] == f"• {sentence}"
