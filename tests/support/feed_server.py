"""A local web server that plays back feeds and API payloads, with the misbehaviours real servers have.

Every route answers conditional GETs (ETag from the body, Last-Modified from when it was added) unless told to
ignore them, and every request is logged so tests can check what the client sent.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import inspect
import math
import mimetypes
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from aiohttp import web
from multidict import CIMultiDict

from tests.support import LocalServer

Handler = Callable[[web.Request], web.StreamResponse | Awaitable[web.StreamResponse]]
CHUNK = 64 * 1024
ZEROS = bytes(1024 * 1024)
XML_PROLOGUE = b'<?xml version="1.0"?><rss version="2.0"><channel>'


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: CIMultiDict[str]
    at: float  # time.monotonic()


@dataclass(slots=True)
class Route:
    body: bytes = b""
    content_type: str = "application/xml"
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    conditional: bool = True
    last_modified: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    delay: float = 0.0
    hang: bool = False
    streamed: bool = False
    stream_bytes: int | None = None  # when streamed: how much filler to send (None: forever)
    prologue: bytes = XML_PROLOGUE  # when streamed: what comes before the filler
    trickle: float | None = None  # when streamed: send the filler one byte every this many seconds
    handler: Handler | None = None

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


class FeedServer(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Route] = {}
        self.log: list[RecordedRequest] = []
        self._logged = asyncio.Condition()

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    def url(self, path: str) -> str:
        return self.base_url + path

    def requests(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.log if r.path == path]

    async def wait_for_requests(self, count: int, within: float = 5.0) -> None:
        """Wait until `count` requests (to any path) have arrived; raise TimeoutError otherwise."""
        async with asyncio.timeout(within), self._logged:
            await self._logged.wait_for(lambda: len(self.log) >= count)

    # ---- routes ----------------------------------------------------------------------------------------------

    def add(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = "application/xml",
        headers: dict[str, str] | None = None,
        status: int = 200,
        conditional: bool = True,
    ) -> Route:
        """Serve `body` at `path`. Re-adding a path with a new body moves Last-Modified forward.

        `conditional=False` imitates servers that send validators but ignore If-None-Match/If-Modified-Since.
        """
        data = body.encode() if isinstance(body, str) else body
        route = Route(data, content_type, dict(headers or {}), status, conditional)
        if (old := self.routes.get(path)) is not None and old.body != data:
            route.last_modified = max(route.last_modified, old.last_modified + timedelta(seconds=1))
        elif old is not None:
            route.last_modified = old.last_modified
        self.routes[path] = route
        return route

    def add_file(
        self, path: str, fixture_path: str | Path, *, content_type: str | None = None, conditional: bool = True
    ) -> Route:
        """Serve a fixture file; the content type follows its extension (.json, .xml...), else XML."""
        guessed = mimetypes.guess_type(str(fixture_path))[0]
        kind = content_type or (guessed if guessed and guessed != "text/plain" else "application/xml")
        return self.add(path, Path(fixture_path).read_bytes(), content_type=kind, conditional=conditional)

    def add_handler(self, path: str, handler: Handler) -> None:
        """Answer `path` with `handler(request)` (sync or async); requests are still logged."""
        self.routes[path] = Route(handler=handler)

    def add_huge(
        self,
        path: str,
        size_bytes: int | None,
        *,
        content_type: str = "application/xml",
        prologue: bytes = XML_PROLOGUE,
    ) -> None:
        """Stream `prologue` (an RSS opening) then `size_bytes` of filler (None: forever), chunked, with no
        Content-Length. A JSON opening such as `b'{"hits": ['` makes it a huge API answer."""
        self.routes[path] = Route(content_type=content_type, streamed=True, stream_bytes=size_bytes, prologue=prologue)

    def add_trickle(self, path: str, seconds_per_byte: float, *, content_type: str = "application/xml") -> None:
        """A slow-loris source: answer 200 at once, then send an RSS opening and one byte every `seconds_per_byte`,
        forever (until the client leaves or the server stops), so no single read ever waits long."""
        self.routes[path] = Route(content_type=content_type, streamed=True, trickle=seconds_per_byte)

    def add_compressed(
        self, path: str, body: bytes | str, *, encoding: str = "gzip", content_type: str = "application/xml"
    ) -> Route:
        """Serve `body` compressed with `encoding` ("gzip", "deflate", "raw-deflate" (sent as deflate, as some
        servers do), or "gzip, gzip": applied in that order), with Content-Encoding saying so."""
        data = body.encode() if isinstance(body, str) else body
        for coding in encoding.split(","):
            data = _compress(data, coding.strip())
        header = encoding.replace("raw-deflate", "deflate")
        return self.add(path, data, content_type=content_type, headers={"Content-Encoding": header})

    def add_bomb(
        self, path: str, expanded_bytes: int, *, encoding: str = "gzip", content_type: str = "application/xml"
    ) -> None:
        """A compression bomb: `expanded_bytes` of zeros compressed on the fly (1 GiB is about 1 MiB of gzip on
        the wire), streamed until done or until the client hangs up. `encoding` is "gzip" or "deflate"."""

        async def bomb(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Encoding": encoding, "Content-Type": content_type})
            await response.prepare(request)
            wbits = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
            compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
            try:
                for _ in range(expanded_bytes // len(ZEROS)):
                    if piece := compressor.compress(ZEROS):
                        await response.write(piece)
                await response.write(compressor.flush())
            except ConnectionError:  # the client stopped reading, as it should
                return response
            await response.write_eof()
            return response

        self.add_handler(path, bomb)

    def add_slow_body(
        self, path: str, body: bytes | str, *, every: float, content_type: str = "application/xml"
    ) -> None:
        """A slow-loris source with a known length: `body` (with its Content-Length) one byte every `every` s."""
        data = body.encode() if isinstance(body, str) else body

        async def trickle(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(headers={"Content-Type": content_type})
            response.content_length = len(data)
            await response.prepare(request)
            for index in range(len(data)):
                try:
                    await response.write(data[index : index + 1])
                except ConnectionError:
                    return response
                await self.sleep_unless_stopping(every)
                if self.stopping.is_set():
                    return response
            await response.write_eof()
            return response

        self.add_handler(path, trickle)

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        self.routes[path] = Route(status=status, headers={"Location": to}, conditional=False)

    def set_status(self, path: str, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer `path` with `status` (and extra headers). A non-2xx answer has no body; set 200 to recover."""
        route = self.routes.setdefault(path, Route())
        route.status = status
        route.headers.update(headers or {})

    def set_delay(self, path: str, seconds: float) -> None:
        self.routes[path].delay = seconds

    def hang(self, path: str) -> None:
        """Never answer `path` (until the server stops)."""
        self.routes.setdefault(path, Route()).hang = True

    # ---- HTTP ------------------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.log.append(
            RecordedRequest(request.method, request.path, dict(request.query), request.headers.copy(), time.monotonic())
        )
        async with self._logged:
            self._logged.notify_all()
        route = self.routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.hang:
            await self.sleep_unless_stopping(None)
            raise web.HTTPServiceUnavailable
        if route.delay:
            await self.sleep_unless_stopping(route.delay)
        if route.handler is not None:
            answer = route.handler(request)
            return await answer if inspect.isawaitable(answer) else answer
        if route.streamed:
            return await self._stream(request, route)
        return self._answer(request, route)

    def _answer(self, request: web.Request, route: Route) -> web.Response:
        if not 200 <= route.status < 300:
            return web.Response(status=route.status, headers=route.headers, text=f"status {route.status}")
        validators = {"ETag": route.etag, "Last-Modified": format_datetime(route.last_modified, usegmt=True)}
        headers = validators | route.headers
        if route.conditional and _not_modified(request, route):
            return web.Response(status=304, headers=headers)
        return web.Response(status=route.status, body=route.body, headers=headers, content_type=route.content_type)

    async def _stream(self, request: web.Request, route: Route) -> web.StreamResponse:
        response = web.StreamResponse(status=route.status, headers=route.headers)
        response.content_type = route.content_type
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(route.prologue)
        size = 1 if route.trickle else CHUNK
        filler = b" " * size
        left = math.inf if route.stream_bytes is None else route.stream_bytes
        while left > 0 and not self.stopping.is_set():
            piece = filler[: int(min(size, left))]
            try:
                await response.write(piece)
            except ConnectionError:  # the client gave up, as it should
                return response
            left -= len(piece)
            if route.trickle:
                await self.sleep_unless_stopping(route.trickle)
        await response.write_eof()
        return response


def _not_modified(request: web.Request, route: Route) -> bool:
    """RFC 9110: If-None-Match decides when present; otherwise If-Modified-Since."""
    if (tags := request.headers.get("If-None-Match")) is not None:
        wanted = {tag.strip().removeprefix("W/") for tag in tags.split(",")}
        return "*" in wanted or route.etag in wanted
    if (since := request.headers.get("If-Modified-Since")) is not None:
        try:
            return route.last_modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _compress(data: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return gzip.compress(data)
    if coding == "deflate":
        return zlib.compress(data)
    if coding == "raw-deflate":
        compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return compressor.compress(data) + compressor.flush()
    raise ValueError(f"unknown coding {coding!r}")
