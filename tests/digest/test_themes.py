"""Themes: distinct topics told apart, with their shares, stances and authors."""

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

from tests.support.digest_figures import BUDGET, DAY, END, PARK, TRAM, found, mention
from tests.support.sql import sql
from veilleur.core.stance_synthesis import synthesis_sentence
from veilleur.core.watcher_config import AuthorLabel
from veilleur.digest.cards import digest_message
from veilleur.digest.compute import compute_digest
from veilleur.digest.model import Narrative
from veilleur.digest.narrative import facts_text
from veilleur.storage.labels import MentionLabels, ModelLabel
from veilleur.storage.store import Store


def test_themes_group_distinct_topics_with_shares_stances_and_authors(store: Store) -> None:
    mentions = (
        [mention(f"tram{n}", text, reach=100 * (n + 1), handle=f"@rider{n}") for n, text in enumerate(TRAM)]
        + [mention(f"park{n}", text, handle=f"@walker{n}") for n, text in enumerate(PARK)]
        + [mention(f"budget{n}", text, handle="@mayor" if n == 0 else f"@voter{n}", reach=50)
           for n, text in enumerate(BUDGET)]
    )
    found(store, "city", mentions, END - timedelta(hours=1))
    authors = [AuthorLabel(labels=("elected",), handle="@Mayor")]

    digest = compute_digest(store, DAY, authors=authors)

    by_topic = {}
    for theme in digest.themes:
        texts = {example.mention.text for example in theme.examples}
        topic = next(name for name, group in (("tram", TRAM), ("park", PARK), ("budget", BUDGET))
                     if texts <= set(group))
        by_topic[topic] = theme
    assert set(by_topic) == {"tram", "park", "budget"}
    assert [by_topic[name].size for name in ("tram", "park", "budget")] == [5, 3, 3]
    # 5/11, 3/11, 3/11: 45.45, 27.27, 27.27; the missing point goes to the largest remainder.
    assert [by_topic[name].percent for name in ("tram", "park", "budget")] == [46, 27, 27]
    assert sum(theme.percent for theme in digest.themes) == 100
    assert digest.themes[0] is by_topic["tram"]
    assert "tram" in by_topic["tram"].terms and "park" in by_topic["park"].terms
    park_stances = {share.label: share.percent for share in by_topic["park"].stances}
    assert park_stances == {"for": 100, "against": 0, "neutral": 0, "question": 0}
    # Two "shame" messages against, one question.
    budget_stances = {share.label: share.percent for share in by_topic["budget"].stances}
    assert budget_stances == {"for": 0, "against": 67, "neutral": 0, "question": 33}
    assert [author.handle for author in by_topic["tram"].influential] == ["@rider4", "@rider3", "@rider2"]
    assert [(author.handle, author.labels) for author in by_topic["budget"].labelled] == [("@mayor", ("elected",))]
    assert by_topic["park"].influential == ()
    assert digest.clustered == 11


def test_a_theme_says_which_stance_most_authors_hold_and_where_high_reach_authors_and_figures_stand(
    store: Store,
) -> None:
    mentions = [mention(f"budget{n}", text, handle="@mayor" if n == 0 else f"@voter{n}",
                        reach=50_000 if n == 1 else 50) for n, text in enumerate(BUDGET)]
    found(store, "city", mentions, END - timedelta(hours=1))
    authors = [AuthorLabel(labels=("elected",), handle="@Mayor"), AuthorLabel(labels=("troll",), handle="@voter2")]

    (theme,) = compute_digest(store, DAY, authors=authors).themes

    synthesis = theme.synthesis
    assert synthesis is not None and synthesis.authors == 3
    assert (synthesis.leading.label, synthesis.leading.count, synthesis.leading_high_reach) == ("against", 2, 1)
    assert [role.role for role in synthesis.roles] == ["elected"]  # a "troll" label is never a figure here
    assert synthesis_sentence(synthesis, "en") == (
        "67% of the 3 authors are against, 1 of them high-reach; the elected official is against"
    )


def test_themes_count_the_team_s_and_the_model_s_stances_and_say_what_is_estimated(store: Store) -> None:
    found(store, "city", [mention(f"park{n}", text) for n, text in enumerate(PARK)], END - timedelta(hours=1))
    ids = {row["external_id"]: row["id"] for row in sql(store).query("select id, external_id from mentions")}
    labels = MentionLabels(store)
    labels.record_model([ids["park0"], ids["park1"]], {ids["park0"]: ModelLabel("against", False),
                                                       ids["park1"]: ModelLabel("neutral", False)})
    labels.correct(ids["park1"], "question", "U0ANN", END - timedelta(minutes=30))

    digest = compute_digest(store, DAY)

    (theme,) = digest.themes
    assert {share.label: share.count for share in theme.stances if share.count} == {
        "against": 1, "question": 1, "for": 1}
    assert theme.stance_tally is not None and theme.stance_tally.by == (("team", 1), ("model", 1), ("estimate", 1))
    assert digest.corrected == 1
    assert theme.synthesis is not None and theme.synthesis.authors == 3
    text = json.dumps(digest_message(digest, Narrative("", by_llm=False), lang="en", tz=ZoneInfo("UTC")))
    assert "(1 stance estimated by word list)" in text
    assert "The team corrected 1 stance label in this period." in text
    assert "; 1 of these 3 stances estimated by a word list" in facts_text(digest)


def test_themes_estimated_by_the_word_list_alone_say_so(store: Store) -> None:
    found(store, "city", [mention(f"park{n}", text) for n, text in enumerate(PARK)], END - timedelta(hours=1))
    digest = compute_digest(store, DAY)
    text = json.dumps(digest_message(digest, Narrative("", by_llm=False), lang="fr", tz=ZoneInfo("UTC")),
                      ensure_ascii=False)
    assert "Pour 100\u202f% (estimation par liste de mots)" in text
    assert "corrigé" not in text and digest.corrected == 0


def test_the_team_s_corrections_are_told_on_a_day_too_quiet_for_themes(store: Store) -> None:
    found(store, "city", [mention("lone", PARK[0])], END - timedelta(hours=1))
    (mention_id,) = [row["id"] for row in sql(store).query("select id from mentions")]
    MentionLabels(store).correct(mention_id, "against", "U0ANN", END - timedelta(minutes=30))

    digest = compute_digest(store, DAY)

    assert not digest.themes and digest.corrected == 1
    text = json.dumps(digest_message(digest, Narrative("", by_llm=False), lang="en", tz=ZoneInfo("UTC")))
    assert "The team corrected 1 stance label in this period." in text
