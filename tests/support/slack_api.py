"""A fake Slack Web API on 127.0.0.1 that records every call and keeps channel history in memory.

Point the bot at `slack.api_url` (SLACK_API_URL). Methods answer with the shapes Slack documents; messages the
bot posts (plus those a test seeds) feed conversations.history and conversations.replies. Tests script failures
with `fail_next`/`drop_next`, or turn on Slack's one-message-per-second-per-channel limit, or slow a method down
(`slow_down`) so that a client killed mid-call leaves Slack with or without the message; `arrivals` counts calls as
they come in. `POST /response/<id>` plays a `response_url`: mint one with `response_url()`, read what arrived in
`responses`.
File uploads follow Slack's v2 flow (files.getUploadURLExternal, POST the bytes to `/upload/<file id>`,
files.completeUploadExternal); completed files are in `files`.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import hashlib
import json
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import WSMsgType, web

from tests.support import LocalServer

Message = dict[str, Any]
# Form-encoded callers (and slack_sdk for GET methods) send these as JSON strings; decode them for tests.
JSON_FIELDS = frozenset({"attachments", "blocks", "metadata", "view", "user_auth_blocks", "files"})
DEFAULT_LIMIT = 100


class SlackError(Exception):
    """Raised by a method to answer HTTP 200 {"ok": false, "error": code}."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Call:
    """One request to the Web API. `status` 0 means the connection was dropped without an answer."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float  # time.monotonic()
    status: int
    response: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return bool(self.response and self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error") if self.response else None


@dataclass(frozen=True, slots=True)
class ResponseUrlPost:
    """What the bot sent to a `response_url` (`respond()` in Bolt)."""

    id: str
    body: dict[str, Any]
    at: float


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file shared through files.completeUploadExternal: its bytes as uploaded, and where it was shared."""

    id: str
    filename: str
    title: str | None
    alt_txt: str | None
    content: bytes
    channel: str | None
    thread_ts: str | None


@dataclass(frozen=True, slots=True)
class _Latency:
    low: float
    high: float
    rng: random.Random

    def split(self) -> tuple[float, float]:
        """How long before Slack acts on a call, and how long after before it answers."""
        total = self.rng.uniform(self.low, self.high)
        before = total * self.rng.random()
        return before, total - before


@dataclass(slots=True)
class _Fault:
    status: int
    error: str | None
    retry_after: int | None
    drop: bool
    processed: bool
    remaining: int


class FakeSlack(LocalServer):
    def __init__(
        self,
        *,
        team_id: str = "T0FAKE",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        app_id: str = "AFAKE",
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`clock` gives the wall time that new message timestamps start from (time-machine moves it)."""
        super().__init__()
        self.team_id, self.bot_user_id, self.bot_id, self.app_id = team_id, bot_user_id, bot_id, app_id
        self.clock = clock
        self.calls: list[Call] = []
        self.responses: list[ResponseUrlPost] = []
        self.messages: dict[str, list[Message]] = defaultdict(list)  # channel -> messages, oldest first
        self.channels: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.files: dict[str, UploadedFile] = {}
        self._uploads: dict[str, dict[str, Any]] = {}  # file id -> what getUploadURLExternal was told, and the bytes
        self._posted: list[tuple[str, str]] = []
        self._index: dict[tuple[str, str], Message] = {}
        self._last_ts: dict[str, int] = {}
        self._faults: dict[str, list[_Fault]] = defaultdict(list)
        self._post_interval: float | None = None
        self._last_post_at: dict[str, float] = {}
        self._latency: dict[str, _Latency] = {}
        self.arrivals: Counter[str] = Counter()  # method -> calls received so far, answered or not
        self._response_ids = 0
        self._changed = asyncio.Condition()
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._get_permalink,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
            "conversations.join": self._join,
            "conversations.info": self._info,
            "conversations.open": self._open,
            "reactions.add": self._add_reaction,
            "users.info": self._user_info,
            "views.open": self._view_open,
            "views.update": self._view_update,
            "views.publish": self._view_publish,
            "usergroups.users.list": self._usergroup_users,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "apps.connections.open": self._connections_open,
        }
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_acks: dict[str, dict[str, Any]] = {}  # envelope id -> the ack the app sent (payload included)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{id}", self._handle_response_url)
        app.router.add_post("/upload/{id}", self._handle_upload)
        app.router.add_get("/socket", self._handle_socket)
        return app

    # ---- Socket Mode -----------------------------------------------------------------------------------------

    async def socket_send(self, envelope_type: str, payload: dict[str, Any], envelope_id: str) -> None:
        """Push an envelope (slash_commands, events_api, interactive) to every connected app, as Slack does."""
        envelope = {"envelope_id": envelope_id, "type": envelope_type, "payload": payload,
                    "accepts_response_payload": envelope_type != "events_api"}
        for socket in self.sockets:
            await socket.send_json(envelope)

    async def wait_for_socket(self, within: float = 5.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: bool(self.sockets)), within)

    async def wait_for_socket_ack(self, envelope_id: str, within: float = 5.0) -> dict[str, Any]:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: envelope_id in self.socket_acks), within)
        return self.socket_acks[envelope_id]

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": self.app_id},
                                "debug_info": {"host": "fake", "approximate_connection_time": 3600}})
        self.sockets.append(socket)
        async with self._changed:
            self._changed.notify_all()
        try:
            async for frame in socket:
                if frame.type == WSMsgType.TEXT and "envelope_id" in (ack := json.loads(frame.data)):
                    self.socket_acks[ack["envelope_id"]] = ack
                    async with self._changed:
                        self._changed.notify_all()
        finally:
            self.sockets.remove(socket)
        return socket

    def _connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self.port}/socket"}

    # ---- what tests read -------------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def posted_messages(self, channel: str | None = None) -> list[Message]:
        """Messages posted through chat.postMessage, in posting order, as they are now (updated, not deleted).

        As in Slack, a parent gains `thread_ts` equal to its own `ts` once it has replies: tell a reply by
        `thread_ts != ts`, not by the key being there.
        """
        found = [self._find(ch, ts) for ch, ts in self._posted if channel in (None, ch)]
        return [dict(message) for message in found if message is not None]

    async def wait_for_calls(self, method: str, count: int = 1, within: float = 5.0) -> list[Call]:
        """Wait until `method` was called at least `count` times (any outcome); raise TimeoutError otherwise."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.calls_to(method)) >= count)
        return self.calls_to(method)

    async def wait_for_arrivals(self, method: str, count: int, within: float = 5.0) -> None:
        """Wait until `count` calls to `method` have arrived, answered or not; raise TimeoutError otherwise."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: self.arrivals[method] >= count)

    async def wait_for_response(self, count: int = 1, within: float = 5.0) -> list[ResponseUrlPost]:
        """Wait until `count` posts reached response_urls; raise TimeoutError otherwise."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.responses) >= count)
        return self.responses

    def response_url(self) -> str:
        self._response_ids += 1
        return f"{self.base_url}/response/{self._response_ids}"

    # ---- what tests set up -----------------------------------------------------------------------------------

    def seed_message(
        self, channel: str, text: str = "", *, ts: str | None = None, user: str = "U0HUMAN", **fields: Any
    ) -> Message:
        """Put a message in a channel as if someone had posted it; `thread_ts=` makes it a reply."""
        message = {"type": "message", "user": user, "text": text, **fields}
        return self._store(channel, message, ts)

    def add_channel(self, channel_id: str, name: str = "", **fields: Any) -> None:
        self.channels[channel_id] = self._channel_info(channel_id) | {"name": name or channel_id.lower(), **fields}

    def add_user(self, user_id: str, name: str = "", real_name: str = "", **fields: Any) -> None:
        self.users[user_id] = self._user(user_id, name, real_name) | fields

    def add_usergroup(self, usergroup_id: str, users: list[str]) -> None:
        self.usergroups[usergroup_id] = list(users)

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next `count` calls to `method` with an HTTP error status, or HTTP 200 ok:false `error`.

        A 429 carries Retry-After (default 1 s). Nothing the failing call asked for happens.
        """
        if status == 200 and error is None:
            raise ValueError("give an error code, a non-200 status, or both")
        if status == 429 and retry_after is None:
            retry_after = 1
        self._faults[method].append(_Fault(status, error, retry_after, False, False, count))

    def drop_next(self, method: str, *, count: int = 1, processed: bool = True) -> None:
        """Close the connection without answering the next `count` calls to `method`.

        With `processed` the call takes effect first (Slack got it, the answer was lost), the case that makes
        a blind retry post twice; without, it is lost on the way in.
        """
        self._faults[method].append(_Fault(0, None, None, True, processed, count))

    def slow_down(self, method: str, low: float, high: float, *, rng: random.Random | None = None) -> None:
        """Make each call to `method` take `low` to `high` seconds (`high` 0: no delay), split at a random point.

        Slack acts on the call after the first part, unless the caller has hung up by then (the call is then lost
        on the way in), and answers after the second: a caller killed during the second part posted a message it
        never heard about, the case recovery must find through the message metadata.
        """
        if high <= 0:
            self._latency.pop(method, None)
        else:
            self._latency[method] = _Latency(low, high, rng or random.Random())

    def rate_limit_per_channel(self, seconds: float = 1.0) -> None:
        """Answer 429 to chat.postMessage when a channel got an accepted message less than `seconds` ago."""
        self._post_interval = seconds

    # ---- HTTP -----------------------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await _read_args(request)
        token = _bearer(request.headers.get("Authorization", "")) or args.pop("token", None)
        await self._arrived(method)
        before, after = self._latency[method].split() if method in self._latency else (0.0, 0.0)
        if before:
            await self.sleep_unless_stopping(before)
            if request.transport is None or request.transport.is_closing():
                await self._record(Call(method, args, token, time.monotonic(), 0, None))
                return web.Response()
        status, headers, body = 200, {}, None
        fault = self._take_fault(method)
        if fault is not None and fault.drop:
            if fault.processed:
                self._dispatch(method, args)
            await self._record(Call(method, args, token, time.monotonic(), 0, None))
            if request.transport is not None:
                request.transport.abort()
            return web.Response()
        if fault is not None:
            status, body = fault.status, {"ok": False, "error": fault.error or _error_for(fault.status)}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
        elif token is None:
            body = {"ok": False, "error": "not_authed"}
        elif (wait := self._rate_limited(method, args)) is not None:
            status, body, headers["Retry-After"] = 429, {"ok": False, "error": "ratelimited"}, str(wait)
        else:
            body = self._dispatch(method, args)
        await self._record(Call(method, args, token, time.monotonic(), status, body))
        if after:
            await self.sleep_unless_stopping(after)
        return web.json_response(body, status=status, headers=headers)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = json.loads((await request.post()).get("payload", "{}"))
        self.responses.append(ResponseUrlPost(request.match_info["id"], body, time.monotonic()))
        async with self._changed:
            self._changed.notify_all()
        return web.Response(text="ok")

    async def _handle_upload(self, request: web.Request) -> web.Response:
        upload = self._uploads.get(request.match_info["id"])
        if upload is None:
            return web.Response(status=404, text="unknown upload")
        # Slack takes the raw bytes or a multipart form with one file field.
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = next(iter(form.values()))
            upload["content"] = part.file.read() if isinstance(part, web.FileField) else str(part).encode()
        else:
            upload["content"] = await request.read()
        return web.Response(text=f"OK - {len(upload['content'])}")

    async def _arrived(self, method: str) -> None:
        self.arrivals[method] += 1
        async with self._changed:
            self._changed.notify_all()

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        async with self._changed:
            self._changed.notify_all()

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults[method]
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return fault

    def _rate_limited(self, method: str, args: dict[str, Any]) -> int | None:
        """Seconds to wait if this post breaks the per-channel limit, else None (and the post counts)."""
        if method != "chat.postMessage" or self._post_interval is None:
            return None
        now, channel = time.monotonic(), str(args.get("channel"))
        last = self._last_post_at.get(channel)
        if last is not None and now - last < self._post_interval:
            return max(1, math.ceil(self._post_interval - (now - last)))
        self._last_post_at[channel] = now
        return None

    def _dispatch(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = self._methods.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        try:
            return {"ok": True, **handler(args)}
        except SlackError as exc:
            return {"ok": False, "error": exc.code}

    # ---- message store ----------------------------------------------------------------------------------------

    def _store(self, channel: str, message: Message, ts: str | None = None) -> Message:
        micros = _micros(ts) if ts else max(int(self.clock() * 1_000_000), self._last_ts.get(channel, 0) + 1)
        self._last_ts[channel] = max(micros, self._last_ts.get(channel, 0))
        message["ts"] = _format_ts(micros)
        bisect.insort(self.messages[channel], message, key=lambda m: _micros(m["ts"]))
        self._index[channel, message["ts"]] = message
        parent_ts = message.get("thread_ts")
        if parent_ts and (parent := self._find(channel, parent_ts)) is not None:
            parent["thread_ts"] = parent_ts  # Slack marks a parent once it has replies
        return message

    def _find(self, channel: str, ts: str) -> Message | None:
        return self._index.get((channel, ts))

    def _message(self, args: dict[str, Any], ts_arg: str = "ts") -> tuple[str, Message]:
        channel = _require(args, "channel")
        message = self._find(channel, _require(args, ts_arg))
        if message is None:
            raise SlackError("message_not_found")
        return channel, message

    def _views(self, channel: str, messages: list[Message], args: dict[str, Any]) -> list[Message]:
        """Messages as the read methods show them: reply counts on parents, metadata only when asked."""
        with_metadata = _flag(args.get("include_all_metadata"))
        replies: dict[str, list[Message]] = defaultdict(list)
        for message in self.messages.get(channel, []):
            if message.get("thread_ts", message["ts"]) != message["ts"]:
                replies[message["thread_ts"]].append(message)
        shown = []
        for message in messages:
            view = {k: v for k, v in message.items() if with_metadata or k != "metadata"}
            if thread := replies.get(message["ts"]):
                view |= {
                    "reply_count": len(thread),
                    "reply_users": sorted({str(r.get("user")) for r in thread}),
                    "latest_reply": thread[-1]["ts"],
                }
            shown.append(view)
        return shown

    def _bot_message(self, args: dict[str, Any]) -> Message:
        fields = {k: args[k] for k in ("text", "blocks", "attachments", "metadata", "thread_ts") if k in args}
        return {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "app_id": self.app_id,
                "team": self.team_id, "text": "", **fields}

    # ---- methods ----------------------------------------------------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://fake.slack.com/", "team": "Fake Team", "user": "veilleur", "team_id": self.team_id,
                "user_id": self.bot_user_id, "bot_id": self.bot_id, "is_enterprise_install": False}

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel", "channel_not_found")
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        message = self._store(channel, self._bot_message(args))
        self._posted.append((channel, message["ts"]))
        return {"channel": channel, "ts": message["ts"], "message": dict(message)}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, message = self._message(args)
        message.update({k: v for k, v in self._bot_message(args).items() if k in args})
        message["edited"] = {"user": self.bot_user_id, "ts": _format_ts(int(self.clock() * 1_000_000))}
        return {"channel": channel, "ts": message["ts"], "text": message["text"], "message": dict(message)}

    def _delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, message = self._message(args)
        self.messages[channel].remove(message)
        del self._index[channel, message["ts"]]
        return {"channel": channel, "ts": message["ts"]}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "channel", "channel_not_found")
        _require(args, "user", "user_not_found")
        return {"message_ts": _format_ts(int(self.clock() * 1_000_000))}

    def _get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, message = self._message(args, "message_ts")
        link = f"https://fake.slack.com/archives/{channel}/p{message['ts'].replace('.', '')}"
        if message.get("thread_ts", message["ts"]) != message["ts"]:
            link += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel", "channel_not_found")
        top = [m for m in self.messages.get(channel, []) if m.get("thread_ts", m["ts"]) == m["ts"]]
        page, cursor = _page(_window(top[::-1], args), args, newest_first=True)
        return {"messages": self._views(channel, page, args), "has_more": bool(cursor), "pin_count": 0,
                "response_metadata": {"next_cursor": cursor}}

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require(args, "channel", "channel_not_found")
        root = self._find(channel, _require(args, "ts"))
        if root is None:
            raise SlackError("thread_not_found")
        thread = [root]
        if root.get("thread_ts") == root["ts"]:
            thread += [m for m in self.messages[channel] if m.get("thread_ts") == root["ts"] and m is not root]
        page, cursor = _page(_window(thread, args), args, newest_first=False)
        return {"messages": self._views(channel, page, args), "has_more": bool(cursor),
                "response_metadata": {"next_cursor": cursor}}

    def _channel_info(self, channel_id: str) -> dict[str, Any]:
        return self.channels.get(channel_id) or {
            "id": channel_id, "name": channel_id.lower(), "is_channel": channel_id.startswith("C"),
            "is_im": channel_id.startswith("D"), "is_private": False, "is_archived": False, "is_member": False,
        }

    def _join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = _require(args, "channel", "channel_not_found")
        self.channels[channel_id] = self._channel_info(channel_id) | {"is_member": True}
        return {"channel": self.channels[channel_id]}

    def _info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._channel_info(_require(args, "channel", "channel_not_found"))}

    def _open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = _require(args, "users", "users_list_not_supplied")
        channel_id = "D" + hashlib.sha1(users.encode()).hexdigest()[:10].upper()
        self.channels[channel_id] = self._channel_info(channel_id) | {"is_member": True}
        return {"channel": {"id": channel_id}}

    def _add_reaction(self, args: dict[str, Any]) -> dict[str, Any]:
        _, message = self._message(args, "timestamp")
        name = _require(args, "name", "invalid_name")
        reactions = message.setdefault("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None:
            reactions.append({"name": name, "users": [self.bot_user_id], "count": 1})
        elif self.bot_user_id in reaction["users"]:
            raise SlackError("already_reacted")
        else:
            reaction["users"].append(self.bot_user_id)
            reaction["count"] += 1
        return {}

    def _user(self, user_id: str, name: str = "", real_name: str = "") -> dict[str, Any]:
        name, real_name = name or user_id.lower(), real_name or f"User {user_id}"
        return {"id": user_id, "team_id": self.team_id, "name": name, "real_name": real_name, "deleted": False,
                "is_bot": False, "tz": "Europe/Paris", "profile": {"display_name": name, "real_name": real_name}}

    def _user_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = _require(args, "user", "user_not_found")
        return {"user": self.users.get(user_id) or self._user(user_id)}

    def _save_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        revision = int(self.views.get(view_id, {}).get("hash", "0.").split(".")[0]) + 1
        saved = {"type": "modal", **view, "id": view_id, "team_id": self.team_id, "app_id": self.app_id,
                 "bot_id": self.bot_id, "state": {"values": {}}, "hash": f"{revision}.fake", "root_view_id": view_id}
        self.views[view_id] = saved
        return {"view": saved}

    def _view_open(self, args: dict[str, Any]) -> dict[str, Any]:
        _require(args, "trigger_id", "invalid_trigger_id")
        return self._save_view(f"V{len(self.views) + 1:08d}", _require(args, "view", "invalid_arguments"))

    def _view_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id") or next(
            (i for i, v in self.views.items() if v.get("external_id") == args.get("external_id")), None
        )
        if view_id not in self.views:
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != self.views[view_id]["hash"]:
            raise SlackError("hash_conflict")
        return self._save_view(view_id, _require(args, "view", "invalid_arguments"))

    def _view_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = _require(args, "user_id", "user_not_found")
        return self._save_view(f"VHOME{user_id}", {"type": "home", **_require(args, "view", "invalid_arguments")})

    def _get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = _require(args, "filename", "invalid_arguments")
        try:
            length = int(_require(args, "length", "invalid_arguments"))
        except ValueError:
            raise SlackError("invalid_arguments") from None
        file_id = f"F{len(self._uploads) + 1:08d}"
        self._uploads[file_id] = {"filename": filename, "length": length, "alt_txt": args.get("alt_txt")}
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        entries = _require(args, "files", "invalid_arguments")
        if not isinstance(entries, list):
            raise SlackError("invalid_arguments")
        channel, thread_ts = args.get("channel_id"), args.get("thread_ts")
        if thread_ts and (not channel or self._find(channel, thread_ts) is None):
            raise SlackError("invalid_thread_ts")
        done: list[UploadedFile] = []
        for entry in entries:
            upload = self._uploads.get(entry.get("id", ""))
            if upload is None or "content" not in upload or len(upload["content"]) != upload["length"]:
                raise SlackError("file_upload_not_completed")
            done.append(UploadedFile(entry["id"], upload["filename"], entry.get("title"), upload["alt_txt"],
                                     upload["content"], channel, thread_ts))
        shown = []
        for uploaded in done:
            self.files[uploaded.id] = uploaded
            shown.append({"id": uploaded.id, "name": uploaded.filename, "title": uploaded.title or uploaded.filename})
        if channel:
            fields = {"thread_ts": thread_ts} if thread_ts else {}
            self._store(channel, {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "text": "",
                                  "files": shown, **fields})
        return {"files": shown}

    def _usergroup_users(self, args: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(_require(args, "usergroup", "no_such_subteam"))
        if group is None:
            raise SlackError("no_such_subteam")
        return {"users": list(group)}


# ---- request parsing and paging -------------------------------------------------------------------------------


async def _read_args(request: web.Request) -> dict[str, Any]:
    """Query string, form fields and JSON body merged, as Slack reads them."""
    args: dict[str, Any] = {k: _decode_field(k, v) for k, v in request.query.items()}
    if request.content_type == "application/json":
        raw = await request.read()
        args |= json.loads(raw) if raw else {}
    else:
        args |= {k: _decode_field(k, v) for k, v in (await request.post()).items() if isinstance(v, str)}
    return args


def _decode_field(key: str, value: str) -> Any:
    if key in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _bearer(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _require(args: dict[str, Any], key: str, error: str = "invalid_arguments") -> Any:
    if not args.get(key):
        raise SlackError(error)
    return args[key]


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _error_for(status: int) -> str:
    return {429: "ratelimited", 503: "service_unavailable"}.get(status, "internal_error")


def _micros(ts: str) -> int:
    try:
        return int(Decimal(str(ts)) * 1_000_000)
    except InvalidOperation:
        raise SlackError("invalid_ts_oldest") from None


def _format_ts(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _window(messages: list[Message], args: dict[str, Any]) -> list[Message]:
    """Keep messages between `oldest` and `latest`, bounds excluded unless `inclusive`."""
    oldest = _micros(args["oldest"]) if args.get("oldest") else None
    latest = _micros(args["latest"]) if args.get("latest") else None
    inclusive = _flag(args.get("inclusive"))

    def inside(message: Message) -> bool:
        ts = _micros(message["ts"])
        after = oldest is None or ts > oldest or (inclusive and ts == oldest)
        before = latest is None or ts < latest or (inclusive and ts == latest)
        return after and before

    return [m for m in messages if inside(m)]


def _page(messages: list[Message], args: dict[str, Any], *, newest_first: bool) -> tuple[list[Message], str]:
    """One page from `cursor`, and the cursor of the next page ("" at the end). Cursors carry a ts, like Slack's."""
    if cursor := args.get("cursor"):
        try:
            start = _micros(base64.b64decode(cursor).decode().removeprefix("next_ts:"))
        except (ValueError, SlackError):
            raise SlackError("invalid_cursor") from None
        messages = [m for m in messages if (_micros(m["ts"]) <= start if newest_first else _micros(m["ts"]) >= start)]
    limit = int(args.get("limit") or DEFAULT_LIMIT)
    page, rest = messages[:limit], messages[limit:]
    next_cursor = base64.b64encode(f"next_ts:{rest[0]['ts']}".encode()).decode() if rest else ""
    return page, next_cursor
