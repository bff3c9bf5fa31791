"""The stance synthesis sentence: shares per author, high-reach authors and public figures, in English and French."""

import pytest

from veilleur.core.stance_synthesis import AuthorStance, author_stance, synthesis_sentence, synthesize


def crowd(against: int, for_: int, *, high_against: int = 0, elected_for: int = 0) -> list[AuthorStance]:
    people = [AuthorStance("against", high_reach=n < high_against) for n in range(against)]
    people += [AuthorStance("for", high_reach=False, roles=("elected",) if n < elected_for else ())
               for n in range(for_)]
    return people


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "72% of the 25 authors are against, none of them high-reach; the 2 elected officials are for"),
        ("fr", "72\u202f% des 25 auteurs sont contre, aucun à forte audience\u202f; les 2 élus sont pour"),
    ],
)
def test_the_seed_sentence(lang: str, expected: str) -> None:
    synthesis = synthesize(crowd(18, 7, elected_for=2))
    assert synthesis is not None
    assert synthesis_sentence(synthesis, lang) == expected[:1].upper() + expected[1:]


def test_high_reach_authors_of_the_leading_stance_are_counted() -> None:
    synthesis = synthesize(crowd(6, 4, high_against=2))
    assert synthesis is not None and synthesis.leading.label == "against" and synthesis.leading.percent == 60
    assert synthesis_sentence(synthesis, "en") == "60% of the 10 authors are against, 2 of them high-reach"
    assert "dont 2 à forte audience" in synthesis_sentence(synthesis, "fr")


def test_a_split_role_lists_each_stance_and_a_single_figure_is_singular() -> None:
    people = [AuthorStance("for", False, ("journalist",)), AuthorStance("against", True, ("journalist",)),
              AuthorStance("against", False, ("institution",)), AuthorStance("against", False)]
    synthesis = synthesize(people)
    assert synthesis is not None
    assert synthesis_sentence(synthesis, "en") == (
        "75% of the 4 authors are against, 1 of them high-reach; the 2 journalists: 1 for, 1 against;"
        " the institution is against"
    )
    assert synthesis_sentence(synthesis, "fr").endswith("les 2 journalistes\u202f: 1 pour, 1 contre\u202f;"
                                                        " l’institution est contre")


def test_one_author_and_nobody() -> None:
    one = synthesize([AuthorStance("question", True)])
    assert one is not None
    assert synthesis_sentence(one, "en") == "The only author is asking questions, with a high reach"
    assert synthesize([]) is None


def test_an_author_counts_once_with_the_stance_most_of_their_posts_take() -> None:
    assert author_stance(["for", "against", "against"]) == "against"
    assert author_stance(["question", "for"]) == "for"  # ties: LABELS order
