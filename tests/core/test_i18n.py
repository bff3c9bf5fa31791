import re
from datetime import UTC, datetime, timedelta, timezone
from string import Formatter
from zoneinfo import ZoneInfo

import pytest

from veilleur.core.i18n import (
    CATALOGUE,
    LANGUAGES,
    LARGEST_COUNT,
    Phrase,
    format_count,
    format_datetime,
    format_number,
    format_reach,
    french_typography,
    t,
    t_plural,
    technical,
)

PARIS = ZoneInfo("Europe/Paris")


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(template) if field is not None}


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_key_has_both_languages_with_the_same_placeholders(key: str) -> None:
    templates = CATALOGUE[key]
    assert set(templates) == set(LANGUAGES)
    assert all(templates.values())
    # A plural form may leave its number out in one language ("has failed since…" for one failure in English).
    optional = COUNTS if stem_and_form(key)[1] is not None else set()
    assert placeholders(templates["en"]) - optional == placeholders(templates["fr"]) - optional


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
    assert t("card.watcher", "fr", name="caen-tram") == "veille\u202f: caen-tram"


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


# The catalogue as a whole: every count through the plural rules --------------------------------------------------

# Placeholders that stand for a number of things (past names included, so that bringing one back is caught).
COUNTS = frozenset({
    "count", "n", "days", "matched", "fetched", "total", "limit", "seconds", "failures", "floor", "shown",
    "opened", "answered", "open", "clustered", "posts", "authors",
})
# A count that takes no agreement where it stands ("3 posts of {fetched}", "3 mentions out of {total}"): not the
# one choosing the form.
NO_AGREEMENT = {
    "watch.test.found": {"fetched"}, "digest.themes.sample": {"total"}, "privacy.erasure_incomplete": {"seconds"},
}
# Plural forms whose French "one" (0 and 1) may leave the number out: callers never ask them for none.
NEVER_NONE = {
    "summary.step.answer": "only given for the questions a summary found",
    "watch.test.first": "only said when more posts matched than are shown",
    "spike.baseline": "none is spike.floor",
    "summary.conversation.truncated": "said of MAX_MESSAGES",
    "window.hours": "a window is never empty (the parser refuses 0h)",
    "window.days": "a window is never empty",
    "window.weeks": "a window is never empty",
    "audit.none": "--since is one day at least",
    "digest.story.failures": "only said when a watcher failed",
    "synthesis.lead": "only said of a theme or conversation with authors",
    **{f"synthesis.role.{role}": "a role is named only when some authors hold it"
       for role in ("elected", "journalist", "media", "institution")},
}
PLURAL_FORMS = ("zero", "one", "two", "few", "many", "other")
SAMPLE = "⟦{}⟧"  # how a sample value of a placeholder shows; stripped before looking for words


def stem_and_form(key: str) -> tuple[str, str | None]:
    stem, _, form = key.rpartition(".")
    return (stem, form) if form in PLURAL_FORMS else (key, None)


def plural_stems() -> dict[str, set[str]]:
    stems: dict[str, set[str]] = {}
    for key in CATALOGUE:
        stem, form = stem_and_form(key)
        if form is not None:
            stems.setdefault(stem, set()).add(form)
    return stems


def choosing_count(stem: str) -> str | None:
    """The placeholder whose value chooses the stem's form (None when no form shows the number)."""
    names = set()
    for form in plural_stems()[stem]:
        for template in CATALOGUE[f"{stem}.{form}"].values():
            names |= placeholders(template) & COUNTS
    names -= NO_AGREEMENT.get(stem, set())
    assert len(names) <= 1, f"{stem}: several counts in one sentence ({sorted(names)}): build it from pieces"
    return next(iter(names), None)


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_a_template_with_a_count_is_a_plural_form(key: str) -> None:
    counted = set().union(*(placeholders(template) for template in CATALOGUE[key].values())) & COUNTS
    assert not counted or stem_and_form(key)[1] is not None, f"{key} shows {sorted(counted)}: make it {key}.one/.other"


@pytest.mark.parametrize("stem", sorted(plural_stems()))
def test_a_plural_sentence_has_one_count_and_french_singular_keeps_it(stem: str) -> None:
    assert "other" in plural_stems()[stem]
    count = choosing_count(stem)
    if count is None or stem in NEVER_NONE:
        return
    # French takes "one" for 0 too: a singular without the number would read "the question" for none.
    if count in placeholders(CATALOGUE[f"{stem}.other"]["fr"]):
        assert count in placeholders(CATALOGUE[f"{stem}.one"]["fr"]), f"{stem}.one (fr) must show {{{count}}}"


def sample_params(key: str, lang: str, counted: int | None = None, count_name: str | None = None) -> dict[str, object]:
    params: dict[str, object] = {}
    for name in placeholders(CATALOGUE[key][lang]):
        if name == count_name and counted is not None:
            params[name] = counted
        elif name in COUNTS:
            params[name] = 7
        else:
            params[name] = SAMPLE.format(name)
    return params


# English words that give away a sentence left untranslated (none of them is also a French word).
ENGLISH = frozenset({
    "the", "and", "of", "with", "from", "is", "are", "was", "were", "has", "have", "been", "not", "cannot", "could",
    "did", "does", "please", "failed", "error", "watcher", "watchers", "escalation", "escalations", "escalated",
    "digest", "answered", "refused", "unless", "address", "found", "new", "more", "only", "this", "that", "which",
    "when", "your", "you", "to", "by", "at", "it", "for", "no", "none", "every", "each", "than", "then", "there",
    "their", "they", "will", "would", "should", "must", "can", "may", "after", "before", "again", "still", "into",
    "about", "above", "below", "over", "under", "also", "already", "just", "some", "any", "all", "other", "others",
    "here", "where", "what", "who", "why", "how", "while", "because", "until", "within", "without", "sent", "poll",
    "polls", "request", "requests", "timeout", "host"
})
# Words that stay as they are in a French sentence: code, settings, commands, Slack markup and our sample values.
_NOT_PROSE = re.compile(
    r"`[^`]*`|⟦[^⟧]*⟧|:[a-z0-9_+-]+:|\b[A-Z][A-Z0-9_]+\b|<[^>]*>|https?://\S+|/[a-z]+\b|\b\w+ = \S+|\[[^\]]*\]"
)


def english_words(text: str) -> set[str]:
    return {word for word in re.findall(r"\b[a-zA-Z]+\b", _NOT_PROSE.sub(" ", text)) if word.lower() in ENGLISH}


@pytest.mark.parametrize("key", sorted(key for key in CATALOGUE if stem_and_form(key)[1] is None))
def test_every_message_renders_in_both_languages_and_french_has_no_english_left(key: str) -> None:
    for lang in LANGUAGES:
        text = t(key, lang, **sample_params(key, lang))
        assert text.strip() and "{" not in text.replace("⟦", "")
    french = t(key, "fr", **sample_params(key, "fr"))
    assert not english_words(french), f"{key}: English left in {french!r}"


# Words after a number that do not change with it (abbreviated units, prepositions...).
FRENCH_INVARIABLE = frozenset({
    "fois", "min", "h", "j", "s", "Mo", "avec", "en", "par", "sur", "de", "à", "%", "depuis", "dans", "sans", "plus",
})
ENGLISH_INVARIABLE = frozenset({"min", "h", "d", "s", "MB", "%"})


def word_after(number: int, text: str) -> str | None:
    found = re.search(rf"(?:^|[\s(*]){number}\*?[\s\u00a0\u202f]+([^\s\u00a0\u202f]+)", text)
    return found[1].rstrip(".,;:!?)»*") if found else None


@pytest.mark.parametrize("stem", sorted(plural_stems()))
def test_every_counted_message_agrees_with_0_1_and_2_in_both_languages(stem: str) -> None:
    count = choosing_count(stem)
    for n in (0, 1, 2):
        for lang in LANGUAGES:
            form = {"en": "one" if n == 1 else "other", "fr": "one" if n < 2 else "other"}[lang]
            key = f"{stem}.{form}"
            text = t_plural(stem, n, lang, **sample_params(key, lang, n, count))
            assert text == t(key, lang, **sample_params(key, lang, n, count))
            if count not in placeholders(CATALOGUE[key][lang]):
                continue
            assert re.search(rf"(?<![\d,.]){n}(?![\d,.])", text), f"{stem} ({lang}, {n}): the number is missing"
            word = word_after(n, text)
            if word is None or word.startswith("⟦"):
                continue
            invariable = FRENCH_INVARIABLE if lang == "fr" else ENGLISH_INVARIABLE
            if form == "one" and word not in invariable:
                assert not word.endswith(("s", "x")), f"{stem} ({lang}, {n}): {text!r} is not singular"
            if lang == "fr" and form == "other" and word not in invariable and word.isalpha():
                assert word.endswith(("s", "x")), f"{stem} ({lang}, {n}): {text!r} is not plural"
        if lang == "fr":
            assert not english_words(t_plural(stem, n, "fr", **sample_params(f"{stem}.{form}", "fr", n, count)))


# Phrases: sentences said later, in the reader's language ----------------------------------------------------------


def test_a_phrase_is_said_in_each_language_with_its_nested_phrases_and_plural() -> None:
    loopback = Phrase.of("url.refused", kind=Phrase.of("url.kind.loopback"))
    refused = Phrase.of("error.not_allowed", url="http://x/", reason=Phrase.of("url.is", host="::1", reason=loopback))
    assert str(refused) == (
        "not allowed to connect for http://x/: ::1 is a loopback address, refused unless ALLOW_PRIVATE_URLS allows it"
    )
    assert refused.say("fr") == (
        "connexion interdite pour http://x/\u202f: ::1 est une adresse de bouclage (loopback), refusée sauf si "
        "ALLOW_PRIVATE_URLS l’autorise"
    )
    assert Phrase.of("error.redirects", url="u", count=1).say("en") == "u redirects more than 1 time (a redirect loop?)"
    assert Phrase.of("error.redirects", url="u", count=5).say("fr") == "u redirige plus de 5 fois (une boucle de " \
        "redirections\u202f?)"


def test_only_outside_text_is_cleaned_when_a_phrase_is_said() -> None:
    phrase = Phrase.of("error.tls", host="h", url="u", detail="a\nb")
    assert phrase.say("fr", outside=lambda text: text.replace("\n", " ")) == (
        "pas de connexion sécurisée (TLS) avec h pour u\u202f: a b"
    )


def test_a_phrase_survives_storage_and_one_that_can_no_longer_be_said_is_none() -> None:
    phrase = Phrase.of("error.not_json", url="u", body=Phrase.of("error.body.html"))
    assert Phrase.from_json(phrase.to_json()) == phrase
    assert Phrase.from_json('{"key": "error.renamed", "params": {}}') is None
    assert Phrase.from_json('{"key": "error.not_json", "params": {"url": "u"}}') is None  # a parameter missing
    assert Phrase.from_json("not json") is None and Phrase.from_json(None) is None


def test_a_technical_cause_is_kept_as_written_in_english_and_framed_in_french() -> None:
    assert technical("ECONNRESET").say("en") == "ECONNRESET"
    assert technical("ECONNRESET").say("fr") == "erreur technique (ECONNRESET)"


# French typography ------------------------------------------------------------------------------------------------

NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("written", "printed"),
    [
        ("Synthèse : {start}", f"Synthèse{NNBSP}: {{start}}"),
        ("*Pour :* {officials}", f"*Pour{NNBSP}:* {{officials}}"),
        ("Supprimer {name} ?", f"Supprimer {{name}}{NNBSP}?"),
        ("vite ; enfin !", f"vite{NNBSP}; enfin{NNBSP}!"),
        ("({percent} %)", f"({{percent}}{NNBSP}%)"),
        ("« {excerpt} »", f"«{NNBSP}{{excerpt}}{NNBSP}»"),
        ("«{excerpt}»", f"«{NNBSP}{{excerpt}}{NNBSP}»"),
        ("Déjà\u00a0: fait", f"Déjà{NNBSP}: fait"),
        # Left alone: emoji codes, URLs, query fields, times, a mark inside a word.
        (":warning: *Campagne*", ":warning: *Campagne*"),
        ("un :sparkles: de plus", "un :sparkles: de plus"),
        ("https://example.fr lang:fr 09:15", "https://example.fr lang:fr 09:15"),
    ],
)
def test_french_typography_puts_a_narrow_no_break_space_where_french_printing_does(written: str, printed: str) -> None:
    assert french_typography(written) == printed
    assert french_typography(printed) == printed


def test_typography_is_applied_to_french_sentences_only_and_not_to_what_fills_them() -> None:
    assert t("card.watcher", "fr", name="a : b") == f"veille{NNBSP}: a : b"
    assert t("card.watcher", "en", name="a : b") == "watcher: a : b"


# French templates whose straight quotes are code: TOML examples of the watchers file.
CODE_QUOTES = frozenset(key for key in CATALOGUE
                        if key.startswith("watch.form.options_hint.") or key == "watch.form.bad_options")
_CODE_OR_EMOJI = re.compile(r"`[^`]*`|:[a-z0-9_+-]+:")


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_french_sentence_follows_french_typography(key: str) -> None:
    printed = _CODE_OR_EMOJI.sub("", t(key, "fr", **sample_params(key, "fr")).replace("⟦", "").replace("⟧", ""))
    for mark in re.finditer(r"[:;!?%](?=[\s»)\]*_~`’'\".,]|$)", printed):
        before = printed[: mark.start()]
        assert before.endswith(NNBSP), f"{key}: no narrow no-break space before {mark[0]!r} in {printed!r}"
    assert printed.count("«") == printed.count("»")
    assert printed.count("«" + NNBSP) == printed.count(NNBSP + "»") == printed.count("«")
    if key not in CODE_QUOTES:
        assert not re.search(r"[\"“”]", printed), f"{key}: French quotes are « », not {printed!r}"
