"""Following false claims with the outbox against the fake Slack: the claim's message, its updates (one per poll at
most, whatever Slack answers meanwhile), the thread reply when the claim accelerates."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.block_kit import block
from tests.support.slack_api import FakeSlack
from tests.support.sql import sql
from veilleur.core.mentions import Mention
from veilleur.slack.outbox import Outbox, new_slack_client
from veilleur.storage.audit import AuditLog
from veilleur.storage.store import Delivery, PollOutcome, Store
from veilleur.watching.claims import CHECK_CHUNK, ClaimDraft, ClaimService, accelerates, split_correction

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
CLAIM = "Le tram sera gratuit pour tous dès janvier prochain selon la mairie"
WATCHER: Any = SimpleNamespace(name="w")


@pytest.fixture
def store() -> Store:
    return Store.open(":memory:")


def follow(store: Store, slack: FakeSlack) -> tuple[ClaimService, Outbox]:
    claims = ClaimService(store, lang="en", tz=ZoneInfo("Europe/Paris"), audit=AuditLog(store), clock=lambda: NOW)

    def render(delivery: Delivery) -> dict[str, Any]:
        if delivery.kind in ("claim", "update"):
            return claims.message(delivery)
        return delivery.message or {"text": f"card of mention {delivery.mention_id}"}

    return claims, Outbox(store, new_slack_client("xoxb-test", slack.api_url), render, pace=0.0)


async def poll(
    store: Store, claims: ClaimService, texts: list[str], at: datetime, first: int = 0, max_cards: int = 20
) -> PollOutcome:
    """A poll at `at` of a post per text, through the claims' step."""
    claims.clock = lambda: at
    if store.watcher_status("w").first_polled_at is None:
        store.record_poll("w", "C1", [], {}, now=at - timedelta(days=1))
    mentions = [Mention(source="mastodon", external_id=f"p{first + n}", url=f"https://m.example/{first + n}",
                        text=text, author_handle=f"a{n}") for n, text in enumerate(texts)]
    outcome = store.record_poll("w", "C1", mentions, {}, now=at, burst_threshold=100, max_cards=max_cards)
    return await claims.set_aside(WATCHER, outcome)


async def test_mentions_are_grouped_under_the_claim_and_its_message_updated_once_per_poll(
    slack: FakeSlack, store: Store
) -> None:
    claims, outbox = follow(store, slack)
    claims.mark(ClaimDraft(CLAIM, "tram gratuit", "", "C1"), user="U0ANN")
    await outbox.drain(within=5)
    (message,) = slack.posted_messages("C1")

    outcome = await poll(store, claims, ["Le tram GRATUIT ?", "Tram gratuit, vraiment", "Rien à voir: le bus"], NOW)
    assert [mention_id for _, mention_id in outcome.cards] == [3]  # only the bus has a card to post
    outcome = await poll(store, claims, ["Encore le tram gratuit"], NOW + timedelta(minutes=5), first=10)
    assert outcome.cards == ()
    slack.fail_next("chat.update", status=429, retry_after=1)
    await outbox.drain(within=10)

    refused, done = slack.calls_to("chat.update")
    assert (refused.status, done.status, done.args["ts"]) == (429, 200, message["ts"])
    assert "3 mentions so far" in block(done.args, "spread")["text"]["text"]  # both polls, one update
    assert "card of mention 3" in [message["text"] for message in slack.posted_messages("C1")]
    rows = sql(store).execute("select kind, state from deliveries where kind = 'update'").fetchall()
    assert rows == [("update", "updated")]


async def test_an_update_cut_short_by_a_restart_is_sent_again(slack: FakeSlack, store: Store) -> None:
    claims, outbox = follow(store, slack)
    claims.mark(ClaimDraft(CLAIM, "tram gratuit", "", "C1"), user="U0ANN")
    await outbox.drain(within=5)
    await poll(store, claims, ["Le tram gratuit"], NOW)
    (update,) = store.due_deliveries(channel="C1")
    store.mark_sending(update.id)  # the process died while Slack was being asked

    await outbox.reconcile()
    await outbox.drain(within=5)

    (done,) = slack.calls_to("chat.update")
    assert "1 mention so far" in block(done.args, "spread")["text"]["text"]


async def test_the_thread_hears_of_acceleration_once_per_cooldown(slack: FakeSlack, store: Store) -> None:
    claims, outbox = follow(store, slack)
    claims.mark(ClaimDraft(CLAIM, "tram gratuit", "", "C1"), user="U0ANN")
    await outbox.drain(within=5)
    await poll(store, claims, ["tram gratuit 1", "tram gratuit 2"], NOW - timedelta(minutes=70))  # the hour before
    await poll(store, claims, ["tram gratuit 3", "tram gratuit 4", "tram gratuit 5"], NOW, first=10)
    assert not notices(store)  # 3 this hour, not twice the 2 of the hour before
    await poll(store, claims, ["tram gratuit 6"], NOW + timedelta(minutes=1), first=20)
    assert len(notices(store)) == 1  # 4 this hour
    await poll(store, claims, ["tram gratuit 7", "tram gratuit 8"], NOW + timedelta(minutes=2), first=30)
    assert len(notices(store)) == 1  # faster still, but said once an hour
    await poll(store, claims, [f"tram gratuit {n}" for n in range(9, 21)], NOW + timedelta(minutes=65), first=50)
    assert len(notices(store)) == 2


async def test_mentions_past_the_card_limit_are_counted_under_the_claim_too(slack: FakeSlack, store: Store) -> None:
    claims, _ = follow(store, slack)
    claims.mark(ClaimDraft(CLAIM, "tram gratuit", "", "C1"), user="U0ANN")
    outcome = await poll(store, claims, ["tram gratuit 1", "tram gratuit 2", "le bus", "tram gratuit 3"], NOW,
                         max_cards=1)
    assert outcome.overflow == 3 and len(outcome.cards) == 0  # the one card repeated the claim
    counted = sql(store).execute("select count(*) from claim_mentions").fetchone()
    assert counted == (3,)


async def test_a_large_poll_is_checked_in_steps_with_its_cards_held_back_meanwhile(
    slack: FakeSlack, store: Store
) -> None:
    claims, _ = follow(store, slack)
    claims.mark(ClaimDraft(CLAIM, "tram gratuit", "", "C1"), user="U0ANN")
    texts = [f"le bus ligne {n}" for n in range(3 * CHECK_CHUNK)]
    texts[-1] = "le tram gratuit, encore"  # in the last step
    checking = asyncio.create_task(poll(store, claims, texts, NOW, max_cards=len(texts)))
    await asyncio.sleep(0)  # the first step is done; the loop is served before the next
    assert not checking.done()
    pending = "select count(*) from deliveries where kind = 'card' and state = 'pending'"
    held = sql(store).execute(f"{pending} and not_before is not null").fetchone()
    assert held == (len(texts),), "no card may leave before it is checked"
    outcome = await checking
    assert len(outcome.cards) == len(texts) - 1
    assert sql(store).execute("select count(*) from claim_mentions").fetchone() == (1,)
    assert sql(store).execute(f"{pending} and not_before is not null").fetchone() == (0,), "released"


def notices(store: Store) -> list[tuple[int]]:
    return sql(store).execute("select id from deliveries where kind = 'notice'").fetchall()


def test_acceleration_needs_enough_mentions_and_twice_the_hour_before() -> None:
    assert accelerates(3, 0) and accelerates(4, 2)
    assert not accelerates(2, 0) and not accelerates(5, 3)


def test_a_correction_is_a_link_a_text_or_both() -> None:
    assert split_correction("<https://caen.example/vrai|caen.example/vrai>") == (None, "https://caen.example/vrai")
    assert split_correction("C'est faux: https://caen.example/vrai") == ("C'est faux:", "https://caen.example/vrai")
    assert split_correction("Aucune place supprimée") == ("Aucune place supprimée", None)
    assert split_correction("  ") == (None, None)
