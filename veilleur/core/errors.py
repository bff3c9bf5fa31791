"""The one error a person is told about: a request that cannot be done, as a sentence of the message catalogue."""

from __future__ import annotations


class UserError(Exception):
    """A request refused or impossible, told to the person as the catalogue sentence `key`.

    `params` are plain text, some of it outside text (a name or a link as typed): whoever renders the sentence
    escapes them for where it goes (`veilleur.slack.markup.user_error_text` for Slack).
    """

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
