"""The hostility word list: what it marks, what it must not, and its floors on the labelled set."""

from __future__ import annotations

import pytest

from tests.support.hostility_set import labelled_posts, scores
from veilleur.core.hostility import CATEGORIES, LISTS, RULES, Hostility, classify, is_hostile


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Espèce de connard !", "insult"),
        ("T'es qu'un bouffon", "insult"),
        ("Bande d'incapables à la mairie", "insult"),
        ("vous êtes vraiment des cons", "insult"),
        ("Le maire est con", "insult"),
        ("you're an idiot", "insult"),
        ("What an absolute moron", "insult"),
        ("fuck you and your bike lanes", "insult"),
        ("on sait où tu habites", "threat"),
        ("Je vais te buter", "threat"),
        ("go kill yourself", "threat"),
        ("we know where you live", "threat"),
        ("sale arabe", "harassment"),
        ("you retard", "harassment"),
        ("ces gens sont des rats", "dehumanising"),
        ("the officials who signed this are vermin", "dehumanising"),
    ],
)
def test_aimed_insults_threats_slurs_and_dehumanising_words_are_marked(text: str, category: str) -> None:
    assert classify(text) == Hostility(category)


@pytest.mark.parametrize(
    "text",
    [
        "c0nnard",  # leetspeak
        "connnnnard",  # a letter held
        "CONNARD",
        "Connârd",  # an accent folded away
        "idiooot, t'es un idiooot",
        "a$$hole",
        "f*ck you",  # one masked letter, read as the one word it can be
        "c*nnard de maire",
        "T’es qu’un bouffon",  # typographic apostrophes
    ],
)
def test_disguised_spellings_are_read_as_the_word(text: str) -> None:
    assert is_hostile(text)


@pytest.mark.parametrize(
    "text",
    [
        # Anger at a situation, crude words about a thing
        "c'est de la merde ce chantier",
        "putain encore des travaux",
        "quel bordel",
        "ce projet est débile",
        "Quelle connerie ce plan de circulation",
        "This is bullshit, the tram is late again",
        "What a stupid idea to close the bridge",
        "This app is a piece of shit",
        # Criticism without an insult
        "Vous êtes nuls en communication",
        "Les élus sont incompétents sur ce dossier",
        "The council is incompetent on housing",
        # Words inside others, and words that are insults only in some uses
        "le conseil municipal",
        "Scunthorpe",
        "connexion impossible",
        "concon",
        "les ordures ne sont pas ramassées",
        "des tas d'ordures devant l'école",
        "encore du retard sur la ligne 2",
        "un pain bâtard",
        "there's a clown show at the festival",
        "the whole consultation is a con",
        "parking is a bitch on market days",
        "les pigeons sont des rats volants",
        "une invasion de rats dans le parc",
        "ce commerce va crever avec les travaux",
        "I'll shoot you an email",
        "I hope you get better soon",
        "T'es pas con, toi",  # negated
        "la salle noire du cinéma",  # "salle" is not "sale"
        "",
    ],
)
def test_hard_negatives_are_not_marked(text: str) -> None:
    assert classify(text) is None


def test_every_rule_names_a_category_and_existing_lists() -> None:
    assert {category for category, _ in RULES} == set(CATEGORIES)
    for _, pattern in RULES:
        for slot in pattern.split():
            for alternative in slot.rstrip("?*").split("|"):
                if alternative.startswith("{"):
                    assert alternative.strip("{}") in LISTS, pattern


def test_the_labelled_set_is_large_enough_and_balanced() -> None:
    posts = labelled_posts()
    assert len(posts) >= 150
    for lang in ("fr", "en"):
        of_lang = [post for post in posts if post.lang == lang]
        hostile = sum(post.hostile for post in of_lang)
        assert 0.25 <= hostile / len(of_lang) <= 0.45
        assert sum(post.kind == "hard_negative" for post in of_lang) >= 30
    assert all((post.category in CATEGORIES) == post.hostile for post in posts)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_precision_and_recall_floors_on_the_labelled_set(lang: str) -> None:
    result = scores([post for post in labelled_posts() if post.lang == lang], is_hostile)
    # Measured 1.00 / 0.95 (fr) and 0.95 / 0.90 (en): the floors leave room for one or two posts, not more.
    assert result.precision >= 0.93
    assert result.recall >= 0.87


def test_floors_on_the_posts_written_after_the_rules() -> None:
    result = scores([post for post in labelled_posts() if post.split == "holdout"], is_hostile)
    assert result.precision >= 0.9
    assert result.recall >= 0.8
