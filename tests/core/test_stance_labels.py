"""One effective stance: the team's correction, else the model's label, else the word list's estimate."""

import pytest

from veilleur.core.stance_labels import BY_ESTIMATE, BY_MODEL, BY_TEAM, Stance, effective_stance, tally_stances
from veilleur.core.stances import classify_lexically

SARCASM = "Génial, encore une panne… merci la mairie"


@pytest.mark.parametrize(
    ("team", "model", "expected"),
    [
        ("against", "for", Stance("against", BY_TEAM)),
        (None, "against", Stance("against", BY_MODEL)),
        (None, None, Stance(classify_lexically(SARCASM), BY_ESTIMATE)),
        ("nonsense", "question", Stance("question", BY_MODEL)),
        (None, "nonsense", Stance(classify_lexically(SARCASM), BY_ESTIMATE)),
    ],
)
def test_the_team_wins_then_the_model_then_the_word_list(team: str | None, model: str | None,
                                                          expected: Stance) -> None:
    stance = effective_stance(SARCASM, team=team, model=model)
    assert stance == expected
    assert stance.estimated == (expected.by == BY_ESTIMATE)


def test_a_tally_counts_who_gave_each_stance() -> None:
    tallied = tally_stances([Stance("for", BY_TEAM), Stance("against", BY_MODEL), Stance("against", BY_ESTIMATE),
                             Stance("against", BY_MODEL)])
    assert [(share.label, share.count, share.percent) for share in tallied.shares if share.count] == [
        ("for", 1, 25), ("against", 3, 75)]
    assert tallied.by == ((BY_TEAM, 1), (BY_MODEL, 2), (BY_ESTIMATE, 1))
    assert (tallied.total, tallied.estimated, tallied.all_estimated) == (4, 1, False)
    assert tally_stances([Stance("for", BY_ESTIMATE)]).all_estimated
    assert not tally_stances([]).all_estimated
