"""Every sentence the bot writes, in English and French, and the few locale rules they need.

The catalogue is plain data: one key, one template per language, `str.format` placeholders. A key ending in
`.one`/`.other` is a plural pair, chosen by `t_plural`. Templates are ours; parameters may be outside text, which
`str.format` inserts without interpreting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    "command.not_available": {
        "en": "{command} is not available yet: it is coming in a later version of Veilleur.",
        "fr": "{command} n’est pas encore disponible : cette commande arrive dans une prochaine version de Veilleur.",
    },
    "card.dismissed": {
        "en": ":white_check_mark: Dismissed by {user} on {time}",
        "fr": ":white_check_mark: Ignorée par {user} le {time}",
    },
    "card.not_ours": {
        "en": "This message is not a Veilleur mention card.",
        "fr": "Ce message n’est pas une fiche de mention de Veilleur.",
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
        "en": "Raised by {escalators}; no official is set",
        "fr": "Soulevé par {escalators} ; aucun responsable n’est désigné",
    },
    "escalation.state.acknowledged": {"en": "Acknowledged by {user}", "fr": "Pris en charge par {user}"},
    "escalation.state.answered": {"en": "Answered by {user}", "fr": "Répondu par {user}"},
    "escalation.state.closed": {"en": "Closed by {user}", "fr": "Clos par {user}"},
    "escalation.state.not_ours": {"en": "Not ours, says {user}", "fr": "Pas pour nous, selon {user}"},
    "escalation.state.dismissed": {"en": "Dismissed by {user}", "fr": "Classé sans suite par {user}"},
    "escalation.state_name.open": {"en": "waiting", "fr": "en attente"},
    "escalation.state_name.acknowledged": {"en": "acknowledged", "fr": "pris en charge"},
    "escalation.state_name.answered": {"en": "answered", "fr": "répondu"},
    "escalation.state_name.closed": {"en": "closed", "fr": "clos"},
    "escalation.state_name.not_ours": {"en": "not ours", "fr": "pas pour nous"},
    "escalation.state_name.dismissed": {"en": "dismissed", "fr": "classé sans suite"},
    "escalation.people": {
        "en": "*For:* {officials}\n*Raised by:* {escalators} · {when}",
        "fr": "*Pour :* {officials}\n*Soulevé par :* {escalators} · {when}",
    },
    "escalation.no_official": {
        "en": "no official is set: name one with `/flag … @someone`, or set OFFICIALS",
        "fr": "aucun responsable n’est désigné : nommez-en un avec `/flag … @quelqu’un`, ou réglez OFFICIALS",
    },
    "escalation.notes": {"en": "*Notes*", "fr": "*Notes*"},
    "escalation.answer": {"en": "*Answer* from {user} · {when}", "fr": "*Réponse* de {user} · {when}"},
    "escalation.reason": {"en": "*Reason:* {reason}", "fr": "*Motif :* {reason}"},
    "escalation.times": {"en": "Response times: {times}", "fr": "Délais : {times}"},
    "escalation.time.acknowledge": {"en": "acknowledged in {duration}", "fr": "pris en charge en {duration}"},
    "escalation.time.answer": {"en": "answered in {duration}", "fr": "répondu en {duration}"},
    "escalation.time.close": {"en": "closed in {duration}", "fr": "clos en {duration}"},
    "escalation.in_card_thread": {
        "en": "ESCALATION_CHANNEL is not set, so this escalation is posted in the mention’s thread.",
        "fr": "ESCALATION_CHANNEL n’est pas réglé : ce signalement est donc publié dans le fil de la mention.",
    },
    "escalation.thread_note": {
        "en": "{escalators} escalated this mention to {officials}: {link}",
        "fr": "{escalators} a signalé cette mention à {officials} : {link}",
    },
    "escalation.thread_note_nobody": {
        "en": "{escalators} escalated this mention: {link}",
        "fr": "{escalators} a signalé cette mention : {link}",
    },
    "escalation.thread_answer": {"en": "{user} answered ({link}):", "fr": "{user} a répondu ({link}) :"},
    "escalation.joined": {"en": "{user} escalated this too.", "fr": "{user} signale aussi cette mention."},
    "escalation.cc": {"en": "Also for {officials}.", "fr": "Aussi pour {officials}."},
    "escalation.reminder": {
        "en": "Reminder {count}/{limit}: {officials}, this escalation has waited {duration} to be acknowledged.",
        "fr": "Rappel {count}/{limit} : {officials}, ce signalement attend d’être pris en charge depuis {duration}.",
    },
    "escalation.reminder_nobody": {
        "en": "Reminder {count}/{limit}: this escalation has waited {duration} and no official is set.",
        "fr": "Rappel {count}/{limit} : ce signalement attend depuis {duration} et aucun responsable n’est désigné.",
    },
    "escalation.reminder_dm": {
        "en": "Reminder: {link} has waited {duration} for you to acknowledge it.",
        "fr": "Rappel : {link} attend depuis {duration} que vous le preniez en charge.",
    },
    "escalation.refused": {
        "en": "Only {people} or an admin (ADMIN_USERS) can close or dismiss this escalation.",
        "fr": "Seuls {people} ou un admin (ADMIN_USERS) peuvent clore ou classer ce signalement.",
    },
    "escalation.conflict": {
        "en": "Nothing changed: {link} is now “{state}”.",
        "fr": "Rien n’a changé : {link} est désormais « {state} ».",
    },
    "escalation.gone": {"en": "This escalation no longer exists.", "fr": "Ce signalement n’existe plus."},
    "flag.done": {"en": "Escalated to {officials}: {link}", "fr": "Signalé à {officials} : {link}"},
    "flag.done_nobody": {
        "en": "Escalated, but no official is set: name one with `/flag … @someone`, or set OFFICIALS. {link}",
        "fr": "Signalé, mais aucun responsable n’est désigné : nommez-en un avec `/flag … @quelqu’un`, ou réglez "
            "OFFICIALS. {link}",
    },
    "flag.joined": {
        "en": "This mention was already escalated; you are now among those who raised it: {link}",
        "fr": "Cette mention était déjà signalée ; vous êtes maintenant parmi ceux qui l’ont soulevée : {link}",
    },
    "flag.already": {
        "en": "You already escalated this mention: {link}",
        "fr": "Vous avez déjà signalé cette mention : {link}",
    },
    "flag.finished": {
        "en": "{link} is already “{state}”. To raise it again, use the card’s Flag button or `/flag`.",
        "fr": "{link} est déjà « {state} ». Pour le relancer, utilisez le bouton Signaler de la carte ou `/flag`.",
    },
    "flag.pending": {"en": "the message is on its way", "fr": "le message arrive"},
    "flag.usage": {
        "en": "Usage: `/flag <message link | mention URL | mention id> [@official] [note]`, or `/flag list`.",
        "fr": "Usage : `/flag <lien du message | URL de la mention | numéro de mention> [@responsable] [note]`, ou "
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
    "modal.flag.title": {"en": "Flag to an official", "fr": "Signaler la mention"},
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
    "duration.minutes": {"en": "{n} min", "fr": "{n} min"},
    "duration.hours": {"en": "{n} h", "fr": "{n} h"},
    "duration.days": {"en": "{n} d", "fr": "{n} j"},
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
    # /summarize and /draft (summarize.py, drafting.py, summary_cards.py, draft_cards.py)
    "assist.working.summary": {
        "en": ":hourglass_flowing_sand: Summarising… this takes a few seconds.",
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
        "fr": "Usage : `/summarize` (ce canal, dernières 24 heures), `/summarize 3d` (ou 12h, 1w), ou `/summarize "
        "<lien du message | numéro de mention | URL de la publication>`. Dans un fil, mentionnez @veilleur.",
    },
    "summarize.mention_hint": {
        "en": "Mention me inside a thread to summarise it, or use `/summarize` in this channel.",
        "fr": "Mentionnez-moi dans un fil pour le résumer, ou utilisez `/summarize` dans ce canal.",
    },
    "summarize.empty": {
        "en": "Nothing to summarise: I found no message to read there.",
        "fr": "Rien à résumer : je n’ai trouvé aucun message à lire.",
    },
    "summary.title.thread": {"en": "Summary of a thread in {channel}", "fr": "Résumé d’un fil de {channel}"},
    "summary.title.channel": {
        "en": "Summary of {channel} over the last {window}",
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
    "summary.conversation.truncated": {
        "en": ":warning: Only the first {detail} messages were read.",
        "fr": ":warning: Seuls les {detail} premiers messages ont été lus.",
    },
    "summary.main_points": {"en": "Main points", "fr": "Points principaux"},
    "summary.key_posts": {"en": "Most representative messages", "fr": "Messages les plus représentatifs"},
    "summary.stances": {"en": "Stances", "fr": "Positions"},
    "summary.stance_line": {"en": "{stance}: *{count}* ({percent}%)", "fr": "{stance} : *{count}* ({percent} %)"},
    "summary.authors.one": {"en": "{count} author", "fr": "{count} auteur"},
    "summary.authors.other": {"en": "{count} authors", "fr": "{count} auteurs"},
    "summary.reach": {"en": "reach {reach}", "fr": "audience {reach}"},
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
        "fr": "Répondre à la question ci-dessus (`/draft` aide).",
    },
    "summary.step.answer.other": {
        "en": "Answer the {count} questions above (`/draft` helps).",
        "fr": "Répondre aux {count} questions ci-dessus (`/draft` aide).",
    },
    "summary.step.flag": {
        "en": "Most messages are against ({percent}%): consider flagging this to an official.",
        "fr": "La plupart des messages sont contre ({percent} %) : envisagez de le signaler à un responsable.",
    },
    "stance.for": {"en": "For", "fr": "Pour"},
    "stance.against": {"en": "Against", "fr": "Contre"},
    "stance.neutral": {"en": "Neutral", "fr": "Neutres"},
    "stance.question": {"en": "Questions", "fr": "Questions"},
    "label.journalist": {"en": "journalist", "fr": "journaliste"},
    "label.elected": {"en": "elected official", "fr": "élu"},
    "label.opposition": {"en": "opposition", "fr": "opposition"},
    "label.troll": {"en": "known troll", "fr": "troll connu"},
    "window.hours.one": {"en": "{count} hour", "fr": "{count} heure"},
    "window.hours.other": {"en": "{count} hours", "fr": "{count} heures"},
    "window.days.one": {"en": "{count} day", "fr": "{count} jour"},
    "window.days.other": {"en": "{count} days", "fr": "{count} jours"},
    "window.weeks.one": {"en": "{count} week", "fr": "{count} semaine"},
    "window.weeks.other": {"en": "{count} weeks", "fr": "{count} semaines"},
    "draft.usage": {
        "en": "Usage: `/draft <message link | mention id | post URL> [instructions]`, e.g. `/draft 12 mention the "
        "replacement buses`.",
        "fr": "Usage : `/draft <lien du message | numéro de mention | URL de la publication> [consignes]`, par exemple "
        "`/draft 12 parler des bus de remplacement`.",
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
    "draft.only_you": {"en": "Only you can see this draft.", "fr": "Vous seul voyez ce brouillon."},
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
    "button.regenerate": {"en": "Regenerate", "fr": "Régénérer"},
    "button.shorter": {"en": "Shorter", "fr": "Plus court"},
    "button.formal": {"en": "More formal", "fr": "Plus formel"},
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


def format_duration(duration: timedelta, lang: str) -> str:
    """`duration` to the minute, in its two largest units: "45 min", "3 h 20 min", "2 d 4 h" ("2 j 4 h" in French)."""
    minutes = int(duration.total_seconds() // 60)
    if minutes < 1:
        return t("duration.under_a_minute", lang)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    units = [("duration.days", days), ("duration.hours", hours), ("duration.minutes", minutes)]
    first = next(index for index, (_, n) in enumerate(units) if n)
    return " ".join(t(key, lang, n=n) for key, n in units[first : first + 2] if n)
