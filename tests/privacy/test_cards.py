import pytest

from tests.support.block_kit import CONTROL_SEQUENCE, HOSTILE, assert_within_block_kit_limits, block, text_objects
from veilleur.privacy.cards import FORGET_CANCEL, FORGET_CONFIRM, forget_done, forget_question
from veilleur.privacy.requests import AuthorRequest


def test_the_question_says_what_would_be_erased_and_carries_the_request_on_its_buttons() -> None:
    request = AuthorRequest("ann@masto.example", "mastodon")
    message = forget_question(request, mentions=12, cards=3, card_retention="redact", lang="en")
    assert_within_block_kit_limits(message)
    assert message["text"] == (
        "Erase everything Veilleur holds about ann@masto.example on Mastodon, and drop their future posts at "
        "collection? This cannot be undone. 12 mentions are held. 3 cards in Slack will be edited to a short notice."
    )
    buttons = {element["action_id"]: element for element in block(message, "forget")["elements"]}
    assert set(buttons) == {FORGET_CONFIRM, FORGET_CANCEL}
    assert buttons[FORGET_CONFIRM]["style"] == "danger" and "confirm" in buttons[FORGET_CONFIRM]
    assert {AuthorRequest.from_value(button["value"]) for button in buttons.values()} == {request}


@pytest.mark.parametrize(
    ("retention", "cards", "sentence"),
    [("delete", 1, "1 card in Slack will be deleted."), ("keep", 2, "2 cards in Slack stay as they are"),
     ("redact", 0, "")],
)
def test_what_becomes_of_the_cards_follows_slack_card_retention(retention: str, cards: int, sentence: str) -> None:
    done = forget_done(AuthorRequest("ann"), mentions=1, cards=cards, card_retention=retention, lang="en")
    assert done.startswith("Erased what Veilleur held about ann: 1 mention. Their future posts will be dropped")
    assert sentence in done and ("card" in done) == bool(cards)


def test_a_hostile_author_is_shown_inert_and_in_french() -> None:
    request = AuthorRequest(HOSTILE)
    message = forget_question(request, mentions=1, cards=0, card_retention="redact", lang="fr")
    marked_up = [text for text in text_objects(message["blocks"]) if text["type"] == "mrkdwn"]
    assert marked_up and all(not CONTROL_SEQUENCE.search(text["text"]) and text["verbatim"] for text in marked_up)
    assert message["blocks"][0]["text"]["text"].startswith("Effacer tout ce que Veilleur détient sur &lt;!channel&gt;")
    assert AuthorRequest.from_value(block(message, "forget")["elements"][0]["value"]) == request
    assert "1 mention est détenue." in message["text"]
    done = forget_done(request, mentions=1, cards=0, card_retention="keep", lang="fr")
    assert done.startswith("Ce que Veilleur détenait sur &lt;!channel&gt;") and "\u202f: 1 mention." in done
