"""Every sentence the bot writes, in English and French, and the few locale rules they need.

The catalogue is plain data: one key, one template per language, `str.format` placeholders. A key ending in
`.one`/`.other` (or another CLDR form) is a plural form, chosen by `t_plural`. Templates are ours; parameters may be
outside text, which `str.format` inserts without interpreting. French templates are written with ordinary spaces:
`french_typography` gives them their narrow no-break spaces when first used, in this one place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import get_month_names
from babel.numbers import format_compact_decimal, format_decimal

from veilleur.core.mentions import reach_tier

LANGUAGES = ("en", "fr")

CATALOGUE: dict[str, dict[str, str]] = {
    # A heading and what it introduces, on one line: "*Top terms*: tram (12) · strike (4)".
    "common.labelled": {"en": "*{label}*: {text}", "fr": "*{label}* : {text}"},
    "button.draft": {"en": "Draft reply", "fr": "Rédiger une réponse"},
    "button.flag": {"en": "Escalate", "fr": "Signaler"},
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
    # A reach kept as a tier (PRIVACY_PROFILE=public-body), see mentions.REACH_TIERS.
    "reach.under_1k": {"en": "under 1K followers", "fr": "moins de 1\u00a0k abonnés"},
    "reach.1k_10k": {"en": "1K–10K followers", "fr": "1\u00a0k à 10\u00a0k abonnés"},
    "reach.over_10k": {"en": "over 10K followers", "fr": "plus de 10\u00a0k abonnés"},
    # A mention's reach compared across sources (reach.reach_level): followers, score, points, likes or outlet.
    "reach.level.low": {"en": "low reach", "fr": "faible audience"},
    "reach.level.medium": {"en": "medium reach", "fr": "audience moyenne"},
    "reach.level.high": {"en": "high reach", "fr": "forte audience"},
    "card.watcher": {"en": "watcher: {name}", "fr": "veille : {name}"},
    # A post marked hostile (core/hostility.py): the mark is about the post, never its author.
    "card.hostile.model": {
        "en": "Hostile post: don’t feed it — see the charter",
        "fr": "Message hostile : ne pas répondre sur le fond — voir la charte",
    },
    "card.hostile.estimate": {
        "en": "Hostile post: don’t feed it — see the charter (estimate)",
        "fr": "Message hostile : ne pas répondre sur le fond — voir la charte (estimation)",
    },
    # The card of a post the team marked as a false claim (watching/claims.py), while the claim is followed.
    "card.claim": {
        "en": "False claim #{id}, followed: its repeats are counted on its message, not posted one by one",
        "fr": "Fausse information n°{id}, suivie : ses reprises sont comptées sur son message, pas publiées une à une",
    },
    "rollup.one": {
        "en": "{count} new mention for {watcher}, in the thread",
        "fr": "{count} nouvelle mention pour {watcher}, dans le fil",
    },
    "rollup.other": {
        "en": "{count} new mentions for {watcher}, in the thread",
        "fr": "{count} nouvelles mentions pour {watcher}, dans le fil",
    },
    "rollup.more.one": {
        "en": "{count} more new mention got no card, past the limit of cards per poll: it is kept, and counts in the "
        "digest and spike alerts.",
        "fr": "{count} autre nouvelle mention n’a pas eu de carte, au-delà de la limite de cartes par relevé : elle "
        "est conservée et compte dans la synthèse et les alertes de pic.",
    },
    "rollup.more.other": {
        "en": "{count} more new mentions got no card, past the limit of cards per poll: they are kept, and count in "
        "the digest and spike alerts.",
        "fr": "{count} autres nouvelles mentions n’ont pas eu de carte, au-delà de la limite de cartes par relevé : "
        "elles sont conservées et comptent dans la synthèse et les alertes de pic.",
    },
    "rollup.more_best": {"en": "Most reached of them", "fr": "Plus forte audience parmi elles"},
    # False claims the team follows (watching/claims.py).
    "button.claim": {"en": "False claim", "fr": "Fausse information"},
    "claim.modal.title": {"en": "Mark a false claim", "fr": "Fausse information"},
    "claim.modal.submit": {"en": "Follow it", "fr": "La suivre"},
    "claim.modal.text": {"en": "The claim", "fr": "L’information fausse"},
    "claim.modal.phrases": {"en": "Key phrases, one per line", "fr": "Expressions clés, une par ligne"},
    "claim.modal.phrases_hint": {
        "en": "A post repeats the claim when it holds every word of one line (case and accents aside), or copies "
        "its text. Proposed from the claim's distinctive words: edit them.",
        "fr": "Un message reprend l’information quand il contient tous les mots d’une ligne (sans tenir compte des "
        "majuscules ni des accents), ou en copie le texte. Proposées d’après ses mots distinctifs : modifiez-les.",
    },
    "claim.modal.correction": {"en": "Official correction (optional)", "fr": "Rectificatif officiel (facultatif)"},
    "claim.modal.correction_hint": {
        "en": "A link, a text, or both. You can add it later with /claim correct.",
        "fr": "Un lien, un texte, ou les deux. Vous pourrez l’ajouter plus tard avec /claim correct.",
    },
    "claim.modal.channel": {"en": "Post its follow-up in", "fr": "Publier son suivi dans"},
    "claim.title": {"en": "False claim #{id}", "fr": "Fausse information n°{id}"},
    "claim.state.open": {"en": "followed", "fr": "suivie"},
    "claim.state.closed": {"en": "closed", "fr": "close"},
    "claim.found_by": {"en": "Found by", "fr": "Repérée par"},
    "claim.found_by_copies": {"en": "{phrases} · copies of its text", "fr": "{phrases} · copies de son texte"},
    "claim.no_phrases": {"en": "no key phrase", "fr": "aucune expression clé"},
    "claim.no_correction": {
        "en": "No correction recorded yet: `/claim correct {id} <link or text>`",
        "fr": "Aucun rectificatif enregistré pour l’instant : `/claim correct {id} <lien ou texte>`",
    },
    "claim.correction": {"en": "Correction: {correction} (published {at})", "fr": "Rectificatif : {correction} "
                         "(publié le {at})"},
    "claim.mentions.one": {"en": "{count} mention so far", "fr": "{count} mention jusqu’ici"},
    "claim.mentions.other": {"en": "{count} mentions so far", "fr": "{count} mentions jusqu’ici"},
    "claim.sources": {"en": "Sources", "fr": "Sources"},
    "claim.reach": {"en": "Reach", "fr": "Audience"},
    "claim.level.high.one": {"en": "{count} high", "fr": "{count} forte"},
    "claim.level.high.other": {"en": "{count} high", "fr": "{count} fortes"},
    "claim.level.medium.one": {"en": "{count} medium", "fr": "{count} moyenne"},
    "claim.level.medium.other": {"en": "{count} medium", "fr": "{count} moyennes"},
    "claim.level.low.one": {"en": "{count} low", "fr": "{count} faible"},
    "claim.level.low.other": {"en": "{count} low", "fr": "{count} faibles"},
    "claim.before_after": {
        "en": "{before} before the correction · {after} after",
        "fr": "{before} avant le rectificatif · {after} après",
    },
    "claim.uncorrected": {"en": "no correction yet", "fr": "pas encore de rectificatif"},
    "claim.marked_by": {"en": "Marked by {user} on {at}", "fr": "Signalée par {user} le {at}"},
    "claim.closed_by": {"en": "closed by {user} on {at}: no longer followed", "fr": "close par {user} le {at} : "
                        "elle n’est plus suivie"},
    "claim.how_to_close": {
        "en": "new mentions are counted here, not posted one by one · `/claim close {id}` ends it",
        "fr": "les nouvelles mentions sont comptées ici, sans carte chacune · `/claim close {id}` y met fin",
    },
    "claim.fallback.one": {"en": "False claim #{id} ({count} mention): {text}",
                           "fr": "Fausse information n°{id} ({count} mention) : {text}"},
    "claim.fallback.other": {"en": "False claim #{id} ({count} mentions): {text}",
                             "fr": "Fausse information n°{id} ({count} mentions) : {text}"},
    "claim.accelerating.one": {
        "en": "False claim #{id} spreads faster: {count} new mention this hour ({previous} the hour before).",
        "fr": "La fausse information n°{id} se propage plus vite : {count} nouvelle mention cette heure-ci "
        "({previous} l’heure précédente).",
    },
    "claim.accelerating.other": {
        "en": "False claim #{id} spreads faster: {count} new mentions this hour ({previous} the hour before).",
        "fr": "La fausse information n°{id} se propage plus vite : {count} nouvelles mentions cette heure-ci "
        "({previous} l’heure précédente).",
    },
    "claim.list.title": {"en": "False claims", "fr": "Fausses informations"},
    "claim.list.empty": {
        "en": "No false claim is followed. Mark one with a card's False claim button or `/claim <text>`.",
        "fr": "Aucune fausse information n’est suivie. Signalez-en une avec le bouton Fausse information d’une carte "
        "ou `/claim <texte>`.",
    },
    "claim.usage": {
        "en": "`/claim <text>` marks a false claim · `/claim list` · `/claim close <id>` · "
        "`/claim correct <id> <link or text>`",
        "fr": "`/claim <texte>` signale une fausse information · `/claim list` · `/claim close <n°>` · "
        "`/claim correct <n°> <lien ou texte>`",
    },
    "claim.marked": {
        "en": "False claim #{id} is followed: its mentions are counted on its message in {channel}, not posted "
        "one by one.",
        "fr": "La fausse information n°{id} est suivie : ses mentions sont comptées sur son message dans {channel}, "
        "sans carte chacune.",
    },
    "claim.closed": {"en": "False claim #{id} is closed: it is no longer followed.",
                     "fr": "La fausse information n°{id} est close : elle n’est plus suivie."},
    "claim.corrected": {"en": "The correction of false claim #{id} is recorded, published now.",
                        "fr": "Le rectificatif de la fausse information n°{id} est enregistré, publié maintenant."},
    "claim.empty": {"en": "Write the claim first.", "fr": "Écrivez d’abord l’information fausse."},
    "claim.no_phrases_short": {
        "en": "This claim is too short to be recognised by its text alone: give at least one key phrase.",
        "fr": "Cette information est trop courte pour être reconnue à son seul texte : donnez au moins une "
        "expression clé.",
    },
    "claim.unknown": {"en": "There is no false claim #{id}: `/claim list` shows them.",
                      "fr": "Il n’y a pas de fausse information n°{id} : `/claim list` les montre."},
    "claim.already_closed": {"en": "False claim #{id} is already closed.",
                             "fr": "La fausse information n°{id} est déjà close."},
    "claim.not_yours": {
        "en": "Only whoever marked false claim #{id}, or an admin, may close or correct it.",
        "fr": "Seule la personne qui a signalé la fausse information n°{id}, ou un administrateur, peut la clore "
        "ou la rectifier.",
    },
    "claim.correct_usage": {"en": "Give the correction: `/claim correct <id> <link or text>`.",
                            "fr": "Donnez le rectificatif : `/claim correct <n°> <lien ou texte>`."},
    "health.alert.one": {
        "en": "Watcher {watcher} ({source}) has failed since {since}: {error}",
        "fr": "La veille {watcher} ({source}) a échoué {count} fois depuis {since} : {error}",
    },
    "health.alert.other": {
        "en": "Watcher {watcher} ({source}) has failed {count} times in a row since {since}: {error}",
        "fr": "La veille {watcher} ({source}) a échoué {count} fois de suite depuis {since} : {error}",
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
    "health.database_down": {
        "en": "Veilleur cannot write to its database, so no new mention is stored or posted: {reason}",
        "fr": "Veilleur ne peut plus écrire dans sa base de données : aucune nouvelle mention n’est enregistrée ni "
        "publiée. Cause : {reason}",
    },
    "health.database_down_hint": {
        "en": "Nothing already collected is lost: once the database can be written again, the next polls catch up.",
        "fr": "Rien de ce qui a déjà été collecté n’est perdu : dès que la base accepte de nouveau les écritures, "
        "les prochains relevés rattrapent le retard.",
    },
    "health.database_up": {
        "en": "Veilleur can write to its database again; the watchers are catching up.",
        "fr": "Veilleur peut de nouveau écrire dans sa base de données ; les veilles rattrapent leur retard.",
    },
    # Why a poll, a test or a URL failed. Errors carry these as a Phrase (i18n.Phrase): the English text is what logs
    # and the database keep, and Slack and the command line say it in BOT_LANGUAGE.
    "error.technical": {"en": "{detail}", "fr": "erreur technique ({detail})"},
    "error.internal": {"en": "internal error: {detail}", "fr": "erreur interne ({detail})"},
    "error.no_answer_within.one": {"en": "no answer within {count}s", "fr": "aucune réponse en {count} s"},
    "error.no_answer_within.other": {"en": "no answer within {count}s", "fr": "aucune réponse en {count} s"},
    "error.timeout": {"en": "{url} did not answer in time", "fr": "{url} n’a pas répondu à temps"},
    "error.too_slow.one": {
        "en": "{url} was still sending its answer after {count}s (too slow; gave up)",
        "fr": "{url} envoyait encore sa réponse au bout de {count} s (trop lent : abandon)",
    },
    "error.too_slow.other": {
        "en": "{url} was still sending its answer after {count}s (too slow; gave up)",
        "fr": "{url} envoyait encore sa réponse au bout de {count} s (trop lent : abandon)",
    },
    "error.redirects.one": {
        "en": "{url} redirects more than {count} time (a redirect loop?)",
        "fr": "{url} redirige plus de {count} fois (une boucle de redirections ?)",
    },
    "error.redirects.other": {
        "en": "{url} redirects more than {count} times (a redirect loop?)",
        "fr": "{url} redirige plus de {count} fois (une boucle de redirections ?)",
    },
    "error.unreachable": {"en": "could not reach {url}: {detail}", "fr": "{url} est injoignable ({detail})"},
    "error.dns": {
        "en": "cannot find the host {host} for {url} (the name does not resolve: check the address and this machine's "
        "DNS)",
        "fr": "hôte {host} introuvable pour {url} (le nom ne se résout pas : vérifiez l’adresse et le DNS de cette "
        "machine)",
    },
    "error.refused": {
        "en": "{host} refused the connection for {url} (is the server down, or the port wrong?)",
        "fr": "{host} a refusé la connexion pour {url} (le serveur est-il arrêté, ou le port erroné ?)",
    },
    "error.tls": {
        "en": "no secure connection to {host} for {url}: {detail}",
        "fr": "pas de connexion sécurisée (TLS) avec {host} pour {url} : {detail}",
    },
    "error.connect": {
        "en": "could not connect to {host} for {url}: {detail}",
        "fr": "connexion impossible à {host} pour {url} ({detail})",
    },
    "error.not_allowed": {
        "en": "not allowed to connect for {url}: {reason}",
        "fr": "connexion interdite pour {url} : {reason}",
    },
    "error.http": {"en": "{status} from {url}", "fr": "{status} de {url}"},
    "error.http.401": {
        "en": "{status} from {url} (check the credentials)",
        "fr": "{status} de {url} (accès refusé : vérifiez les identifiants)",
    },
    "error.http.403": {
        "en": "{status} from {url} (access denied; check the credentials or whether the resource is private)",
        "fr": "{status} de {url} (accès interdit : vérifiez les identifiants, ou si la ressource est privée)",
    },
    "error.http.404": {
        "en": "{status} from {url} (check the URL)",
        "fr": "{status} de {url} (introuvable : vérifiez l’URL)",
    },
    "error.http.410": {
        "en": "{status} from {url} (the resource is gone; remove or fix this watcher)",
        "fr": "{status} de {url} (la ressource n’existe plus : supprimez ou corrigez cette veille)",
    },
    "error.http.429": {
        "en": "{status} from {url} (rate limited; slowing down)",
        "fr": "{status} de {url} (trop de requêtes : Veilleur ralentit)",
    },
    "error.http.5xx": {
        "en": "{status} from {url} (the server had a problem)",
        "fr": "{status} de {url} (le serveur a rencontré un problème)",
    },
    "error.rate_limit.one": {
        "en": "{host} rate limit nearly spent; waiting {count}s",
        "fr": "limite de requêtes de {host} presque atteinte : attente de {count} s",
    },
    "error.rate_limit.other": {
        "en": "{host} rate limit nearly spent; waiting {count}s",
        "fr": "limite de requêtes de {host} presque atteinte : attente de {count} s",
    },
    "error.too_large.one": {
        "en": "{url} sent an answer larger than {count} MB; it was not read",
        "fr": "{url} a envoyé une réponse de plus de {count} Mo : elle n’a pas été lue",
    },
    "error.too_large.other": {
        "en": "{url} sent an answer larger than {count} MB; it was not read",
        "fr": "{url} a envoyé une réponse de plus de {count} Mo : elle n’a pas été lue",
    },
    "error.bad_compression": {
        "en": "{url} sent a compressed answer that does not decompress: {detail}",
        "fr": "{url} a envoyé une réponse compressée qui ne se décompresse pas ({detail})",
    },
    "error.compressed_too_often.one": {
        "en": "{url} sent an answer compressed {count} time over; refused",
        "fr": "{url} a envoyé une réponse compressée {count} fois : refusée",
    },
    "error.compressed_too_often.other": {
        "en": "{url} sent an answer compressed {count} times over; refused",
        "fr": "{url} a envoyé une réponse compressée {count} fois de suite : refusée",
    },
    "error.unknown_encoding": {
        "en": "{url} sent an answer compressed as {encoding}, which was not asked for",
        "fr": "{url} a envoyé une réponse compressée en {encoding}, ce qui n’était pas demandé",
    },
    "error.not_json": {
        "en": "{url} did not send valid JSON: got {body}",
        "fr": "{url} n’a pas envoyé de JSON valide, mais {body}",
    },
    "error.bad_json": {
        "en": "{url} did not send valid JSON: {detail} at byte {position}",
        "fr": "{url} n’a pas envoyé de JSON valide ({detail} à l’octet {position})",
    },
    "error.body.html": {"en": "an HTML page", "fr": "une page HTML"},
    "error.body.empty": {"en": "an empty body", "fr": "une réponse vide"},
    "error.body.content": {"en": "content starting {start}", "fr": "un contenu commençant par {start}"},
    "error.body.typed": {"en": "{body} ({content_type})", "fr": "{body} ({content_type})"},
    "error.body.json_not_feed": {"en": "JSON that is not a JSON Feed", "fr": "du JSON qui n’est pas un JSON Feed"},
    "error.feed": {"en": "{url} is not a readable feed: {reason}", "fr": "{url} n’est pas un flux lisible : {reason}"},
    "error.feed.empty": {"en": "got an empty body", "fr": "la réponse est vide"},
    "error.feed.bomb": {
        "en": "its entities would expand to more than 1 MB (an XML bomb?), refused",
        "fr": "ses entités dépasseraient 1 Mo une fois développées (une bombe XML ?) : refusé",
    },
    "error.feed.not_a_feed": {"en": "got {body}, not a readable feed", "fr": "c’est {body}"},
    "error.with_code": {"en": "{error}{code}", "fr": "{error}{code}"},
    "error.reddit.app_refused": {
        "en": "{error}: Reddit refused the app credentials; check REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET",
        "fr": "{error} : Reddit a refusé les identifiants de l’application ; vérifiez REDDIT_CLIENT_ID et "
        "REDDIT_CLIENT_SECRET",
    },
    "error.reddit.no_token": {
        "en": "Reddit did not grant a token{said}; check REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET",
        "fr": "Reddit n’a pas accordé de jeton{said} ; vérifiez REDDIT_CLIENT_ID et REDDIT_CLIENT_SECRET",
    },
    "error.reddit.token_refused": {
        "en": "{error}: Reddit refused the token; check REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET",
        "fr": "{error} : Reddit a refusé le jeton ; vérifiez REDDIT_CLIENT_ID et REDDIT_CLIENT_SECRET",
    },
    "error.reddit.forbidden": {
        "en": "{error}: the subreddit may be private, quarantined or banned, or the app lacks API access; check "
        "REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET",
        "fr": "{error} : le subreddit est peut-être privé, en quarantaine ou banni, ou l’application n’a pas accès à "
        "l’API ; vérifiez REDDIT_CLIENT_ID et REDDIT_CLIENT_SECRET",
    },
    "error.mastodon.bad_token": {
        "en": "{error}; check {env}: it must be a valid token of {instance} with the read:statuses scope",
        "fr": "{error} ; vérifiez {env} : il faut un jeton valide de {instance} avec la portée read:statuses",
    },
    "error.mastodon.needs_token": {
        "en": "{error}; this instance needs a login for this: set {env} (a token with read:statuses)",
        "fr": "{error} ; cette instance demande une connexion : réglez {env} (un jeton avec read:statuses)",
    },
    "error.mastodon.needs_own_watcher": {
        "en": "{error}; this instance needs a login for this: watch it in its own watcher, as base_url, with a token",
        "fr": "{error} ; cette instance demande une connexion : suivez-la dans une veille à part, en base_url, avec "
        "un jeton",
    },
    "error.bluesky.login": {
        "en": "Bluesky login on {url} failed{code}: check {handle_env} and {password_env} (use an app password: "
        "Bluesky Settings > Privacy and security > App passwords)",
        "fr": "la connexion à Bluesky sur {url} a échoué{code} : vérifiez {handle_env} et {password_env} (un mot de "
        "passe d’application : Bluesky, Réglages > Confidentialité et sécurité > Mots de passe d’application)",
    },
    "error.bluesky.credentials": {
        "en": "{error}{code}: check {handle_env} and {password_env}",
        "fr": "{error}{code} : vérifiez {handle_env} et {password_env}",
    },
    "error.discourse.refused": {
        "en": "{error}: the forum refused access; if it requires login, set {key_env} and {user_env} (an API key and "
        "the user it acts as), and check their values",
        "fr": "{error} : le forum a refusé l’accès ; s’il demande une connexion, réglez {key_env} et {user_env} (une "
        "clé d’API et l’utilisateur pour lequel elle agit), et vérifiez leurs valeurs",
    },
    # Why the LLM gave no usable answer (llm.py), in parentheses after the fallback's label.
    "llm.budget_spent.one": {
        "en": "{count} of {budget} tokens spent today",
        "fr": "{count} jeton sur {budget} utilisé aujourd’hui",
    },
    "llm.budget_spent.other": {
        "en": "{count} of {budget} tokens spent today",
        "fr": "{count} jetons sur {budget} utilisés aujourd’hui",
    },
    "llm.empty": {"en": "empty answer", "fr": "réponse vide"},
    "llm.not_json": {"en": "the answer was not JSON", "fr": "la réponse n’était pas du JSON"},
    "llm.bad_json": {"en": "the answer was not valid JSON", "fr": "la réponse n’était pas du JSON valide"},
    "llm.not_object": {"en": "the answer was not a JSON object", "fr": "la réponse n’était pas un objet JSON"},
    # Why the database cannot be written (store.py); `where` is " (the file)" or nothing.
    "db.busy.one": {
        "en": "database is busy{where}: another program has held a lock on it for more than {count} s; nothing was "
        "lost, the next poll tries again",
        "fr": "la base de données est occupée{where} : un autre programme la verrouille depuis plus de {count} s ; "
        "rien n’est perdu, le prochain relevé réessaie",
    },
    "db.busy.other": {
        "en": "database is busy{where}: another program has held a lock on it for more than {count} s; nothing was "
        "lost, the next poll tries again",
        "fr": "la base de données est occupée{where} : un autre programme la verrouille depuis plus de {count} s ; "
        "rien n’est perdu, le prochain relevé réessaie",
    },
    "db.read_only": {
        "en": "database is read-only{where}: let Veilleur write to DATABASE_PATH and its folder",
        "fr": "la base de données est en lecture seule{where} : laissez Veilleur écrire dans DATABASE_PATH et son "
        "dossier",
    },
    "db.full": {
        "en": "disk is full{where}: free some space on the disk that holds DATABASE_PATH",
        "fr": "le disque est plein{where} : libérez de la place sur le disque de DATABASE_PATH",
    },
    "db.io": {
        "en": "disk I/O error on the database{where}: check the disk that holds DATABASE_PATH",
        "fr": "erreur d’entrée-sortie sur la base de données{where} : vérifiez le disque de DATABASE_PATH",
    },
    "db.error": {"en": "database error{where}: {detail}", "fr": "erreur de la base de données{where} ({detail})"},
    # URL safety (url_safety.py): why a URL given in Slack may not be fetched.
    "url.invalid": {"en": "{url} is not a valid URL: {detail}", "fr": "{url} n’est pas une URL valide ({detail})"},
    "url.scheme": {
        "en": "only http:// and https:// URLs can be watched (got {url})",
        "fr": "seules les URL en http:// ou https:// peuvent être surveillées (reçu {url})",
    },
    "url.no_host": {"en": "{url} has no host", "fr": "{url} n’indique aucun hôte"},
    "url.cannot_resolve": {
        "en": "cannot resolve {host}: {detail}",
        "fr": "impossible de trouver l’adresse de {host} ({detail})",
    },
    "url.resolve_timeout.one": {
        "en": "cannot resolve {host}: no answer within {count} s",
        "fr": "impossible de trouver l’adresse de {host} : aucune réponse en {count} s",
    },
    "url.resolve_timeout.other": {
        "en": "cannot resolve {host}: no answer within {count} s",
        "fr": "impossible de trouver l’adresse de {host} : aucune réponse en {count} s",
    },
    "url.resolve_late": {
        "en": "could not resolve {url} in time; try again",
        "fr": "l’adresse de {url} n’a pas été trouvée à temps : réessayez",
    },
    "url.is": {"en": "{host} is {reason}", "fr": "{host} est {reason}"},
    "url.resolves_to": {
        "en": "{host} resolves to {address}, {reason}",
        "fr": "{host} correspond à {address}, {reason}",
    },
    "url.refused": {
        "en": "{kind}, refused unless ALLOW_PRIVATE_URLS allows it",
        "fr": "{kind}, refusée sauf si ALLOW_PRIVATE_URLS l’autorise",
    },
    "url.metadata": {
        "en": "a cloud metadata address, refused unless ALLOW_PRIVATE_URLS lists this very address",
        "fr": "une adresse de métadonnées du cloud, refusée sauf si ALLOW_PRIVATE_URLS cite cette adresse précise",
    },
    "url.ipv4_mapped": {"en": "an IPv6 form of {address}, {reason}", "fr": "une forme IPv6 de {address}, {reason}"},
    "url.sixtofour": {"en": "a 6to4 form of {address}, {reason}", "fr": "une forme 6to4 de {address}, {reason}"},
    "url.kind.loopback": {"en": "a loopback address", "fr": "une adresse de bouclage (loopback)"},
    "url.kind.link_local": {"en": "a link-local address", "fr": "une adresse de lien local (link-local)"},
    "url.kind.unspecified": {"en": "the unspecified address", "fr": "l’adresse non spécifiée"},
    "url.kind.multicast": {"en": "a multicast address", "fr": "une adresse de multidiffusion (multicast)"},
    "url.kind.shared": {"en": "a shared (carrier-grade NAT) address", "fr": "une adresse partagée (NAT d’opérateur)"},
    "url.kind.private": {"en": "a private address", "fr": "une adresse privée"},
    "url.kind.reserved": {"en": "a reserved address", "fr": "une adresse réservée"},
    "url.kind.non_public": {"en": "a non-public address", "fr": "une adresse non publique"},
    "privacy.usage": {
        "en": "*/privacy* — what Veilleur holds about a person (admins only)\n"
        "• `/privacy export <author> [source]`: everything held about this author, sent to you as a JSON file in a "
        "direct message\n"
        "• `/privacy forget <author> [source]`, or a card’s link or a post’s URL: erase what is held about this "
        "author and drop their future posts (asks for confirmation first)\n"
        "An author is a handle (`ann@mastodon.social`) or, for feeds, a name; the source narrows it to one platform. "
        "On the server, `python bot.py export`, `forget` and `audit` do the same.",
        "fr": "*/privacy* — ce que Veilleur détient sur une personne (administrateurs seulement)\n"
        "• `/privacy export <auteur> [source]`\u202f: tout ce qui est détenu sur cet auteur, envoyé en fichier JSON "
        "dans un message direct\n"
        "• `/privacy forget <auteur> [source]`, ou le lien d’une carte ou l’URL d’une publication\u202f: effacer ce "
        "qui est détenu sur cet auteur et écarter ses futures publications (avec confirmation)\n"
        "Un auteur est un identifiant (`ann@mastodon.social`) ou, pour les flux, un nom\u202f; la source le limite à "
        "une plateforme. Sur le serveur, `python bot.py export`, `forget` et `audit` font de même.",
    },
    "privacy.refused.only.one": {
        "en": "Only {people} can use /privacy (ADMIN_USERS): it exports and erases what Veilleur holds about people.",
        "fr": "Seule la personne désignée, {people}, peut utiliser /privacy (ADMIN_USERS)\u202f: la commande exporte "
        "et efface ce que Veilleur détient sur des personnes.",
    },
    "privacy.refused.only.other": {
        "en": "Only {people} can use /privacy (ADMIN_USERS, ADMIN_GROUP): it exports and erases what Veilleur holds "
        "about people.",
        "fr": "Seules les personnes désignées, {people}, peuvent utiliser /privacy (ADMIN_USERS, ADMIN_GROUP)\u202f: "
        "la commande exporte et efface ce que Veilleur détient sur des personnes.",
    },
    "privacy.refused.workspace_admins": {
        "en": "Only the workspace’s admins and owners can use /privacy; set ADMIN_USERS or ADMIN_GROUP to choose who. "
        "It exports and erases what Veilleur holds about people.",
        "fr": "Seuls les administrateurs et propriétaires de l’espace de travail peuvent utiliser /privacy\u202f; "
        "ADMIN_USERS "
        "ou ADMIN_GROUP permettent de choisir qui. La commande exporte et efface ce que Veilleur détient sur des "
        "personnes.",
    },
    "privacy.author_on": {"en": "{author} on {source}", "fr": "{author} sur {source}"},
    "privacy.nothing_held.one": {
        "en": "Veilleur holds nothing about {author}. Mentions are kept {days} day after they are collected, then "
        "erased.",
        "fr": "Veilleur ne détient rien sur {author}. Les mentions sont conservées {days} jour après leur collecte, "
        "puis effacées.",
    },
    "privacy.nothing_held.other": {
        "en": "Veilleur holds nothing about {author}. Mentions are kept {days} days after they are collected, then "
        "erased.",
        "fr": "Veilleur ne détient rien sur {author}. Les mentions sont conservées {days} jours après leur collecte, "
        "puis effacées.",
    },
    "privacy.export.preparing": {
        "en": "Gathering what Veilleur holds about {author}… The file will arrive in your direct messages.",
        "fr": "Rassemblement de ce que Veilleur détient sur {author}… Le fichier arrivera dans vos messages directs.",
    },
    "privacy.export.sent.one": {
        "en": "What Veilleur holds about {author} ({count} mention) is in your direct messages. It is personal data: "
        "delete the file from Slack once the request is answered.",
        "fr": "Ce que Veilleur détient sur {author} ({count} mention) est dans vos messages directs. Ce sont des "
        "données personnelles\u202f: supprimez le fichier de Slack une fois la demande traitée.",
    },
    "privacy.export.sent.other": {
        "en": "What Veilleur holds about {author} ({count} mentions) is in your direct messages. It is personal data: "
        "delete the file from Slack once the request is answered.",
        "fr": "Ce que Veilleur détient sur {author} ({count} mentions) est dans vos messages directs. Ce sont des "
        "données personnelles\u202f: supprimez le fichier de Slack une fois la demande traitée.",
    },
    "privacy.export.file_title": {
        "en": "What Veilleur holds about {author}",
        "fr": "Ce que Veilleur détient sur {author}",
    },
    "privacy.export.failed": {
        "en": "The export file could not be sent ({error}). Try again, or run `python bot.py export --author …` on "
        "the server.",
        "fr": "Le fichier d’export n’a pas pu être envoyé ({error}). Réessayez, ou lancez "
        "`python bot.py export --author …` sur le serveur.",
    },
    "privacy.target.not_found": {
        "en": "No stored mention at {target}: give the author’s handle instead.",
        "fr": "Aucune mention enregistrée à {target}\u202f: donnez plutôt l’identifiant de l’auteur.",
    },
    "privacy.target.not_a_card": {
        "en": "That message is not a Veilleur card: give a card’s link, the post’s URL or the author’s handle.",
        "fr": "Ce message n’est pas une carte de Veilleur\u202f: donnez le lien d’une carte, l’URL de la publication "
        "ou l’identifiant de l’auteur.",
    },
    "privacy.target.no_author": {
        "en": "Mention {id} names no author: there is nobody to erase by it.",
        "fr": "La mention {id} ne nomme aucun auteur\u202f: personne à effacer à partir d’elle.",
    },
    "privacy.forget.question": {
        "en": "Erase everything Veilleur holds about {author}, and drop their future posts at collection? This cannot "
        "be undone.",
        "fr": "Effacer tout ce que Veilleur détient sur {author} et écarter ses futures publications dès la "
        "collecte\u202f? C’est irréversible.",
    },
    "privacy.forget.held.one": {"en": "{count} mention is held.", "fr": "{count} mention est détenue."},
    "privacy.forget.held.other": {"en": "{count} mentions are held.", "fr": "{count} mentions sont détenues."},
    "privacy.erasure_incomplete.one": {
        "en": "{count} mention could not be erased yet: its card was still being posted to Slack after {seconds} s; "
        "the next run (or the bot’s next start) erases it",
        "fr": "{count} mention n’a pas encore pu être effacée : sa carte était encore en cours de publication dans "
        "Slack au bout de {seconds} s ; le prochain lancement (ou le prochain démarrage du bot) l’effacera",
    },
    "privacy.erasure_incomplete.other": {
        "en": "{count} mentions could not be erased yet: their card was still being posted to Slack after {seconds} "
        "s; the next run (or the bot’s next start) erases them",
        "fr": "{count} mentions n’ont pas encore pu être effacées : leur carte était encore en cours de publication "
        "dans Slack au bout de {seconds} s ; le prochain lancement (ou le prochain démarrage du bot) les effacera",
    },
    "privacy.forget.cards.redact.one": {
        "en": "{count} card in Slack will be edited to a short notice.",
        "fr": "{count} carte dans Slack sera remplacée par un court avis.",
    },
    "privacy.forget.cards.redact.other": {
        "en": "{count} cards in Slack will be edited to a short notice.",
        "fr": "{count} cartes dans Slack seront remplacées par un court avis.",
    },
    "privacy.forget.cards.delete.one": {
        "en": "{count} card in Slack will be deleted.",
        "fr": "{count} carte dans Slack sera supprimée.",
    },
    "privacy.forget.cards.delete.other": {
        "en": "{count} cards in Slack will be deleted.",
        "fr": "{count} cartes dans Slack seront supprimées.",
    },
    "privacy.forget.cards.keep.one": {
        "en": "{count} card in Slack stays as it is (SLACK_CARD_RETENTION=keep).",
        "fr": "{count} carte dans Slack reste telle quelle (SLACK_CARD_RETENTION=keep).",
    },
    "privacy.forget.cards.keep.other": {
        "en": "{count} cards in Slack stay as they are (SLACK_CARD_RETENTION=keep).",
        "fr": "{count} cartes dans Slack restent telles quelles (SLACK_CARD_RETENTION=keep).",
    },
    "privacy.forget.button": {"en": "Erase", "fr": "Effacer"},
    "privacy.forget.cancel": {"en": "Cancel", "fr": "Annuler"},
    "privacy.forget.confirm_title": {"en": "Erase this author?", "fr": "Effacer cet auteur\u202f?"},
    "privacy.forget.confirm_text": {
        "en": "Everything Veilleur holds about {author} is erased for good.",
        "fr": "Tout ce que Veilleur détient sur {author} est effacé définitivement.",
    },
    "privacy.forget.kept": {
        "en": "Nothing was erased about {author}.",
        "fr": "Rien n’a été effacé sur {author}.",
    },
    "privacy.forget.looking": {"en": "Looking up what Veilleur holds about {author}…",
                               "fr": "Recherche de ce que Veilleur détient sur {author}…"},
    "privacy.forget.working": {"en": "Erasing what Veilleur holds about {author}…",
                               "fr": "Effacement de ce que Veilleur détient sur {author}…"},
    "privacy.forget.done.one": {
        "en": "Erased what Veilleur held about {author}: {count} mention. Their future posts will be dropped at "
        "collection.",
        "fr": "Ce que Veilleur détenait sur {author} est effacé\u202f: {count} mention. Ses futures publications "
        "seront écartées dès la collecte.",
    },
    "privacy.forget.done.other": {
        "en": "Erased what Veilleur held about {author}: {count} mentions. Their future posts will be dropped at "
        "collection.",
        "fr": "Ce que Veilleur détenait sur {author} est effacé\u202f: {count} mentions. Ses futures publications "
        "seront écartées dès la collecte.",
    },
    "privacy.forget.failed": {
        "en": "The erasure of {author} did not finish ({error}). Run it again: it picks up where it stopped.",
        "fr": "L’effacement de {author} n’a pas abouti ({error}). Relancez-le\u202f: il reprend là où il s’est arrêté.",
    },
    "privacy.notice.purposes": {
        "en": "Veilleur collects public posts that mention the topics its users follow, so that their team can read "
        "them, alert the people in charge, prepare answers (summaries and reply drafts) and count what is said. "
        "It takes no automated decision about the people who wrote them.",
        "fr": "Veilleur collecte les publications publiques qui évoquent les sujets suivis par ses utilisateurs, pour "
        "que leur équipe puisse les lire, alerter les personnes responsables, préparer des réponses (résumés et "
        "brouillons) et compter ce qui se dit. Il ne prend aucune décision automatisée sur leurs auteurs.",
    },
    "privacy.notice.recipients": {
        "en": "The team’s Slack workspace, where posts are shown.",
        "fr": "L’espace de travail Slack de l’équipe, où les publications sont affichées.",
    },
    "privacy.notice.recipients_llm": {
        "en": "The language model at {host}, which receives posts when someone asks for a summary, a reply draft or "
        "the digest.",
        "fr": "Le modèle de langage hébergé par {host}, qui reçoit des publications quand quelqu’un demande un résumé, "
        "un brouillon de réponse ou la synthèse.",
    },
    "privacy.notice.retention.one": {
        "en": "Posts are kept {days} day after they are collected, then their text and author are erased.",
        "fr": "Les publications sont conservées {days} jour après leur collecte, puis leur texte et leur auteur sont "
        "effacés.",
    },
    "privacy.notice.retention.other": {
        "en": "Posts are kept {days} days after they are collected, then their text and author are erased.",
        "fr": "Les publications sont conservées {days} jours après leur collecte, puis leur texte et leur auteur sont "
        "effacés.",
    },
    "privacy.notice.escalation_retention.one": {
        "en": "Escalations to officials are kept {days} day after they are closed.",
        "fr": "Les signalements aux responsables sont conservés {days} jour après leur clôture.",
    },
    "privacy.notice.escalation_retention.other": {
        "en": "Escalations to officials are kept {days} days after they are closed.",
        "fr": "Les signalements aux responsables sont conservés {days} jours après leur clôture.",
    },
    "privacy.notice.origin": {
        "en": "Public posts on {platforms}, collected automatically.",
        "fr": "Publications publiques sur {platforms}, collectées automatiquement.",
    },
    "privacy.notice.no_platform": {"en": "no platform", "fr": "aucune plateforme"},
    "privacy.notice.rights": {
        "en": "You may ask for access to, correction or erasure of these data, object to their processing (your "
        "future posts are then no longer collected), and complain to your data protection authority (in France, "
        "the CNIL).",
        "fr": "Vous pouvez demander l’accès à ces données, leur rectification ou leur effacement, vous opposer à leur "
        "traitement (vos publications ne sont alors plus collectées) et saisir l’autorité de protection des "
        "données (en France, la CNIL).",
    },
    # The command line (bot.py, health.py's status table): what `once`, `digest` and `status` print.
    "cli.poll.failed": {"en": "{watcher}: FAILED: {error}", "fr": "{watcher} : ÉCHEC : {error}"},
    "cli.poll.nothing_new": {"en": "{watcher}: nothing new", "fr": "{watcher} : rien de nouveau"},
    "cli.poll.not_modified": {
        "en": "{watcher}: nothing new (not modified)",
        "fr": "{watcher} : rien de nouveau (inchangé)",
    },
    "cli.poll.line": {"en": "{watcher}: {figures}", "fr": "{watcher} : {figures}"},
    "cli.poll.fetched.one": {"en": "{count} fetched", "fr": "{count} publication lue"},
    "cli.poll.fetched.other": {"en": "{count} fetched", "fr": "{count} publications lues"},
    "cli.poll.matched.one": {"en": "{count} matching", "fr": "{count} correspondante"},
    "cli.poll.matched.other": {"en": "{count} matching", "fr": "{count} correspondantes"},
    "cli.poll.new.one": {"en": "{count} new", "fr": "{count} nouvelle"},
    "cli.poll.new.other": {"en": "{count} new", "fr": "{count} nouvelles"},
    "cli.poll.quiet.one": {
        "en": "first run: {count} recorded without posting (set backfill = N to post the newest)",
        "fr": "premier relevé : {count} enregistrée sans être publiée (backfill = N publie les plus récentes)",
    },
    "cli.poll.quiet.other": {
        "en": "first run: {count} recorded without posting (set backfill = N to post the newest)",
        "fr": "premier relevé : {count} enregistrées sans être publiées (backfill = N publie les plus récentes)",
    },
    "cli.poll.queued.one": {"en": "{count} to post", "fr": "{count} à publier"},
    "cli.poll.queued.other": {"en": "{count} to post", "fr": "{count} à publier"},
    "cli.poll.queued_burst.one": {
        "en": "{count} to post as a burst thread",
        "fr": "{count} à publier dans un fil de regroupement",
    },
    "cli.poll.queued_burst.other": {
        "en": "{count} to post as a burst thread",
        "fr": "{count} à publier dans un fil de regroupement",
    },
    "cli.poll.overflow.one": {
        "en": "{count} more stored without a card (past MAX_CARDS_PER_POLL)",
        "fr": "{count} autre enregistrée sans carte (au-delà de MAX_CARDS_PER_POLL)",
    },
    "cli.poll.overflow.other": {
        "en": "{count} more stored without a card (past MAX_CARDS_PER_POLL)",
        "fr": "{count} autres enregistrées sans carte (au-delà de MAX_CARDS_PER_POLL)",
    },
    # Between the parts of one line: "3 fetched, 2 matching, 1 new; 1 to post".
    "cli.and": {"en": ", ", "fr": ", "},
    "cli.then": {"en": "; ", "fr": " ; "},
    "cli.cards_left.one": {
        "en": "{count} card still queued; it will be posted by the next run",
        "fr": "{count} carte encore en attente ; elle sera publiée au prochain lancement",
    },
    "cli.cards_left.other": {
        "en": "{count} cards still queued; they will be posted by the next run",
        "fr": "{count} cartes encore en attente ; elles seront publiées au prochain lancement",
    },
    "cli.messages_left.one": {
        "en": "{count} message still queued; it will be posted by the next run",
        "fr": "{count} message encore en attente ; il sera publié au prochain lancement",
    },
    "cli.messages_left.other": {
        "en": "{count} messages still queued; they will be posted by the next run",
        "fr": "{count} messages encore en attente ; ils seront publiés au prochain lancement",
    },
    "cli.removals_left.one": {
        "en": "{count} removal of the bot's messages (retention, erasure) still queued; the next run sends it",
        "fr": "{count} retrait de message du bot (conservation, effacement) encore en attente ; le prochain lancement "
        "l’enverra",
    },
    "cli.removals_left.other": {
        "en": "{count} removals of the bot's messages (retention, erasure) still queued; the next run sends them",
        "fr": "{count} retraits de messages du bot (conservation, effacement) encore en attente ; le prochain "
        "lancement les enverra",
    },
    "cli.removals_pending.one": {
        "en": "{count} removal of the bot's messages (retention, erasure) would be sent too",
        "fr": "{count} retrait de message du bot (conservation, effacement) serait aussi envoyé",
    },
    "cli.removals_pending.other": {
        "en": "{count} removals of the bot's messages (retention, erasure) would be sent too",
        "fr": "{count} retraits de messages du bot (conservation, effacement) seraient aussi envoyés",
    },
    "cli.card_heading": {"en": "--- #{channel} · {watcher}", "fr": "--- #{channel} · {watcher}"},
    "cli.card_heading_thread": {
        "en": "--- #{channel} · {watcher} (in the burst thread)",
        "fr": "--- #{channel} · {watcher} (dans le fil de regroupement)",
    },
    "cli.not_running": {"en": "not running: {problem}", "fr": "ne tourne pas : {problem}"},
    "cli.no_digest_destination": {
        "en": "no digest destination: set DIGEST_CHANNEL or digest = true on a watcher (or use --dry-run)",
        "fr": "aucune destination pour la synthèse : réglez DIGEST_CHANNEL, ou digest = true sur une veille (ou "
        "utilisez --dry-run)",
    },
    "cli.error": {"en": "veilleur: {error}", "fr": "veilleur : {error}"},
    "cli.status.watcher": {"en": "watcher", "fr": "veille"},
    "cli.status.source": {"en": "source", "fr": "source"},
    "cli.status.channel": {"en": "channel", "fr": "canal"},
    "cli.status.last_success": {"en": "last success", "fr": "dernier succès"},
    "cli.status.failures": {"en": "failures", "fr": "échecs"},
    "cli.status.last_error": {"en": "last error", "fr": "dernière erreur"},
    "cli.status.never": {"en": "never", "fr": "jamais"},
    "cli.status.failing.one": {"en": "{count} since {since}", "fr": "{count} depuis {since}"},
    "cli.status.failing.other": {"en": "{count} since {since}", "fr": "{count} depuis {since}"},
    "audit.heading": {
        "en": "Audit log since {since} (times in {tz}):",
        "fr": "Journal d’audit depuis le {since} (heures de {tz})\u202f:",
    },
    "audit.none.one": {
        "en": "Nothing in the audit log for the last day.",
        "fr": "Rien dans le journal d’audit pour le dernier jour.",
    },
    "audit.none.other": {
        "en": "Nothing in the audit log for the last {days} days.",
        "fr": "Rien dans le journal d’audit pour les {days} derniers jours.",
    },
    "audit.line": {"en": "{at}  {user}  {action}  {subject}", "fr": "{at}  {user}  {action}  {subject}"},
    "audit.action.summarize": {"en": "summary", "fr": "résumé"},
    "audit.action.draft": {"en": "reply draft", "fr": "brouillon de réponse"},
    "audit.action.stance": {"en": "stance corrected", "fr": "position corrigée"},
    "audit.action.export": {"en": "export of an author’s data", "fr": "export des données d’un auteur"},
    "audit.action.forget": {"en": "erasure of an author’s data", "fr": "effacement des données d’un auteur"},
    "audit.action.watch.add": {"en": "watcher added", "fr": "veille ajoutée"},
    "audit.action.watch.edit": {"en": "watcher changed", "fr": "veille modifiée"},
    "audit.action.watch.pause": {"en": "watcher paused", "fr": "veille mise en pause"},
    "audit.action.watch.resume": {"en": "watcher resumed", "fr": "veille relancée"},
    "audit.action.watch.remove": {"en": "watcher removed", "fr": "veille supprimée"},
    "audit.action.watch.reload": {"en": "watchers file read again", "fr": "fichier des veilles relu"},
    "audit.action.claim.create": {"en": "false claim marked", "fr": "fausse information signalée"},
    "audit.action.claim.close": {"en": "false claim closed", "fr": "fausse information close"},
    "audit.action.claim.correct": {"en": "false claim correction recorded", "fr": "rectificatif enregistré"},
    "watch.usage": {
        "en": "*/watch* — what Veilleur watches\n"
        "• `/watch list`: every watcher, where it comes from and how it is doing\n"
        "• `/watch test <query> [source] [url]`: run a query once, nothing is stored or posted\n"
        "• `/watch add`: a new watcher (a form)\n"
        "• `/watch edit <name>`: change a watcher made in Slack\n"
        "• `/watch pause <name>`, `/watch resume <name>`: stop and restart a watcher\n"
        "• `/watch remove <name>`: remove a watcher made in Slack (its mentions stay)\n"
        "• `/watch reload`: read the watchers file again",
        "fr": "*/watch* — ce que Veilleur surveille\n"
        "• `/watch list` : toutes les veilles, leur origine et leur état\n"
        "• `/watch test <requête> [source] [url]` : lance une requête une fois, sans rien enregistrer ni publier\n"
        "• `/watch add` : une nouvelle veille (un formulaire)\n"
        "• `/watch edit <nom>` : modifier une veille créée dans Slack\n"
        "• `/watch pause <nom>`, `/watch resume <nom>` : arrêter et relancer une veille\n"
        "• `/watch remove <nom>` : supprimer une veille créée dans Slack (ses mentions restent)\n"
        "• `/watch reload` : relire le fichier des veilles",
    },
    "watch.refused.only.one": {
        "en": "Only {people} can change watchers (ADMIN_USERS). Anyone can list and test them.",
        "fr": "Seule la personne désignée, {people}, peut modifier les veilles (ADMIN_USERS). Tout le monde peut les "
        "lister et les tester.",
    },
    "watch.refused.only.other": {
        "en": "Only {people} can change watchers (ADMIN_USERS, ADMIN_GROUP). Anyone can list and test them.",
        "fr": "Seules les personnes désignées, {people}, peuvent modifier les veilles (ADMIN_USERS, ADMIN_GROUP). Tout "
        "le monde peut les lister et les tester.",
    },
    "watch.refused.workspace_admins": {
        "en": "Only the workspace’s admins and owners can change watchers; set ADMIN_USERS or ADMIN_GROUP to choose "
        "who. Anyone can list and test them.",
        "fr": "Seuls les administrateurs et propriétaires de l’espace de travail peuvent modifier les veilles ; "
        "ADMIN_USERS ou "
        "ADMIN_GROUP permettent de choisir qui. Tout le monde peut les lister et les tester.",
    },
    "watch.who.only": {
        "en": "Who can change watchers: {people}. Anyone can list and test them.",
        "fr": "Qui peut modifier les veilles : {people}. Tout le monde peut les lister et les tester.",
    },
    "watch.who.workspace_admins": {
        "en": "Who can change watchers: the workspace’s admins and owners (set ADMIN_USERS or ADMIN_GROUP to "
        "choose). Anyone can list and test them.",
        "fr": "Qui peut modifier les veilles : les administrateurs et propriétaires de l’espace de travail "
        "(ADMIN_USERS ou "
        "ADMIN_GROUP permettent de choisir). Tout le monde peut les lister et les tester.",
    },
    "watch.unknown": {
        "en": "No watcher is called {name}: `/watch list` shows them all.",
        "fr": "Aucune veille ne s’appelle {name} : `/watch list` les montre toutes.",
    },
    "watch.file_watcher": {
        "en": "{name} comes from the watchers file: edit {file}, then run `/watch reload`. It can be paused here.",
        "fr": "{name} vient du fichier des veilles : modifiez {file}, puis lancez `/watch reload`. Elle peut être "
        "mise en pause ici.",
    },
    "watch.name_used": {
        "en": "{name} is already the name of a watcher (/watch list)",
        "fr": "{name} est déjà le nom d’une veille (/watch list)",
    },
    "watch.name_taken": {
        "en": "A watcher called {name} was created meanwhile; choose another name.",
        "fr": "Une veille nommée {name} vient d’être créée ; choisissez un autre nom.",
    },
    "watch.already_paused": {"en": "{name} is already paused.", "fr": "{name} est déjà en pause."},
    "watch.not_paused": {"en": "{name} is not paused.", "fr": "{name} n’est pas en pause."},
    "watch.paused": {
        "en": ":double_vertical_bar: {name} is paused: it no longer polls. `/watch resume {name}` restarts it.",
        "fr": ":double_vertical_bar: {name} est en pause : elle ne relève plus rien. `/watch resume {name}` la "
        "relance.",
    },
    "watch.resumed": {
        "en": ":arrow_forward: {name} runs again; it polls now.",
        "fr": ":arrow_forward: {name} tourne à nouveau ; elle relève maintenant.",
    },
    "watch.added": {
        "en": ":white_check_mark: Watcher {name} is saved; it polls now and posts in {channel}.",
        "fr": ":white_check_mark: La veille {name} est enregistrée ; elle relève maintenant et publie dans {channel}.",
    },
    "watch.edited": {
        "en": ":white_check_mark: Watcher {name} is updated; it posts in {channel}.",
        "fr": ":white_check_mark: La veille {name} est modifiée ; elle publie dans {channel}.",
    },
    "watch.invite_me": {
        "en": "I am not in {channel} and cannot join it by myself: type `/invite @veilleur` there.",
        "fr": "Je ne suis pas dans {channel} et ne peux pas y entrer seul : tapez `/invite @veilleur` dans ce canal.",
    },
    "watch.removed": {
        "en": ":wastebasket: {name} is removed. The mentions it found stay in the digest and search.",
        "fr": ":wastebasket: {name} est supprimée. Les mentions trouvées restent dans la synthèse et la recherche.",
    },
    "watch.remove.question": {
        "en": "Remove watcher {name}? It stops polling; the mentions it found stay.",
        "fr": "Supprimer la veille {name} ? Elle ne relèvera plus rien ; les mentions trouvées restent.",
    },
    "watch.remove.confirm_title": {"en": "Remove this watcher?", "fr": "Supprimer cette veille ?"},
    "watch.remove.confirm_text": {
        "en": "{name} will be removed for good.",
        "fr": "{name} sera supprimée définitivement.",
    },
    "watch.remove.button": {"en": "Remove", "fr": "Supprimer"},
    "watch.remove.keep": {"en": "Keep it", "fr": "La garder"},
    "watch.remove.kept": {"en": "{name} is kept.", "fr": "{name} est conservée."},
    "watch.reload.done": {"en": "Read {file} again.", "fr": "{file} relu."},
    "watch.reload.added": {"en": "Added: {names}.", "fr": "Ajoutées : {names}."},
    "watch.reload.changed": {"en": "Changed: {names}.", "fr": "Modifiées : {names}."},
    "watch.reload.removed": {"en": "Removed: {names}.", "fr": "Retirées : {names}."},
    "watch.reload.unchanged": {"en": "Nothing changed.", "fr": "Rien n’a changé."},
    "watch.reload.problems": {
        "en": "Left out until fixed in the file:",
        "fr": "Écartées tant que le fichier n’est pas corrigé :",
    },
    "watch.reload.unreadable": {
        "en": "Nothing changed: {error}",
        "fr": "Rien n’a changé : {error}",
    },
    "watch.list.empty": {
        "en": "No watcher yet: `/watch add` creates one.",
        "fr": "Aucune veille pour l’instant : `/watch add` en crée une.",
    },
    "watch.list.heading.one": {"en": "{count} watcher", "fr": "{count} veille"},
    "watch.list.heading.other": {"en": "{count} watchers", "fr": "{count} veilles"},
    "watch.more.one": {"en": "…and {count} more.", "fr": "…et {count} autre."},
    "watch.more.other": {"en": "…and {count} more.", "fr": "…et {count} autres."},
    "watch.origin.file": {"en": "file", "fr": "fichier"},
    "watch.origin.slack": {"en": "made in Slack", "fr": "créée dans Slack"},
    "watch.every": {"en": "every {interval}", "fr": "fréquence : {interval}"},
    "watch.health.paused": {"en": "⏸ paused", "fr": "⏸ en pause"},
    "watch.health.failing.one": {
        "en": "⚠ failing since {since} ({count} failure): {error}",
        "fr": "⚠ en échec depuis {since} ({count} échec) : {error}",
    },
    "watch.health.failing.other": {
        "en": "⚠ failing since {since} ({count} failures in a row): {error}",
        "fr": "⚠ en échec depuis {since} ({count} échecs de suite) : {error}",
    },
    "watch.health.never": {"en": "not polled yet", "fr": "pas encore relevée"},
    "watch.health.ok": {"en": "✓ last poll {at}", "fr": "✓ dernier relevé {at}"},
    "watch.test.running": {"en": "Testing… (a few seconds)", "fr": "Test en cours… (quelques secondes)"},
    "watch.test.heading": {
        "en": "Test of {query} on {source} (nothing stored, nothing posted)",
        "fr": "Test de {query} sur {source} (rien d’enregistré, rien de publié)",
    },
    "watch.test.found.one": {
        "en": "{matched} post of {fetched} matches the query.",
        "fr": "{matched} publication sur {fetched} correspond à la requête.",
    },
    "watch.test.found.other": {
        "en": "{matched} posts of {fetched} match the query.",
        "fr": "{matched} publications sur {fetched} correspondent à la requête.",
    },
    "watch.test.first.one": {"en": "The first:", "fr": "La première :"},
    "watch.test.first.other": {"en": "The first {count}:", "fr": "Les {count} premières :"},
    "watch.test.failed": {"en": "The source did not answer: {error}", "fr": "La source n’a pas répondu : {error}"},
    "watch.test.invalid": {"en": "Cannot test — {problem}", "fr": "Test impossible — {problem}"},
    "watch.field_error": {"en": "{field}: {error}", "fr": "{field} : {error}"},
    "watch.test.too_many.one": {
        "en": "Too many tests: at most {count} a minute for each person.",
        "fr": "Trop de tests : {count} par minute et par personne au plus.",
    },
    "watch.test.too_many.other": {
        "en": "Too many tests: at most {count} a minute for each person.",
        "fr": "Trop de tests : {count} par minute et par personne au plus.",
    },
    "watch.test.retry.one": {"en": "Try again in {count} second.", "fr": "Réessayez dans {count} seconde."},
    "watch.test.retry.other": {"en": "Try again in {count} seconds.", "fr": "Réessayez dans {count} secondes."},
    "watch.form.add_title": {"en": "New watcher", "fr": "Nouvelle veille"},
    "watch.form.edit_title": {"en": "Edit watcher", "fr": "Modifier la veille"},
    "watch.form.editing": {"en": "Watcher: {name}", "fr": "Veille : {name}"},
    "watch.form.save": {"en": "Save", "fr": "Enregistrer"},
    "watch.form.cancel": {"en": "Cancel", "fr": "Annuler"},
    "watch.form.test": {"en": "Test the query", "fr": "Tester la requête"},
    "watch.form.subject_hint": {
        "en": "What people are for or against, in a few words (e.g. the tramway project). Empty: the query.",
        "fr": "Ce pour ou contre quoi les gens se positionnent (ex. : le projet de tramway). Vide : la requête.",
    },
    "watch.form.query_hint": {
        "en": "E.g. \"Caen la mer\" OR tramway -football lang:fr. Press Enter to check it.",
        "fr": "Ex. : « Caen la mer » OR tramway -football lang:fr. Entrée pour la vérifier.",
    },
    "watch.form.query_ok": {"en": "✓ Understood as: {explained}", "fr": "✓ Comprise ainsi : {explained}"},
    "watch.form.query_error": {"en": "⚠ {error}", "fr": "⚠ {error}"},
    "watch.form.channel_hint": {
        "en": "Cards are posted there. I join public channels by myself; invite me to private ones.",
        "fr": "Les cartes y sont publiées. J’entre seul dans les canaux publics ; invitez-moi dans les privés.",
    },
    "watch.form.interval_hint": {
        "en": "How often to look: 90s, 5m, 1h (at least 30s).",
        "fr": "Fréquence de relevé : 90s, 5m, 1h (30s au moins).",
    },
    "watch.form.backfill_hint": {
        "en": "On the first poll, how many of the newest matching posts to post (0 to 100); the rest is only recorded.",
        "fr": "Au premier relevé, combien des publications les plus récentes publier (0 à 100) ; le reste est "
        "seulement enregistré.",
    },
    "watch.form.url_hint": {
        "en": "The feed’s address (RSS or Atom), https://…",
        "fr": "L’adresse du flux (RSS ou Atom), https://…",
    },
    "watch.form.url_hint.webpage": {
        "en": "The page’s address, https://…; only public addresses when set from Slack.",
        "fr": "L’adresse de la page, https://… ; seulement des adresses publiques depuis Slack.",
    },
    "watch.form.base_url_hint": {
        "en": "The instance or API address; leave empty for the source’s usual one.",
        "fr": "L’adresse de l’instance ou de l’API ; vide pour l’adresse habituelle de la source.",
    },
    "watch.form.bad_backfill": {
        "en": "expected a whole number from 0 to 100, got {value}",
        "fr": "un nombre entier de 0 à 100 est attendu (reçu {value})",
    },
    "watch.form.bad_options": {
        "en": "write one setting per line as in the watchers file, e.g. tags = [\"tram\"] ({detail})",
        "fr": "un réglage par ligne, comme dans le fichier des veilles, par exemple tags = [\"tram\"] ({detail})",
    },
    "watch.form.options_hint.mastodon": {
        "en": "One setting per line, as in the watchers file: tags = [\"tramway\"], instances, local, search, q.",
        "fr": "Un réglage par ligne, comme dans le fichier : tags = [\"tramway\"], instances, local, search, q.",
    },
    "watch.form.options_hint.bluesky": {
        "en": "One setting per line, as in the watchers file: lang = \"fr\", q.",
        "fr": "Un réglage par ligne, comme dans le fichier : lang = \"fr\", q.",
    },
    "watch.form.options_hint.hackernews": {
        "en": "One setting per line, as in the watchers file: tags = \"(story,comment)\", q.",
        "fr": "Un réglage par ligne, comme dans le fichier : tags = \"(story,comment)\", q.",
    },
    "watch.form.options_hint.reddit": {
        "en": "One setting per line, as in the watchers file: subreddits = [\"caen\"], comments = true, search, q.",
        "fr": "Un réglage par ligne, comme dans le fichier : subreddits = [\"caen\"], comments = true, search, q.",
    },
    "watch.form.options_hint.discourse": {
        "en": "One setting per line, as in the watchers file: q, api_key_env, api_username_env.",
        "fr": "Un réglage par ligne, comme dans le fichier : q, api_key_env, api_username_env.",
    },
    "watch.form.options_hint.webpage": {
        "en": "One setting per line: selector = \"main ul.news li\" (CSS), ignore = ['\\d+ visits'] (text that "
        "changes without being news).",
        "fr": "Un réglage par ligne : selector = \"main ul.actus li\" (CSS), ignore = ['\\d+ visites'] (ce qui "
        "change sans être une nouvelle).",
    },
    "watch.form.options_hint.x": {
        "en": "One setting per line: max_posts = 100 (per poll; each counts against the monthly cap), retweets, q.",
        "fr": "Un réglage par ligne : max_posts = 100 (par relevé ; chacun compte dans le quota mensuel), retweets, q.",
    },
    "watch.form.options_hint.lemmy": {
        "en": "One setting per line, as in the watchers file: q = [\"tramway\"], search_limit = 60.",
        "fr": "Un réglage par ligne, comme dans le fichier : q = [\"tramway\"], search_limit = 60.",
    },
    "watch.form.options_hint.youtube": {
        "en": "One setting per line, as in the watchers file: channels = [\"@your-channel\"], videos, search, q, "
        "region_code = \"FR\", relevance_language = \"fr\", quota_share = 0.5. Needs YOUTUBE_API_KEY.",
        "fr": "Un réglage par ligne, comme dans le fichier : channels = [\"@votre-chaine\"], videos, search, q, "
        "region_code = \"FR\", relevance_language = \"fr\", quota_share = 0.5. Demande YOUTUBE_API_KEY.",
    },
    "watch.form.options_hint.facebook": {
        "en": "One setting per line, as in the watchers file: page_id = \"111222333444555\" (required), token_env "
        "(default FACEBOOK_PAGE_TOKEN), pages, edge, comments, comment_days, api_version.",
        "fr": "Un réglage par ligne, comme dans le fichier : page_id = \"111222333444555\" (requis), token_env "
        "(FACEBOOK_PAGE_TOKEN par défaut), pages, edge, comments, comment_days, api_version.",
    },
    "watch.form.options_hint.instagram": {
        "en": "One setting per line, as in the watchers file: ig_user_id = \"17841400000000000\" (required), "
        "hashtags = [\"caen\"] (30 a week per account), comments, tags, token_env, api_version.",
        "fr": "Un réglage par ligne, comme dans le fichier : ig_user_id = \"17841400000000000\" (requis), "
        "hashtags = [\"caen\"] (30 par semaine et par compte), comments, tags, token_env, api_version.",
    },
    "watch.field.name": {"en": "Name", "fr": "Nom"},
    "watch.field.source": {"en": "Source", "fr": "Source"},
    "watch.field.query": {"en": "Query", "fr": "Requête"},
    "watch.field.subject": {"en": "Subject", "fr": "Sujet"},
    "watch.field.channel": {"en": "Channel", "fr": "Canal"},
    "watch.field.interval": {"en": "Interval", "fr": "Intervalle"},
    "watch.field.backfill": {"en": "Posts shown at first", "fr": "Publications montrées au début"},
    "watch.field.url": {"en": "Feed URL", "fr": "URL du flux"},
    "watch.field.base_url": {"en": "Instance URL", "fr": "URL de l’instance"},
    "watch.field.options": {"en": "Options", "fr": "Options"},
    "home.title": {"en": "Veilleur", "fr": "Veilleur"},
    "home.llm_on": {
        "en": ":robot_face: AI assistance is on (summaries, drafts).",
        "fr": ":robot_face: L’assistance IA est active (résumés, brouillons).",
    },
    "home.llm_off": {
        "en": ":robot_face: AI assistance is off: summaries and drafts use a labelled fallback.",
        "fr": ":robot_face: L’assistance IA est désactivée : résumés et brouillons utilisent une solution de repli, "
        "indiquée comme telle.",
    },
    "home.watchers.one": {"en": "{count} watcher", "fr": "{count} veille"},
    "home.watchers.other": {"en": "{count} watchers", "fr": "{count} veilles"},
    "home.no_watchers": {"en": "No watcher yet", "fr": "Aucune veille pour l’instant"},
    "home.no_watchers_hint": {"en": "`/watch add` creates one.", "fr": "`/watch add` en crée une."},
    "home.last_day.one": {"en": "{count} mention in 24 h", "fr": "{count} mention en 24 h"},
    "home.last_day.other": {"en": "{count} mentions in 24 h", "fr": "{count} mentions en 24 h"},
    "home.escalations.one": {"en": "{count} open escalation", "fr": "{count} signalement en cours"},
    "home.escalations.other": {"en": "{count} open escalations", "fr": "{count} signalements en cours"},
    "home.no_escalations": {"en": "No escalation in progress", "fr": "Aucun signalement en cours"},
    "home.commands_title": {"en": "Commands", "fr": "Commandes"},
    "spike.title": {"en": "Spike on {watcher}", "fr": "Pic de mentions sur {watcher}"},
    "spike.volume.one": {
        "en": "*{count}* mention in the last hour, against {usual} usually at this time",
        "fr": "*{count}* mention dans la dernière heure, contre {usual} d’habitude à cette heure-ci",
    },
    "spike.volume.other": {
        "en": "*{count}* mentions in the last hour, against {usual} usually at this time",
        "fr": "*{count}* mentions dans la dernière heure, contre {usual} d’habitude à cette heure-ci",
    },
    "spike.ratio": {"en": "{ratio}× the usual", "fr": "{ratio} fois l’habitude"},
    "spike.fallback.one": {
        "en": "Spike on {watcher}: {count} mention in the last hour (usually {usual})",
        "fr": "Pic de mentions sur {watcher} : {count} mention dans la dernière heure (d’habitude {usual})",
    },
    "spike.fallback.other": {
        "en": "Spike on {watcher}: {count} mentions in the last hour (usually {usual})",
        "fr": "Pic de mentions sur {watcher} : {count} mentions dans la dernière heure (d’habitude {usual})",
    },
    "spike.baseline.one": {
        "en": "Usual: the same hour on the last day Veilleur watched.",
        "fr": "Habitude : la même heure lors du dernier jour de veille.",
    },
    "spike.baseline.other": {
        "en": "Usual: the mean of the same hour over the last {count} days Veilleur watched.",
        "fr": "Habitude : la moyenne de la même heure sur les {count} derniers jours de veille.",
    },
    "spike.floor.one": {
        "en": "No history for this hour yet: compared with a floor of {count} mention per hour.",
        "fr": "Pas encore d’historique pour cette heure : comparaison avec un plancher de {count} mention par heure.",
    },
    "spike.floor.other": {
        "en": "No history for this hour yet: compared with a floor of {count} mentions per hour.",
        "fr": "Pas encore d’historique pour cette heure : comparaison avec un plancher de {count} mentions par heure.",
    },
    "spike.terms": {"en": "Top terms", "fr": "Termes les plus fréquents"},
    "spike.sources": {"en": "Sources", "fr": "Sources"},
    "spike.stances": {"en": "Stances", "fr": "Positions"},
    "spike.top": {"en": "Most reached", "fr": "Plus forte audience"},
    "spike.summary": {"en": "What it is about", "fr": "De quoi il s’agit"},
    "spike.summary.llm": {
        "en": ":sparkles: Summary written by an LLM; every count is computed by Veilleur.",
        "fr": ":sparkles: Résumé rédigé par un LLM ; chaque nombre est calculé par Veilleur.",
    },
    "spike.summary.extract": {
        "en": "The most representative mention, by {author} on {source}: “{excerpt}”",
        "fr": "La mention la plus représentative, par {author} sur {source} : « {excerpt} »",
    },
    "spike.summary.fallback.not_configured": {
        "en": ":information_source: *Extractive summary* (no LLM is configured).",
        "fr": ":information_source: *Résumé extractif* (aucun LLM n’est configuré).",
    },
    "spike.summary.fallback.timeout": {
        "en": ":information_source: *Extractive summary*: the LLM did not answer in time ({detail}).",
        "fr": ":information_source: *Résumé extractif* : le LLM n’a pas répondu à temps ({detail}).",
    },
    "spike.summary.fallback.error": {
        "en": ":information_source: *Extractive summary*: the LLM failed ({detail}).",
        "fr": ":information_source: *Résumé extractif* : le LLM a échoué ({detail}).",
    },
    "spike.summary.fallback.budget": {
        "en": ":information_source: *Extractive summary*: today’s LLM token budget is spent ({detail}).",
        "fr": ":information_source: *Résumé extractif* : le budget de jetons LLM du jour est épuisé ({detail}).",
    },
    "spike.cooldown": {
        "en": "No other spike alert for this watcher before {time}.",
        "fr": "Pas d’autre alerte de pic pour cette veille avant le {time}.",
    },
    "spike.none": {"en": "none", "fr": "aucune"},
    "card.dismissed": {
        "en": ":white_check_mark: Dismissed by {user} on {time}",
        "fr": ":white_check_mark: Ignorée par {user} le {time}",
    },
    "card.not_ours": {
        "en": "This message is not a Veilleur mention card.",
        "fr": "Ce message n’est pas une carte de mention de Veilleur.",
    },
    # What a card of ours says once its mention is purged or erased (SLACK_CARD_RETENTION=redact).
    "removal.retention": {
        "en": "Content removed: end of the retention period",
        "fr": "Contenu retiré\u202f: fin de la durée de conservation",
    },
    "removal.retention_days.one": {
        "en": "Content removed: end of the retention period ({days} day)",
        "fr": "Contenu retiré\u202f: fin de la durée de conservation ({days} jour)",
    },
    "removal.retention_days.other": {
        "en": "Content removed: end of the retention period ({days} days)",
        "fr": "Contenu retiré\u202f: fin de la durée de conservation ({days} jours)",
    },
    "removal.author_request": {
        "en": "Content removed at the author’s request",
        "fr": "Contenu retiré à la demande de l’auteur",
    },
    "button.acknowledge": {"en": "Acknowledge", "fr": "Prendre en charge"},
    "button.answer": {"en": "Answer", "fr": "Répondre"},
    "button.close": {"en": "Close", "fr": "Clore"},
    "button.not_ours": {"en": "Not ours", "fr": "Pas pour nous"},
    "button.escalation_dismiss": {"en": "Dismiss", "fr": "Classer sans suite"},
    "escalation.title": {"en": "Escalation #{id}", "fr": "Signalement n° {id}"},
    "escalation.fallback": {
        "en": "Escalation #{id} for {officials}: {excerpt}",
        "fr": "Signalement n° {id} pour {officials} : {excerpt}",
    },
    "escalation.fallback_nobody": {"en": "Escalation #{id}: {excerpt}", "fr": "Signalement n° {id} : {excerpt}"},
    "escalation.state.open": {
        "en": "Sent to {officials} by {escalators}",
        "fr": "Envoyé à {officials} par {escalators}",
    },
    "escalation.state.open_nobody": {
        "en": "Escalated by {escalators}; no official is set",
        "fr": "Signalé par {escalators} ; aucun responsable n’est désigné",
    },
    "escalation.state.acknowledged": {"en": "Acknowledged by {user}", "fr": "Pris en charge par {user}"},
    "escalation.state.answered": {"en": "Answered by {user}", "fr": "Réponse de {user}"},
    "escalation.state.closed": {"en": "Closed by {user}", "fr": "Clos par {user}"},
    "escalation.state.not_ours": {"en": "Not ours, says {user}", "fr": "Pas pour nous, selon {user}"},
    "escalation.state.dismissed": {"en": "Dismissed by {user}", "fr": "Classé sans suite par {user}"},
    "escalation.state_name.open": {"en": "waiting", "fr": "en attente"},
    "escalation.state_name.acknowledged": {"en": "acknowledged", "fr": "pris en charge"},
    "escalation.state_name.answered": {"en": "answered", "fr": "réponse donnée"},
    "escalation.state_name.closed": {"en": "closed", "fr": "clos"},
    "escalation.state_name.not_ours": {"en": "not ours", "fr": "pas pour nous"},
    "escalation.state_name.dismissed": {"en": "dismissed", "fr": "classé sans suite"},
    "escalation.people": {
        "en": "*For:* {officials}\n*Escalated by:* {escalators} · {when}",
        "fr": "*Pour :* {officials}\n*Signalé par :* {escalators} · {when}",
    },
    "escalation.no_official": {
        "en": "no official is set: name one with `/flag … @someone`, or set OFFICIALS",
        "fr": "aucun responsable n’est désigné : nommez-en un avec `/flag … @quelqu’un`, ou réglez OFFICIALS",
    },
    "escalation.notes": {"en": "*Notes*", "fr": "*Notes*"},
    "escalation.note_line": {"en": "{user}: {note}", "fr": "{user} : {note}"},
    "escalation.status_line": {"en": "{emoji} {link}: {state}", "fr": "{emoji} {link} : {state}"},
    "escalation.answer": {"en": "*Answer* from {user} · {when}", "fr": "*Réponse* de {user} · {when}"},
    "escalation.reason": {"en": "*Reason:* {reason}", "fr": "*Motif :* {reason}"},
    "escalation.times": {"en": "Response times: {times}", "fr": "Délais : {times}"},
    "escalation.time.acknowledge": {"en": "acknowledged in {duration}", "fr": "pris en charge en {duration}"},
    "escalation.time.answer": {"en": "answered in {duration}", "fr": "réponse en {duration}"},
    "escalation.time.close": {"en": "closed in {duration}", "fr": "clos en {duration}"},
    "escalation.in_card_thread": {
        "en": "ESCALATION_CHANNEL is not set, so this escalation is posted in the mention’s thread.",
        "fr": "ESCALATION_CHANNEL n’est pas réglé : ce signalement est donc publié dans le fil de la mention.",
    },
    "escalation.thread_note.one": {
        "en": "{escalators} escalated this mention to {officials}: {link}",
        "fr": "{escalators} a signalé cette mention à {officials} : {link}",
    },
    "escalation.thread_note.other": {
        "en": "{escalators} escalated this mention to {officials}: {link}",
        "fr": "{escalators} ont signalé cette mention à {officials} : {link}",
    },
    "escalation.thread_note_nobody.one": {
        "en": "{escalators} escalated this mention: {link}",
        "fr": "{escalators} a signalé cette mention : {link}",
    },
    "escalation.thread_note_nobody.other": {
        "en": "{escalators} escalated this mention: {link}",
        "fr": "{escalators} ont signalé cette mention : {link}",
    },
    "escalation.thread_answer": {"en": "{user} answered ({link}):", "fr": "{user} a répondu ({link}) :"},
    "escalation.joined": {"en": "{user} escalated this too.", "fr": "{user} signale aussi cette mention."},
    "escalation.cc": {"en": "Also for {officials}.", "fr": "Aussi pour {officials}."},
    "escalation.reminder": {
        "en": "Reminder {number}/{last}: {officials}, this escalation has waited {duration} to be acknowledged.",
        "fr": "Rappel {number}/{last} : {officials}, ce signalement attend d’être pris en charge depuis {duration}.",
    },
    "escalation.reminder_nobody": {
        "en": "Reminder {number}/{last}: this escalation has waited {duration} and no official is set.",
        "fr": "Rappel {number}/{last} : ce signalement attend depuis {duration} et aucun responsable n’est désigné.",
    },
    "escalation.reminder_dm": {
        "en": "Reminder: {link} has waited {duration} for you to acknowledge it.",
        "fr": "Rappel : {link} attend depuis {duration} que vous le preniez en charge.",
    },
    "escalation.refused": {
        "en": "Only {people} or an admin (ADMIN_USERS) can close or dismiss this escalation.",
        "fr": "Ce signalement ne peut être clos ou classé que par {people} ou un administrateur (ADMIN_USERS).",
    },
    "escalation.conflict": {
        "en": "Nothing changed: {link} is now “{state}”.",
        "fr": "Rien n’a changé : {link} est désormais « {state} ».",
    },
    "escalation.gone": {"en": "This escalation no longer exists.", "fr": "Ce signalement n’existe plus."},
    "flag.done": {"en": "Escalated to {officials}: {link}", "fr": "Mention signalée à {officials} : {link}"},
    "flag.done_nobody": {
        "en": "Escalated, but no official is set: name one with `/flag … @someone`, or set OFFICIALS. {link}",
        "fr": "Mention signalée, mais aucun responsable n’est désigné : nommez-en un avec `/flag … @quelqu’un`, ou "
            "réglez "
            "OFFICIALS. {link}",
    },
    "flag.joined": {
        "en": "This mention was already escalated; you are now among those who escalated it: {link}",
        "fr": "Cette mention était déjà signalée ; vous faites maintenant partie des personnes qui l’ont signalée : "
        "{link}",
    },
    "flag.already": {
        "en": "You already escalated this mention: {link}",
        "fr": "Vous avez déjà signalé cette mention : {link}",
    },
    "flag.finished": {
        "en": "{link} is already “{state}”. To escalate the mention again, use the card’s Escalate button or `/flag`.",
        "fr": "{link} est déjà « {state} ». Pour signaler de nouveau la mention, utilisez le bouton Signaler de la "
        "carte ou `/flag`.",
    },
    "flag.pending": {"en": "the message is on its way", "fr": "le message arrive"},
    "flag.usage": {
        "en": "Usage: `/flag <message link | mention URL | mention id> [@official] [note]`, or `/flag list`.",
        "fr": "Syntaxe : `/flag <lien du message | URL de la mention | numéro de mention> [@responsable] [note]`, ou "
            "`/flag list`.",
    },
    "flag.bad_target": {
        "en": "I can’t tell which mention “{target}” is. Give a link to one of my cards (More actions → Copy link), "
            "the mention’s URL, or its number.",
        "fr": "Je ne sais pas quelle mention est « {target} ». Donnez le lien d’une de mes cartes (Plus d’actions → "
            "Copier le lien), l’URL de la mention ou son numéro.",
    },
    "flag.not_found": {
        "en": "I found no mention for “{target}”.",
        "fr": "Je ne trouve aucune mention pour « {target} ».",
    },
    "flag.not_a_card": {
        "en": "That message is not one of my mention cards, nor in the thread of one.",
        "fr": "Ce message n’est pas une de mes cartes de mention, ni dans le fil de l’une d’elles.",
    },
    "flag.no_channel": {
        "en": "This mention has no card to post the escalation under, and ESCALATION_CHANNEL is not set.",
        "fr": "Cette mention n’a pas de carte sous laquelle publier le signalement, et ESCALATION_CHANNEL n’est pas "
            "réglé.",
    },
    "flag.list_title": {
        "en": "Escalations in progress, oldest first:",
        "fr": "Signalements en cours, du plus ancien au plus récent :",
    },
    "flag.list_line": {
        "en": "{link} · {state} · {age} · {owners} · {excerpt}",
        "fr": "{link} · {state} · {age} · {owners} · {excerpt}",
    },
    "flag.list_more.one": {"en": "…and {count} more.", "fr": "…et {count} autre."},
    "flag.list_more.other": {"en": "…and {count} more.", "fr": "…et {count} autres."},
    "flag.list_empty": {"en": "No escalation is in progress.", "fr": "Aucun signalement en cours."},
    "modal.flag.title": {"en": "Escalate the mention", "fr": "Signaler la mention"},
    "modal.flag.submit": {"en": "Escalate", "fr": "Signaler"},
    "modal.flag.official": {"en": "Official to ping", "fr": "Responsable à prévenir"},
    "modal.flag.official_hint": {
        "en": "Leave empty to send it to the usual officials for this kind of mention.",
        "fr": "Laissez vide pour l’envoyer aux responsables habituels de ce type de mention.",
    },
    "modal.flag.note": {"en": "Note for the official", "fr": "Note pour le responsable"},
    "modal.answer.title": {"en": "Answer", "fr": "Réponse"},
    "modal.answer.submit": {"en": "Save answer", "fr": "Enregistrer"},
    "modal.answer.label": {
        "en": "The answer, as the team may use it",
        "fr": "La réponse, telle que l’équipe pourra l’utiliser",
    },
    "modal.reason.label": {"en": "Reason", "fr": "Motif"},
    "modal.reason.submit": {"en": "Confirm", "fr": "Confirmer"},
    "modal.cancel": {"en": "Cancel", "fr": "Annuler"},
    "duration.under_a_minute": {"en": "under a minute", "fr": "moins d’une minute"},
    # Abbreviated units take no plural mark, but they go through t_plural like every count.
    "duration.minutes.one": {"en": "{count} min", "fr": "{count} min"},
    "duration.minutes.other": {"en": "{count} min", "fr": "{count} min"},
    "duration.hours.one": {"en": "{count} h", "fr": "{count} h"},
    "duration.hours.other": {"en": "{count} h", "fr": "{count} h"},
    "duration.days.one": {"en": "{count} d", "fr": "{count} j"},
    "duration.days.other": {"en": "{count} d", "fr": "{count} j"},
    "date.datetime": {"en": "{day} {month} {year} {time}", "fr": "{day} {month} {year} à {time}"},
    "date.first_day": {"en": "1", "fr": "1er"},
    # A no-break space keeps "12,3 k" on one line.
    # /summarize and /draft (summarize.py, drafting.py, summary_cards.py, draft_cards.py)
    "assist.working.summary": {
        "en": ":hourglass_flowing_sand: Summarizing… this takes a few seconds.",
        "fr": ":hourglass_flowing_sand: Résumé en cours… quelques secondes.",
    },
    "assist.working.draft": {
        "en": ":hourglass_flowing_sand: Drafting a reply…",
        "fr": ":hourglass_flowing_sand: Rédaction d’une réponse…",
    },
    "assist.working.redraft": {
        "en": ":hourglass_flowing_sand: Rewriting the draft…",
        "fr": ":hourglass_flowing_sand: Nouvelle version du brouillon…",
    },
    "assist.no_mention": {"en": "There is no mention #{id}.", "fr": "Il n’y a pas de mention n° {id}."},
    "assist.unknown_url": {
        "en": "No mention with this URL was recorded: {url}. Veilleur only knows the posts its watchers found.",
        "fr": "Aucune mention enregistrée n’a cette URL : {url}. Veilleur ne connaît que les publications trouvées "
        "par ses veilles.",
    },
    "assist.cannot_read": {
        "en": "I cannot read that conversation ({error}): invite me to the channel with `/invite @veilleur`.",
        "fr": "Je ne peux pas lire cette conversation ({error}) : invitez-moi dans le canal avec `/invite @veilleur`.",
    },
    "assist.no_message": {
        "en": "That message or thread does not exist (any more).",
        "fr": "Ce message ou ce fil n’existe pas (ou plus).",
    },
    "assist.slack_failed": {
        "en": "Slack did not give me that conversation ({error}). Please try again.",
        "fr": "Slack ne m’a pas donné cette conversation ({error}). Merci de réessayer.",
    },
    "assist.no_slack": {"en": "Slack is not connected.", "fr": "Slack n’est pas connecté."},
    "assist.failed": {
        "en": "Something went wrong on my side; please try again.",
        "fr": "Quelque chose s’est mal passé de mon côté ; merci de réessayer.",
    },
    "summarize.usage": {
        "en": "Usage: `/summarize` (this channel, last 24 hours), `/summarize 3d` (or 12h, 1w), or `/summarize "
        "<message link | mention id | post URL>`. In a thread, mention @veilleur.",
        "fr": "Syntaxe : `/summarize` (ce canal, dernières 24 heures), `/summarize 3j` (ou 12h, 1sem), ou `/summarize "
        "<lien du message | numéro de mention | URL de la publication>`. Dans un fil, mentionnez @veilleur.",
    },
    "summarize.mention_hint": {
        "en": "Mention me inside a thread to summarize it, or use `/summarize` in this channel.",
        "fr": "Mentionnez-moi dans un fil pour le résumer, ou utilisez `/summarize` dans ce canal.",
    },
    "summarize.empty": {
        "en": "Nothing to summarize: I found no message to read there.",
        "fr": "Rien à résumer : je n’ai trouvé aucun message à lire.",
    },
    "summary.title.thread": {"en": "Summary of a thread in {channel}", "fr": "Résumé d’un fil de {channel}"},
    "summary.title.channel": {
        "en": "Summary of {channel} over {window}",
        "fr": "Résumé de {channel} sur {window}",
    },
    "summary.title.mention": {
        "en": "Summary of the conversation on {source}: {excerpt}",
        "fr": "Résumé de la conversation sur {source} : {excerpt}",
    },
    "summary.title.plain": {"en": "Summary", "fr": "Résumé"},
    "summary.covered.one": {"en": "{count} message covered", "fr": "{count} message couvert"},
    "summary.covered.other": {"en": "{count} messages covered", "fr": "{count} messages couverts"},
    "summary.llm.one": {
        "en": ":sparkles: Written by an LLM in {count} request; every count and share is computed by Veilleur.",
        "fr": ":sparkles: Rédigé par un LLM en {count} requête ; chaque nombre et chaque part est calculé par "
        "Veilleur.",
    },
    "summary.llm.other": {
        "en": ":sparkles: Written by an LLM from {count} parts, then combined; every count and share is computed by "
        "Veilleur.",
        "fr": ":sparkles: Rédigé par un LLM en {count} parties, puis combiné ; chaque nombre et chaque part est "
        "calculé par Veilleur.",
    },
    "summary.fallback.not_configured": {
        "en": ":information_source: *Extractive summary* (no LLM is configured): the most representative messages, "
        "stances counted by simple word rules.",
        "fr": ":information_source: *Résumé extractif* (aucun LLM n’est configuré) : les messages les plus "
        "représentatifs, positions comptées par de simples règles de mots.",
    },
    "summary.fallback.timeout": {
        "en": ":information_source: *Extractive summary*: the LLM did not answer in time ({detail}).",
        "fr": ":information_source: *Résumé extractif* : le LLM n’a pas répondu à temps ({detail}).",
    },
    "summary.fallback.error": {
        "en": ":information_source: *Extractive summary*: the LLM failed ({detail}).",
        "fr": ":information_source: *Résumé extractif* : le LLM a échoué ({detail}).",
    },
    "summary.fallback.budget": {
        "en": ":information_source: *Extractive summary*: today’s LLM token budget is spent ({detail}); the LLM is "
        "back tomorrow.",
        "fr": ":information_source: *Résumé extractif* : le budget de jetons LLM du jour est épuisé ({detail}) ; le "
        "LLM revient demain.",
    },
    "summary.conversation.source_failed": {
        "en": ":warning: The conversation could not be read on its source ({detail}): this covers the mention alone.",
        "fr": ":warning: La conversation n’a pas pu être lue à la source ({detail}) : ceci ne couvre que la mention.",
    },
    "summary.conversation.no_watcher": {
        "en": ":warning: The watcher that found this mention ({detail}) is no longer configured: this covers the "
        "mention alone.",
        "fr": ":warning: La veille qui a trouvé cette mention ({detail}) n’est plus configurée : ceci ne couvre que la "
        "mention.",
    },
    "summary.conversation.truncated.one": {
        "en": ":warning: Only the first message was read.",
        "fr": ":warning: Seul le premier message a été lu.",
    },
    "summary.conversation.truncated.other": {
        "en": ":warning: Only the first {count} messages were read.",
        "fr": ":warning: Seuls les {count} premiers messages ont été lus.",
    },
    "summary.main_points": {"en": "Main points", "fr": "Points principaux"},
    "summary.key_posts": {"en": "Most representative messages", "fr": "Messages les plus représentatifs"},
    "summary.stances": {"en": "Stances", "fr": "Positions"},
    "summary.stance_line.one": {
        "en": "{stance}: *{count}* message ({percent}%)",
        "fr": "{stance} : *{count}* message ({percent} %)",
    },
    "summary.stance_line.other": {
        "en": "{stance}: *{count}* messages ({percent}%)",
        "fr": "{stance} : *{count}* messages ({percent} %)",
    },
    "summary.authors.one": {"en": "{count} author", "fr": "{count} auteur"},
    "summary.authors.other": {"en": "{count} authors", "fr": "{count} auteurs"},
    "summary.reach": {"en": "reach {reach}", "fr": "audience {reach}"},
    "summary.reach_at_least": {"en": "reach at least {reach}", "fr": "audience d’au moins {reach}"},
    "summary.including": {"en": "including {items}", "fr": "dont {items}"},
    "summary.posts.one": {"en": "{count} message", "fr": "{count} message"},
    "summary.posts.other": {"en": "{count} messages", "fr": "{count} messages"},
    "summary.influential": {"en": "Most followed", "fr": "Les plus suivis"},
    "summary.active": {"en": "Most active", "fr": "Les plus actifs"},
    "summary.labelled": {"en": "Labelled authors", "fr": "Auteurs identifiés"},
    "summary.questions": {
        "en": "Questions needing an official answer",
        "fr": "Questions appelant une réponse officielle",
    },
    "summary.next_steps": {"en": "Suggested next steps", "fr": "Prochaines étapes suggérées"},
    "summary.step.answer.one": {
        "en": "Answer the question above (`/draft` helps).",
        "fr": "Répondre à la question ci-dessus (`/draft` peut aider).",
    },
    "summary.step.answer.other": {
        "en": "Answer the {count} questions above (`/draft` helps).",
        "fr": "Répondre aux {count} questions ci-dessus (`/draft` peut aider).",
    },
    "summary.step.flag": {
        "en": "Most messages are against ({percent}%): consider flagging this to an official.",
        "fr": "La plupart des messages sont contre ({percent} %) : envisagez de signaler la conversation à un "
        "responsable.",
    },
    # The stance menu on a card (slack/cards.py stance_menu): one stance, and who gave the one shown.
    "card.stance.placeholder": {"en": "Stance", "fr": "Position"},
    "card.stance.for": {"en": "For", "fr": "Pour"},
    "card.stance.against": {"en": "Against", "fr": "Contre"},
    "card.stance.question": {"en": "Question", "fr": "Question"},
    "card.stance.neutral": {"en": "Neutral", "fr": "Neutre"},
    "card.stance.by.team": {"en": "{stance} (team)", "fr": "{stance} (équipe)"},
    "card.stance.by.model": {"en": "{stance} (AI)", "fr": "{stance} (IA)"},
    "card.stance.by.estimate": {"en": "{stance} (estimate)", "fr": "{stance} (estimation)"},
    # Stance shares (digest themes, spike alerts) when the word list estimated all or some of them.
    "stance.estimate_tag": {"en": "(word-list estimate)", "fr": "(estimation par liste de mots)"},
    "stance.estimated_some.one": {
        "en": "({count} stance estimated by word list)",
        "fr": "({count} position estimée par liste de mots)",
    },
    "stance.estimated_some.other": {
        "en": "({count} stances estimated by word list)",
        "fr": "({count} positions estimées par liste de mots)",
    },
    "stance.for": {"en": "For", "fr": "Pour"},
    "stance.against": {"en": "Against", "fr": "Contre"},
    "stance.neutral": {"en": "Neutral", "fr": "Neutres"},
    "stance.question": {"en": "Questions", "fr": "Questions"},
    # The stance synthesis of a theme (stance_synthesis.py): per author, high-reach authors and public figures.
    "synthesis.stance.for": {"en": "for", "fr": "pour"},
    "synthesis.stance.against": {"en": "against", "fr": "contre"},
    "synthesis.stance.neutral": {"en": "neutral", "fr": "sans avis tranché"},
    "synthesis.stance.question": {"en": "asking questions", "fr": "en questionnement"},
    "synthesis.lead.one": {"en": "the only author is {stance}", "fr": "le seul auteur est {stance}"},
    "synthesis.lead.other": {
        "en": "{percent}% of the {count} authors are {stance}",
        "fr": "{percent}\u202f% des {count} auteurs sont {stance}",
    },
    "synthesis.high_reach.none": {"en": "none of them high-reach", "fr": "aucun à forte audience"},
    "synthesis.high_reach.one": {"en": "{count} of them high-reach", "fr": "dont {count} à forte audience"},
    "synthesis.high_reach.other": {"en": "{count} of them high-reach", "fr": "dont {count} à forte audience"},
    "synthesis.high_reach.self": {"en": "with a high reach", "fr": "avec une forte audience"},
    "synthesis.high_reach.not_self": {"en": "not high-reach", "fr": "sans forte audience"},
    "synthesis.role.elected.one": {"en": "the elected official", "fr": "l’élu"},
    "synthesis.role.elected.other": {"en": "the {count} elected officials", "fr": "les {count} élus"},
    "synthesis.role.journalist.one": {"en": "the journalist", "fr": "le journaliste"},
    "synthesis.role.journalist.other": {"en": "the {count} journalists", "fr": "les {count} journalistes"},
    "synthesis.role.media.one": {"en": "the media outlet", "fr": "le média"},
    "synthesis.role.media.other": {"en": "the {count} media outlets", "fr": "les {count} médias"},
    "synthesis.role.institution.one": {"en": "the institution", "fr": "l’institution"},
    "synthesis.role.institution.other": {"en": "the {count} institutions", "fr": "les {count} institutions"},
    "synthesis.figures.same.one": {"en": "{who} is {stance}", "fr": "{who} est {stance}"},
    "synthesis.figures.same.other": {"en": "{who} are {stance}", "fr": "{who} sont {stance}"},
    "synthesis.figures.split": {"en": "{who}: {shares}", "fr": "{who}\u202f: {shares}"},
    "synthesis.share.one": {"en": "{count} {stance}", "fr": "{count} {stance}"},
    "synthesis.share.other": {"en": "{count} {stance}", "fr": "{count} {stance}"},
    "synthesis.then": {"en": "{first}; {then}", "fr": "{first}\u202f; {then}"},
    "label.journalist": {"en": "journalist", "fr": "journaliste"},
    "label.elected": {"en": "elected official", "fr": "élu"},
    "label.opposition": {"en": "opposition", "fr": "opposition"},
    "label.troll": {"en": "known troll", "fr": "troll connu"},
    "label.media": {"en": "media", "fr": "média"},
    "label.institution": {"en": "institution", "fr": "institution"},
    # `bot.py authors import` and `authors list` (public roles from the team's CSV file).
    "authors.import.done.one": {
        "en": "{added} public role added, {updated} updated; {left_out} row(s) left out. The bot uses them from its"
        " next start.",
        "fr": "{added} rôle public ajouté, {updated} mis à jour\u202f; {left_out} ligne(s) écartée(s). Le bot les"
        " utilise dès son prochain démarrage.",
    },
    "authors.import.done.other": {
        "en": "{added} public roles added, {updated} updated; {left_out} row(s) left out. The bot uses them from its"
        " next start.",
        "fr": "{added} rôles publics ajoutés, {updated} mis à jour\u202f; {left_out} ligne(s) écartée(s). Le bot les"
        " utilise dès son prochain démarrage.",
    },
    "authors.import.would.one": {
        "en": "Dry run: {added} public role would be added, {updated} updated; {left_out} row(s) left out. Nothing"
        " was changed.",
        "fr": "Essai\u202f: {added} rôle public serait ajouté, {updated} mis à jour\u202f; {left_out} ligne(s)"
        " écartée(s). Rien n’a été modifié.",
    },
    "authors.import.would.other": {
        "en": "Dry run: {added} public roles would be added, {updated} updated; {left_out} row(s) left out. Nothing"
        " was changed.",
        "fr": "Essai\u202f: {added} rôles publics seraient ajoutés, {updated} mis à jour\u202f; {left_out} ligne(s)"
        " écartée(s). Rien n’a été modifié.",
    },
    "authors.import.bad_row": {
        "en": "{file}, line {line}: {error}; fix that row and import the file again (the others are imported).",
        "fr": "{file}, ligne {line}\u202f: {error}\u202f; corrigez cette ligne et importez à nouveau le fichier"
        " (les autres sont importées).",
    },
    "authors.import.unreadable": {
        "en": "cannot import {file}: {error}. Save it as CSV (UTF-8) with the header handle,source,role,name.",
        "fr": "impossible d’importer {file}\u202f: {error}. Enregistrez-le en CSV (UTF-8) avec l’en-tête"
        " handle,source,role,name.",
    },
    "authors.list.none": {
        "en": "No public roles imported yet: python bot.py authors import FILE.csv",
        "fr": "Aucun rôle public importé pour l’instant\u202f: python bot.py authors import FICHIER.csv",
    },
    # What an author is called in prompts when PRIVACY_PROFILE=public-body (see assist/pseudonyms.py).
    "llm.pseudonym": {"en": "Author {number}", "fr": "Auteur {number}"},
    "window.hours.one": {"en": "the last hour", "fr": "la dernière heure"},
    "window.hours.other": {"en": "the last {count} hours", "fr": "les {count} dernières heures"},
    "window.days.one": {"en": "the last day", "fr": "le dernier jour"},
    "window.days.other": {"en": "the last {count} days", "fr": "les {count} derniers jours"},
    "window.weeks.one": {"en": "the last week", "fr": "la dernière semaine"},
    "window.weeks.other": {"en": "the last {count} weeks", "fr": "les {count} dernières semaines"},
    "draft.usage": {
        "en": "Usage: `/draft <message link | mention id | post URL> [instructions]`, e.g. `/draft 12 mention the "
        "replacement buses`.",
        "fr": "Syntaxe : `/draft <lien du message | numéro de mention | URL de la publication> [consignes]`, par "
        "exemple `/draft 12 parler des bus de remplacement`.",
    },
    "draft.title": {
        "en": "*Draft reply* to {author} on {source}",
        "fr": "*Brouillon de réponse* à {author} sur {source}",
    },
    "draft.fallback_text": {"en": "Draft reply to {author}", "fr": "Brouillon de réponse à {author}"},
    "draft.llm": {
        "en": ":sparkles: Drafted by an LLM, in {language}.",
        "fr": ":sparkles: Rédigé par un LLM, en {language}.",
    },
    "draft.used_answer": {
        "en": "Based on the official answer recorded for this mention.",
        "fr": "Fondé sur la réponse officielle enregistrée pour cette mention.",
    },
    "draft.claim_corrected": {
        "en": "This post repeats false claim #{id}: the draft cites its correction.",
        "fr": "Ce message reprend la fausse information n°{id} : le brouillon cite son rectificatif.",
    },
    "draft.claim_uncorrected": {
        "en": "This post repeats false claim #{id}, and no correction is recorded yet: `/claim correct {id} <link or"
        " text>` records it.",
        "fr": "Ce message reprend la fausse information n°{id}, et aucun rectificatif n’est encore enregistré : "
        "`/claim correct {id} <lien ou texte>` l’enregistre.",
    },
    "draft.only_you": {"en": "Only you can see this draft.", "fr": "Ce brouillon n’est visible que par vous."},
    "draft.for_user": {"en": "Drafted for {user}.", "fr": "Rédigé pour {user}."},
    "draft.copy_hint": {
        "en": "Read it, copy it from the block above and post it yourself: Veilleur never posts on social networks.",
        "fr": "Relisez-le, copiez-le depuis le bloc ci-dessus et publiez-le vous-même : Veilleur ne publie jamais sur "
        "les réseaux sociaux.",
    },
    "draft.fallback.not_configured": {
        "en": ":information_source: *Template reply* from the charter: no LLM is configured.",
        "fr": ":information_source: *Réponse type* tirée de la charte : aucun LLM n’est configuré.",
    },
    "draft.fallback.timeout": {
        "en": ":information_source: *Template reply* from the charter: the LLM did not answer in time ({detail}).",
        "fr": ":information_source: *Réponse type* tirée de la charte : le LLM n’a pas répondu à temps ({detail}).",
    },
    "draft.fallback.error": {
        "en": ":information_source: *Template reply* from the charter: the LLM failed ({detail}).",
        "fr": ":information_source: *Réponse type* tirée de la charte : le LLM a échoué ({detail}).",
    },
    "draft.fallback.budget": {
        "en": ":information_source: *Template reply* from the charter: today’s LLM token budget is spent ({detail}).",
        "fr": ":information_source: *Réponse type* tirée de la charte : le budget de jetons LLM du jour est épuisé "
        "({detail}).",
    },
    "draft.in_thread": {
        "en": "Your draft is in the thread: {link}",
        "fr": "Votre brouillon est dans le fil : {link}",
    },
    # /draft on a hostile post: the charter's guidance instead of a reply (assist/draft_cards.py).
    "draft.hostile.title": {
        "en": "*Hostile post* from {author} on {source}: the charter’s guidance, not a reply",
        "fr": "*Message hostile* de {author} sur {source} : la consigne de la charte, pas une réponse",
    },
    "draft.hostile.fallback_text": {
        "en": "Hostile post from {author}: the charter’s guidance",
        "fr": "Message hostile de {author} : la consigne de la charte",
    },
    "draft.hostile.by_model": {"en": "Marked hostile by the LLM.", "fr": "Marqué hostile par le LLM."},
    "draft.hostile.by_word_list": {
        "en": "Marked hostile by the word list (estimate).",
        "fr": "Marqué hostile par la liste de mots (estimation).",
    },
    "draft.hostile.anyway_hint": {
        "en": "Wrongly marked? *Draft a reply anyway* writes one as usual.",
        "fr": "Marqué à tort ? *Rédiger quand même* rédige une réponse comme d’habitude.",
    },
    "draft.hostile.no_charter": {
        "en": "Don’t answer it on the substance. Hide or report it on the platform, keep a screenshot, and escalate "
        "it to an official if it threatens someone. (The charter has no “Hostile posts” section yet: add one to "
        "state your team’s policy.)",
        "fr": "Ne répondez pas sur le fond. Masquez-le ou signalez-le sur la plateforme, faites une capture d’écran, "
        "et faites-le remonter à un élu ou un responsable s’il menace quelqu’un. (La charte n’a pas encore de "
        "section « Hostile posts » : ajoutez-en une pour dire la règle de votre équipe.)",
    },
    "button.draft_anyway": {"en": "Draft a reply anyway", "fr": "Rédiger quand même"},
    "button.regenerate": {"en": "Regenerate", "fr": "Régénérer"},
    "button.shorter": {"en": "Shorter", "fr": "Plus court"},
    "button.formal": {"en": "More formal", "fr": "Plus formel"},
    # Posting the digest: /digest, its chart (digest_delivery.py, handlers/digest.py)
    "digest_delivery.working": {
        "en": ":hourglass_flowing_sand: Building the digest…",
        "fr": ":hourglass_flowing_sand: Préparation de la synthèse…",
    },
    "digest_delivery.posted": {
        "en": "The digest since the last scheduled one is on its way to this channel.",
        "fr": "La synthèse depuis le dernier envoi prévu arrive dans ce canal.",
    },
    "digest_delivery.usage": {
        "en": "`/digest` posts the digest since the last scheduled one in this channel; `/digest preview` shows it "
        "only to you.",
        "fr": "`/digest` publie dans ce canal la synthèse depuis le dernier envoi prévu ; `/digest preview` ne "
        "la montre qu’à vous.",
    },
    "digest_delivery.failed": {
        "en": "The digest could not be built; the reason is in the bot’s log.",
        "fr": "La synthèse n’a pas pu être préparée ; la raison est dans le journal du bot.",
    },
    "digest_delivery.chart_title": {
        "en": "Mentions per day, last 7 days",
        "fr": "Mentions par jour, 7 derniers jours",
    },
    "digest_delivery.chart_alt": {
        "en": "Chart of the mentions found each day by each watcher over the last 7 days",
        "fr": "Graphique des mentions trouvées chaque jour par chaque veille sur les 7 derniers jours",
    },
    "story.also_seen": {"en": ":link: Also seen on {sources}", "fr": ":link: Vu aussi sur {sources}"},
    "story.also_seen_more.one": {"en": "{sources} and {count} more", "fr": "{sources} et {count} autre"},
    "story.also_seen_more.other": {"en": "{sources} and {count} more", "fr": "{sources} et {count} autres"},
    "story.campaign": {
        "en": ":warning: *Possible coordinated campaign*: {copies} from {accounts} within {window}. This is a signal, "
        "not a verdict: look at the accounts before reacting.",
        "fr": ":warning: *Campagne coordonnée possible* : {copies} de {accounts} en {window}. C’est un signal, pas "
        "un verdict : regardez les comptes avant de réagir.",
    },
    "story.campaign.posts.one": {"en": "{count} near-identical post", "fr": "{count} message presque identique"},
    "story.campaign.posts.other": {"en": "{count} near-identical posts", "fr": "{count} messages presque identiques"},
    "story.campaign.accounts.one": {"en": "{count} different account", "fr": "{count} compte différent"},
    "story.campaign.accounts.other": {"en": "{count} different accounts", "fr": "{count} comptes différents"},
    "story.campaign_example": {"en": "First post: “{excerpt}”", "fr": "Premier message : « {excerpt} »"},
    # The digest (digest.py, digest_cards.py)
    "digest.title": {"en": ":newspaper: Digest: {start} – {end}", "fr": ":newspaper: Synthèse : {start} – {end}"},
    "digest.fallback": {"en": "Digest {start} – {end}: {found}", "fr": "Synthèse du {start} au {end} : {found}"},
    "digest.scope": {"en": "Watchers: {names}", "fr": "Veilles : {names}"},
    "digest.change.up": {"en": "↑ {percent}%", "fr": "↑ {percent} %"},
    "digest.change.down": {"en": "↓ {percent}%", "fr": "↓ {percent} %"},
    "digest.change.flat": {"en": "→ {percent}%", "fr": "→ {percent} %"},
    # "new": nothing to compare with, the reference was zero.
    "digest.change.new": {"en": "none before", "fr": "aucune auparavant"},
    "digest.compare.previous": {
        "en": "{change} vs the previous period",
        "fr": "{change} par rapport à la période précédente",
    },
    "digest.compare.previous_none": {"en": "none in the previous period", "fr": "aucune sur la période précédente"},
    "digest.compare.week": {
        "en": "{change} vs the 7-day average",
        "fr": "{change} par rapport à la moyenne sur 7 jours",
    },
    "digest.compare.week_none": {"en": "none in the 7 days before", "fr": "aucune sur les 7 jours d’avant"},
    "digest.volume.title": {"en": "Volume", "fr": "Volume"},
    "digest.volume.total.one": {"en": "*{count}* mention found", "fr": "*{count}* mention trouvée"},
    "digest.volume.total.other": {"en": "*{count}* mentions found", "fr": "*{count}* mentions trouvées"},
    "digest.volume.hostile.one": {
        "en": "*{count}* hostile post (marked on its card; see the charter)",
        "fr": "*{count}* message hostile (marqué sur sa carte ; voir la charte)",
    },
    "digest.volume.hostile.other": {
        "en": "*{count}* hostile posts (marked on their cards; see the charter)",
        "fr": "*{count}* messages hostiles (marqués sur leur carte ; voir la charte)",
    },
    "digest.volume.hostile_estimated.one": {
        "en": "{count} of them estimated by the word list",
        "fr": "dont {count} estimé par la liste de mots",
    },
    "digest.volume.hostile_estimated.other": {
        "en": "{count} of them estimated by the word list",
        "fr": "dont {count} estimés par la liste de mots",
    },
    "digest.volume.days": {
        "en": "Last 7 days: {sparkline} ({counts})",
        "fr": "7 derniers jours : {sparkline} ({counts})",
    },
    "digest.volume.line.one": {
        "en": "{name}: *{count}* mention ({trend})",
        "fr": "{name} : *{count}* mention ({trend})",
    },
    "digest.volume.line.other": {
        "en": "{name}: *{count}* mentions ({trend})",
        "fr": "{name} : *{count}* mentions ({trend})",
    },
    "digest.volume.by_watcher": {"en": "By watcher", "fr": "Par veille"},
    "digest.volume.by_source": {"en": "By source", "fr": "Par source"},
    "digest.more.one": {"en": "…and {count} more", "fr": "…et {count} autre"},
    "digest.more.other": {"en": "…and {count} more", "fr": "…et {count} autres"},
    "digest.top.title": {"en": "Top mentions", "fr": "Mentions les plus marquantes"},
    "digest.top.engagement.one": {"en": "{count} interaction", "fr": "{count} interaction"},
    "digest.top.engagement.other": {"en": "{count} interactions", "fr": "{count} interactions"},
    "digest.themes.title": {"en": "Themes", "fr": "Thèmes"},
    "digest.themes.sample.one": {
        "en": "Drawn from {count} mention out of {total} (the most reached, and an even sample of the rest); shares "
        "are of the mentions in these themes.",
        "fr": "Tirés de {count} mention sur {total} (les plus vues, et un échantillon régulier des autres) ; parts "
        "calculées sur les mentions de ces thèmes.",
    },
    "digest.themes.sample.other": {
        "en": "Drawn from {count} mentions out of {total} (the most reached, and an even sample of the rest); shares "
        "are of the mentions in these themes.",
        "fr": "Tirés de {count} mentions sur {total} (les plus vues, et un échantillon régulier des autres) ; parts "
        "calculées sur les mentions de ces thèmes.",
    },
    "digest.themes.line.one": {
        "en": "*{label}*: {count} mention ({percent}%)",
        "fr": "*{label}* : {count} mention ({percent} %)",
    },
    "digest.themes.line.other": {
        "en": "*{label}*: {count} mentions ({percent}%)",
        "fr": "*{label}* : {count} mentions ({percent} %)",
    },
    "digest.themes.stance": {"en": "{stance} {percent}%", "fr": "{stance} {percent} %"},
    "digest.corrected.one": {
        "en": "The team corrected {count} stance label in this period.",
        "fr": "L’équipe a corrigé {count} position sur cette période.",
    },
    "digest.corrected.other": {
        "en": "The team corrected {count} stance labels in this period.",
        "fr": "L’équipe a corrigé {count} positions sur cette période.",
    },
    "digest.themes.none": {"en": "No theme stands out.", "fr": "Aucun thème ne se dégage."},
    "digest.themes.influential": {"en": "Most followed: {names}", "fr": "Les plus suivis : {names}"},
    "digest.themes.labelled": {"en": "Labelled: {names}", "fr": "Identifiés : {names}"},
    "digest.escalations.title": {"en": "Escalations", "fr": "Signalements"},
    "digest.claims.title": {"en": "False claims", "fr": "Fausses informations"},
    "digest.claims.open.one": {"en": "{count} claim followed", "fr": "{count} fausse information suivie"},
    "digest.claims.open.other": {"en": "{count} claims followed", "fr": "{count} fausses informations suivies"},
    "digest.claims.mentions.one": {"en": "{count} mention in the period", "fr": "{count} mention sur la période"},
    "digest.claims.mentions.other": {"en": "{count} mentions in the period", "fr": "{count} mentions sur la période"},
    "digest.claims.high.one": {"en": "{count} high-reach", "fr": "{count} à forte audience"},
    "digest.claims.high.other": {"en": "{count} high-reach", "fr": "{count} à forte audience"},
    "digest.claims.before_after": {
        "en": "{before} before the correction, {after} after",
        "fr": "{before} avant le rectificatif, {after} après",
    },
    "digest.claims.uncorrected": {"en": "no correction yet", "fr": "pas encore de rectificatif"},
    "digest.claims.closed": {"en": "closed", "fr": "close"},
    # One piece per count, joined: "2 opened · 1 answered · 1 waiting for an answer".
    "digest.escalations.opened.one": {"en": "{count} opened", "fr": "{count} ouvert"},
    "digest.escalations.opened.other": {"en": "{count} opened", "fr": "{count} ouverts"},
    "digest.escalations.answered.one": {"en": "{count} answered", "fr": "{count} avec réponse"},
    "digest.escalations.answered.other": {"en": "{count} answered", "fr": "{count} avec réponse"},
    "digest.escalations.waiting.one": {"en": "{count} waiting for an answer", "fr": "{count} en attente de réponse"},
    "digest.escalations.waiting.other": {"en": "{count} waiting for an answer", "fr": "{count} en attente de réponse"},
    "digest.escalations.median": {
        "en": "Median time to answer: {duration}",
        "fr": "Délai médian de réponse : {duration}",
    },
    "digest.escalations.open_item": {
        "en": "{excerpt}: waiting for {age}, with {owners}",
        "fr": "{excerpt} : en attente depuis {age}, auprès de {owners}",
    },
    "digest.health.title": {"en": "Source health", "fr": "État des sources"},
    "digest.health.ok": {"en": "Every watcher worked.", "fr": "Toutes les veilles ont fonctionné."},
    "digest.health.unpolled.one": {"en": "Not polled yet: {names}.", "fr": "Pas encore relevée : {names}."},
    "digest.health.unpolled.other": {"en": "Not polled yet: {names}.", "fr": "Pas encore relevées : {names}."},
    "digest.health.failed.one": {
        "en": "{watcher}: {count} failed poll ({at}): {error}",
        "fr": "{watcher} : {count} relevé en échec (le {at}) : {error}",
    },
    "digest.health.failed.other": {
        "en": "{watcher}: {count} failed polls, the last {at}: {error}",
        "fr": "{watcher} : {count} relevés en échec, le dernier le {at} : {error}",
    },
    "digest.health.still_failing": {
        "en": ":red_circle: still failing since {since}",
        "fr": ":red_circle: échoue toujours depuis {since}",
    },
    "digest.health.recovered": {
        "en": ":large_green_circle: works again",
        "fr": ":large_green_circle: fonctionne à nouveau",
    },
    "digest.narrative.llm": {
        "en": ":sparkles: Written by an LLM from the figures below; every number is computed by Veilleur.",
        "fr": ":sparkles: Rédigé par un LLM à partir des chiffres ci-dessous ; chaque nombre est calculé par Veilleur.",
    },
    "digest.narrative.template": {
        "en": ":information_source: Written from templates (no LLM: {reason}).",
        "fr": ":information_source: Rédigé à partir de modèles de phrases (sans LLM : {reason}).",
    },
    "digest.reason.not_configured": {"en": "none is configured", "fr": "aucun n’est configuré"},
    "digest.reason.timeout": {"en": "it did not answer in time", "fr": "il n’a pas répondu à temps"},
    "digest.reason.error": {"en": "it failed", "fr": "il a échoué"},
    "digest.reason.budget": {"en": "today’s token budget is spent", "fr": "le budget de jetons du jour est épuisé"},
    "digest.story.quiet": {
        "en": "No mention was found in this period.",
        "fr": "Aucune mention n’a été trouvée sur cette période.",
    },
    "digest.story.volume.one": {
        "en": "{count} mention was found ({comparison}).",
        "fr": "{count} mention a été trouvée ({comparison}).",
    },
    "digest.story.volume.other": {
        "en": "{count} mentions were found ({comparison}).",
        "fr": "{count} mentions ont été trouvées ({comparison}).",
    },
    "digest.story.theme": {
        "en": "The main theme is “{label}” ({percent}% of the themed mentions; {stance}: {stance_percent}%).",
        "fr": "Le thème principal est « {label} » ({percent} % des mentions classées ; {stance} : {stance_percent} %).",
    },
    "digest.story.escalations": {"en": "Escalations: {figures}.", "fr": "Signalements : {figures}."},
    "digest.story.median": {
        "en": "The median time to answer was {duration}.",
        "fr": "Le délai médian de réponse a été de {duration}.",
    },
    "digest.story.failures.one": {
        "en": "One watcher had trouble: {names}.",
        "fr": "Une veille a eu des problèmes : {names}.",
    },
    "digest.story.failures.other": {
        "en": "{count} watchers had trouble: {names}.",
        "fr": "{count} veilles ont eu des problèmes : {names}.",
    },
    # Retention and erasure (veilleur/privacy/reports.py): `bot.py purge` and `bot.py forget`.
    "privacy.scope.all": {"en": "every source", "fr": "toutes les sources"},
    "privacy.scope.source": {"en": "{source} only", "fr": "{source} seulement"},
    "privacy.forget.nothing": {
        "en": "Nothing held about {author} ({scope}).",
        "fr": "Rien n’est détenu sur {author} ({scope}).",
    },
    "privacy.forget.done": {
        "en": "Erased what Veilleur held about {author} ({scope}):",
        "fr": "Effacé ce que Veilleur détenait sur {author} ({scope})\u202f:",
    },
    "privacy.forget.dry_run": {
        "en": "Dry run, nothing changed. Forgetting {author} ({scope}) would erase:",
        "fr": "Simulation, rien n’a changé. Oublier {author} ({scope}) effacerait\u202f:",
    },
    "privacy.forget.resumed": {
        "en": "Finished forgetting {author} ({scope}), which an interruption had left halfway:",
        "fr": "Terminé l’effacement de {author} ({scope}), qu’une interruption avait laissé en cours\u202f:",
    },
    "privacy.suppressed.now": {
        "en": "Their future posts are dropped at collection ({scope}): never stored, never posted.",
        "fr": "Leurs prochaines publications sont écartées dès la collecte ({scope})\u202f: jamais enregistrées, "
        "jamais publiées.",
    },
    "privacy.suppressed.would": {
        "en": "Their future posts would be dropped at collection ({scope}).",
        "fr": "Leurs prochaines publications seraient écartées dès la collecte ({scope}).",
    },
    "privacy.suppressed.already": {
        "en": "Their posts were already dropped at collection ({scope}).",
        "fr": "Leurs publications étaient déjà écartées dès la collecte ({scope}).",
    },
    "privacy.labels.one": {
        "en": "The watchers file {file} labels this author in {count} [[author]] table: remove it, Veilleur does "
        "not edit that file.",
        "fr": "Le fichier des veilles {file} qualifie cet auteur dans {count} table [[author]]\u202f: supprimez-la, "
        "Veilleur ne modifie pas ce fichier.",
    },
    "privacy.labels.other": {
        "en": "The watchers file {file} labels this author in {count} [[author]] tables: remove them, Veilleur "
        "does not edit that file.",
        "fr": "Le fichier des veilles {file} qualifie cet auteur dans {count} tables [[author]]\u202f: supprimez-les, "
        "Veilleur ne modifie pas ce fichier.",
    },
    "privacy.count.mentions.one": {
        "en": "{count} mention (its text, author and link)",
        "fr": "{count} mention (son texte, son auteur et son lien)",
    },
    "privacy.count.mentions.other": {
        "en": "{count} mentions (their text, author and link)",
        "fr": "{count} mentions (leur texte, leur auteur et leur lien)",
    },
    "privacy.count.cards.one": {"en": "{count} card", "fr": "{count} carte"},
    "privacy.count.cards.other": {"en": "{count} cards", "fr": "{count} cartes"},
    "privacy.count.story_entries.one": {"en": "{count} place in a story", "fr": "{count} place dans une histoire"},
    "privacy.count.story_entries.other": {
        "en": "{count} places in stories",
        "fr": "{count} places dans des histoires",
    },
    "privacy.count.escalations.one": {"en": "{count} escalation", "fr": "{count} signalement"},
    "privacy.count.escalations.other": {"en": "{count} escalations", "fr": "{count} signalements"},
    "privacy.count.notices.one": {
        "en": "{count} stored copy of a digest or an alert, emptied",
        "fr": "{count} copie enregistrée d’une synthèse ou d’une alerte, vidée",
    },
    "privacy.count.notices.other": {
        "en": "{count} stored copies of digests or alerts, emptied",
        "fr": "{count} copies enregistrées de synthèses ou d’alertes, vidées",
    },
    "privacy.count.poll_failures.one": {
        "en": "{count} record of a failed poll",
        "fr": "{count} trace d’un relevé en échec",
    },
    "privacy.count.poll_failures.other": {
        "en": "{count} records of failed polls",
        "fr": "{count} traces de relevés en échec",
    },
    "privacy.count.audit_entries.one": {"en": "{count} audit log entry", "fr": "{count} entrée du journal d’audit"},
    "privacy.count.audit_entries.other": {
        "en": "{count} audit log entries",
        "fr": "{count} entrées du journal d’audit",
    },
    "privacy.count.claims.one": {"en": "{count} closed false claim", "fr": "{count} fausse information close"},
    "privacy.count.claims.other": {"en": "{count} closed false claims", "fr": "{count} fausses informations closes"},
    "privacy.count.slack.redact.one": {
        "en": "{count} message the bot posted in Slack, queued to be redacted",
        "fr": "{count} message du bot dans Slack, mis en file pour être masqué",
    },
    "privacy.count.slack.redact.other": {
        "en": "{count} messages the bot posted in Slack, queued to be redacted",
        "fr": "{count} messages du bot dans Slack, mis en file pour être masqués",
    },
    "privacy.count.slack.delete.one": {
        "en": "{count} message the bot posted in Slack, queued to be deleted",
        "fr": "{count} message du bot dans Slack, mis en file pour être supprimé",
    },
    "privacy.count.slack.delete.other": {
        "en": "{count} messages the bot posted in Slack, queued to be deleted",
        "fr": "{count} messages du bot dans Slack, mis en file pour être supprimés",
    },
    "privacy.slack.pace": {
        "en": "The running bot edits or deletes them at about one a second per channel.",
        "fr": "Le bot en marche les modifie ou les supprime au rythme d’environ un par seconde et par canal.",
    },
    "privacy.slack.kept": {
        "en": "The cards stay in Slack (SLACK_CARD_RETENTION=keep).",
        "fr": "Les cartes restent dans Slack (SLACK_CARD_RETENTION=keep).",
    },
    "privacy.purge.nothing": {
        "en": "Nothing to purge: nothing collected before {date} is left, and nothing else is past its retention "
        "period.",
        "fr": "Rien à purger\u202f: plus rien de ce qui a été collecté avant le {date}, et rien d’autre n’a dépassé sa "
        "durée de conservation.",
    },
    "privacy.purge.done": {
        "en": "Purged what was collected before {date}:",
        "fr": "Purgé ce qui a été collecté avant le {date}\u202f:",
    },
    "privacy.purge.dry_run": {
        "en": "Dry run, nothing changed. A purge of what was collected before {date} would erase:",
        "fr": "Simulation, rien n’a changé. Une purge de ce qui a été collecté avant le {date} effacerait\u202f:",
    },
    "privacy.purge.resumed": {
        "en": "Finished a purge of what was collected before {date}, which an interruption had left halfway:",
        "fr": "Terminé une purge de ce qui a été collecté avant le {date}, qu’une interruption avait laissée en "
        "cours\u202f:",
    },
    "privacy.purge.counts_kept": {
        "en": "What the digest counts stays, per day, watcher, source and stance, with no author and no text.",
        "fr": "Ce que compte la synthèse reste, par jour, veille, source et position, sans auteur ni texte.",
    },
    "privacy.purge.kept.one": {
        "en": "{count} older mention is kept: an escalation still needs it (ESCALATION_RETENTION_DAYS).",
        "fr": "{count} mention plus ancienne est conservée\u202f: un signalement en a encore besoin "
        "(ESCALATION_RETENTION_DAYS).",
    },
    "privacy.purge.kept.other": {
        "en": "{count} older mentions are kept: escalations still need them (ESCALATION_RETENTION_DAYS).",
        "fr": "{count} mentions plus anciennes sont conservées\u202f: des signalements en ont encore besoin "
        "(ESCALATION_RETENTION_DAYS).",
    },
}

# Counts that take the singular (CLDR cardinal rule "one" for integers): French says "0 abonné".
# Babel's compact numbers stop at trillions and fail past about 10**28: a count this large comes only from a
# source lying about its figures, and is shown as this.
LARGEST_COUNT = 10**15 - 1


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def t(key: str, lang: str, **params: object) -> str:
    """The `lang` sentence for `key`, with `params` filled in. Unknown keys and languages raise KeyError."""
    return _template(key, lang).format(**params)


@cache
def _template(key: str, lang: str) -> str:
    template = CATALOGUE[key][lang]
    return french_typography(template) if lang == "fr" else template


NARROW_NO_BREAK_SPACE = "\u202f"
# A space (ordinary, no-break or narrow) before : ; ! ? %, when the mark ends a word: followed by a space, a closing
# mark or markup, or the end. Emoji codes (`:warning:`, no space before their colons) and URLs (`https://`,
# `lang:fr`, a mark followed by a letter) are left alone.
_SPACE_BEFORE_MARK = re.compile(r"[ \u00a0\u202f]+([:;!?%])(?=[\s»)\]*_~`’'\".,]|$)")
_INSIDE_GUILLEMETS = (re.compile(r"«[ \u00a0\u202f]*"), re.compile(r"[ \u00a0\u202f]*»"))


def french_typography(text: str) -> str:
    """`text` as French is printed: a narrow no-break space (U+202F) before : ; ! ? % and inside « », so that
    these marks never start a line ("Synthèse\u202f: …", "«\u202fCaen\u202f»"). Meant for our templates, before
    any outside text is filled in."""
    text = _SPACE_BEFORE_MARK.sub(NARROW_NO_BREAK_SPACE + r"\1", text)
    opening, closing = _INSIDE_GUILLEMETS
    return closing.sub(NARROW_NO_BREAK_SPACE + "»", opening.sub("«" + NARROW_NO_BREAK_SPACE, text))


def t_plural(key: str, n: float, lang: str, **params: object) -> str:
    """The sentence for a count of `n` in `lang`, by the language's CLDR plural rule (Babel): `key.one`, `key.few`,
    `key.many`… when the catalogue has that form, else `key.other`. French takes the singular for 0 and 1.

    `n` only chooses the form; pass the count to show as a parameter like any other.
    """
    form = _locale(lang).plural_form(abs(n))
    chosen = f"{key}.{form}" if f"{key}.{form}" in CATALOGUE else f"{key}.other"
    return t(chosen, lang, **params)


@dataclass(frozen=True)
class Phrase:
    """A sentence of the catalogue to say later, in the reader's language: its key and its parameters, plain values
    or phrases said in the same language. A plural stem (`error.redirects`) is chosen by its `count` parameter.

    Errors carry one (`SourceError.phrase`, `UnsafeUrlError.phrase`...) and their English text is `str(phrase)`,
    which logs and the database keep; Slack and the command line say the phrase in BOT_LANGUAGE.
    """

    key: str
    params: Mapping[str, str | int | float | Phrase] = field(default_factory=dict)

    @classmethod
    def of(cls, key: str, /, **params: str | int | float | Phrase) -> Phrase:
        return cls(key, params)

    def say(self, lang: str, *, outside: Callable[[str], str] | None = None) -> str:
        """The phrase in `lang`; `outside`, when given, is applied to each text parameter (outside text: a URL, a
        server's message), never to our own words, which keep their typography."""
        params = {name: value.say(lang, outside=outside) if isinstance(value, Phrase)
                  else outside(value) if outside is not None and isinstance(value, str) else value
                  for name, value in self.params.items()}
        if self.key in CATALOGUE:
            return t(self.key, lang, **params)
        count = self.params["count"]
        assert isinstance(count, int | float), f"{self.key}: a plural phrase needs its count as a number"
        return t_plural(self.key, count, lang, **params)

    def __str__(self) -> str:
        return self.say("en")

    def to_json(self) -> str:
        return json.dumps(_as_data(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> Phrase | None:
        """The phrase `to_json` wrote, or None when there is none or it can no longer be said (a key renamed since it
        was stored): the caller then shows the English text kept beside it."""
        if not text:
            return None
        try:
            phrase = _from_data(json.loads(text))
            for lang in LANGUAGES:
                phrase.say(lang)
        except (ValueError, TypeError, KeyError, IndexError, AssertionError):
            return None
        return phrase


def technical(detail: str) -> Phrase:
    """A cause that has no sentence of its own (a rare error, a library's message): shown as it is in English,
    after a word saying what it is in other languages ("erreur technique (…)")."""
    return Phrase.of("error.technical", detail=detail)


def _as_data(phrase: Phrase) -> dict[str, object]:
    params = {name: _as_data(value) if isinstance(value, Phrase) else value for name, value in phrase.params.items()}
    return {"key": phrase.key, "params": params}


def _from_data(data: dict[str, object]) -> Phrase:
    key, params = data["key"], data["params"]
    if not isinstance(key, str) or not isinstance(params, dict):
        raise TypeError("not a stored phrase")
    return Phrase(key, {name: _from_data(value) if isinstance(value, dict) else value
                        for name, value in params.items()})


def format_count(n: int, lang: str) -> str:
    """`n` in CLDR's short form for `lang` (Babel): 950, 12.3K, 1.2M in English; 950, 12,3 k, 1,2 M in French."""
    shown = max(-LARGEST_COUNT, min(n, LARGEST_COUNT))
    return format_compact_decimal(shown, format_type="short", locale=_locale(lang), fraction_digits=1)


def format_number(value: float, lang: str) -> str:
    """`value` with one decimal at most, as `lang` writes numbers (Babel): 2, 2.5, 1,234.5; in French 2, 2,5,
    1 234,5."""
    return format_decimal(round(value, 1), format="#,##0.#", locale=_locale(lang))


def format_reach(reach: int, lang: str, *, tiers: bool = False) -> str:
    """An author's followers: "12.3K followers", or with `tiers` (PRIVACY_PROFILE=public-body, where a stored reach is
    its tier's lowest count) the tier, "1K–10K followers"."""
    if tiers:
        return t(f"reach.{reach_tier(reach)}", lang)
    return t_plural("card.reach", reach, lang, count=format_count(reach, lang))


def format_datetime(moment: datetime, tz: ZoneInfo, lang: str) -> str:
    """`moment` as a reader in `tz` would write it: "24 Nov 2026 09:15", "24 nov. 2026 à 09:15".

    A naive `moment` is taken to be UTC, as sources give them. Month names are CLDR's (Babel); the first of the
    month is "1er" in French, which CLDR does not write.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(tz)
    day = t("date.first_day", lang) if local.day == 1 else str(local.day)
    month = get_month_names("abbreviated", locale=_locale(lang))[local.month]
    return t("date.datetime", lang, day=day, month=month, year=local.year, time=f"{local:%H:%M}")


def format_duration(duration: timedelta, lang: str) -> str:
    """`duration` to the minute, in its two largest units: "45 min", "3 h 20 min", "2 d 4 h" ("2 j 4 h" in French)."""
    minutes = int(duration.total_seconds() // 60)
    if minutes < 1:
        return t("duration.under_a_minute", lang)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    units = [("duration.days", days), ("duration.hours", hours), ("duration.minutes", minutes)]
    first = next(index for index, (_, n) in enumerate(units) if n)
    return " ".join(t_plural(key, n, lang, count=n) for key, n in units[first : first + 2] if n)
