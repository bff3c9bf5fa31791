"""The LLM client against a fake OpenAI-compatible server, over real sockets, with the real openai client."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import env_for, run_cli
from tests.support.openai_api import FakeOpenAI
from tests.support.sql import sql
from veilleur.assist.llm import LLM, LLMUnavailable, Prompt, parse_json_object
from veilleur.core.settings import SettingsError, parse_settings
from veilleur.storage.store import Store

PROMPT = Prompt(system="You summarise.", user="[[DATA x]]\nhello\n[[END DATA x]]")


@pytest.fixture
def store() -> Iterator[Store]:
    store = Store.open(":memory:")
    yield store
    store.close()


def llm_for(openai_api: FakeOpenAI, store: Store, **env: str) -> LLM:
    settings = parse_settings({"OPENAI_BASE_URL": openai_api.api_url, "OPENAI_API_KEY": "sk-test", **env})
    return LLM(settings, store)


def usage_rows(store: Store) -> list[dict]:
    return list(sql(store).query("select * from llm_usage order by id"))


async def test_complete_sends_the_prompt_and_records_the_tokens_spent(openai_api: FakeOpenAI, store: Store) -> None:
    openai_api.reply = lambda request: "Bonjour à tous"
    llm = llm_for(openai_api, store, LLM_MODEL="mistral-small")
    assert await llm.complete("test.task", PROMPT, max_tokens=50) == "Bonjour à tous"
    (request,) = openai_api.requests
    assert request.body["model"] == "mistral-small"
    assert request.body["max_tokens"] == 50
    assert (request.system, request.user) == (PROMPT.system, PROMPT.user)
    (row,) = usage_rows(store)
    prompt_tokens = (len(PROMPT.system) + len(PROMPT.user)) // 4
    assert (row["task"], row["model"], row["outcome"]) == ("test.task", "mistral-small", "ok")
    assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt_tokens, len("Bonjour à tous") // 4)
    assert row["total_tokens"] == prompt_tokens + len("Bonjour à tous") // 4
    await llm.aclose()


async def test_a_server_error_is_retried_once(openai_api: FakeOpenAI, store: Store) -> None:
    openai_api.fail_next(500)
    openai_api.reply = lambda request: "second time lucky"
    llm = llm_for(openai_api, store)
    assert await llm.complete("t", PROMPT, max_tokens=10) == "second time lucky"
    assert len(openai_api.requests) == 2
    await llm.aclose()


async def test_two_server_errors_give_up_with_the_status(openai_api: FakeOpenAI, store: Store) -> None:
    openai_api.fail_next(503, count=3)
    llm = llm_for(openai_api, store)
    with pytest.raises(LLMUnavailable) as failure:
        await llm.complete("t", PROMPT, max_tokens=10)
    assert failure.value.reason == "error" and "503" in failure.value.detail
    assert len(openai_api.requests) == 2  # one retry, no more
    assert [row["outcome"] for row in usage_rows(store)] == ["error"]
    await llm.aclose()


async def test_a_slow_endpoint_times_out_within_the_deadline(openai_api: FakeOpenAI, store: Store) -> None:
    openai_api.delay = 30
    llm = llm_for(openai_api, store, LLM_TIMEOUT="1")
    started = time.monotonic()
    with pytest.raises(LLMUnavailable) as failure:
        await llm.complete("t", PROMPT, max_tokens=10)
    elapsed = time.monotonic() - started
    assert failure.value.reason == "timeout"
    assert elapsed < 1 * 2 + 5  # two attempts and the pause between them, never the endpoint's 30 s
    assert [row["outcome"] for row in usage_rows(store)] == ["timeout"]
    await llm.aclose()


async def test_an_empty_answer_is_an_error(openai_api: FakeOpenAI, store: Store) -> None:
    openai_api.reply = lambda request: "  "
    llm = llm_for(openai_api, store)
    with pytest.raises(LLMUnavailable) as failure:
        await llm.complete("t", PROMPT, max_tokens=10)
    assert failure.value.reason == "error"
    await llm.aclose()


async def test_once_the_daily_budget_is_spent_no_request_is_sent(openai_api: FakeOpenAI, store: Store) -> None:
    openai_api.reply = lambda request: "x" * 400
    llm = llm_for(openai_api, store, LLM_DAILY_TOKEN_BUDGET="50")
    await llm.complete("t", PROMPT, max_tokens=200)  # spends about 100 tokens, over the budget
    with pytest.raises(LLMUnavailable) as failure:
        await llm.complete("t", PROMPT, max_tokens=200)
    assert failure.value.reason == "budget"
    assert len(openai_api.requests) == 1
    await llm.aclose()


async def test_the_budget_counts_today_only(openai_api: FakeOpenAI, store: Store) -> None:
    llm = llm_for(openai_api, store, LLM_DAILY_TOKEN_BUDGET="1000", BOT_TIMEZONE="Europe/Paris")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    llm.usage.record(task="t", model="m", prompt_tokens=5000, completion_tokens=0, outcome="ok", seconds=1,
                     now=yesterday)
    assert llm.usage.spent_today() == 0
    assert await llm.complete("t", PROMPT, max_tokens=10) == "ok"
    await llm.aclose()


async def test_without_a_key_or_url_the_llm_is_not_configured(store: Store) -> None:
    llm = LLM(parse_settings({}), store)
    assert not llm.configured
    with pytest.raises(LLMUnavailable) as failure:
        await llm.complete("t", PROMPT, max_tokens=10)
    assert failure.value.reason == "not_configured"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('Sure!\n```json\n{"labels": {"1": "for"}}\n```', {"labels": {"1": "for"}}),
    ],
)
def test_parse_json_object_finds_the_object(answer: str, expected: dict) -> None:
    assert parse_json_object(answer) == expected


@pytest.mark.parametrize("answer", ["no json here", "[1, 2]", '{"a": ', "} {"])
def test_parse_json_object_refuses_anything_else(answer: str) -> None:
    with pytest.raises(LLMUnavailable):
        parse_json_object(answer)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"LLM_TIMEOUT": "0"}, "LLM_TIMEOUT"),
        ({"LLM_INPUT_TOKENS": "many"}, "LLM_INPUT_TOKENS"),
        ({"LLM_DAILY_TOKEN_BUDGET": "-5"}, "LLM_DAILY_TOKEN_BUDGET"),
        ({"DRAFT_VISIBILITY": "public"}, "DRAFT_VISIBILITY"),
        ({"PROMPTS_DIR": "/no/such/folder"}, "PROMPTS_DIR"),
    ],
)
def test_wrong_llm_settings_name_the_variable(env: dict, variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        parse_settings(env)


def test_llm_settings_are_read(tmp_path: Path) -> None:
    settings = parse_settings(
        {"LLM_TIMEOUT": "12", "LLM_INPUT_TOKENS": "4000", "LLM_DAILY_TOKEN_BUDGET": "100000",
         "DRAFT_VISIBILITY": "Thread", "PROMPTS_DIR": str(tmp_path)}
    )
    assert (settings.llm_timeout, settings.llm_input_tokens, settings.llm_daily_token_budget) == (12, 4000, 100000)
    assert settings.draft_visibility == "thread" and settings.prompts_dir == tmp_path
    defaults = parse_settings({})
    assert defaults.llm_daily_token_budget is None and defaults.draft_visibility == "ephemeral"


async def test_once_without_an_llm_never_imports_openai_nor_the_slack_app(tmp_path: Path) -> None:
    (tmp_path / "watchers.toml").write_text("")
    # PYTHONPROFILEIMPORTTIME: the interpreter lists every module it imports, on stderr.
    env = env_for(tmp_path, None, PYTHONPROFILEIMPORTTIME="1")
    code, _, err = await run_cli(tmp_path, env, "once", "--dry-run")
    assert code == 0
    imported = {line.rsplit("|", 1)[1].strip() for line in err.splitlines() if line.startswith("import time:")}
    assert {"veilleur.storage.store", "veilleur.watching.polling", "veilleur.digest.compute"} <= imported
    assert not {name for name in imported if name.split(".")[0] in ("openai", "slack_bolt")}
