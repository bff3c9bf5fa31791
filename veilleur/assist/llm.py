"""The LLM: any OpenAI-compatible chat endpoint, with timeouts, one retry, a daily token budget and usage records.

Callers get the model's text, or `LLMUnavailable` saying why not (not configured, timeout, error, budget spent),
never a hang: each attempt has `LLM_TIMEOUT`, and the whole call, its one retry included, a deadline of its own.
Every request is recorded in `llm_usage` with its tokens, which is what `LLM_DAILY_TOKEN_BUDGET` counts.
The `openai` package (a quarter of a second to import) is imported only when an LLM is configured.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from veilleur.core.i18n import Phrase
from veilleur.core.settings import Settings
from veilleur.storage.llm_usage import UsageLedger
from veilleur.storage.store import Store

if TYPE_CHECKING:
    from openai import AsyncOpenAI

log = logging.getLogger(__name__)

REASONS = ("not_configured", "timeout", "error", "budget")
# The openai client waits up to a few seconds (or the server's Retry-After) before its one retry.
RETRY_ALLOWANCE = 5.0
# A local endpoint (Ollama, vLLM) needs no key, but the client insists on one.
PLACEHOLDER_KEY = "unused"
DETAIL_LIMIT = 200


class LLMUnavailable(Exception):
    """No answer from the LLM. `reason` is one of REASONS; `detail` says more: a phrase, or a technical cause in
    plain text (an HTTP status, an exception's name), or nothing."""

    def __init__(self, reason: str, detail: str | Phrase = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail[:DETAIL_LIMIT] if isinstance(detail, str) else detail


@dataclass(frozen=True, slots=True)
class Prompt:
    """Instructions (ours) in `system`; the outside text, fenced as data, in `user`."""

    system: str
    user: str


def llm_destination(settings: Settings) -> str:
    """Where prompts go, for the start-up log: the host and model, never the key."""
    if settings.llm_host is None:
        return (
            "LLM: none configured (OPENAI_API_KEY and OPENAI_BASE_URL unset): summaries, drafts, the digest and "
            "spike alerts use their labelled fallbacks"
        )
    names = "authors as pseudonyms (PRIVACY_PROFILE=public-body)" if settings.public_body else "authors by name"
    labelling = (
        "every new post's text labelled there (LLM_LABELLING=on)"
        if settings.llm_labelling
        else "posts sent only when the team asks (LLM_LABELLING=off)"
    )
    return f"LLM: prompts go to {settings.llm_host} (model {settings.llm_model}), {names}, {labelling}"


def estimate_tokens(text: str) -> int:
    """A cautious token count (about 3 characters per token) for any model's tokenizer."""
    return len(text) // 3 + 1


class LLM:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.model = settings.llm_model
        self.timeout = float(settings.llm_timeout)
        self.input_tokens = settings.llm_input_tokens
        self.daily_budget = settings.llm_daily_token_budget
        # PRIVACY_PROFILE=public-body: every prompt names authors by pseudonym and reach tier (pseudonyms.py).
        self.pseudonymise = settings.public_body
        self.usage = UsageLedger(store, settings.bot_timezone)
        self._client: AsyncOpenAI | None = None
        if settings.llm_enabled:
            from openai import AsyncOpenAI, DefaultAioHttpClient

            self._client = AsyncOpenAI(
                api_key=settings.openai_api_key or PLACEHOLDER_KEY,
                base_url=settings.openai_base_url,
                timeout=self.timeout,
                max_retries=1,
                # aiohttp's connection pool, as for every other client of the bot: much less work per request.
                http_client=DefaultAioHttpClient(),
            )

    @property
    def configured(self) -> bool:
        return self._client is not None

    @property
    def deadline(self) -> float:
        """The most seconds `complete` takes, its retry included."""
        return self.timeout * 2 + RETRY_ALLOWANCE

    def check_budget(self) -> None:
        """Raise LLMUnavailable("budget") once today's tokens reach LLM_DAILY_TOKEN_BUDGET."""
        if self.daily_budget is None:
            return
        spent = self.usage.spent_today()
        if spent >= self.daily_budget:
            raise LLMUnavailable("budget", Phrase.of("llm.budget_spent", count=spent, budget=self.daily_budget))

    async def complete(self, task: str, prompt: Prompt, *, max_tokens: int) -> str:
        """The model's answer to `prompt`, at most `max_tokens` long. `task` names the request in `llm_usage`."""
        if self._client is None:
            raise LLMUnavailable("not_configured")
        import openai  # already loaded with the client

        self.check_budget()
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.deadline):
                response = await self._client.chat.completions.create(
                    model=self.model,
                    messages=[{"role": "system", "content": prompt.system}, {"role": "user", "content": prompt.user}],
                    max_tokens=max_tokens,
                )
        except (TimeoutError, openai.APITimeoutError):
            self._record_failure(task, prompt, "timeout", started)
            raise LLMUnavailable("timeout", Phrase.of("error.no_answer_within", count=round(self.timeout))) from None
        except openai.APIStatusError as error:
            self._record_failure(task, prompt, "error", started)
            raise LLMUnavailable("error", f"HTTP {error.status_code}") from None
        except openai.APIError as error:
            self._record_failure(task, prompt, "error", started)
            raise LLMUnavailable("error", error.__class__.__name__) from None
        text = (response.choices[0].message.content or "") if response.choices else ""
        usage = response.usage
        prompt_tokens = usage.prompt_tokens if usage else estimate_tokens(prompt.system + prompt.user)
        completion_tokens = usage.completion_tokens if usage else estimate_tokens(text)
        self.usage.record(
            task=task,
            model=self.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            outcome="ok",
            seconds=time.monotonic() - started,
        )
        if not text.strip():
            raise LLMUnavailable("error", Phrase.of("llm.empty"))
        return text

    async def complete_json(self, task: str, prompt: Prompt, *, max_tokens: int) -> dict[str, Any]:
        """Like `complete`, for prompts that ask for one JSON object; an answer without one is an error."""
        return parse_json_object(await self.complete(task, prompt, max_tokens=max_tokens))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()

    def _record_failure(self, task: str, prompt: Prompt, outcome: str, started: float) -> None:
        # The endpoint may have spent the prompt's tokens; counting them keeps a flaky endpoint within budget.
        self.usage.record(
            task=task,
            model=self.model,
            prompt_tokens=estimate_tokens(prompt.system + prompt.user) if outcome == "timeout" else 0,
            completion_tokens=0,
            outcome=outcome,
            seconds=time.monotonic() - started,
        )
        log.warning("LLM request %s failed: %s", task, outcome)


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's answer, tolerating a code fence or words around it."""
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        raise LLMUnavailable("error", Phrase.of("llm.not_json"))
    try:
        value = json.loads(text[start : end + 1])
    except ValueError:
        raise LLMUnavailable("error", Phrase.of("llm.bad_json")) from None
    if not isinstance(value, dict):
        raise LLMUnavailable("error", Phrase.of("llm.not_object"))
    return value
