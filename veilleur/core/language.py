"""Which language a text is in (when its source did not say), and how to name a language to a model.

Common function words are a sure sign on anything longer than a few words: the language with most of them wins
when it has at least two and clearly more than the runner-up. Short or mixed texts give None: the caller then
uses BOT_LANGUAGE.
"""

from __future__ import annotations

import re
from functools import lru_cache

from veilleur.core.query import fold


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": _words("the and is are of to in that it for you this with not we have be was on what they"),
    "fr": _words("le la les et est des une un du que qui dans pour pas nous vous sur avec ce cette sont au"),
    "es": _words("el los las y es una del que en por para con no nosotros esta este son al lo se"),
    "de": _words("der die das und ist nicht ein eine zu mit von wir sie auf für den dem ich es sind"),
    "it": _words("il gli lo e è di che per una non con sono della alla questo questa noi siamo nel"),
    "pt": _words("o os as e é de que em um uma para com não nós este esta são do da no na"),
    "nl": _words("de het een en is van dat niet op met voor wij zijn ik je er aan ook"),
}
LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
}
_WORD = re.compile(r"\w+", re.UNICODE)
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MIN_HITS = 2
MIN_TOPIC_WORD = 3
# Words that never say what a text is about (folded, as `query.fold` writes them): the function words above, and
# common English and French words and web noise, for the digest's themes and the spike alerts' top terms.
STOP_WORDS = frozenset(fold(word) for words in FUNCTION_WORDS.values() for word in words) | _words(
    """
    the and for are but not you all any can had her was one our out day get has him his how man new now old see
    two way who boy did its let put say she too use that with have this will your from they know want been good
    much some time very when come here just like long make many more only over such take than them well were what
    into also about after again against because before being below between both could does doing down during each
    few further having herself himself itself most myself nor off once other ours ourselves own same should
    their theirs themselves then there these those through under until which while whom why would yours yourself
    yourselves where yes amp http https www com org net html via
    les des une dans pour pas par sur avec qui que quoi est sont ont aux del ces cet cette son ses sans sous
    leur leurs nous vous ils elles elle lui mais donc car comme plus moins tout tous toute toutes fait faire
    etre avoir ete etait sera deja encore aussi tres bien peu trop meme notre votre nos vos mes tes mon ton toi moi
    quand alors apres avant chez entre vers depuis pendant selon ainsi dont celle celui ceux cela ceci
    ici oui non rien quel quelle quels quelles cest avait avons avez font peut
    """
)


def topic_words(text: str) -> list[tuple[str, str]]:
    """(folded, as written in lower case) for each word of `text` that can tell what it is about: links,
    numbers, words under three letters and stop words are left out."""
    pairs = []
    for word in _WORD.findall(_URL.sub(" ", text).casefold()):
        folded = _fold_word(word)
        if len(folded) >= MIN_TOPIC_WORD and not folded.isdigit() and folded not in STOP_WORDS:
            pairs.append((folded, word))
    return pairs


@lru_cache(maxsize=65536)
def _fold_word(word: str) -> str:
    return fold(word)


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the language `text` is most likely in, or None when unsure."""
    words = _WORD.findall(text.casefold())
    scores = sorted(
        ((sum(word in vocabulary for word in words), code) for code, vocabulary in FUNCTION_WORDS.items()),
        reverse=True,
    )
    (best, code), (second, _) = scores[0], scores[1]
    if best >= _MIN_HITS and best > second * 1.5:
        return code
    return None


def base_language(tag: str | None) -> str | None:
    """"fr" from "fr-FR" or "FR_ca"; None for an empty or malformed tag."""
    if not tag:
        return None
    head = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    return head if re.fullmatch(r"[a-z]{2,3}", head) else None


def language_name(code: str) -> str:
    """How to name the language in a prompt: "French", or the code itself for the rarer ones."""
    return LANGUAGE_NAMES.get(code, f"the language with ISO code '{code}'")
