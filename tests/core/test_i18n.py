from datetime import UTC, datetime, timedelta, timezone
from string import Formatter
from zoneinfo import ZoneInfo

import pytest

from veilleur.core.i18n import (
    CATALOGUE,
    LANGUAGES,
    LARGEST_COUNT,
    format_count,
    format_datetime,
    format_number,
    format_reach,
    t,
    t_plural,
)

PARIS = ZoneInfo("Europe/Paris")


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(template) if field is not None}


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_key_has_both_languages_with_the_same_placeholders(key: str) -> None:
    templates = CATALOGUE[key]
    assert set(templates) == set(LANGUAGES)
    assert all(templates.values())
    assert placeholders(templates["en"]) == placeholders(templates["fr"])


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_placeholders_are_plain_names(key: str) -> None:
    # No attribute or index access ({x.y}, {x[0]}) and no conversions: templates only insert values.
    for template in CATALOGUE[key].values():
        for _, field, spec, conversion in Formatter().parse(template):
            if field is not None:
                assert field.isidentifier() and not spec and conversion is None


def test_plural_keys_come_in_pairs() -> None:
    stems = {key.rsplit(".", 1)[0] for key in CATALOGUE if key.endswith((".one", ".other"))}
    for stem in stems:
        assert f"{stem}.one" in CATALOGUE and f"{stem}.other" in CATALOGUE


def test_t_fills_the_sentence_in_the_language_asked() -> None:
    assert t("card.watcher", "en", name="caen-tram") == "watcher: caen-tram"
    assert t("card.watcher", "fr", name="caen-tram") == "veille : caen-tram"


def test_t_inserts_outside_text_without_interpreting_it() -> None:
    assert t("card.watcher", "en", name="{name.__class__} {0}") == "watcher: {name.__class__} {0}"


def test_unknown_key_or_language_raises_key_error() -> None:
    with pytest.raises(KeyError):
        t("no.such.key", "en")
    with pytest.raises(KeyError):
        t("card.watcher", "de", name="x")


@pytest.mark.parametrize(
    ("lang", "n", "expected"),
    [
        ("en", 0, "0 followers"),
        ("en", 1, "1 follower"),
        ("en", 2, "2 followers"),
        ("fr", 0, "0 abonné"),
        ("fr", 1, "1 abonné"),
        ("fr", 2, "2 abonnés"),
    ],
)
def test_t_plural_follows_each_language_rule(lang: str, n: int, expected: str) -> None:
    assert t_plural("card.reach", n, lang, count=n) == expected


@pytest.mark.parametrize(
    ("n", "english", "french"),
    [
        (0, "0", "0"),
        (999, "999", "999"),
        (1000, "1K", "1\u00a0k"),
        (1049, "1K", "1\u00a0k"),
        (1060, "1.1K", "1,1\u00a0k"),
        (12_345, "12.3K", "12,3\u00a0k"),
        (999_600, "999.6K", "999,6\u00a0k"),
        (999_960, "1M", "1\u00a0M"),
        (1_234_567, "1.2M", "1,2\u00a0M"),
        (5_000_000_000, "5B", "5\u00a0Md"),
        (-1500, "-1.5K", "-1,5\u00a0k"),
    ],
)
def test_format_count_is_cldr_short_form(n: int, english: str, french: str) -> None:
    assert format_count(n, "en") == english
    assert format_count(n, "fr") == french


def test_a_count_too_large_to_be_true_is_shown_at_the_largest() -> None:
    assert format_count(10**400, "en") == format_count(LARGEST_COUNT, "en") == "1000T"
    assert format_count(-(10**400), "fr").startswith("-1000")


@pytest.mark.parametrize(
    ("lang", "n", "form"),
    [("en", 0, "other"), ("en", 1, "one"), ("en", 2, "other"), ("fr", 0, "one"), ("fr", 1, "one"), ("fr", 2, "other"),
     ("fr", 1_000_000, "other")],
)
def test_plural_forms_are_cldr_with_other_when_the_catalogue_has_no_such_form(lang: str, n: int, form: str) -> None:
    assert t_plural("card.reach", n, lang, count=n) == t(f"card.reach.{form}", lang, count=n)


def test_format_datetime_converts_to_the_zone_winter_utc_late_evening_is_next_day_in_paris() -> None:
    moment = datetime(2026, 1, 10, 23, 30, tzinfo=UTC)
    assert format_datetime(moment, PARIS, "en") == "11 Jan 2026 00:30"
    assert format_datetime(moment, PARIS, "fr") == "11 janv. 2026 à 00:30"


def test_format_datetime_follows_summer_time() -> None:
    moment = datetime(2026, 7, 14, 21, 59, tzinfo=UTC)
    assert format_datetime(moment, PARIS, "fr") == "14 juil. 2026 à 23:59"


def test_format_datetime_takes_naive_times_as_utc_and_converts_other_offsets() -> None:
    assert format_datetime(datetime(2026, 11, 24, 8, 15), PARIS, "en") == "24 Nov 2026 09:15"
    montreal = datetime(2026, 11, 24, 3, 15, tzinfo=timezone(timedelta(hours=-5)))
    assert format_datetime(montreal, PARIS, "en") == "24 Nov 2026 09:15"


def test_format_datetime_writes_the_first_of_the_month_as_french_does() -> None:
    moment = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert format_datetime(moment, PARIS, "fr") == "1er déc. 2026 à 09:00"
    assert format_datetime(moment, PARIS, "en") == "1 Dec 2026 09:00"


@pytest.mark.parametrize(
    ("value", "english", "french"),
    [(2.0, "2", "2"), (2.46, "2.5", "2,5"), (1234.5, "1,234.5", "1\u202f234,5"), (0.04, "0", "0")],
)
def test_format_number_has_one_decimal_at_most_in_each_language(value: float, english: str, french: str) -> None:
    assert (format_number(value, "en"), format_number(value, "fr")) == (english, french)


@pytest.mark.parametrize(
    ("reach", "english", "french"),
    [
        (0, "under 1K followers", "moins de 1\u00a0k abonnés"),
        (999, "under 1K followers", "moins de 1\u00a0k abonnés"),
        (1000, "1K–10K followers", "1\u00a0k à 10\u00a0k abonnés"),
        (9_999, "1K–10K followers", "1\u00a0k à 10\u00a0k abonnés"),
        (10_000, "over 10K followers", "plus de 10\u00a0k abonnés"),
    ],
)
def test_a_reach_reads_as_a_tier_when_only_tiers_are_kept(reach: int, english: str, french: str) -> None:
    assert format_reach(reach, "en", tiers=True) == english
    assert format_reach(reach, "fr", tiers=True) == french


def test_a_reach_reads_as_a_count_otherwise() -> None:
    assert format_reach(12_345, "en") == "12.3K followers"
    assert format_reach(1, "fr") == "1 abonné"
