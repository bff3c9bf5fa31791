"""The /watch and App Home builders: within Block Kit's limits, outside text inert, the form read back as typed."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.views import View

from tests.support.block_kit import HOSTILE, assert_outside_text_is_inert, assert_within_block_kit_limits
from veilleur.core.i18n import LANGUAGES, Phrase, technical
from veilleur.core.mentions import Mention
from veilleur.core.query import parse_query
from veilleur.core.watcher_config import WatcherConfig, WatcherFieldError
from veilleur.storage.store import WatcherStatus, iso, utcnow
from veilleur.watching import views as ui
from veilleur.watching.catalog import FILE, SLACK, CatalogEntry, Trial
from veilleur.watching.home_view import BLOCK_LIMIT, HomeWatcher, home_view

PARIS = ZoneInfo("Europe/Paris")


def entry(name: str, *, origin: str = SLACK, paused: bool = False) -> CatalogEntry:
    config = WatcherConfig(name=name, source="rss", query=parse_query("tram"), channel="C0TRAM", interval=300,
                           url="https://news.example/feed")
    return CatalogEntry(config, origin, paused)


def status(name: str, failures: int = 0, error: str | None = None) -> WatcherStatus:
    now = iso(utcnow())
    return WatcherStatus(name=name, cursor={}, first_polled_at=now, last_success_at=now, last_error=error,
                         last_error_at=now if failures else None, failing_since=now if failures else None,
                         consecutive_failures=failures)


def check_view(view: dict[str, Any]) -> None:
    View(**view).validate_json()
    block_ids = [block["block_id"] for block in view["blocks"]]
    assert len(block_ids) == len(set(block_ids))


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("source", sorted(ui.SOURCE_FIELDS))
def test_the_form_is_a_valid_modal_for_every_source(source: str, lang: str) -> None:
    trial = Trial(3, [Mention(source="rss", external_id=str(n), url=f"https://x.example/{n}", text=HOSTILE * 20,
                              title=HOSTILE) for n in range(5)])
    blocks = ui.trial_blocks(trial, watcher="w", tz=PARIS, lang=lang, previews=ui.PREVIEWS_IN_FORM)
    for draft in (ui.FormDraft(source=source), ui.FormDraft(source=source, editing="tram", channel="C0TRAM")):
        view = ui.watcher_form(draft, lang, query_note=ui.query_note(None, HOSTILE, lang), trial=blocks)
        check_view(view)
        ids = [block["block_id"] for block in view["blocks"]]
        assert set(ui.form_block_ids(draft)) <= set(ids)


def test_options_read_back_as_the_file_would_have_them() -> None:
    options = {"tags": ["tram", "caen"], "local": True, "q": 'say "hi"\tthere\x7f', "n": 3,
               "nested": {"a b": "é"}}
    draft = ui.draft_from_table({"name": "t", "source": "mastodon", "query": "tram", "options": options},
                                reply_channel="C0CMD")
    assert ui.draft_table(draft)["options"] == options


def test_the_subject_is_edited_in_the_form_and_read_back() -> None:
    table = {"name": "t", "source": "rss", "url": "https://x.example/feed", "query": "tram", "channel": "C0T",
             "subject": "le projet de tramway"}
    form = ui.watcher_form(ui.draft_from_table(table, reply_channel="C0CMD"), "fr")
    (block,) = [block for block in form["blocks"] if block["block_id"] == "subject"]
    assert block["optional"] and block["element"]["initial_value"] == "le projet de tramway"
    assert block["label"]["text"] == "Sujet"
    values = {"subject": {"watch_subject": {"type": "plain_text_input", "value": " le tram de Caen "}}}
    draft = ui.read_form(values, form["private_metadata"])
    assert ui.draft_table(draft)["subject"] == "le tram de Caen"
    assert "subject" not in ui.draft_table(ui.read_form({}, form["private_metadata"]))
    assert ui.errors_for(WatcherFieldError("subject", "bad"), draft, "en") == {"subject": "bad"}


def test_unreadable_options_and_backfill_name_their_field() -> None:
    with pytest.raises(WatcherFieldError) as options:
        ui.draft_table(ui.FormDraft(source="reddit", options="subreddits = [caen"))
    assert options.value.field == "options"
    with pytest.raises(WatcherFieldError) as backfill:
        ui.draft_table(ui.FormDraft(backfill="two"))
    assert backfill.value.field == "backfill"


def test_an_error_of_a_field_without_a_block_shows_under_the_first_one() -> None:
    draft = ui.FormDraft(source="rss")
    assert ui.errors_for(WatcherFieldError("options", "bad"), draft, "en") == {"name": "Options: bad"}
    assert ui.errors_for(WatcherFieldError("digest", "bad"), draft, "en") == {"name": "digest: bad"}
    assert ui.errors_for(WatcherFieldError("url", "bad"), draft, "en") == {"url": "bad"}


def test_a_refused_url_is_explained_under_its_field_in_french() -> None:
    draft = ui.FormDraft(source="rss")
    refusal = Phrase.of("url.is", host="10.0.0.1", reason=Phrase.of("url.refused", kind=Phrase.of("url.kind.private")))
    assert ui.errors_for(WatcherFieldError("url", refusal), draft, "fr") == {
        "url": "10.0.0.1 est une adresse privée, refusée sauf si ALLOW_PRIVATE_URLS l’autorise"
    }


@pytest.mark.parametrize("lang", LANGUAGES)
def test_test_results_are_inert_and_within_limits(lang: str) -> None:
    matched = [Mention(source="rss", external_id=str(n), url="https://x.example/", text=HOSTILE * 50, title=HOSTILE,
                       author_name=HOSTILE) for n in range(12)]
    message = ui.trial_message(Trial(40, matched), query=HOSTILE, source="rss", tz=PARIS, lang=lang)
    assert_within_block_kit_limits(message)
    assert_outside_text_is_inert(message)
    failed = ui.trial_message(Trial(0, [], technical(HOSTILE)), query="tram", source="rss", tz=PARIS, lang=lang)
    assert_outside_text_is_inert(failed)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_list_caps_its_blocks_and_says_how_many_more(lang: str) -> None:
    entries = [entry(f"w{n:03d}", origin=FILE if n % 2 else SLACK, paused=n == 3) for n in range(80)]
    statuses = {e.name: status(e.name, failures=n % 3, error=HOSTILE) for n, e in enumerate(entries)}
    message = ui.list_message(entries, statuses, tz=PARIS, lang=lang)
    assert_within_block_kit_limits(message)
    shown = sum(1 for block in message["blocks"] if block["block_id"].startswith("w"))
    assert shown > 20
    assert str(80 - shown) in message["blocks"][-1]["elements"][0]["text"]
    assert "<!channel>" not in str(message)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_home_view_holds_at_most_100_blocks(lang: str) -> None:
    watchers = [HomeWatcher(entry(f"w{n:03d}"), status(f"w{n:03d}"), n) for n in range(150)]
    view = home_view(watchers, [], llm_enabled=True, who_may_change="x", tz=PARIS, lang=lang)
    assert len(view["blocks"]) == BLOCK_LIMIT
    View(**view).validate_json()
    more = next(block for block in view["blocks"] if block["block_id"] == "more_watchers")
    shown = sum(1 for block in view["blocks"] if block["block_id"].startswith("w_"))
    assert str(150 - shown) in more["elements"][0]["text"]


def test_health_says_paused_failing_or_fine() -> None:
    assert "paused" in ui.health_text(status("a"), paused=True, tz=PARIS, lang="en")
    failing = ui.health_text(status("a", failures=4, error="HTTP 503"), paused=False, tz=PARIS, lang="en")
    assert "4 failures in a row" in failing and "HTTP 503" in failing
    never = WatcherStatus("a", {}, None, None, None, None, None, 0)
    assert ui.health_text(never, paused=False, tz=PARIS, lang="en") == "not polled yet"
    assert ui.watcher_line(entry("a"), status("a"), tz=PARIS, lang="en").startswith("*a* · made in Slack · RSS")
    assert "every 5 min" in ui.watcher_line(entry("a"), status("a"), tz=PARIS, lang="en")


@pytest.mark.parametrize(
    ("users", "group", "expected"),
    [
        (("U0ADMIN",), None, "Seule la personne désignée, <@U0ADMIN>, peut modifier les veilles"),
        (("U0ANN", "U0BOB"), None, "Seules les personnes désignées, <@U0ANN>, <@U0BOB>, peuvent modifier"),
        ((), "S0ADMINS", "Seules les personnes désignées, <!subteam^S0ADMINS>, peuvent modifier"),
    ],
)
def test_the_refusal_agrees_with_how_many_people_may_change_watchers(
    users: tuple[str, ...], group: str | None, expected: str
) -> None:
    assert ui.refusal(users, group, "fr").startswith(expected)
