"""The fakes work with the real clients: slack_sdk, httpx, Bolt."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.support.feed_server import FeedServer
from tests.support.slack_api import FakeSlack
from tests.support.slack_requests import SlackRequests, send

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "hello", "verbatim": True}}]
METADATA = {"event_type": "veilleur_delivery", "event_payload": {"delivery_id": 7}}


def client_for(slack: FakeSlack, **options: Any) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=slack.api_url, **options)


async def test_post_is_recorded_and_metadata_shows_only_when_asked(slack: FakeSlack) -> None:
    client = client_for(slack)
    posted = await client.chat_postMessage(channel="C1", text="hi", blocks=BLOCKS, metadata=METADATA)

    call = slack.calls_to("chat.postMessage")[0]
    assert (call.token, call.args["blocks"], call.args["metadata"]) == ("xoxb-test", BLOCKS, METADATA)
    assert slack.posted_messages("C1")[0]["ts"] == posted["ts"]
    plain = await client.conversations_history(channel="C1")
    full = await client.conversations_history(channel="C1", include_all_metadata=True)
    assert "metadata" not in plain["messages"][0]
    assert full["messages"][0]["metadata"] == METADATA


async def test_form_encoded_json_fields_are_decoded(slack: FakeSlack) -> None:
    async with httpx.AsyncClient() as http:
        form = {"token": "xoxb-form", "channel": "C1", "text": "[not json]", "blocks": '[{"type": "divider"}]'}
        await http.post(slack.api_url + "chat.postMessage", data=form)
    call = slack.calls_to("chat.postMessage")[0]
    assert (call.token, call.args["text"], call.args["blocks"]) == ("xoxb-form", "[not json]", [{"type": "divider"}])


async def test_injected_429_surfaces_with_retry_after_then_clears(slack: FakeSlack) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=2, count=2)
    client = client_for(slack)
    for _ in range(2):
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postMessage(channel="C1", text="hi")
        assert caught.value.response.status_code == 429
        assert caught.value.response.headers["Retry-After"] == "2"
    assert (await client.chat_postMessage(channel="C1", text="hi"))["ok"]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 429, 200]
    assert len(slack.posted_messages()) == 1


async def test_error_injection_and_unknown_method(slack: FakeSlack) -> None:
    slack.fail_next("conversations.join", error="channel_not_found")
    client = client_for(slack)
    with pytest.raises(SlackApiError) as caught:
        await client.conversations_join(channel="C404")
    assert caught.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as caught:
        await client.api_call("no.such")
    assert caught.value.response["error"] == "unknown_method"
    assert slack.calls_to("no.such")


async def test_per_channel_limiter_answers_429(slack: FakeSlack) -> None:
    slack.rate_limit_per_channel(seconds=1.0)
    client = client_for(slack)
    await client.chat_postMessage(channel="C1", text="one")
    await client.chat_postMessage(channel="C2", text="other channel")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C1", text="too soon")
    assert (caught.value.response.status_code, caught.value.response.headers["Retry-After"]) == (429, "1")


async def test_dropped_answer_after_processing_leaves_the_message(slack: FakeSlack) -> None:
    slack.drop_next("chat.postMessage")
    with pytest.raises(Exception, match="disconnected"):
        await client_for(slack, retry_handlers=[]).chat_postMessage(channel="C1", text="lost answer")
    assert slack.calls_to("chat.postMessage")[0].status == 0
    assert [m["text"] for m in slack.posted_messages("C1")] == ["lost answer"]


async def test_history_pages_newest_first_and_replies_follow_the_thread(slack: FakeSlack) -> None:
    client = client_for(slack)
    sent = [(await client.chat_postMessage(channel="C1", text=str(i)))["ts"] for i in range(5)]
    await client.chat_postMessage(channel="C1", text="reply", thread_ts=sent[0])

    pages, cursor = [], None
    while True:
        page = await client.conversations_history(channel="C1", limit=2, cursor=cursor)
        pages.append([m["ts"] for m in page["messages"]])
        if not (cursor := page["response_metadata"]["next_cursor"]):
            break
    assert pages == [sent[:2:-1], sent[2:0:-1], sent[:1]]
    thread = await client.conversations_replies(channel="C1", ts=sent[0])
    assert [m["text"] for m in thread["messages"]] == ["0", "reply"]
    assert thread["messages"][0]["reply_count"] == 1


async def test_history_window_includes_seeded_messages(slack: FakeSlack) -> None:
    for ts in ("100.000001", "200.000001", "300.000001"):
        slack.seed_message("C1", "seeded", ts=ts)
    page = await client_for(slack).conversations_history(channel="C1", oldest="100.000001", latest="300")
    assert [m["ts"] for m in page["messages"]] == ["200.000001"]


async def test_feed_server_answers_304_to_matching_validators(feeds: FeedServer) -> None:
    feeds.add("/feed.xml", "<rss/>")
    feeds.add("/careless.xml", "<rss/>", conditional=False)
    async with httpx.AsyncClient(headers={"User-Agent": "Veilleur/test"}) as http:
        first = await http.get(feeds.url("/feed.xml"))
        by_etag = await http.get(feeds.url("/feed.xml"), headers={"If-None-Match": first.headers["ETag"]})
        by_date = await http.get(feeds.url("/feed.xml"), headers={"If-Modified-Since": first.headers["Last-Modified"]})
        careless = await http.get(feeds.url("/careless.xml"), headers={"If-None-Match": first.headers["ETag"]})
    assert (first.status_code, first.text) == (200, "<rss/>")
    assert (by_etag.status_code, by_date.status_code, careless.status_code) == (304, 304, 200)
    logged = feeds.requests("/feed.xml")
    assert [r.headers.get("If-None-Match") for r in logged] == [None, first.headers["ETag"], None]
    assert logged[0].headers["User-Agent"] == "Veilleur/test"


async def test_feed_server_misbehaviours(feeds: FeedServer) -> None:
    feeds.add("/new", "moved here")
    feeds.redirect("/old", "/new", status=301)
    feeds.set_status("/limited", 429, headers={"Retry-After": "60"})
    feeds.add_huge("/huge", None)
    feeds.add_handler("/echo", lambda request: web.Response(text=request.query["q"]))
    async with httpx.AsyncClient(follow_redirects=True) as http:
        assert (await http.get(feeds.url("/old"))).text == "moved here"
        assert (await http.get(feeds.url("/limited"))).headers["Retry-After"] == "60"
        assert (await http.get(feeds.url("/echo"), params={"q": "dynamic"})).text == "dynamic"
        async with http.stream("GET", feeds.url("/huge")) as streamed:
            received = 0
            async for chunk in streamed.aiter_bytes():
                received += len(chunk)
                if received > 1_000_000:
                    break
    assert received > 1_000_000


async def test_hung_route_does_not_hold_shutdown() -> None:
    server = FeedServer()
    await server.start()
    server.hang("/never")
    async with httpx.AsyncClient() as http:
        request = asyncio.create_task(http.get(server.url("/never")))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await server.stop()
        assert time.monotonic() - started < 2
        with pytest.raises(httpx.HTTPError):
            (await request).raise_for_status()


def test_signature_is_what_slack_sdk_verifies(
    slack: FakeSlack, slack_requests: SlackRequests, signing_secret: str
) -> None:
    request = slack_requests.slash_command("/watch", "list")
    verifier = SignatureVerifier(signing_secret)
    assert verifier.is_valid_request(request.body, request.headers)
    assert not SignatureVerifier("other-secret").is_valid_request(request.body, request.headers)
    assert parse_qs(request.body)["response_url"][0].startswith(f"{slack.base_url}/response/")


async def test_bolt_app_accepts_signed_requests_and_respond_reaches_fake(
    slack: FakeSlack, slack_requests: SlackRequests, signing_secret: str, free_port: int
) -> None:
    app = AsyncApp(client=client_for(slack), signing_secret=signing_secret, process_before_response=True)

    @app.command("/watch")
    async def watch(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        await ack()
        await respond(f"watching {command['text']}")

    @app.action("mention_dismiss")
    async def dismiss(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.chat_update(channel=body["channel"]["id"], ts=body["message"]["ts"], text="dismissed")

    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", free_port).start()
    try:
        url = f"http://127.0.0.1:{free_port}/slack/events"
        card = slack.seed_message("C1", "card", user=slack.bot_user_id)
        command = await send(url, slack_requests.slash_command("/watch", "rust"))
        dismiss_click = slack_requests.block_actions([{"action_id": "mention_dismiss"}], message=card, channel="C1")
        click = await send(url, dismiss_click)
        forged = await send(url, SlackRequests("wrong-secret").slash_command("/watch", "x"))
    finally:
        await runner.cleanup()
    assert (command.status_code, click.status_code, forged.status_code) == (200, 200, 401)
    assert [r.body["text"] for r in slack.responses] == ["watching rust"]
    assert slack.messages["C1"][0]["text"] == "dismissed"


async def test_a_slowed_post_is_lost_if_the_caller_leaves_early_and_kept_if_it_leaves_late(slack: FakeSlack) -> None:
    class Fixed(random.Random):
        """uniform() gives the whole delay, random() where it splits: Slack acts after 0.3 of it."""

        def uniform(self, a: float, b: float) -> float:
            return 1.0

        def random(self) -> float:
            return 0.3

    slack.slow_down("chat.postMessage", 1.0, 1.0, rng=Fixed())
    async with httpx.AsyncClient() as http:
        for text, leave_after in (("early", 0.1), ("late", 0.6)):
            with pytest.raises(httpx.TimeoutException):
                form = {"token": "xoxb-1", "channel": "C1", "text": text}
                await http.post(slack.api_url + "chat.postMessage", data=form, timeout=leave_after)
        await asyncio.sleep(0.4)  # the early call would have been acted on by now
    assert slack.arrivals["chat.postMessage"] == 2
    assert [m["text"] for m in slack.posted_messages("C1")] == ["late"]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [0, 200]
    slack.slow_down("chat.postMessage", 0, 0)
    started = time.monotonic()
    assert (await client_for(slack).chat_postMessage(channel="C1", text="fast"))["ok"]
    assert time.monotonic() - started < 0.5


async def test_arrivals_count_calls_before_they_are_answered(slack: FakeSlack) -> None:
    slack.slow_down("chat.postMessage", 0.5, 0.5)
    posting = asyncio.create_task(client_for(slack).chat_postMessage(channel="C1", text="slow"))
    await slack.wait_for_arrivals("chat.postMessage", 1, within=2)
    assert slack.calls_to("chat.postMessage") == []
    await posting
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_trickling_and_json_huge_routes(feeds: FeedServer) -> None:
    feeds.add_trickle("/slow", 0.05)
    feeds.add_huge("/api", 100_000, prologue=b'{"hits": [', content_type="application/json")
    async with httpx.AsyncClient() as http:
        async with http.stream("GET", feeds.url("/slow")) as slow:
            assert slow.status_code == 200
            pieces = []
            async for piece in slow.aiter_raw():
                pieces.append(piece)
                if len(pieces) == 4:
                    break
        big = await http.get(feeds.url("/api"))
    assert pieces[0].startswith(b"<?xml") and all(piece == b" " for piece in pieces[1:])
    assert big.headers["content-type"].startswith("application/json")
    assert big.content.startswith(b'{"hits": [') and len(big.content) == len(b'{"hits": [') + 100_000
    await feeds.wait_for_requests(2, within=1)
