"""The false claims' messages and modal: outside text escaped, within Block Kit's limits, French typography."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.support.block_kit import block
from veilleur.storage.claims import Claim, ClaimSpread
from veilleur.watching.claim_cards import claim_list, claim_message, claim_modal

HOSTILE = "<!channel> *gras* & <https://evil.example|clique> " + "x" * 5000
AT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def claim(**values: object) -> Claim:
    fields: dict[str, object] = dict(
        id=4, text=HOSTILE, phrases=("<!here> tram",), fingerprint=None, correction_text=None, correction_url=None,
        correction_published_at=None, state="open", created_by="U0ANN", created_at=AT, closed_by=None,
        closed_at=None, channel="C1", message_id=1,
    )
    return Claim(**(fields | values))  # type: ignore[arg-type]


SPREAD = ClaimSpread(mentions=5, by_source=(("mastodon", 3), ("reddit", 2)), by_level={"high": 1, "low": 2, "": 2},
                     before_correction=4, after_correction=1)


def test_a_claims_message_escapes_its_text_and_stays_within_limits() -> None:
    message = claim_message(claim(), SPREAD, lang="en", tz=ZoneInfo("Europe/Paris"))
    text = json.dumps(message)
    assert "<!channel>" not in text and "<!here>" not in text and "&lt;!channel&gt;" in text
    assert all(len(b["text"]["text"]) <= 3000 for b in message["blocks"] if "text" in b)
    assert "5 mentions so far" in block(message, "spread")["text"]["text"]
    assert "1 high · 2 low" in block(message, "spread")["text"]["text"]
    assert "before the correction" not in text  # none recorded: nothing to compare


def test_a_corrected_claim_in_french_links_its_correction_and_counts_before_and_after() -> None:
    corrected = claim(correction_text="C'est faux", correction_url="https://caen.example/vrai",
                      correction_published_at=AT, state="closed", closed_by="U0BOSS", closed_at=AT)
    message = claim_message(corrected, SPREAD, lang="fr", tz=ZoneInfo("Europe/Paris"))
    correction = block(message, "correction")["text"]["text"]
    assert correction.startswith(":white_check_mark: Rectificatif\u202f: C'est faux <https://caen.example/vrai|")
    assert "4 avant le rectificatif · 1 après" in block(message, "spread")["text"]["text"]
    assert "close par <@U0BOSS>" in block(message, "marked")["elements"][0]["text"]


def test_the_modal_and_the_list_keep_to_slacks_limits() -> None:
    modal = claim_modal(HOSTILE, ("tram gratuit",), channel="C1", private_metadata="{}", lang="en")
    assert len(block(modal, "text")["element"]["initial_value"]) <= block(modal, "text")["element"]["max_length"]
    listed = claim_list([(claim(), SPREAD)] * 30, lang="en")
    text = listed["blocks"][0]["text"]["text"]
    assert len(text) <= 3000 and "&lt;!channel&gt;" in text
