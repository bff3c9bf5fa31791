"""Authors under pseudonyms in what goes to the LLM (PRIVACY_PROFILE=public-body), and back to their names in what
comes out (GDPR arts. 25 and 32: the LLM's operator never learns who said what).

One `Pseudonyms` serves one request, a summary's chunks and their combination counting as one: the same author is
the same pseudonym throughout, "Author 1", "Author 2"... in order of first appearance, in BOT_LANGUAGE ("Auteur 1").
An author is known by handle and name, and both are replaced wherever a text sent quotes them ("@jean", "Jean
Dupont"), as is any other "@handle" a text quotes (a person named in a post is a person too). E-mail addresses in
the texts are replaced by a placeholder. What the model still learns of an author is their public role (the labels
of `[[author]]` tables, limited to public roles in this profile) and their reach tier.

The model's answer gets each pseudonym back as the author's name (or handle), as plain text: it is escaped later,
like any model output. Inactive (the standard profile), every method gives back what it was given, so callers
build one kind of prompt either way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from veilleur.core.i18n import CATALOGUE, t
from veilleur.core.mentions import EMAIL_ADDRESS, reach_tier

# Shorter names would take common words for people ("Al" in "Al fresco"): such a name is still hidden as a handle.
MIN_NAME_CHARS = 3
# Longer aliases (hostile names) are looked for one by one: a trie is as deep as its longest word, and built by
# recursion.
TRIE_DEPTH = 200
EMAIL_PLACEHOLDER = "[e-mail address]"
# How prompts state a reach tier (prompts are written in English; see mentions.REACH_TIERS).
PROMPT_TIERS = {"under_1k": "under 1k", "1k_10k": "1k-10k", "over_10k": "over 10k"}
# "@jean", "@jean.dupont", "@ann@mastodon.social": a handle quoted in a text, not preceded by a word (an e-mail).
_QUOTED_HANDLE = r"@(?P<other>\w(?:[\w.-]*\w)?(?:@[\w-]+(?:\.[\w-]+)+)?)"
_WORDY = re.compile(r"\w")
# A pseudonym in any language of the catalogue, "Author 3" or "Auteur 3", as the model may write it back.
_WORD_OF = {lang: template.split("{number}")[0].strip() for lang, template in CATALOGUE["llm.pseudonym"].items()}
_WRITTEN_PSEUDONYM = re.compile(
    r"\b(?:" + "|".join(re.escape(word) for word in sorted(set(_WORD_OF.values()))) + r")\s*(\d{1,5})\b",
    re.IGNORECASE,
)


class Pseudonyms:
    """The pseudonyms of one request's authors (see the module's docstring); `active` in the public-body profile."""

    def __init__(self, lang: str, *, active: bool) -> None:
        self.lang = lang
        self.active = active
        # alias (lower case) -> (author number, whether the alias counts only after "@": a handle's user part)
        self._aliases: dict[str, tuple[int, bool]] = {}
        self._names: list[str] = []  # what each number stands for in the answer
        self._pattern: re.Pattern[str] | None = None

    def author(self, handle: str, name: str = "", *, shown: str = "") -> str:
        """What the prompt calls this author: their pseudonym; inactive, `shown` (else the name, else the handle)."""
        if not self.active:
            return shown or name or handle
        return self._label(self._number(handle, name))

    def reach(self, reach: int) -> str:
        """An author's reach as the prompt states it: "reach 1k-10k" (a tier), or inactive "reach 1200"."""
        return f"reach {PROMPT_TIERS[reach_tier(reach)]}" if self.active else f"reach {reach}"

    def hide(self, text: str) -> str:
        """`text` with every known author's handle and name, every other quoted @handle and every e-mail address
        replaced; inactive, `text` itself."""
        if not self.active or not text:
            return text
        text = EMAIL_ADDRESS.sub(EMAIL_PLACEHOLDER, text)
        return self._people().sub(self._replace, text)

    def reveal(self, text: str) -> str:
        """The model's answer with each pseudonym it wrote ("Author 2", "auteur 2") back as the author's name."""
        if not self.active or not self._names:
            return text

        def named(match: re.Match[str]) -> str:
            number = int(match[1])
            return self._names[number - 1] if 1 <= number <= len(self._names) else match[0]

        return _WRITTEN_PSEUDONYM.sub(named, text)

    def _label(self, number: int) -> str:
        return t("llm.pseudonym", self.lang, number=number)

    def _number(self, handle: str, name: str, *, written: str = "") -> int:
        """The author's number, a new one for an author not seen yet; each of their aliases now leads to it.
        The answer shows `written` in its place (a quoted "@handle"), else the name, else the handle."""
        aliases = _aliases(handle, name)
        # A user part alone ("ann") does not make two handles one person: ann@a.social is not ann@b.social.
        number = next(
            (self._aliases[alias][0] for alias, user_part in aliases if not user_part and alias in self._aliases),
            None,
        )
        if number is None:
            self._names.append(written or name.strip() or handle.strip() or "?")
            number = len(self._names)
        for alias, after_at_only in aliases:
            known = self._aliases.get(alias)
            # The same words as a full alias of someone else: the full alias wins (it was seen without "@").
            if known is None or (known[1] and not after_at_only):
                self._aliases[alias] = (number, after_at_only)
                self._pattern = None
        return number

    def _people(self) -> re.Pattern[str]:
        """Known aliases (as a trie, so a thousand authors cost about what one does), else any quoted @handle."""
        if self._pattern is None:
            deep = sorted((alias for alias in self._aliases if len(alias) > TRIE_DEPTH), key=len, reverse=True)
            trie = _trie(alias for alias in self._aliases if len(alias) <= TRIE_DEPTH)
            known = "|".join([*map(re.escape, deep), *([trie] if trie else [])])
            known_part = rf"(?P<at>@?)(?P<known>{known})(?![\w@])|" if known else ""
            self._pattern = re.compile(rf"(?<![\w@]){known_part}{_QUOTED_HANDLE}", re.IGNORECASE)
        return self._pattern

    def _replace(self, match: re.Match[str]) -> str:
        if match["other"] is not None:
            return self._label(self._number(match["other"], "", written=match[0]))
        found = match["known"].lower()
        # The regular expression ignores case letter by letter, which lower() can disagree with ("İ").
        entry = self._aliases.get(found) or next(
            (value for alias, value in self._aliases.items() if alias.casefold() == found.casefold()), None
        )
        if entry is None or (entry[1] and not match["at"]):
            return match[0]
        return self._label(entry[0])


# The standard profile's names: authors as they are, texts untouched.
REAL_NAMES = Pseudonyms("en", active=False)


def _aliases(handle: str, name: str) -> list[tuple[str, bool]]:
    """How texts may quote an author: the handle (without its "@"), a fediverse handle's user part after "@"
    ("@ann" for ann@mastodon.social), and the name if long enough."""
    found: list[tuple[str, bool]] = []
    bare = handle.strip().removeprefix("@").lower()
    if bare:
        found.append((bare, False))
        user, at, _ = bare.partition("@")
        if at and user:
            found.append((user, True))
    cleaned = " ".join(name.split()).lower()
    if len(cleaned) >= MIN_NAME_CHARS:
        found.append((cleaned, False))
    # An alias with no letter or digit ("?", an unknown author) would replace punctuation.
    return [(alias, user_part) for alias, user_part in found if _WORDY.search(alias)]


def _trie(words: Iterable[str]) -> str:
    """A regular expression matching any of `words` (longest first), built as a trie: one branch per next letter."""
    root: dict[str, dict] = {}
    for word in words:
        node = root
        for letter in word:
            node = node.setdefault(letter, {})
        node[""] = {}
    return _branches(root)


def _branches(node: dict[str, dict]) -> str:
    branches = [re.escape(letter) + _branches(child) for letter, child in sorted(node.items()) if letter]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body
