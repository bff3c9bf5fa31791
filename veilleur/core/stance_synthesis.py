"""The sentence an official asks for: what share of the authors holds each stance, and whether those who matter
(high-reach authors, public figures) are among them: "72% of the 25 authors are against, none of them high-reach;
the 2 elected officials are for".

Counted per author, not per post: one person posting ten times is one voice. Public figures are authors with a
public role (`PUBLIC_ROLES`, from `[[author]]` tables or `authors import`); no other label is named here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from veilleur.core.i18n import t, t_plural
from veilleur.core.stances import LABELS, StanceShare, tally
from veilleur.core.watcher_config import PUBLIC_ROLES


@dataclass(frozen=True, slots=True)
class AuthorStance:
    stance: str  # one of stances.LABELS
    high_reach: bool
    roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RoleStances:
    role: str
    stances: tuple[StanceShare, ...]  # LABELS order, the role's authors only

    @property
    def count(self) -> int:
        return sum(share.count for share in self.stances)


@dataclass(frozen=True, slots=True)
class StanceSynthesis:
    authors: int
    leading: StanceShare  # the stance most authors hold (ties: LABELS order), with its share of all authors
    leading_high_reach: int  # how many of the authors holding it are high-reach
    roles: tuple[RoleStances, ...]  # PUBLIC_ROLES order, the roles present


def author_stance(stances: Sequence[str]) -> str:
    """An author's stance: the one most of their posts take (ties: LABELS order)."""
    counts = Counter(stances)
    return max(LABELS, key=lambda label: (counts[label], -LABELS.index(label)))


def synthesize(authors: Sequence[AuthorStance]) -> StanceSynthesis | None:
    if not authors:
        return None
    shares = tally([author.stance for author in authors])
    leading = max(shares, key=lambda share: (share.count, -LABELS.index(share.label)))
    roles = tuple(
        RoleStances(role, tuple(tally([author.stance for author in authors if role in author.roles])))
        for role in PUBLIC_ROLES
        if any(role in author.roles for author in authors)
    )
    high = sum(author.high_reach for author in authors if author.stance == leading.label)
    return StanceSynthesis(len(authors), leading, high, roles)


def synthesis_sentence(synthesis: StanceSynthesis, lang: str) -> str:
    """The synthesis in one sentence of the catalogue, `lang` ("en" or "fr")."""
    leading = synthesis.leading
    stance = t(f"synthesis.stance.{leading.label}", lang)
    parts = [t_plural("synthesis.lead", synthesis.authors, lang, count=synthesis.authors, percent=leading.percent,
                      stance=stance)]
    high = synthesis.leading_high_reach
    parts.append(t("synthesis.high_reach.none", lang) if high == 0 and synthesis.authors > 1
                 else t_plural("synthesis.high_reach", high, lang, count=high) if synthesis.authors > 1
                 else t("synthesis.high_reach.self" if high else "synthesis.high_reach.not_self", lang))
    sentence = ", ".join(parts)
    for role in synthesis.roles:
        sentence = t("synthesis.then", lang, first=sentence, then=_role_part(role, lang))
    return sentence[:1].upper() + sentence[1:]


def _role_part(role: RoleStances, lang: str) -> str:
    who = t_plural(f"synthesis.role.{role.role}", role.count, lang, count=role.count)
    held = [share for share in role.stances if share.count]
    if len(held) == 1:
        return t_plural("synthesis.figures.same", role.count, lang, who=who,
                        stance=t(f"synthesis.stance.{held[0].label}", lang))
    shares = ", ".join(
        t_plural("synthesis.share", share.count, lang, count=share.count,
                 stance=t(f"synthesis.stance.{share.label}", lang))
        for share in held
    )
    return t("synthesis.figures.split", lang, who=who, shares=shares)
