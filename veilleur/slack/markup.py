"""Text objects and links for Block Kit, safe for outside text.

Slack parses `&`, `<` and `>` in mrkdwn (and in a message's top-level `text`): `<!channel>`, `<@U123>`,
`<#C123>`, `<!subteam^S1>` and `<https://evil|https://bank>` are all written with them, so escaping those three
characters neutralises every control sequence. plain_text objects are never parsed for mentions or links, so their
text goes in as it is. Formatting characters (`*_~` and backticks) in outside text still format: that is
cosmetic, and Slack offers no way to escape them.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from veilleur.core.errors import UserError
from veilleur.core.i18n import Phrase, t
from veilleur.core.text import ELLIPSIS, FORMAT_CHARACTERS, one_line, truncate, without_invisible

TEXT_LIMIT = 3000
_WEB_SCHEMES = frozenset({"http", "https"})
# Controls and invisible format characters: a right-to-left override in a URL would reverse what Slack shows of it.
_INVISIBLE_IN_URL_CLASS = rf"\x00-\x1f\x7f-\x9f{FORMAT_CHARACTERS}"
_INVISIBLE_IN_URL = re.compile(f"[{_INVISIBLE_IN_URL_CLASS}]")
# Those, whitespace and the characters that would end or split a `<url|label>` sequence.
_UNSAFE_IN_URL = re.compile(rf"[\s|<>{_INVISIBLE_IN_URL_CLASS}]")
# A label that is an address by itself ("bank.fr", "https://bank.fr/login"): a link must not show one address and
# lead to another.
_ADDRESS = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://)?(?P<host>(?:[\w-]+\.)+[^\W\d_]{2,})\.?(?::\d*)?(?:[/?#]\S*)?", re.IGNORECASE
)


def escape(text: str) -> str:
    """`text` with Slack's three control characters (`&`, `<`, `>`) turned into entities, nothing else."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def user_error_text(error: UserError, lang: str) -> str:
    """The sentence a person reads for `error`, its outside-text parameters escaped."""
    return t(error.key, lang, **{name: escape(value) for name, value in error.params.items()})


def phrase_line(phrase: Phrase | str, lang: str, limit: int) -> str:
    """`phrase` said in `lang` on one line, cut to `limit`: plain text, unescaped. Only its outside text (URLs, a
    server's message, or a plain text given instead of a phrase) is cleaned (whitespace collapsed, invisible
    characters dropped), so our French keeps its narrow no-break spaces."""
    if isinstance(phrase, str):
        return truncate(_clean_line(phrase), limit)
    return truncate(phrase.say(lang, outside=_clean_line), limit)


def _clean_line(text: str) -> str:
    return one_line(without_invisible(text))


def cut_markup(markup: str, limit: int) -> str:
    """`markup` (escaped text, links we built) cut to `limit` characters, ending in "…" when cut.

    The cut never falls inside an entity (`&amp;`) or a `<…>` sequence: a half entity shows as garbage and a
    half link is shown raw.
    """
    cut = truncate(markup, limit)
    if cut == markup:
        return markup
    head = cut.removesuffix(ELLIPSIS)
    for opener, closer in (("<", ">"), ("&", ";")):
        start = head.rfind(opener)
        if start != -1 and closer not in head[start:]:
            head = head[:start]
    return head.rstrip() + ELLIPSIS


def mrkdwn(text: str, limit: int = TEXT_LIMIT) -> dict[str, object]:
    """A verbatim mrkdwn text object for outside text: escaped, then cut to `limit` without splitting an entity.

    Verbatim, so Slack does not turn bare URLs, channel names or `@here` in the text into links or mentions.
    """
    return markup(escape(text), limit)


def markup(text: str, limit: int = TEXT_LIMIT) -> dict[str, object]:
    """A verbatim mrkdwn text object for markup we built (escaped parts, our links, our `<@U…>` mentions)."""
    return {"type": "mrkdwn", "text": cut_markup(text, limit), "verbatim": True}


def plain_text(text: str, limit: int) -> dict[str, object]:
    """A plain_text object (emoji shortcodes shown as emoji), cut to `limit` characters."""
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": True}


def web_url(url: str) -> str | None:
    """`url` made safe to send to Slack, or None when it is not an http(s) URL with a host.

    Whitespace, controls, `|`, `<` and `>` are percent-encoded: inside `<url|label>` they would end the URL
    early and let the rest of it pose as a label. Invisible format characters are percent-encoded too.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _WEB_SCHEMES or not parts.hostname:
        return None
    return _UNSAFE_IN_URL.sub(lambda match: quote(match.group()), url)


def url_as_shown(url: str) -> str:
    """`url` with its controls and invisible characters percent-encoded, as a label may show it: a label that left
    them out would not be the address the link leads to."""
    return _INVISIBLE_IN_URL.sub(lambda match: quote(match.group()), url)


def link(url: str, label: str) -> str:
    """A mrkdwn `<url|label>` link with an escaped label, or just the escaped label when `url` is not http(s).

    A label that is itself an address on another host than the URL's (a post titled "bank.fr" that links to
    evil.example) is replaced by the URL's host: the link shows where it leads.
    """
    safe_url = web_url(url)
    if safe_url is None:
        return escape(label)
    if not label:
        return f"<{escape(safe_url)}>"
    target = _bare_host(urlsplit(safe_url).hostname or "")
    address = _ADDRESS.fullmatch(label.strip())
    if address is not None and not _is_within(target, _bare_host(address.group("host"))):
        label = target
    return f"<{escape(safe_url)}|{escape(label)}>"


def _bare_host(host: str) -> str:
    return host.lower().rstrip(".").removeprefix("www.")


def _is_within(host: str, domain: str) -> bool:
    """Whether `host` is `domain` or one of its subdomains (whoever owns bank.fr owns login.bank.fr)."""
    return host == domain or host.endswith("." + domain)
