from datetime import UTC, datetime

import pytest

from veilleur.core.errors import UserError
from veilleur.core.mentions import Mention
from veilleur.privacy.requests import AuthorRequest, author_of
from veilleur.slack.links import MessageRef
from veilleur.slack.targets import MentionRef, UrlRef
from veilleur.storage.store import Store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def ids(store: Store) -> list[int]:
    """Ann's post (posted as a card), a feed article with only a name, and a post that names nobody."""
    posts = [
        Mention("mastodon", "m1", "https://masto.example/@ann/1", "hi", author_handle="ann@masto.example"),
        Mention("rss", "r1", "https://news.example/1", "article", author_name="Jeanne Martin"),
        Mention("rss", "r2", "https://news.example/2", "anonymous"),
    ]
    outcome = store.record_poll("w", "C0TRAM", posts, {}, backfill=3, now=NOW)
    ids = [store.mention_ids_at_url(post.url)[0] for post in posts]
    card = next(card for card, mention_id in outcome.cards if mention_id == ids[0])
    store.mark_posted(card, "1700000000.000100", None, now=NOW)
    return ids


def test_a_card_link_a_post_url_or_a_mention_id_name_the_author_and_source(store: Store, ids: list[int]) -> None:
    assert author_of(store, MessageRef("C0TRAM", "1700000000.000100")) == AuthorRequest("ann@masto.example",
                                                                                        "mastodon")
    assert author_of(store, UrlRef("https://news.example/1/")) == AuthorRequest("Jeanne Martin", "rss")
    assert author_of(store, MentionRef(ids[0])) == AuthorRequest("ann@masto.example", "mastodon")


@pytest.mark.parametrize(
    ("target", "key"),
    [
        (MessageRef("C0TRAM", "1700000000.000999"), "privacy.target.not_a_card"),
        (UrlRef("https://nowhere.example/"), "privacy.target.not_found"),
        (MentionRef(404), "privacy.target.not_found"),
    ],
)
def test_a_target_that_is_no_stored_mention_is_refused(store: Store, ids: list[int], target: object,
                                                        key: str) -> None:
    with pytest.raises(UserError) as raised:
        author_of(store, target)  # type: ignore[arg-type]
    assert raised.value.key == key


def test_a_mention_without_author_cannot_be_erased_by(store: Store, ids: list[int]) -> None:
    with pytest.raises(UserError) as raised:
        author_of(store, MentionRef(ids[2]))
    assert raised.value.key == "privacy.target.no_author" and raised.value.params == {"id": str(ids[2])}


@pytest.mark.parametrize("value", ["", "nope", "[]", '{"author": ""}', '{"author": 3, "source": null}',
                                   '{"author": "ann", "source": 4}'])
def test_a_button_value_that_is_not_a_request_reads_as_none(value: str) -> None:
    assert AuthorRequest.from_value(value) is None


def test_a_request_survives_a_button_value() -> None:
    request = AuthorRequest("Jeanne « JM » Martin", "rss")
    assert AuthorRequest.from_value(request.as_value()) == request
