"""Signed requests as Slack sends them to a Bolt app in HTTP mode (`POST /slack/events`).

Payload shapes follow Slack's docs and bolt-python's own scenario tests. Slash commands and interactions are
form-encoded (interactions as one `payload` field of JSON); events are JSON. Each request is signed the v0 way:
HMAC-SHA256 of `v0:{timestamp}:{body}` with the app's signing secret.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.support.slack_api import FakeSlack

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    body: str
    headers: dict[str, str]


def sign(body: str, signing_secret: str, content_type: str, timestamp: int | str | None = None) -> SignedRequest:
    """Sign `body`; pass an old `timestamp` to build a replayed request that Bolt must refuse, or any string
    (not a number, padded, 5,000 digits) to sign a malformed one the way a forger holding the secret would."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(signing_secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}
    return SignedRequest(body, headers)


async def send(url: str, request: SignedRequest, client: httpx.AsyncClient | None = None) -> httpx.Response:
    """POST a signed request, as Slack would, to the bot's `/slack/events` URL."""
    if client is not None:
        return await client.post(url, content=request.body, headers=request.headers)
    async with httpx.AsyncClient() as own_client:
        return await own_client.post(url, content=request.body, headers=request.headers)


class SlackRequests:
    """Builds signed requests for one workspace. With a FakeSlack, `response_url`s point at its receiver."""

    def __init__(
        self,
        signing_secret: str,
        slack: FakeSlack | None = None,
        *,
        user_id: str = "U0HUMAN",
        channel_id: str = "C0CHANNEL",
    ) -> None:
        self.signing_secret = signing_secret
        self.slack = slack
        self.team_id = slack.team_id if slack else "T0FAKE"
        self.api_app_id = slack.app_id if slack else "AFAKE"
        self.bot_user_id = slack.bot_user_id if slack else "UBOT"
        self.user_id, self.channel_id = user_id, channel_id
        self._ids = itertools.count(1)

    def sign(self, body: str, content_type: str, timestamp: int | str | None = None) -> SignedRequest:
        return sign(body, self.signing_secret, content_type, timestamp)

    def slash_command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str | None = None,
        channel_id: str | None = None,
        response_url: str | None = None,
        **fields: str,
    ) -> SignedRequest:
        channel = channel_id or self.channel_id
        user = user_id or self.user_id
        form = {
            "token": "deprecated-verification-token", "team_id": self.team_id, "team_domain": "fake",
            "channel_id": channel, "channel_name": channel.lower(), "user_id": user, "user_name": user.lower(),
            "command": command, "text": text, "api_app_id": self.api_app_id, "is_enterprise_install": "false",
            "response_url": response_url or self._response_url(), "trigger_id": self._trigger_id(), **fields,
        }
        return self.sign(urlencode(form), FORM)

    def event_callback(self, event: dict[str, Any], *, event_id: str | None = None) -> SignedRequest:
        """Wrap an inner event (reaction_added, app_mention...) in the Events API envelope."""
        now = int(time.time())
        body = {
            "token": "deprecated-verification-token", "team_id": self.team_id, "api_app_id": self.api_app_id,
            "type": "event_callback", "event_id": event_id or f"Ev{next(self._ids):08d}", "event_time": now,
            "event": {"event_ts": f"{now}.000100", **event}, "is_ext_shared_channel": False,
            "authorizations": [{"enterprise_id": None, "team_id": self.team_id, "user_id": self.bot_user_id,
                                "is_bot": True, "is_enterprise_install": False}],
        }
        return self.sign(json.dumps(body), JSON)

    def reaction_added(
        self, reaction: str, channel: str, ts: str, *, user: str | None = None, item_user: str | None = None
    ) -> SignedRequest:
        """`item_user` defaults to the bot: reactions on its own cards are the ones Veilleur acts on."""
        event = {"type": "reaction_added", "user": user or self.user_id, "reaction": reaction,
                 "item_user": item_user or self.bot_user_id, "item": {"type": "message", "channel": channel, "ts": ts}}
        return self.event_callback(event)

    def block_actions(
        self,
        actions: list[dict[str, Any]],
        *,
        message: dict[str, Any] | None = None,
        channel: str | None = None,
        user: str | None = None,
        container: dict[str, Any] | None = None,
        response_url: str | None = None,
        view: dict[str, Any] | None = None,
    ) -> SignedRequest:
        """A click on buttons of `message`; each action gets `type: button`, `block_id` and `action_ts` if absent.

        With `view` (id, private_metadata and state.values at least), the click happened in that modal.
        """
        channel_id = channel or self.channel_id
        if container is None and message is not None:
            container = {
                "type": "message", "message_ts": message["ts"], "channel_id": channel_id, "is_ephemeral": False,
            }
        if container is None and view is not None:
            container = {"type": "view", "view_id": view["id"]}
        now = f"{time.time():.6f}"
        payload = {
            **self._interaction("block_actions", user), "container": container or {},
            "channel": {"id": channel_id, "name": channel_id.lower()}, "message": message,
            "state": {"values": {}}, "response_url": response_url or self._response_url(),
            "actions": [{"type": "button", "block_id": "b", "action_ts": now, **action} for action in actions],
        }
        if view is not None:
            payload["view"] = {"type": "modal", "hash": "1.fake", "team_id": self.team_id, **view}
        return self._payload(payload)

    def message_shortcut(
        self, callback_id: str, message: dict[str, Any], *, channel: str | None = None, user: str | None = None
    ) -> SignedRequest:
        """"More actions" on `message`; a reply carries `thread_ts`, an unthreaded message does not."""
        channel_id = channel or self.channel_id
        payload = {
            **self._interaction("message_action", user), "callback_id": callback_id,
            "action_ts": f"{time.time():.6f}", "channel": {"id": channel_id, "name": channel_id.lower()},
            "message_ts": message["ts"], "message": message, "response_url": self._response_url(),
        }
        return self._payload(payload)

    def view_submission(
        self,
        callback_id: str,
        values: dict[str, Any],
        private_metadata: str = "",
        *,
        user: str | None = None,
        view_id: str = "V00000001",
    ) -> SignedRequest:
        """`values` is the modal state as Slack sends it: {block_id: {action_id: {"type": ..., "value": ...}}}."""
        view = {
            "id": view_id, "team_id": self.team_id, "app_id": self.api_app_id, "type": "modal",
            "callback_id": callback_id, "private_metadata": private_metadata, "blocks": [],
            "title": {"type": "plain_text", "text": "Veilleur"}, "state": {"values": values}, "hash": "1.fake",
        }
        return self._payload({**self._interaction("view_submission", user), "view": view, "response_urls": []})

    def _interaction(self, kind: str, user: str | None) -> dict[str, Any]:
        user_id = user or self.user_id
        return {
            "type": kind, "token": "deprecated-verification-token", "api_app_id": self.api_app_id,
            "team": {"id": self.team_id, "domain": "fake"}, "enterprise": None, "is_enterprise_install": False,
            "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": self.team_id},
            "trigger_id": self._trigger_id(),
        }

    def _payload(self, payload: dict[str, Any]) -> SignedRequest:
        return self.sign(urlencode({"payload": json.dumps(payload)}), FORM)

    def _response_url(self) -> str:
        if self.slack is not None:
            return self.slack.response_url()
        return "https://hooks.slack.com/actions/T0FAKE/1/unused"

    def _trigger_id(self) -> str:
        return f"{next(self._ids)}.1.fake-trigger"
