"""Which claims a mention repeats: key phrases as whole words, case and accents aside, and near copies."""

from __future__ import annotations

from veilleur.core.mentions import Mention
from veilleur.watching.claim_matching import (
    ClaimIndex,
    ClaimKeys,
    claim_fingerprint,
    parse_phrases,
    propose_phrases,
)

CLAIM = "La mairie va supprimer 300 places de stationnement rue Écuyère pour le tram sans concertation"


def post(text: str, title: str = "") -> Mention:
    return Mention(source="mastodon", external_id="1", url="https://example.social/@a/1", text=text, title=title)


def index(*claims: ClaimKeys) -> ClaimIndex:
    return ClaimIndex(claims)


def test_a_phrase_matches_when_all_its_words_are_there_in_any_order_case_or_accents() -> None:
    found = index(ClaimKeys(7, ("stationnement Écuyère",), None))
    assert found.match(post("RUE ECUYERE : plus de Stationnement !")) == [7]
    assert found.match(post("Le stationnement, rue écuyère, c'est fini")) == [7]
    assert found.match(post("Le stationnement est gratuit rue Saint-Jean")) == []


def test_a_phrase_matches_whole_words_only() -> None:
    found = index(ClaimKeys(1, ("tram gratuit",), None))
    assert found.match(post("Le tramway sera gratuitement ouvert")) == []
    assert found.match(post("Le tram sera gratuit")) == [1]


def test_the_title_counts_and_each_of_several_phrases_finds_the_claim() -> None:
    found = index(ClaimKeys(1, ("places supprimées", "300 places"), None), ClaimKeys(2, ("écoles fermées",), None))
    assert found.match(post("On en parle", title="300 places ?")) == [1]
    assert found.match(post("Écoles FERMÉES et places supprimées")) == [1, 2]


def test_a_near_copy_matches_by_its_fingerprint_without_any_phrase() -> None:
    found = index(ClaimKeys(3, (), claim_fingerprint(CLAIM)))
    assert found.match(post(f"RT @someone: {CLAIM} https://t.co/xyz #scandale #caen")) == [3]
    assert found.match(post(CLAIM.upper().replace("É", "E") + " !!!")) == [3]
    other = "La mairie va construire une nouvelle piscine rue Écuyère pour les écoles du quartier"
    assert found.match(post(other)) == []


def test_a_short_claim_has_no_fingerprint_and_a_short_post_is_not_compared_by_it() -> None:
    assert claim_fingerprint("Le tram est gratuit") is None
    found = index(ClaimKeys(3, (), claim_fingerprint(CLAIM)))
    assert found.match(post("La mairie va supprimer")) == []


def test_an_empty_index_matches_nothing() -> None:
    assert index().match(post(CLAIM)) == []
    assert index().size == 0


def test_proposed_phrases_hold_the_distinctive_words_in_the_claims_order() -> None:
    phrases = propose_phrases(CLAIM)
    assert phrases == ("300 stationnement concertation", "mairie supprimer écuyère")
    assert index(ClaimKeys(1, phrases, None)).match(post(CLAIM)) == [1]
    assert all(word not in " ".join(phrases).split() for word in ("la", "de", "pour", "le", "sans"))
    assert propose_phrases("https://example.fr/page @bob") == ()


def test_typed_phrases_are_trimmed_and_deduplicated() -> None:
    assert parse_phrases("  Rue   Écuyère \n\n rue ecuyère\n!!!\n300 places") == ("Rue Écuyère", "300 places")
