"""The watcher query language: operators, precedence, text rules, field filters, errors and normalisation."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import FrozenInstanceError

import pytest

from veilleur.core.mentions import Mention
from veilleur.core.query import Clause, MatchableText, Query, QueryError, fold, matchable, parse_query


def mention(
    text: str = "",
    title: str = "",
    *,
    url: str = "https://example.org/news/1",
    lang: str | None = None,
    author_handle: str = "",
    author_name: str = "",
) -> Mention:
    return Mention(
        source="test",
        external_id="1",
        url=url,
        text=text,
        title=title,
        lang=lang,
        author_handle=author_handle,
        author_name=author_name,
    )


def hits(query: str, text: str, title: str = "") -> bool:
    return parse_query(query).matches(mention(text, title))


# --- Operators and precedence --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("tram", "le tram arrive", True),
        ("tram bus", "le tram et le bus", True),
        ("tram bus", "le tram seul", False),
        ("tram AND bus", "le tram et le bus", True),
        ("tram AND bus", "le bus seul", False),
        ("tram OR bus", "le bus seul", True),
        ("tram OR bus", "le métro seul", False),
        ("tram OR bus OR métro", "le métro seul", True),
    ],
)
def test_words_and_or(query: str, text: str, expected: bool) -> None:
    assert hits(query, text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tram bus", True),  # a AND b
        ("tram metro", True),  # a AND c
        ("metro", False),  # c alone: a is still required
        ("tram", False),
        ("bus metro", False),
    ],
)
def test_or_binds_tighter_than_implicit_and_as_in_google(text: str, expected: bool) -> None:
    assert hits("tram bus OR metro", text) is expected
    assert hits("tram AND bus OR metro", text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tram metro", True),  # (a OR b) AND c
        ("bus metro", True),
        ("tram", False),
        ("metro", False),
    ],
)
def test_or_then_implicit_and(text: str, expected: bool) -> None:
    assert hits("tram OR bus metro", text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tram bus", True),
        ("metro", True),
        ("tram", False),
        ("bus metro", True),
    ],
)
def test_parentheses_override_precedence(text: str, expected: bool) -> None:
    assert hits("(tram bus) OR metro", text) is expected


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Conseil de Caen la mer ce soir", "fr", True),
        ("Le tramway est en retard", "fr", True),
        ("Le tramway et le football", "fr", False),
        ("Caen la mer", "en", False),
        ("Le bus est en retard", "fr", False),
    ],
)
def test_the_design_example_reads_as_a_community_manager_means_it(text: str, lang: str, expected: bool) -> None:
    query = parse_query('"Caen la mer" OR tramway -football lang:fr')
    assert query.matches(mention(text, lang=lang)) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("caen tram gratuit", True),
        ("rouen bus gratuit", True),
        ("caen bus gratuit", True),
        ("caen tram payant", False),
        ("lille tram gratuit", False),
        ("caen tram gratuit greve", False),
        ("caen tram gratuit greve annulee", True),
    ],
)
def test_nested_groups(text: str, expected: bool) -> None:
    assert hits("((caen OR rouen) (tram OR bus)) gratuit -(greve -annulee)", text) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("tram -football", "le tram", True),
        ("tram -football", "le tram et le football", False),
        ('tram -"coupe du monde"', "tram pour la coupe du monde", False),
        ('tram -"coupe du monde"', "tram, coupe et monde", True),
        ("tram -(foot OR rugby)", "tram et rugby", False),
        ("tram -(foot OR rugby)", "tram et tennis", True),
        ("tram -(foot rugby)", "tram et rugby", True),
        ("tram NOT football", "le tram et le football", False),
        ("tram NOT football", "le tram", True),
        ("tram NOT (foot OR rugby)", "tram et foot", False),
        ('NOT "fake news" tram', "tram fake news", False),
        ("NOT football", "n'importe quoi", True),
        ("-football", "un match de football", False),
        ("tram -football OR bus", "bus et football", False),  # tram AND (NOT football OR bus)
        ("tram -football OR bus", "tram bus et football", True),
        ("tram NOT football OR bus", "tram et football", False),
    ],
)
def test_exclusion(query: str, text: str, expected: bool) -> None:
    assert hits(query, text) is expected


def test_hyphen_inside_a_word_is_not_an_exclusion() -> None:
    assert hits("saint-etienne", "Match à Saint-Étienne")
    assert hits("e-mail", "send an e-mail")
    assert not hits("e-mail", "send an email")


def test_keywords_are_upper_case_only() -> None:
    # French "or" (gold) and "et" are words like any other.
    assert not hits("tram or bus", "le bus")
    assert hits("tram or bus", "le tram en or et le bus")
    assert hits("prix and coût", "prix and coût")


# --- Phrases -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bienvenue à Caen la Mer", True),
        ("CAEN LA MER", True),
        ("Caen, la Mer !", True),  # punctuation between the words does not matter
        ("Caen\n la   mer", True),
        ("Caen-la-Mer", True),
        ("Caen et la mer", False),
        ("la mer à Caen", False),
        ("Caen la Merveilleuse", False),
    ],
)
def test_phrase(text: str, expected: bool) -> None:
    assert hits('"Caen la mer"', text) is expected


@pytest.mark.parametrize("quoted", ["« Caen la mer »", "«Caen la mer»", "“Caen la mer”", "„Caen la mer“"])
def test_typographic_quotes_make_phrases(quoted: str) -> None:
    assert hits(quoted, "à Caen la Mer")
    assert not hits(quoted, "la mer à Caen")


def test_phrase_does_not_run_from_the_title_into_the_text() -> None:
    assert not hits('"debat tramway"', "Tramway : réunion", title="Grand débat")
    assert hits('"grand debat"', "Tramway : réunion", title="Grand débat")


def test_words_match_in_title_and_text_together() -> None:
    assert hits("tramway caen", "à Caen", title="Le tramway")
    assert hits("tramway", "", title="Le tramway")
    assert hits("tramway", "Le tramway")


def test_word_with_punctuation_in_the_query_is_a_phrase() -> None:
    assert hits("l'école", "Devant l’école")
    assert not hits("l'école", "une école")
    assert hits("example.org", "voir example.org/page")
    assert not hits("example.org", "example, puis org")
    assert hits("example.org", "example. Org")  # punctuation is ignored on both sides


# --- Case, accents, whole words ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("Éco", "eco"),
        ("eco", "ÉCO"),
        ("ÉCOLE", "école"),
        ("école", "ÉCOLE"),
        ("election saint etienne", "Élection à Saint-Étienne"),
        ('"élection à saint-étienne"', "ELECTION A SAINT ETIENNE"),
        ("coeur", "cœur"),
        ("œuvre", "OEUVRE"),
        ("strasse", "Straße"),
        ("noel", "Noël"),
        ("lodz", "Łódź"),
        ("ecole", "e\u0301cole"),  # decomposed accent (NFD input)
        ("école", "e\u0301cole"),
        ("tramway", "tram\u00adway"),  # soft hyphen is invisible
        ("привет", "ПРИВЕТ мир"),
        ("ελλαδα", "Ελλάδα"),
    ],
)
def test_case_and_accent_insensitive(query: str, text: str) -> None:
    assert hits(query, text)


@pytest.mark.parametrize(
    "text",
    ["tram\u200bway", "tram\u2060way", "tram\u034fway", "tram\ufe0fway", "tram\u3164way", "\u202etram\u2069way"],
)
def test_invisible_characters_do_not_hide_a_word(text: str) -> None:
    assert hits("tramway", f"le {text} arrive")
    assert hits('"le tramway arrive"', f"le {text} arrive")


def test_a_query_typed_with_invisible_characters_is_kept_and_matched_without_them() -> None:
    query = parse_query("tram\u200bway author:@b\u2060ob site:exa\u200dmple.org")
    assert query.text == "tramway author:@bob site:example.org"
    assert query.matches(mention("le tramway", url="https://example.org/1", author_handle="@bob@mastodon.social"))
    assert parse_query("author:@bob").matches(mention(author_handle="@b\u200bob\u202e@mastodon.social"))


def test_fold_ignores_invisible_characters_even_those_kept_for_display() -> None:
    assert fold("B\u200bob \u202eX\u202c") == "bob x"
    assert fold("👍\u200d👍\ufe0f") == "👍👍"


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("Tor", "FileStoreConfig", False),
        ("Tor", "tortoise", False),
        ("Tor", "editor", False),
        ("Tor", "Tor.", True),
        ("Tor", "(Tor)", True),
        ("Tor", "Tor, Tails", True),
        ("Tor", "use tor!", True),
        ("Tor", "Tor", True),
        ("Tor", "tor_browser", True),  # underscore separates words like a hyphen
        ("tram", "tramway", False),
        ("tramway", "tram", False),
        ("tram", "le tram.", True),
        ("2024", "en 2024 !", True),
        ("2024", "20245", False),
    ],
)
def test_whole_words(query: str, text: str, expected: bool) -> None:
    assert hits(query, text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("l'école", True),
        ("l’école", True),
        ("L'ÉCOLE", True),
        ("d'écoles", False),
        ("aujourd'hui l'école ferme", True),
    ],
)
def test_french_elision(text: str, expected: bool) -> None:
    assert hits("école", text) is expected


def test_digits_and_letters_from_other_scripts_are_word_characters() -> None:
    assert hits("北京", "北京 欢迎你")
    assert not hits("tram", "tram北京")


# --- Hashtags and prefixes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("#tram", "vive le #tram", True),
        ("#tram", "vive le #Tram!", True),
        ("#Tram", "vive le #tram", True),
        ("#tram", "vive le tram", False),
        ("#tram", "vive le #tramway", False),
        ("#tram", "vive le tram#", False),
        ("tram", "vive le #tram", True),
        ("#école", "#ecole", True),
        ("-#tram velo", "velo #tram", False),
        ("-#tram velo", "velo tram", True),
        ('"le #tram"', "le #tram", True),
        ('"le tram"', "le #tram", True),
        ("c#", "du code C# ici", True),
    ],
)
def test_hashtags(query: str, text: str, expected: bool) -> None:
    assert hits(query, text) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("tram*", "tramway", True),
        ("tram*", "TRAMWAYS", True),
        ("tram*", "le tram", True),
        ("tram*", "letram", False),
        ("tram*", "trolley", False),
        ("écol*", "ÉCOLIERS", True),
        ('"caen la m*"', "Caen la Mer", True),
        ('"caen la m*"', "Caen la plage", False),
        ("-tram* velo", "velo tramway", False),
        ("#tram*", "#tramway", True),
        ("#tram*", "tramway", False),
        ("tram* OR bus", "bus", True),
    ],
)
def test_prefix_wildcard(query: str, text: str, expected: bool) -> None:
    assert hits(query, text) is expected


# --- Field filters -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "lang", "expected"),
    [
        ("lang:fr", "fr", True),
        ("lang:fr", "fr-FR", True),
        ("lang:fr", "fr_CA", True),
        ("lang:fr", "FR", True),
        ("lang:fr", " fr-BE ", True),
        ("lang:fr", "en", False),
        ("lang:fr", "fra", False),
        ("lang:fr", "fy", False),
        ("lang:fr", None, False),
        ("lang:fr", "", False),
        ("lang:FR", "fr", True),
        ("lang:fr-CA", "fr_CA", True),
        ("lang:fr-CA", "fr-ca-x-quebec", True),
        ("lang:fr-CA", "fr", False),
        ("lang:fr-CA", "fr-FR", False),
        ("lang:fr_CA", "fr-CA", True),
        ("-lang:en", "fr", True),
        ("-lang:en", "en-GB", False),
        ("-lang:en", None, True),  # exclusions keep what is not known to be excluded
        ("lang:fr OR lang:en", "en-US", True),
        ("lang:fr OR lang:en", "de", False),
        ("lang:gsw", "gsw", True),
    ],
)
def test_lang_filter(query: str, lang: str | None, expected: bool) -> None:
    assert parse_query(query).matches(mention("texte", lang=lang)) is expected


@pytest.mark.parametrize(
    ("query", "url", "expected"),
    [
        ("site:example.org", "https://example.org/a", True),
        ("site:example.org", "https://www.example.org/a", True),
        ("site:example.org", "https://news.example.org", True),
        ("site:example.org", "http://EXAMPLE.ORG:8080/x?y#z", True),
        ("site:example.org", "https://example.org./a", True),
        ("site:example.org", "https://user@example.org/a", True),
        ("site:example.org", "https://notexample.org/a", False),
        ("site:example.org", "https://example.org.evil.com/a", False),
        ("site:example.org", "https://evil.com/?u=https://example.org", False),
        ("site:example.org", "not a url", False),
        ("site:example.org", "", False),
        ("site:example.org", "http://[::1", False),
        ("site:www.example.org", "https://example.org/a", True),
        ("site:https://example.org/", "https://example.org/a", True),
        ("site:EXAMPLE.org", "https://example.org/a", True),
        ("site:*.example.org", "https://a.example.org/a", True),
        ("site:example.org/politique", "https://example.org/politique/article-1", True),
        ("site:example.org/politique", "https://example.org/Politique", True),
        ("site:example.org/politique/", "https://example.org/politique", True),
        ("site:example.org/politique", "https://example.org/politiques/a", False),
        ("site:example.org/politique", "https://example.org/sport/politique", False),
        ("site:example.org/actualités", "https://example.org/actualit%C3%A9s/1", True),
        ("site:bücher.de", "https://xn--bcher-kva.de/x", True),
        ("site:xn--bcher-kva.de", "https://bücher.de/x", True),
        ("-site:lefigaro.fr", "https://www.lefigaro.fr/a", False),
        ("-site:lefigaro.fr", "https://example.org/a", True),
        ("site:lefigaro.fr OR site:example.org", "https://example.org/a", True),
    ],
)
def test_site_filter(query: str, url: str, expected: bool) -> None:
    assert parse_query(query).matches(mention("texte", url=url)) is expected


@pytest.mark.parametrize(
    ("query", "handle", "name", "expected"),
    [
        ("author:bob", "@bob@mastodon.social", "", True),
        ("author:@bob", "@bob@mastodon.social", "", True),
        ("author:@bob@mastodon.social", "@bob@mastodon.social", "", True),
        ("author:bob@mastodon.social", "bob@mastodon.social", "", True),
        ("author:bob@other.example", "@bob@mastodon.social", "", False),
        ("author:BOB", "bob", "", True),
        ("author:bob", "bobby", "", False),
        ("author:bob", "alice", "Bob", True),
        ("author:bob", "bob.bsky.social", "", True),
        ("author:bob.bsky.social", "bob.bsky.social", "", True),
        ("author:bob", "bob.example.com", "", False),
        ("author:élodie", "", "ELODIE", True),
        ("author:elodie", "@Élodie_75", "", False),
        ("author:élodie_75", "@Élodie_75", "", True),
        ('author:"Jean Dupont"', "", "jean dupont", True),
        ('author:"Jean Dupont"', "", "Jean-Dupont", True),
        ('author:"Jean Dupont"', "", "Jean Dupont-Martin", False),
        ("author:dupont", "", "Jean Dupont", False),
        ("author:bob", "", "", False),
        ("-author:bob", "@bob@mastodon.social", "", False),
        ("-author:bob", "@alice", "", True),
        ("author:bob OR author:alice", "@alice", "", True),
    ],
)
def test_author_filter(query: str, handle: str, name: str, expected: bool) -> None:
    found = mention("texte", author_handle=handle, author_name=name)
    assert parse_query(query).matches(found) is expected


def test_filters_combine_with_words_or_and_parentheses() -> None:
    query = parse_query('("Caen la mer" OR tramway) -football (lang:fr OR site:ouest-france.fr)')
    assert query.matches(mention("Le tramway", lang="fr-FR"))
    assert query.matches(mention("Caen la mer", url="https://www.ouest-france.fr/a"))
    assert not query.matches(mention("Le tramway", lang="en"))
    assert not query.matches(mention("Le tramway et le football", lang="fr"))
    assert not query.matches(mention("Le métro", lang="fr"))


def test_field_names_are_case_insensitive() -> None:
    assert parse_query("LANG:fr Site:example.org").matches(mention("x", lang="fr"))


# --- Errors --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        ("(tram OR bus", 0, "add a closing parenthesis"),
        ("tram (bus OR (metro)", 5, "never closed"),
        ("tram OR bus)", 11, "closes nothing"),
        (")tram", 0, "closes nothing"),
        ("()", 0, "empty parentheses"),
        ("tram OR", 5, "nothing after it"),
        ("tram AND", 5, "nothing after it"),
        ("(tram OR) bus", 6, "nothing after it"),
        ("OR tram", 0, "nothing before it"),
        ("AND tram", 0, "nothing before it"),
        ("(OR tram)", 1, "nothing before it"),
        ("tram OR OR bus", 8, "two operators in a row"),
        ("tram AND OR bus", 9, "two operators in a row"),
        ('tram ""', 5, "empty phrase"),
        ('tram " , "', 5, "empty phrase"),
        ('tram "caen la mer', 5, "add a closing"),
        ("tram « caen", 5, "add a closing »"),
        ("-", 0, "put the word to exclude right after it"),
        ("tram - football", 5, "without a space"),
        ("tram -)", 5, "put the word to exclude right after it"),
        ("tram -OR bus", 5, "must be followed by what to exclude"),
        ("--tram", 0, "must be followed by what to exclude"),
        ("tram NOT", 5, "must be followed by what to exclude"),
        ("NOT OR tram", 0, "must be followed by what to exclude"),
        ("tram lang2:fr", 5, "unknown field 'lang2:'"),
        ("https://example.org", 0, "use site:example.org"),
        ("note: tram", 0, "put it in quotes"),
        ("tram lang:", 5, "needs a value"),
        ("tram lang: fr", 5, "needs a value"),
        ("lang:french", 5, "unsupported language 'french'"),
        ("lang:zz", 5, "unsupported language"),
        ("lang:f", 5, "unsupported language"),
        ("lang:fra", 5, "lang:fr"),
        ("site:lefigaro", 5, "not a website address"),
        ("site:exa_mple.org", 5, "not a website address"),
        ("author:@", 7, "give a handle or a name"),
        ('author:""', 0, "needs a value"),
        ("tr*am", 2, "only works at the end of a word"),
        ("*tram", 0, "only works at the end of a word"),
        ("*", 0, "letters before it"),
        ("t*", 1, "at least 2 letters"),
        ('"caen * mer"', 6, "only works at the end of a word"),
        ("tram !!!", 5, "no letters or digits"),
    ],
)
def test_malformed_queries_say_what_and_where(query: str, position: int, fragment: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    error = caught.value
    assert error.position == position
    assert fragment in error.reason
    lines = str(error).splitlines()
    assert lines[0] == error.reason
    assert lines[1] == "  " + query
    assert lines[2] == "  " + " " * position + "^"


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query(query: str) -> None:
    with pytest.raises(QueryError, match="empty") as caught:
        parse_query(query)
    assert caught.value.position is None
    assert str(caught.value) == caught.value.reason


def test_query_error_is_a_value_error_and_keeps_the_caret_aligned_on_several_lines() -> None:
    with pytest.raises(ValueError) as caught:
        parse_query("tram\nOR\t(bus")
    assert isinstance(caught.value, QueryError)
    assert caught.value.position == 8
    assert str(caught.value).splitlines()[1:] == ["  tram OR (bus", "  " + " " * 8 + "^"]


def test_limits_against_huge_or_deep_queries() -> None:
    with pytest.raises(QueryError, match="too long"):
        parse_query("tram " * 1000)
    with pytest.raises(QueryError, match="too many nested parentheses") as caught:
        parse_query("(" * 40 + "tram" + ")" * 40)
    assert caught.value.position == 32
    assert parse_query("(" * 32 + "tram" + ")" * 32).matches(mention("tram"))


# --- API -----------------------------------------------------------------------------------------------------


def test_query_is_immutable_reusable_and_compared_by_text() -> None:
    query = parse_query("tram -foot")
    assert query.text == "tram -foot"
    assert query == Query("tram -foot") == parse_query("tram -foot")
    assert hash(query) == hash(Query("tram -foot"))
    assert query != parse_query("tram")
    with pytest.raises(FrozenInstanceError):
        query.text = "bus"  # type: ignore[misc]
    assert [query.matches(mention(text)) for text in ("tram", "tram foot", "tram")] == [True, False, True]


def test_terms_are_the_positive_words_and_phrases() -> None:
    query = parse_query('("Caen la Mer" OR Tramway*) -football NOT (rugby OR "coupe du monde") #Tram lang:fr tramway*')
    assert query.terms() == ["caen la mer", "tramway*", "#tram"]


def test_terms_under_double_negation_are_positive() -> None:
    assert parse_query("tram -(bus -velo)").terms() == ["tram", "velo"]
    assert parse_query("Saint-Étienne author:bob site:example.org").terms() == ["saint etienne"]


@pytest.mark.parametrize(
    ("query", "explained"),
    [
        ("a b OR c", "(a AND (b OR c))"),
        ("a OR b c", "((a OR b) AND c)"),
        ("a AND b", "(a AND b)"),
        ("(a OR b) c", "((a OR b) AND c)"),
        ("-a b", "(NOT a AND b)"),
        ('"Caen la Mer" OR tram* lang:fr', '(("caen la mer" OR tram*) AND lang:fr)'),
        ("site:www.Example.org/A -author:@Bob", "(site:example.org/a AND NOT author:bob)"),
    ],
)
def test_explain_shows_how_the_query_was_read(query: str, explained: str) -> None:
    assert parse_query(query).explain() == explained


def test_matchable_text_is_shared_between_queries() -> None:
    found = mention("Le tramway de Caen", title="Transports", lang="fr")
    text = MatchableText(found)
    for query in ("tramway", '"tramway de caen"', "transports caen", "bus", "lang:en"):
        assert parse_query(query).matches_text(text) is parse_query(query).matches(found)
    assert matchable(found) is matchable(found)
    assert matchable(found) is not matchable(mention("Le tramway de Caen", title="Transports", lang="fr"))


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Œuvre À L'ÉCOLE", "oeuvre a l'ecole"),
        ("Élection à Saint-Étienne", "election a saint-etienne"),
        ("Straße", "strasse"),
        ("ﬁn", "fin"),
        ("e\u0301cole", "ecole"),
        ("ПРИВЕТ", "привет"),
        ("Tor!", "tor!"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


# --- Properties on random text -------------------------------------------------------------------------------

SOFT_HYPHEN = "\u00ad"
ASCII_LETTERS = [*"abcdeXYZ019"]
# Letters that send a text down each folding path: Western European, Central European, Greek, Cyrillic, other.
SCRIPTS = [
    [*"éèêàçôœßÆØµ", "e\u0301", SOFT_HYPHEN],
    [*"łąśŁőğı"],
    [*"ΩλάΣς"],
    [*"жЁйП"],
    [*"北京"],
]
FOREIGN_WORDS = [" Łódź ", " Ελλάδα ", " Привет ", " 北京 "]
SEPARATORS = [" ", ", ", ". ", "’", "'", " « ", " » ", "-", "_", "\n", " 🚋 ", "…", " (", ") ", "/", "\u00a0"]


def random_word(rng: random.Random, alphabet: list[str]) -> list[str]:
    """A word as its letters (some two code points long), with at least two visible ones."""
    letters = [rng.choice(alphabet) for _ in range(rng.randint(0, 6))]
    for _ in range(2):
        letters.insert(rng.randint(0, len(letters)), rng.choice([*ASCII_LETTERS, "é", "ж"]))
    return letters


def random_words(rng: random.Random) -> list[str]:
    alphabet = ASCII_LETTERS + [letter for script in rng.sample(SCRIPTS, rng.randint(0, 2)) for letter in script]
    return ["".join(random_word(rng, alphabet)) for _ in range(rng.randint(1, 12))]


def random_text(rng: random.Random, words: list[str]) -> str:
    return "".join(word + rng.choice(SEPARATORS) for word in words)


def test_every_word_of_a_text_finds_it_and_the_text_reads_the_same_on_every_path() -> None:
    rng = random.Random(7)
    for _ in range(400):
        alphabet = ASCII_LETTERS + [letter for script in rng.sample(SCRIPTS, rng.randint(0, 2)) for letter in script]
        letters = [random_word(rng, alphabet) for _ in range(rng.randint(1, 12))]
        words = ["".join(word) for word in letters]
        text = random_text(rng, words)
        variants = [text, unicodedata.normalize("NFD", text), text.upper(), *(text + word for word in FOREIGN_WORDS)]
        picked = rng.randrange(len(words))
        visible = [letter for letter in letters[picked] if letter != SOFT_HYPHEN]
        probes = [words[picked], words[picked].upper(), f'"{" ".join(words[:3])}"', "".join(visible[:2]) + "*"]
        for probe in probes:
            query = parse_query(probe)
            assert all(query.matches(mention(variant)) for variant in variants), (probe, text)
        assert not any(parse_query("qqqqq").matches(mention(variant)) for variant in variants)


def test_operators_obey_boolean_algebra_on_random_mentions() -> None:
    rng = random.Random(11)
    vocabulary = ["tram", "bus", "velo", "metro", "caen"]
    pairs = [
        ("NOT (tram OR bus)", "-tram -bus"),
        ("NOT (tram bus)", "-tram OR -bus"),
        ("tram bus", "bus AND tram"),
        ("tram OR bus", "bus OR tram"),
        ("tram (bus OR velo)", "(tram bus) OR (tram velo)"),
        ("tram OR (bus velo)", "(tram OR bus) (tram OR velo)"),
        ("tram OR bus velo", "(tram OR bus) velo"),
        ("tram -bus", "tram NOT bus"),
        ("-(-tram)", "tram"),
    ]
    for _ in range(200):
        text = " ".join(rng.sample(vocabulary, rng.randint(0, len(vocabulary))))
        found = mention(text)
        for left, right in pairs:
            assert parse_query(left).matches(found) is parse_query(right).matches(found), (left, right, text)
        for word in vocabulary:
            assert parse_query(word).matches(found) is (word in text.split())


def test_fold_is_idempotent_and_lowercases_ascii() -> None:
    rng = random.Random(3)
    for _ in range(200):
        text = random_text(rng, random_words(rng))
        assert fold(fold(text)) == fold(text)
        ascii_text = text.encode("ascii", "ignore").decode()
        assert fold(ascii_text) == ascii_text.lower()


def test_hostile_mentions_do_not_break_matching() -> None:
    huge = "tram " + "x" * 200_000 + " \x00\x1f\ud800 fin"
    assert parse_query("tram fin").matches(mention(huge))
    assert not parse_query('"tram fin"').matches(mention(huge))
    odd = mention("tram", url="http://%zz:99999999/\x00", lang="\x00" * 50, author_handle="@" * 20)
    assert parse_query("tram -site:example.org -lang:fr -author:bob").matches(odd)


def test_outline_keeps_the_structure_and_the_words_as_typed() -> None:
    outline = parse_query(
        '("Caen la Mer" OR Préfecture*) -football #Tram l\'école lang:fr site:Example.org author:@Bob'
    ).outline()
    assert outline == Clause(
        "all",
        children=(
            Clause("any", children=(Clause("phrase", "Caen la Mer"), Clause("prefix", "Préfecture"))),
            Clause("not", children=(Clause("word", "football"),)),
            Clause("word", "#Tram"),
            Clause("phrase", "l'école"),
            Clause("lang", "fr"),
            Clause("site", "example.org"),
            Clause("author", "@Bob"),
        ),
    )
    assert parse_query("tram").outline() == Clause("word", "tram")
    assert parse_query('"tram"').outline() == Clause("word", "tram")
