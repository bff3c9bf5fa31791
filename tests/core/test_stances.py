from itertools import product

import pytest

from veilleur.core.stances import LABELS, StanceShare, classify_lexically, tally


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Great news, I fully support the new tram line!", "for"),
        ("Thanks to the team, excellent work", "for"),
        ("This is a scandal and a waste of public money", "against"),
        ("I don't like this project at all", "against"),
        ("Not good enough, the works are always late", "against"),
        ("When will the replacement buses start?", "question"),
        ("The council meets on Tuesday at 6 pm.", "neutral"),
        ("Bravo à la mairie, enfin une bonne décision", "for"),
        ("Je soutiens ce projet", "for"),
        ("C'est une honte, encore du gaspillage", "against"),
        ("Je ne suis pas d'accord avec cette décision", "against"),
        ("Ce n'est pas bien du tout", "against"),
        ("À quelle heure passe le bus de remplacement ?", "question"),
        ("Le conseil municipal se réunit mardi.", "neutral"),
        # A question mark does not hide a clear side.
        ("Why waste money on this scandalous, useless, ridiculous project?", "against"),
    ],
)
def test_lexical_classifier(text: str, expected: str) -> None:
    assert classify_lexically(text) == expected


def test_tally_counts_each_label_exactly_in_a_fixed_order() -> None:
    labels = ["against"] * 7 + ["for"] * 2 + ["question"]
    assert tally(labels) == [
        StanceShare("for", 2, 20),
        StanceShare("against", 7, 70),
        StanceShare("neutral", 0, 0),
        StanceShare("question", 1, 10),
    ]


def test_shares_use_the_largest_remainder_so_they_add_up_to_100() -> None:
    assert [share.percent for share in tally(["for", "against", "neutral"])] == [34, 33, 33, 0]
    assert [share.percent for share in tally(["for", "for", "against"] * 2 + ["question"])] == [57, 29, 0, 14]


@pytest.mark.parametrize("counts", list(product(range(0, 7), repeat=4))[1::37])
def test_shares_always_add_up_to_100_and_stay_within_one_point(counts: tuple[int, ...]) -> None:
    labels = [label for label, count in zip(LABELS, counts, strict=True) for _ in range(count)]
    shares = tally(labels)
    total = sum(counts)
    if total == 0:
        assert all(share.percent == 0 for share in shares)
        return
    assert sum(share.percent for share in shares) == 100
    for share, count in zip(shares, counts, strict=True):
        assert share.count == count
        assert abs(share.percent - 100 * count / total) < 1


def test_no_messages_no_shares() -> None:
    assert tally([]) == [StanceShare(label, 0, 0) for label in LABELS]
