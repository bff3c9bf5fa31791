"""Pseudonyms for what the LLM reads in the public-body profile, and real names back in what it writes."""

import time

import pytest

from veilleur.assist.pseudonyms import REAL_NAMES, Pseudonyms


def test_authors_are_numbered_in_order_of_first_appearance_and_stay_the_same() -> None:
    names = Pseudonyms("en", active=True)
    assert names.author("ann@mastodon.social", "Ann Martin") == "Author 1"
    assert names.author("@jdupont", "Jean Dupont") == "Author 2"
    assert names.author("@Ann@Mastodon.social") == "Author 1"  # handle without case or leading "@"
    assert names.author("", "jean dupont") == "Author 2"  # known by name alone
    assert names.author("bob") == "Author 3"


def test_the_pseudonym_is_in_the_bot_language() -> None:
    assert Pseudonyms("fr", active=True).author("jdupont") == "Auteur 1"


def test_texts_lose_every_known_handle_and_name_and_any_other_quoted_handle() -> None:
    names = Pseudonyms("en", active=True)
    names.author("ann@mastodon.social", "Ann Martin")
    names.author("jdupont", "Jean Dupont")
    hidden = names.hide(
        "Thanks @ann and @jdupont! Jean Dupont and ANN MARTIN agree, @ann@other.social too; ask @marie.l. "
        "jdupont said so. Write to jean.dupont@mairie.example."
    )
    assert hidden == (
        "Thanks Author 1 and Author 2! Author 2 and Author 1 agree, Author 3 too; ask Author 4. "
        "Author 2 said so. Write to [e-mail address]."
    )
    # The people first met in a text keep their pseudonyms in later texts and lines.
    assert names.author("ann@other.social") == "Author 3"
    assert names.hide("cc @marie.l") == "cc Author 4"


@pytest.mark.parametrize(
    "text",
    [
        "Annie and Bobby are not here",  # a name inside a longer word is another word
        "Al fresco",  # a two-letter name would take common words for people
        "joannmartin wrote",
        "really?",  # an author known by no name at all adds nothing to look for
        "jdupont2 is someone else",
    ],
)
def test_words_that_only_contain_an_alias_are_kept(text: str) -> None:
    names = Pseudonyms("en", active=True)
    names.author("ann@mastodon.social", "Ann")
    names.author("jdupont", "Bob")
    names.author("al@mastodon.social", "Al")
    names.author("?")
    assert names.hide(text) == text


def test_a_user_part_alone_is_a_handle_only_after_an_at_sign() -> None:
    names = Pseudonyms("en", active=True)
    names.author("ann@mastodon.social")
    assert names.hide("Ann said @ann is right") == "Ann said Author 1 is right"


def test_the_answer_gets_the_real_names_back() -> None:
    names = Pseudonyms("en", active=True)
    names.author("ann@mastodon.social", "Ann Martin")
    names.author("jdupont")
    names.hide("as @marie.l said")
    answer = "Author 1 criticises the plan; auteur 2 answers AUTHOR 3. Author 4 and Author 10 do not exist."
    assert names.reveal(answer) == (
        "Ann Martin criticises the plan; jdupont answers @marie.l. Author 4 and Author 10 do not exist."
    )


def test_inactive_pseudonyms_change_nothing() -> None:
    for names in (Pseudonyms("en", active=False), REAL_NAMES):
        assert names.author("jdupont", "Jean Dupont", shown="Jean Dupont (jdupont)") == "Jean Dupont (jdupont)"
        assert names.author("jdupont") == "jdupont"
        assert names.hide("@jdupont wrote to a@b.example") == "@jdupont wrote to a@b.example"
        assert names.reveal("Author 1") == "Author 1"
        assert names.reach(1234) == "reach 1234"


def test_reach_is_a_tier_under_pseudonyms() -> None:
    names = Pseudonyms("en", active=True)
    assert [names.reach(n) for n in (12, 1000, 48_000)] == ["reach under 1k", "reach 1k-10k", "reach over 10k"]


def test_hostile_names_neither_break_the_pattern_nor_stay_in_texts() -> None:
    names = Pseudonyms("en", active=True)
    names.author("a(b*c", "[x]+ ?.* (y")
    names.author("", "z" * 5000)  # deeper than the trie: looked for on its own
    assert names.hide(f"hi a(b*c, [x]+ ?.* (y and {'z' * 5000}!") == "hi Author 1, Author 1 and Author 2!"


def test_a_thousand_authors_over_a_long_conversation_stay_fast() -> None:
    names = Pseudonyms("en", active=True)
    for n in range(1000):
        names.author(f"user{n}@instance{n % 9}.social", f"Person Number {n}")
    text = "As @user12 and Person Number 512 said to @someone, the tram is late. " * 14  # about 1,000 characters
    started = time.perf_counter()
    for _ in range(2000):
        hidden = names.hide(text)
    assert time.perf_counter() - started < 5.0
    assert "user12" not in hidden and "Person Number" not in hidden and "someone" not in hidden
