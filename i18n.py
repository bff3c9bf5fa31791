"""Every sentence the bot writes, in English and French, and the few locale rules they need.

The catalogue is plain data: one key, one template per language, `str.format` placeholders. A key ending in
`.one`/`.other` is a plural pair, chosen by `t_plural`. Templates are ours; parameters may be outside text, which
`str.format` inserts without interpreting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LANGUAGES = ("en", "fr")

CATALOGUE: dict[str, dict[str, str]] = {
    "button.draft": {"en": "Draft reply", "fr": "Rédiger une réponse"},
    "button.flag": {"en": "Flag", "fr": "Signaler"},
    "button.summarize": {"en": "Summarize", "fr": "Résumer"},
    "button.dismiss": {"en": "Dismiss", "fr": "Ignorer"},
    "button.open": {"en": "Open", "fr": "Ouvrir"},
    "card.fallback": {
        "en": "New mention on {source} by {author}: {excerpt}",
        "fr": "Nouvelle mention sur {source} par {author} : {excerpt}",
    },
    "card.fallback_anonymous": {
        "en": "New mention on {source}: {excerpt}",
        "fr": "Nouvelle mention sur {source} : {excerpt}",
    },
    "card.reach.one": {"en": "{count} follower", "fr": "{count} abonné"},
    "card.reach.other": {"en": "{count} followers", "fr": "{count} abonnés"},
    "card.watcher": {"en": "watcher: {name}", "fr": "veille : {name}"},
    "rollup.one": {
        "en": "{count} new mention for {watcher}, in the thread",
        "fr": "{count} nouvelle mention pour {watcher}, dans le fil",
    },
    "rollup.other": {
        "en": "{count} new mentions for {watcher}, in the thread",
        "fr": "{count} nouvelles mentions pour {watcher}, dans le fil",
    },
    "health.alert": {
        "en": "Watcher {watcher} ({source}) has failed {failures} times in a row since {since}: {error}",
        "fr": "La veille {watcher} ({source}) a échoué {failures} fois de suite depuis {since} : {error}",
    },
    "health.alert_hint": {
        "en": "No new mentions arrive from it until this is fixed. Run `python bot.py status` for every watcher.",
        "fr": "Aucune nouvelle mention n’en arrive tant que ce n’est pas réglé. `python bot.py status` donne l’état de "
        "chaque veille.",
    },
    "health.recovered": {
        "en": "Watcher {watcher} ({source}) works again (it was failing since {since}).",
        "fr": "La veille {watcher} ({source}) fonctionne à nouveau (elle échouait depuis {since}).",
    },
    "health.unknown_time": {"en": "an unknown time", "fr": "un moment inconnu"},
    "card.dismissed": {
        "en": ":white_check_mark: Dismissed by {user} on {time}",
        "fr": ":white_check_mark: Ignorée par {user} le {time}",
    },
    "card.not_ours": {
        "en": "This message is not a Veilleur mention card.",
        "fr": "Ce message n’est pas une fiche de mention de Veilleur.",
    },
    "feature.not_available": {
        "en": "“{feature}” is not available yet: it is coming in a later version.",
        "fr": "« {feature} » n’est pas encore disponible : cette fonction arrive dans une prochaine version.",
    },
    "date.datetime": {"en": "{day} {month} {year} {time}", "fr": "{day} {month} {year} à {time}"},
    "date.first_day": {"en": "1", "fr": "1er"},
    "month.1": {"en": "Jan", "fr": "janv."},
    "month.2": {"en": "Feb", "fr": "févr."},
    "month.3": {"en": "Mar", "fr": "mars"},
    "month.4": {"en": "Apr", "fr": "avr."},
    "month.5": {"en": "May", "fr": "mai"},
    "month.6": {"en": "Jun", "fr": "juin"},
    "month.7": {"en": "Jul", "fr": "juil."},
    "month.8": {"en": "Aug", "fr": "août"},
    "month.9": {"en": "Sep", "fr": "sept."},
    "month.10": {"en": "Oct", "fr": "oct."},
    "month.11": {"en": "Nov", "fr": "nov."},
    "month.12": {"en": "Dec", "fr": "déc."},
    "number.decimal_separator": {"en": ".", "fr": ","},
    # A no-break space keeps "12,3 k" on one line.
    "number.thousands": {"en": "{number}k", "fr": "{number}\u00a0k"},
    "number.millions": {"en": "{number}M", "fr": "{number}\u00a0M"},
    "number.billions": {"en": "{number}B", "fr": "{number}\u00a0Md"},
}

# Counts that take the singular (CLDR cardinal rule "one" for integers): French says "0 abonné".
_SINGULAR_COUNTS = {"en": frozenset({1}), "fr": frozenset({0, 1})}
_COUNT_UNITS = ((1_000, "number.thousands"), (1_000_000, "number.millions"), (1_000_000_000, "number.billions"))


def t(key: str, lang: str, **params: object) -> str:
    """The `lang` sentence for `key`, with `params` filled in. Unknown keys and languages raise KeyError."""
    return CATALOGUE[key][lang].format(**params)


def t_plural(key: str, n: int, lang: str, **params: object) -> str:
    """The singular (`key.one`) or plural (`key.other`) sentence for a count of `n` in `lang`.

    `n` only chooses the form; pass the count to show as a parameter like any other.
    """
    form = "one" if n in _SINGULAR_COUNTS[lang] else "other"
    return t(f"{key}.{form}", lang, **params)


def format_count(n: int, lang: str) -> str:
    """`n` in a short form: 950, 12.3k, 1.2M in English; 950, 12,3 k, 1,2 M in French.

    Integer arithmetic throughout, so any int works (no float overflow) and rounding is half up.
    """
    sign, n = ("-" if n < 0 else ""), abs(n)
    if n < _COUNT_UNITS[0][0]:
        return f"{sign}{n}"
    # The smallest unit that keeps the rounded number under 1000 (999.6k is 1M, not 1000k).
    size, key = next(((size, key) for size, key in _COUNT_UNITS if (n + size // 2) // size < 1000), _COUNT_UNITS[-1])
    whole, tenth = divmod((n * 10 + size // 2) // size, 10)
    if whole >= 100:  # 123k, not 123.4k
        number = str((n + size // 2) // size)
    else:
        number = f"{whole}{t('number.decimal_separator', lang)}{tenth}" if tenth else str(whole)
    return sign + t(key, lang, number=number)


def format_datetime(moment: datetime, tz: ZoneInfo, lang: str) -> str:
    """`moment` as a reader in `tz` would write it: "24 Nov 2026 09:15", "24 nov. 2026 à 09:15".

    A naive `moment` is taken to be UTC, as sources give them.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(tz)
    day = t("date.first_day", lang) if local.day == 1 else str(local.day)
    month = t(f"month.{local.month}", lang)
    return t("date.datetime", lang, day=day, month=month, year=local.year, time=f"{local:%H:%M}")
