"""The digest message: within Block Kit limits whatever the input, outside text inert, en/fr, local times."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.block_kit import HOSTILE, assert_outside_text_is_inert, assert_within_block_kit_limits
from veilleur.core.mentions import Mention
from veilleur.core.stance_synthesis import AuthorStance, synthesize
from veilleur.core.stances import StanceShare
from veilleur.digest.cards import digest_message, sparkline
from veilleur.digest.model import (
    Change,
    Digest,
    DigestPeriod,
    EscalationFigures,
    Narrative,
    OpenEscalation,
    SourceFailure,
    Theme,
    ThemeAuthor,
    TopMention,
    Volume,
)
from veilleur.storage.escalations import Escalation

PARIS = ZoneInfo("Europe/Paris")
END = datetime(2026, 3, 10, 7, 30, tzinfo=UTC)
PERIOD = DigestPeriod(END - timedelta(days=1), END)
LONG = (HOSTILE + " ") * 60


def volume(name: str, count: int = 12, previous: int = 8) -> Volume:
    return Volume(name, count, previous, 70, Change("up", 50), Change("new", None))


def top(number: int, text: str = "The tram is late again") -> TopMention:
    mention = Mention(source="mastodon", external_id=str(number), url=f"https://m.example/@ann/{number}", text=text,
                      author_handle="@ann@m.example", author_name="Ann", author_reach=12_300, engagement={"likes": 4})
    return TopMention(number, "tram", mention, 4, 127)


def theme(label: str = "tram · works · delays", author: str = "Ann") -> Theme:
    person = ThemeAuthor(author, "@ann", "mastodon", 12_300, 2, ("journalist",))
    stances = (StanceShare("for", 1, 20), StanceShare("against", 3, 60), StanceShare("neutral", 1, 20),
               StanceShare("question", 0, 0))
    return Theme(label, tuple(label.split(" · ")), 5, 100, stances, (person,), (person,), (top(1), top(2)))


def open_escalation(number: int, owner: str = "U0OWNER") -> OpenEscalation:
    escalation = Escalation(id=number, mention_id=number, card_id=None, watcher="tram", state="acknowledged",
                            officials=("U0OFFICIAL",), escalators=(), created_at=END - timedelta(hours=30),
                            channel="C1", permalink="https://example.slack.com/archives/C1/p1",
                            acknowledged_by=owner)
    return OpenEscalation(escalation, timedelta(hours=30), "Where is the tram?")


def digest(**changes: object) -> Digest:
    base = Digest(
        period=PERIOD,
        watchers=("tram", "parks"),
        total=20,
        overall=volume("", 20, 16),
        by_watcher=(volume("tram"), volume("parks", 8, 8)),
        by_source=(volume("mastodon"), volume("rss", 8, 8)),
        daily_volume={"tram": [(date(2026, 3, 10), 12)]},
        top_mentions=(top(1), top(2)),
        themes=(theme(),),
        clustered=20,
        escalations=EscalationFigures(3, 2, 1, (open_escalation(1),), timedelta(hours=3, minutes=20)),
        failures=(SourceFailure("rss-news", 4, "HTTP 503", END - timedelta(hours=2), True, END - timedelta(hours=9)),),
    )
    return replace(base, **changes)


def all_text(message: dict) -> str:
    return "\n".join(str(value) for value in _strings(message))


def _strings(node: object):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_section_in_both_languages(lang: str) -> None:
    message = digest_message(digest(), Narrative("A calm day.", by_llm=True), lang=lang, tz=PARIS)

    assert_within_block_kit_limits(message)
    text = all_text(message)
    # Times in Paris: 07:30 UTC is 08:30.
    assert "08:30" in text and "07:30" not in text
    assert "A calm day." in text
    assert "<https://m.example/@ann/1|The tram is late again>" in text
    assert "tram · works · delays" in text
    assert "<@U0OWNER>" in text
    assert "HTTP 503" in text
    if lang == "en":
        assert "*20* mentions found" in text and "↑ 50% vs the previous period" in text
        assert "Against 60%" in text and "Median time to answer: 3 h 20 min" in text
        assert "Written by an LLM" in text
    else:
        assert "*20* mentions trouvées" in text and "↑ 50\u202f% par rapport à la période précédente" in text
        assert "Contre 60\u202f%" in text and "Délai médian de réponse\u202f: 3 h 20 min" in text
        assert "Rédigé par un LLM" in text


def test_the_template_narrative_is_labelled_with_its_reason() -> None:
    message = digest_message(digest(), Narrative("20 mentions.", by_llm=False, fallback="budget"), lang="en", tz=PARIS)

    assert "Written from templates (no LLM: today’s token budget is spent)" in all_text(message)


def test_hostile_and_huge_input_stays_inert_and_within_limits() -> None:
    hostile_volume = volume(LONG)
    huge = digest(
        watchers=tuple(f"{HOSTILE}{n}" for n in range(200)),
        by_watcher=tuple(hostile_volume for _ in range(200)),
        by_source=tuple(volume(f"{LONG}{n}") for n in range(50)),
        top_mentions=tuple(top(n, LONG) for n in range(50)),
        themes=tuple(theme(LONG, author=LONG) for _ in range(20)),
        escalations=EscalationFigures(400, 300, 200, tuple(open_escalation(n, owner=HOSTILE) for n in range(50)),
                                      timedelta(days=3)),
        failures=tuple(SourceFailure(LONG, 9, LONG, END, True, END) for _ in range(40)),
    )

    message = digest_message(huge, Narrative(LONG * 5, by_llm=True), lang="fr", tz=PARIS)

    assert_within_block_kit_limits(message)
    assert_outside_text_is_inert(message)


def test_a_quiet_day() -> None:
    quiet = digest(total=0, overall=volume("", 0, 0), by_watcher=(), by_source=(), top_mentions=(), themes=(),
                   escalations=EscalationFigures(0, 0, 0, (), None), failures=())

    message = digest_message(quiet, Narrative("No mention was found in this period.", by_llm=False,
                                              fallback="not_configured"), lang="en", tz=PARIS)

    assert_within_block_kit_limits(message)
    assert "Every watcher worked." in all_text(message)
    assert not any(block.get("block_id") == "top" for block in message["blocks"])


@pytest.mark.parametrize(
    ("lang", "expected"), [("en", "Not polled yet: parks."), ("fr", "Pas encore relevée\u202f: parks.")]
)
def test_a_watcher_not_polled_yet_is_named_and_nothing_claims_every_watcher_worked(lang: str, expected: str) -> None:
    message = digest_message(
        digest(failures=(), unpolled=("parks",)), Narrative("Calm.", by_llm=True), lang=lang, tz=PARIS
    )

    text = all_text(message)
    assert expected in text
    assert "Every watcher worked." not in text and "Toutes les veilles ont fonctionné." not in text


def test_sparklines_scale_to_the_busiest_day() -> None:
    assert sparkline([0, 1, 2, 4, 8]) == "▁▂▃▅█"
    assert sparkline([0, 0, 0]) == "▁▁▁"
    assert sparkline([]) == ""


@pytest.mark.parametrize(("lang", "label"), [("en", "Last 7 days: "), ("fr", "7 derniers jours\u202f: ")])
def test_the_volume_has_a_7_day_trend_line_overall_and_per_watcher(lang: str, label: str) -> None:
    days = [date(2026, 3, 4) + timedelta(days=n) for n in range(7)]
    trend = digest(daily_volume={"tram": list(zip(days, [0, 1, 2, 3, 4, 5, 6], strict=True)),
                                 "parks": list(zip(days, [6, 5, 4, 3, 2, 1, 0], strict=True))})

    text = all_text(digest_message(trend, Narrative("Calm.", by_llm=True), lang=lang, tz=PARIS))

    assert f"{label}███████ (6 6 6 6 6 6 6)" in text
    assert "`▁▂▃▅▆▇█`" in text and "`█▇▆▅▃▂▁`" in text


@pytest.mark.parametrize(("lang", "tier"), [("en", "over 10K followers"), ("fr", "plus de 10\u00a0k abonnés")])
def test_with_reach_tiers_the_digest_shows_tiers_and_no_follower_count(lang: str, tier: str) -> None:
    counts = all_text(digest_message(digest(), Narrative("A calm day.", by_llm=True), lang=lang, tz=PARIS))
    assert "12.3K" in counts or "12,3\u00a0k" in counts
    text = all_text(digest_message(digest(), Narrative("A calm day.", by_llm=True), lang=lang, tz=PARIS,
                                   reach_tiers=True))
    top_line = next(line for line in text.splitlines() if "The tram is late again>" in line)
    assert tier in top_line
    assert f"Ann ({tier})" in text  # the theme's influential author
    assert "12.3K" not in text and "12,3\u00a0k" not in text


def section(message: dict, block_id: str) -> str:
    return next(block for block in message["blocks"] if block.get("block_id") == block_id)["text"]["text"]


@pytest.mark.parametrize(
    ("lang", "overall", "first"),
    [
        ("en", "none in the previous period · none in the 7 days before", "• tram: *12* mentions (none before)"),
        ("fr", "aucune sur la période précédente · aucune sur les 7 jours d’avant",
         "• tram : *12* mentions (aucune auparavant)"),
    ],
)
def test_with_nothing_to_compare_the_volume_says_there_was_none_before(lang: str, overall: str, first: str) -> None:
    fresh = Volume("tram", 12, 0, 0, Change("new", None), Change("new", None))
    message = digest_message(digest(overall=replace(fresh, name=""), by_watcher=(fresh, volume("parks"))),
                             Narrative("Calm.", by_llm=True), lang=lang, tz=PARIS)

    text = section(message, "volume").replace("\u202f", " ")
    assert overall in text and first in text
    assert "new" not in text.split() and "nouveau" not in text


@pytest.mark.parametrize(
    ("lang", "figures", "expected"),
    [
        ("fr", EscalationFigures(0, 1, 2, (), None), "0 ouvert · 1 avec réponse · *2* en attente de réponse"),
        ("fr", EscalationFigures(2, 0, 1, (), None), "2 ouverts · 0 avec réponse · *1* en attente de réponse"),
        ("en", EscalationFigures(1, 2, 0, (), None), "1 opened · 2 answered · *0* waiting for an answer"),
    ],
)
def test_each_escalation_count_agrees_with_its_own_noun(lang: str, figures: EscalationFigures, expected: str) -> None:
    message = digest_message(digest(escalations=figures), Narrative("Calm.", by_llm=True), lang=lang, tz=PARIS)

    assert expected in section(message, "escalations")
    assert section(message, "escalations").startswith("*Signalements*" if lang == "fr" else "*Escalations*")


def test_one_interaction_is_singular() -> None:
    one = replace(top(1), engagement=1)
    text = section(digest_message(digest(top_mentions=(one,)), Narrative("Calm.", by_llm=True), lang="en", tz=PARIS),
                   "top")
    assert "· 1 interaction" in text and "1 interactions" not in text


@pytest.mark.parametrize(("lang", "words"), [("en", "high reach"), ("fr", "forte audience")])
def test_a_top_mention_shows_its_reach_tier(lang: str, words: str) -> None:
    tiered = digest(top_mentions=(replace(top(1), level="high"), top(2)))
    lines = all_text(digest_message(tiered, Narrative("A calm day.", by_llm=True), lang=lang, tz=PARIS)).splitlines()
    assert words in next(line for line in lines if line.startswith("1. "))
    assert words not in next(line for line in lines if line.startswith("2. "))


@pytest.mark.parametrize(("lang", "sentence"), [
    ("en", "80% of the 5 authors are against, none of them high-reach; the elected official is for"),
    ("fr", "80\u202f% des 5 auteurs sont contre, aucun à forte audience\u202f; l’élu est pour"),
])
def test_a_theme_shows_its_stance_synthesis(lang: str, sentence: str) -> None:
    people = [AuthorStance("against", False)] * 4 + [AuthorStance("for", False, ("elected",))]
    themed = digest(themes=(replace(theme(), synthesis=synthesize(people)),))
    text = all_text(digest_message(themed, Narrative("A calm day.", by_llm=True), lang=lang, tz=PARIS))
    assert sentence in text
    assert "authors are" not in all_text(digest_message(digest(), Narrative("A calm day.", by_llm=True), lang="en",
                                                        tz=PARIS))
