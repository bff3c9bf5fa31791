"""Listeners called alone, as Bolt would call them, with plain async recorders for `ack` and `respond`.

The services are the bot's own (open_services, with a Slack client never called); the end-to-end tests beside
this file send the same requests signed, through the whole app.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from handlers import card_actions, draft, escalation, summarize, watch
from handlers.watch import TEST_WINDOW, TESTS_PER_USER, TrialQuota, Watching
from tests.support.listeners import UNUSED_CLIENT, Recorder
from veilleur.assist.summary_cards import problem_message
from veilleur.core.i18n import t
from veilleur.core.settings import parse_settings
from veilleur.runtime import open_services
from veilleur.services import Services
from veilleur.slack.admin_access import AdminAccess
from veilleur.watching import views

LANG = "en"
USER = "U0ANN"


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    (tmp_path / "watchers.toml").write_text(
        '[[watcher]]\nname = "news"\nsource = "rss"\nurl = "https://news.example/feed"\nquery = "tram"\n'
        'channel = "C0NEWS"\n'
    )
    settings = parse_settings(
        {"DATABASE_PATH": str(tmp_path / "veilleur.db"), "WATCHERS_FILE": str(tmp_path / "watchers.toml"),
         "ADMIN_USERS": "U0BOSS"}
    )
    services = open_services(settings, UNUSED_CLIENT)
    yield services
    await services.aclose()


def watching_of(services: Services, quota: TrialQuota | None = None) -> Watching:
    access = AdminAccess(services.settings, UNUSED_CLIENT)
    quota = quota or TrialQuota(TESTS_PER_USER, TEST_WINDOW)
    return Watching(services.catalog, services.settings, access, services.audit, quota)


def command(text: str) -> dict[str, str]:
    return {"text": text, "user_id": USER, "channel_id": "C0HERE", "trigger_id": "1.2.3"}


@pytest.mark.parametrize("text", ["", "help", "frobnicate", "pause"])
async def test_watch_answers_its_usage_to_what_it_does_not_know(services: Services, text: str) -> None:
    ack, respond = Recorder(), Recorder()
    await watch.handle_watch(ack, command(text), UNUSED_CLIENT, respond, watching=watching_of(services))
    assert ack.calls == [{"response_type": "ephemeral", "text": views.usage(LANG)}]
    assert respond.calls == []


async def test_watch_test_is_refused_past_the_quota_without_fetching(services: Services) -> None:
    quota = TrialQuota(limit=1, window=60.0, clock=lambda: 1000.0)
    assert quota.wait(USER) == 0  # the one test allowed is used up
    ack, respond = Recorder(), Recorder()
    await watch.handle_watch(ack, command("test tram"), UNUSED_CLIENT, respond, watching=watching_of(services, quota))
    refusal = "Too many tests: at most 1 a minute for each person. Try again in 60 seconds."
    assert ack.calls == [{"response_type": "ephemeral", "text": refusal}]
    assert respond.calls == []  # no "running" message, no trial


async def test_watch_changes_are_refused_to_whoever_is_not_an_admin(services: Services) -> None:
    ack, respond = Recorder(), Recorder()
    await watch.handle_watch(ack, command("reload"), UNUSED_CLIENT, respond, watching=watching_of(services))
    assert ack.calls == [{"response_type": "ephemeral", "text": watching_of(services).refusal()}]


@pytest.mark.parametrize(
    ("text", "echoed"), [("hello", "hello"), ("&lt;b&gt;tram&lt;/b&gt; now", "&lt;b&gt;tram&lt;/b&gt;")]
)
async def test_flag_with_a_bad_target_says_which_word_it_could_not_read(
    services: Services, text: str, echoed: str
) -> None:
    escalations = escalation.Escalations(services.escalations, LANG, frozenset({"eyes"}))
    ack, respond = Recorder(), Recorder()
    await escalation.handle_flag(ack, command(text), respond, escalations=escalations)
    assert ack.calls == [{}]
    expected = t("flag.bad_target", LANG, target=echoed)
    assert respond.calls == [{"text": expected, "response_type": "ephemeral", "replace_original": False}]


async def test_flag_of_an_unknown_mention_says_so(services: Services) -> None:
    escalations = escalation.Escalations(services.escalations, LANG, frozenset())
    ack, respond = Recorder(), Recorder()
    await escalation.handle_flag(ack, command("#404"), respond, escalations=escalations)
    assert respond.calls[0]["text"] == t("flag.not_found", LANG, target="404")


@pytest.mark.parametrize("text", ["tram", "3d please", "99d"])
async def test_summarize_answers_its_usage_to_a_bad_target(services: Services, text: str) -> None:
    summaries = summarize.Summaries(services.conversations, services.summarizer, services.audit, LANG)
    ack, respond = Recorder(), Recorder()
    await summarize.handle_command(ack, command(text), respond, summaries=summaries)
    assert ack.calls == [{"response_type": "ephemeral", **problem_message("summarize.usage", LANG)}]
    assert respond.calls == []


@pytest.mark.parametrize("text", ["", "tram be kind", "3d"])
async def test_draft_answers_its_usage_to_a_bad_target(services: Services, text: str) -> None:
    drafts = draft.Drafts(services.conversations, services.drafter, services.audit, LANG, in_thread=False)
    ack, respond = Recorder(), Recorder()
    await draft.handle_command(ack, command(text), respond, UNUSED_CLIENT, drafts=drafts)
    assert ack.calls == [{"response_type": "ephemeral", **problem_message("draft.usage", LANG)}]
    assert respond.calls == []


async def test_dismiss_on_a_message_that_is_not_a_card_says_so(services: Services) -> None:
    body = {"container": {"channel_id": "C0HERE", "message_ts": "1700000000.000100"}, "user": {"id": USER}}
    ack, respond = Recorder(), Recorder()
    await card_actions.handle_dismiss(ack, body, UNUSED_CLIENT, respond, cards=services.cards, lang=LANG)
    assert ack.calls == [{}]
    assert respond.calls == [
        {"text": t("card.not_ours", LANG), "response_type": "ephemeral", "replace_original": False}
    ]


async def test_watch_list_shows_each_watcher_with_its_status(services: Services) -> None:
    ack, respond = Recorder(), Recorder()
    watching = watching_of(services)
    await watch.handle_watch(ack, command("list"), UNUSED_CLIENT, respond, watching=watching)
    catalog, settings = services.catalog, services.settings
    statuses = {"news": services.store.watcher_status("news")}
    expected = views.list_message(catalog.entries(), statuses, tz=settings.bot_timezone, lang=LANG)
    assert [entry.name for entry in catalog.entries()] == ["news"]
    assert ack.calls == [{"response_type": "ephemeral", **expected}]
