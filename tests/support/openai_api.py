"""A fake OpenAI-compatible chat API on 127.0.0.1: `POST /v1/chat/completions`, answered as OpenAI does.

Point the bot at `server.api_url` (OPENAI_BASE_URL); the real `openai` client talks to it. Every request is
recorded in `requests`. `reply` decides each answer's text from the request (default: "ok"); `delay` makes it
slow; `fail_next` answers HTTP errors. Usage is reported as characters / 4, so token accounting can be checked.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.support import LocalServer
from veilleur.assist.llm import LLM

# "12. Ann (@ann) [reach 1200; journalist]: text", one message per line in a summary request's data.
NUMBERED_LINE = re.compile(r"^(\d+)\. (.*?)(?: \[[^\]]*\])?: (.*)$")

LLMFactory = Callable[..., LLM]  # the `make_llm` fixture: `make_llm(openai_api_or_None, **env)`


@dataclass(frozen=True, slots=True)
class ChatRequest:
    body: dict[str, Any]
    at: float  # time.monotonic()

    @property
    def system(self) -> str:
        return next(m["content"] for m in self.body["messages"] if m["role"] == "system")

    @property
    def user(self) -> str:
        return next(m["content"] for m in self.body["messages"] if m["role"] == "user")

    def numbered_messages(self) -> list[tuple[int, str, str]]:
        """(number, author, text) of each numbered message line in the user turn."""
        found = []
        for line in self.user.splitlines():
            if match := NUMBERED_LINE.match(line):
                found.append((int(match[1]), match[2], match[3]))
        return found


class FakeOpenAI(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[ChatRequest] = []
        self.reply: Callable[[ChatRequest], str] = lambda request: "ok"
        self.delay = 0.0
        self._faults: list[int] = []

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/v1"

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        return app

    def fail_next(self, status: int = 500, count: int = 1) -> None:
        self._faults.extend([status] * count)

    def requests_for(self, marker: str) -> list[ChatRequest]:
        """The requests whose instructions contain `marker` (a phrase of one prompt template)."""
        return [request for request in self.requests if marker in request.system]

    async def _chat(self, request: web.Request) -> web.Response:
        chat = ChatRequest(await request.json(), time.monotonic())
        self.requests.append(chat)
        if self.delay:
            await self.sleep_unless_stopping(self.delay)
        if self._faults:
            status = self._faults.pop(0)
            error = {"error": {"message": f"fake failure {status}", "type": "server_error", "code": None}}
            return web.json_response(error, status=status)
        content = self.reply(chat)
        prompt_chars = sum(len(m["content"]) for m in chat.body["messages"])
        usage = {"prompt_tokens": prompt_chars // 4, "completion_tokens": len(content) // 4}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return web.json_response(
            {
                "id": f"chatcmpl-fake{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": chat.body.get("model", "fake"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": usage,
            }
        )


def json_reply(value: Any) -> str:
    """An answer as a model often writes JSON: inside a code fence, with a word before it."""
    return "Here it is:\n```json\n" + json.dumps(value) + "\n```"
