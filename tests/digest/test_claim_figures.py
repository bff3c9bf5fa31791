"""The digest's false claims: their mentions in the period, of high reach, before and after the correction."""

from datetime import timedelta

from tests.support.block_kit import block, has_block
from tests.support.digest_figures import DAY, END, PARIS, found, mention
from tests.support.sql import sql
from veilleur.digest.cards import digest_message
from veilleur.digest.compute import compute_digest
from veilleur.digest.model import Narrative
from veilleur.digest.narrative import facts_text
from veilleur.storage.claims import ClaimRecords, NewClaim
from veilleur.storage.store import Store


def mark(store: Store, text: str, *, correction_url: str | None = None) -> int:
    claim = NewClaim(text, ("tram gratuit",), None, None, correction_url, "U0ANN", "C1")
    return ClaimRecords(store).create(claim, END - timedelta(days=3))


def test_claims_count_their_mentions_of_the_period_before_and_after_the_correction(store: Store) -> None:
    found(store, "tram", [mention(f"m{n}", reach=20_000 if n < 2 else 10) for n in range(6)], END - timedelta(days=2))
    ids = [mention_id for (mention_id,) in sql(store).execute("select id from mentions order by external_id")]
    records = ClaimRecords(store)
    corrected = mark(store, "Le tram sera gratuit <script>", correction_url="https://caen.example/vrai")
    plain = mark(store, "Les écoles ferment")
    records.record_mentions([(corrected, ids[0], "high")], END - timedelta(days=2))  # before the period
    records.record_mentions([(corrected, ids[1], "high"), (corrected, ids[2], "low")], END - timedelta(hours=20))
    records.correct(corrected, None, "https://caen.example/vrai", END - timedelta(hours=10))
    records.record_mentions([(corrected, ids[3], "low"), (plain, ids[4], None)], END - timedelta(hours=2))

    figures = compute_digest(store, DAY).claims

    assert figures is not None
    assert [(line.claim_id, line.mentions, line.high_reach, line.before_correction, line.after_correction,
             line.corrected) for line in figures.claims] == [(corrected, 3, 1, 2, 1, True), (plain, 1, 0, 1, 0, False)]
    assert (figures.mentions, figures.high_reach) == (4, 1)
    text = block(digest_message(compute_digest(store, DAY), Narrative("", False), lang="en", tz=PARIS),
                 "claims")["text"]["text"]
    assert text.splitlines()[:2] == ["*False claims*", "2 claims followed · 4 mentions in the period · 1 high-reach"]
    assert "*#1* Le tram sera gratuit &lt;script&gt; — 3 mentions in the period · 2 before the correction, 1 after" \
           " · <https://caen.example/vrai|" in text
    assert "*#2* Les écoles ferment — 1 mention in the period · no correction yet" in text
    facts = facts_text(compute_digest(store, DAY))
    assert '- "Le tram sera gratuit <script>": 3 mentions, 1 of high reach; 2 before the official correction was' \
           " published, 1 after" in facts
    assert '- "Les écoles ferment": 1 mentions, 0 of high reach; no official correction recorded yet' in facts


def test_no_claims_section_without_claims(store: Store) -> None:
    found(store, "tram", [mention("m1")], END - timedelta(hours=2))
    digest = compute_digest(store, DAY)
    assert digest.claims is None
    assert not has_block(digest_message(digest, Narrative("", False), lang="en", tz=PARIS), "claims")


def test_a_claim_closed_before_the_period_without_mentions_in_it_is_left_out(store: Store) -> None:
    claim_id = mark(store, "Le tram sera gratuit")
    ClaimRecords(store).close(claim_id, "U0ANN", END - timedelta(days=2))
    assert compute_digest(store, DAY).claims is None
