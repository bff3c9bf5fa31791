"""The digest's false claims: those followed during the period, with their mentions in it, how many of high reach,
and how many came before and after the official correction was published (watching/claims.py)."""

from __future__ import annotations

from veilleur.digest.model import ClaimFigures, ClaimLine, DigestPeriod
from veilleur.storage.claims import ClaimRecords
from veilleur.storage.store import Store


def claim_figures(store: Store, period: DigestPeriod) -> ClaimFigures | None:
    """None when no claim was followed during the period: the digest then has no claims section."""
    records = ClaimRecords(store)
    lines = []
    for claim in records.claims_with_mentions_between(period.start, period.end):
        spread = records.spread(claim, period.start, period.end)
        lines.append(ClaimLine(
            claim_id=claim.id,
            text=claim.text,
            closed=claim.state == "closed",
            mentions=spread.mentions,
            high_reach=spread.by_level.get("high", 0),
            before_correction=spread.before_correction,
            after_correction=spread.after_correction,
            corrected=claim.corrected,
            correction_text=claim.correction_text,
            correction_url=claim.correction_url,
        ))
    if not lines:
        return None
    return ClaimFigures(tuple(sorted(lines, key=lambda line: (-line.mentions, line.claim_id))))
