import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.views import View

from tests.support.block_kit import HOSTILE, all_strings, assert_within_block_kit_limits, block, has_block, text_objects
from veilleur.core.mentions import Mention
from veilleur.escalation import cards as ui
from veilleur.storage.escalations import Escalation, Escalator

PARIS = ZoneInfo("Europe/Paris")
RAISED = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
# The only mentions allowed out: those we build from user IDs.
OUR_MENTIONS = re.compile(r"<@U0[A-Z0-9]+>")
CONTROL_SEQUENCE = re.compile(r"<[!@#]|<https://evil")
STATES = ("open", "acknowledged", "answered", "closed", "not_ours", "dismissed")


def assert_only_our_mentions(message: dict[str, Any]) -> None:
    for string in all_strings(message):
        assert not CONTROL_SEQUENCE.search(OUR_MENTIONS.sub("", string)), string
    for text in text_objects(message.get("blocks", [])):
        if text["type"] == "mrkdwn":
            assert text["verbatim"] is True


@pytest.fixture
def mention() -> Mention:
    return Mention(
        source="mastodon",
        external_id="1",
        url="https://mastodon.social/@bob/1",
        title="Tram line closed",
        text="The tram is late again.",
        author_handle="@bob@mastodon.social",
    )


def escalation(state: str = "open", **changes: Any) -> Escalation:
    base = Escalation(
        id=12,
        mention_id=3,
        card_id=4,
        watcher="caen-tram",
        state=state,
        officials=("U0MAYOR", "U0DEPUTY"),
        escalators=(
            Escalator("U0ANN", "reaction", None, RAISED),
            Escalator("U0BOB", "command", "Please answer today", RAISED + timedelta(minutes=5)),
        ),
        created_at=RAISED,
        channel="C0ESCAL",
        message_ts="1.000100",
        permalink="https://x.slack.com/archives/C0ESCAL/p1000100",
    )
    later = {
        "acknowledged": {"acknowledged_at": RAISED + timedelta(hours=2), "acknowledged_by": "U0MAYOR"},
        "answered": {
            "answered_at": RAISED + timedelta(hours=5), "answered_by": "U0MAYOR", "answer": "Tram back Monday."
        },
        "finished": {"finished_at": RAISED + timedelta(days=1, hours=2), "finished_by": "U0MAYOR"},
    }
    steps = {
        "open": [],
        "acknowledged": ["acknowledged"],
        "answered": ["acknowledged", "answered"],
        "closed": ["acknowledged", "answered", "finished"],
        "not_ours": ["finished"],
        "dismissed": ["acknowledged", "finished"],
    }[state]
    values: dict[str, Any] = {}
    for step in steps:
        values |= later[step]
    if state in ("not_ours", "dismissed"):
        values["reason"] = "The region runs the trams."
    return replace(base, **(values | changes))


def message(esc: Escalation, mention: Mention, lang: str = "en") -> dict[str, Any]:
    built = ui.escalation_message(esc, mention, tz=PARIS, lang=lang)
    assert_within_block_kit_limits(built)
    assert_only_our_mentions(built)
    return built


def button_ids(built: dict[str, Any]) -> list[str]:
    if not has_block(built, "escalation_actions"):
        return []
    return [element["action_id"] for element in block(built, "escalation_actions")["elements"]]


def test_an_open_escalation_pings_its_officials_and_offers_every_next_step(mention: Mention) -> None:
    built = message(escalation(), mention)
    assert built["text"] == "Escalation #12 for <@U0MAYOR>, <@U0DEPUTY>: Tram line closed"
    assert block(built, "head")["text"]["text"] == (
        ":rotating_light: *Escalation #12* · Sent to <@U0MAYOR>, <@U0DEPUTY> by <@U0ANN>, <@U0BOB>"
    )
    assert block(built, "people")["text"]["text"] == (
        "*For:* <@U0MAYOR>, <@U0DEPUTY>\n*Escalated by:* <@U0ANN>, <@U0BOB> · 24 Nov 2026 09:00"
    )
    assert "Tram line closed" in block(built, "body")["text"]["text"]
    assert block(built, "notes")["text"]["text"] == "*Notes*\n<@U0BOB>: Please answer today"
    assert button_ids(built) == [ui.ACKNOWLEDGE, ui.ANSWER, ui.NOT_OURS, ui.DISMISS]
    assert {b["value"] for b in block(built, "escalation_actions")["elements"]} == {"12"}
    assert not has_block(built, "times")


@pytest.mark.parametrize(
    ("state", "buttons", "head"),
    [
        ("acknowledged", [ui.ANSWER, ui.NOT_OURS, ui.DISMISS], ":eyes: *Escalation #12* · Acknowledged by <@U0MAYOR>"),
        ("answered", [ui.CLOSE], ":speech_balloon: *Escalation #12* · Answered by <@U0MAYOR>"),
        ("closed", [], ":white_check_mark: *Escalation #12* · Closed by <@U0MAYOR>"),
        ("not_ours", [], ":leftwards_arrow_with_hook: *Escalation #12* · Not ours, says <@U0MAYOR>"),
        ("dismissed", [], ":heavy_multiplication_x: *Escalation #12* · Dismissed by <@U0MAYOR>"),
    ],
)
def test_each_state_shows_who_moved_it_and_only_the_buttons_that_make_sense(
    mention: Mention, state: str, buttons: list[str], head: str
) -> None:
    built = message(escalation(state), mention)
    assert block(built, "head")["text"]["text"] == head
    assert button_ids(built) == buttons


def test_the_answer_and_the_response_times_show_once_closed(mention: Mention) -> None:
    built = message(escalation("closed"), mention)
    assert block(built, "answer")["text"]["text"] == (
        "*Answer* from <@U0MAYOR> · 24 Nov 2026 14:00\nTram back Monday."
    )
    assert block(built, "times")["elements"][0]["text"] == (
        "Response times: acknowledged in 2 h · answered in 5 h · closed in 1 d 2 h"
    )


def test_a_dismissed_escalation_shows_its_reason_and_times_in_french(mention: Mention) -> None:
    built = message(escalation("not_ours"), mention, lang="fr")
    assert block(built, "head")["text"]["text"].endswith("Pas pour nous, selon <@U0MAYOR>")
    assert block(built, "reason")["text"]["text"] == "*Motif\u202f:* The region runs the trams."
    assert block(built, "times")["elements"][0]["text"] == "Délais\u202f: clos en 1 j 2 h"
    assert built["text"].startswith("Signalement n° 12 pour <@U0MAYOR>")


def test_without_officials_the_message_says_how_to_name_one(mention: Mention) -> None:
    built = message(escalation(officials=()), mention)
    assert built["text"] == "Escalation #12: Tram line closed"
    assert "OFFICIALS" in block(built, "people")["text"]["text"]
    assert "no official is set" in block(built, "head")["text"]["text"]


def test_posted_in_the_card_thread_it_says_why(mention: Mention) -> None:
    built = message(escalation(thread_ts="1.000001"), mention)
    assert "ESCALATION_CHANNEL" in block(built, "where")["elements"][0]["text"]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_hostile_notes_answers_reasons_and_mentions_stay_inert_and_within_limits(lang: str) -> None:
    huge = (HOSTILE + " & ") * 400
    hostile = Mention(
        source="<!channel>",
        external_id="x",
        url="https://evil.example/" + "&" * 2000,
        title=huge,
        text=huge,
        author_handle=huge,
        author_name=huge,
    )
    crowd = tuple(Escalator(f"U0P{n:04d}", "reaction", huge, RAISED) for n in range(60))
    for state in STATES:
        esc = escalation(state, escalators=crowd, answer=huge if state in ("answered", "closed") else None,
                         reason=huge if state in ("not_ours", "dismissed") else None, watcher=huge)
        message(esc, hostile, lang)
        status = ui.escalation_status(esc, lang)
        assert not CONTROL_SEQUENCE.search(OUR_MENTIONS.sub("", status))
    for built in (
        ui.thread_note(escalation(escalators=crowd), lang),
        ui.thread_answer(escalation("answered", answer=huge), lang),
        ui.joined_note("U0ANN", huge, ["U0MAYOR"], lang),
        ui.reminder(escalation(), now=RAISED + timedelta(hours=4), limit=3, lang=lang),
        ui.reminder_dm(escalation(), hostile, now=RAISED + timedelta(hours=4), lang=lang),
        ui.flag_list([(escalation(), hostile)] * 30, now=RAISED + timedelta(hours=3), lang=lang),
    ):
        assert_within_block_kit_limits(built)
        assert_only_our_mentions(built)


def test_a_user_id_that_is_not_one_pings_no_one() -> None:
    assert ui.user_ref("U0MAYOR") == "<@U0MAYOR>"
    assert ui.user_ref("<!channel>") == "&lt;!channel&gt;"


def test_card_status_links_to_the_escalation() -> None:
    assert ui.escalation_status(escalation("acknowledged"), "en") == (
        ":eyes: <https://x.slack.com/archives/C0ESCAL/p1000100|Escalation #12>: Acknowledged by <@U0MAYOR>"
    )
    assert ui.escalation_status(escalation(permalink=None), "en").startswith(":rotating_light: Escalation #12: Sent")


def test_the_card_status_is_the_escalation_or_the_dismissal_whichever_came_last() -> None:
    acknowledged = escalation("acknowledged")  # acknowledged two hours after RAISED
    line = ui.escalation_status(acknowledged, "en")
    assert ui.card_status(acknowledged, None, None, tz=PARIS, lang="en") == line
    for before_or_at in (timedelta(hours=1), timedelta(hours=2)):
        assert ui.card_status(acknowledged, "U0EVE", RAISED + before_or_at, tz=PARIS, lang="en") == line
    dismissed = ui.card_status(acknowledged, "U0EVE", RAISED + timedelta(hours=3), tz=PARIS, lang="fr")
    assert dismissed is not None and dismissed.startswith(":white_check_mark:") and "<@U0EVE>" in dismissed
    assert "12:00" in dismissed  # 11:00 UTC, shown in Paris time
    assert ui.card_status(None, "U0EVE", RAISED, tz=PARIS, lang="en") == (
        ui.card_status(escalation(created_at=RAISED - timedelta(days=1)), "U0EVE", RAISED, tz=PARIS, lang="en")
    )
    assert ui.card_status(None, None, None, tz=PARIS, lang="en") is None


def test_the_refusal_names_who_may_close() -> None:
    assert ui.refusal(escalation(), "en") == (
        "Only <@U0MAYOR>, <@U0DEPUTY>, <@U0ANN>, <@U0BOB> or an admin (ADMIN_USERS) can close or dismiss "
        "this escalation."
    )


def test_reminders_count_and_say_how_long_it_waited() -> None:
    reminder = ui.reminder(escalation(reminders_sent=1), now=RAISED + timedelta(hours=27), limit=3, lang="en")
    assert reminder["text"] == (
        ":alarm_clock: Reminder 2/3: <@U0MAYOR>, <@U0DEPUTY>, this escalation has waited 1 d 3 h to be acknowledged."
    )


def test_flag_list_shows_age_and_owner_and_stops_at_its_limit(mention: Mention) -> None:
    items = [(escalation(), mention), (escalation("acknowledged", id=13), mention)]
    built = ui.flag_list(items, now=RAISED + timedelta(minutes=90), lang="en")
    lines = [b["text"]["text"] for b in built["blocks"][1:]]
    assert lines[0].startswith("<https://x.slack.com/archives/C0ESCAL/p1000100|Escalation #12> · waiting · 1 h 30 min")
    assert "<@U0MAYOR>, <@U0DEPUTY>" in lines[0]
    assert "acknowledged" in lines[1] and "<@U0MAYOR> ·" in lines[1] and "U0DEPUTY" not in lines[1]
    many = ui.flag_list([(escalation(), mention)] * (ui.LIST_LIMIT + 3), now=RAISED, lang="en")
    assert block(many, "more")["elements"][0]["text"] == "…and 3 more."
    assert ui.flag_list([], now=RAISED, lang="fr")["text"] == "Aucun signalement en cours."


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_modals_are_valid_views(mention: Mention, lang: str) -> None:
    for modal in (
        ui.flag_modal(mention, private_metadata='{"target": {"mention_id": 3}}', lang=lang),
        ui.answer_modal(escalation(), mention, lang),
        ui.reason_modal(escalation(), "not_ours", lang),
        ui.reason_modal(escalation(), "dismissed", lang),
    ):
        View(**modal).validate_json()
        assert_only_our_mentions(modal)
