"""The spike alert message: numbers, both languages, labelled fallbacks, hostile text and Block Kit limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.block_kit import HOSTILE, assert_outside_text_is_inert, assert_within_block_kit_limits
from veilleur.assist.llm import REASONS
from veilleur.core.mentions import Mention
from veilleur.core.stance_labels import BY_ESTIMATE, BY_MODEL, Stance, tally_stances
from veilleur.watching.spike_cards import spike_alert
from veilleur.watching.spike_facts import SpikeFacts, SpikeMention, SpikeSummary, Volume

PARIS = ZoneInfo("Europe/Paris")
END = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
UNTIL = END + timedelta(hours=6)


def volume(recent: int = 24, history: tuple[int, ...] = (4, 5, 3, 4) * 3 + (4, 5)) -> Volume:
    return Volume(watcher="caen-tram", start=END - timedelta(hours=1), end=END, recent=recent, history=history)


def mention(number: int, *, reach: int | None = 1200, url: str = "", title: str = "", text: str = "tram strike",
            author: str = "Ann", source: str = "mastodon") -> SpikeMention:
    found = Mention(source=source, external_id=str(number), url=url or f"https://m.example/{number}", title=title,
                    text=text, author_name=author, author_handle=f"@a{number}", author_reach=reach)
    return SpikeMention(id=number, mention=found, at=END)


def facts(**changes: Any) -> SpikeFacts:
    values: dict[str, Any] = {
        "volume": volume(),
        "terms": (("greve", 18), ("conducteurs", 7)),
        "sources": (("mastodon", 20), ("rss", 4)),
        "top": (mention(1, reach=120_000, text="Tram drivers strike"), mention(2, reach=None, author="")),
        "sample": (),
    }
    values.update(changes)
    return SpikeFacts(**values)


def alert(the_facts: SpikeFacts | None = None, summary: SpikeSummary | None = None, lang: str = "en") -> dict:
    message = spike_alert(the_facts or facts(), summary or SpikeSummary("Drivers strike."), until=UNTIL, lang=lang,
                          tz=PARIS)
    assert_within_block_kit_limits(message)
    assert_outside_text_is_inert(message)
    return message


def text_of(message: dict, block_id: str) -> str:
    block = next(b for b in message["blocks"] if b.get("block_id") == block_id)
    return block["text"]["text"] if "text" in block else " ".join(e["text"] for e in block["elements"])


def test_the_alert_in_english() -> None:
    message = alert()
    baseline = sum(volume().history) / len(volume().history)
    assert text_of(message, "volume") == (
        ":chart_with_upwards_trend: *Spike on caen-tram*\n*24* mentions in the last hour, against "
        f"{baseline:.1f} usually at this time · {24 / baseline:.1f}× the usual"
    )
    assert text_of(message, "baseline") == "Usual: the mean of the same hour over the last 14 days Veilleur watched."
    assert text_of(message, "summary") == "*What it is about*\nDrivers strike."
    assert text_of(message, "terms") == "*Top terms*: greve (18) · conducteurs (7)"
    assert text_of(message, "sources") == "*Sources*: :elephant: Mastodon 20 · :newspaper: RSS 4"
    assert text_of(message, "top").splitlines() == [
        "*Most reached*",
        "• <https://m.example/1|Tram drivers strike> · Ann · :elephant: Mastodon · 120K followers",
        "• <https://m.example/2|tram strike> · @a2 · :elephant: Mastodon",
    ]
    assert text_of(message, "cooldown") == "No other spike alert for this watcher before 24 Nov 2026 21:30."
    assert message["text"] == f"Spike on caen-tram: 24 mentions in the last hour (usually {baseline:.1f})"


def test_the_alert_in_french() -> None:
    message = alert(facts(volume=volume(history=(1, 2))), lang="fr")
    assert text_of(message, "volume").endswith(
        "*24* mentions dans la dernière heure, contre 1,5 d’habitude à cette heure-ci · 16 fois l’habitude"
    )
    assert text_of(message, "baseline") == (
        "Habitude\u202f: la moyenne de la même heure sur les 2 derniers jours de veille."
    )
    assert text_of(message, "terms").startswith("*Termes les plus fréquents*\u202f: ")
    assert "120\u00a0k abonnés" in text_of(message, "top")
    assert text_of(message, "cooldown") == "Pas d’autre alerte de pic pour cette veille avant le 24 nov. 2026 à 21:30."
    assert message["text"] == "Pic de mentions sur caen-tram\u202f: 24 mentions dans la dernière heure (d’habitude 1,5)"


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_without_history_the_floor_is_named_and_no_ratio_is_claimed(lang: str) -> None:
    message = alert(facts(volume=volume(recent=12, history=())), lang=lang)
    assert ("×" not in text_of(message, "volume")) and ("fois" not in text_of(message, "volume"))
    assert ("none usually" in text_of(message, "volume")) or ("contre aucune" in text_of(message, "volume"))
    assert " 1 " in text_of(message, "baseline")


def test_a_baseline_under_one_shows_no_ratio() -> None:
    message = alert(facts(volume=volume(recent=12, history=(0, 1, 0))))
    assert "against 0.3 usually" in text_of(message, "volume") and "×" not in text_of(message, "volume")


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("reason", REASONS)
def test_the_extractive_summary_is_labelled_with_why(reason: str, lang: str) -> None:
    summary = SpikeSummary("tram strike today", fallback=reason, detail="HTTP 500", author="Ann", source="rss")
    message = alert(summary=summary, lang=lang)
    how = text_of(message, "summary_how")
    assert how.startswith(":information_source: *")
    assert ("Extractive summary" in how) if lang == "en" else ("Résumé extractif" in how)
    assert reason == "not_configured" or "HTTP 500" in how
    quoted = text_of(message, "summary")
    assert "Ann" in quoted and "RSS" in quoted and "tram strike today" in quoted


def test_stances_say_when_the_word_list_estimated_them() -> None:
    estimated = tally_stances([Stance("against", BY_ESTIMATE)] * 3 + [Stance("for", BY_ESTIMATE)])
    assert text_of(alert(facts(stances=estimated)), "stances") == (
        "*Stances*: For 25% · Against 75% (word-list estimate)")
    mixed = tally_stances([Stance("against", BY_MODEL)] * 3 + [Stance("for", BY_ESTIMATE)])
    assert text_of(alert(facts(stances=mixed), lang="fr"), "stances") == (
        "*Positions*\u202f: Pour 25\u202f% · Contre 75\u202f% (1 position estimée par liste de mots)")
    assert text_of(alert(facts(stances=tally_stances([Stance("for", BY_MODEL)]))), "stances") == (
        "*Stances*: For 100%")


def test_empty_parts_are_left_out() -> None:
    message = alert(facts(terms=(), sources=(), top=()), SpikeSummary(""))
    assert [block["block_id"] for block in message["blocks"]] == ["volume", "baseline", "cooldown"]


@pytest.mark.parametrize("fallback", [None, "error"])
def test_hostile_text_everywhere_stays_inert_and_within_limits(fallback: str | None) -> None:
    long = (HOSTILE + " ") * 200
    hostile = facts(
        volume=Volume(watcher=long, start=END - timedelta(hours=1), end=END, recent=10**9, history=(10**8,) * 14),
        terms=tuple((f"{HOSTILE}{index}" * 30, 10**6) for index in range(8)),
        sources=tuple((f"{HOSTILE}{index}" * 30, 10**6) for index in range(6)),
        top=tuple(
            mention(index, url=f"https://bad.example/{HOSTILE}/" + "x" * (300 * index), title=long, text=long,
                    author=long, source=long, reach=10**12)
            for index in range(3)
        ),
    )
    summary = SpikeSummary(long, fallback=fallback, detail=long, author=long, source=long)
    message = alert(hostile, summary)
    # A link too long to show leaves its excerpt unlinked; shorter ones stay links.
    top = text_of(message, "top")
    assert top.count("<https://bad.example/") == 2
