"""The start-up check of the Slack tokens, against the fake Slack Web API over real sockets."""

import asyncio
import logging

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from tests.support.slack_api import FakeSlack
from veilleur.core.settings import Settings, SettingsError, parse_settings
from veilleur.slack.outbox import new_slack_client
from veilleur.slack.tokens import check_slack_tokens

NO_WAIT = (0.01,)


def settings_for(slack: FakeSlack, *, socket_mode: bool) -> Settings:
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": slack.api_url, "SLACK_SIGNING_SECRET": "s"}
    if socket_mode:
        env["SLACK_APP_TOKEN"] = "xapp-test"
    return parse_settings(env)


def client_for(settings: Settings) -> AsyncWebClient:
    """The bot's own Web API client (no slack_sdk retries: what to retry is ours to decide)."""
    assert settings.slack_bot_token is not None
    return new_slack_client(settings.slack_bot_token, settings.slack_api_url)


@pytest.mark.parametrize("socket_mode", [False, True])
async def test_accepted_tokens_are_asked_for_once(slack: FakeSlack, socket_mode: bool) -> None:
    settings = settings_for(slack, socket_mode=socket_mode)
    await check_slack_tokens(client_for(settings), settings, retry_delays=NO_WAIT)
    assert [call.method for call in slack.calls] == ["auth.test"] + (["apps.connections.open"] if socket_mode else [])


@pytest.mark.parametrize(
    ("method", "error", "variable"),
    [
        ("auth.test", "invalid_auth", "SLACK_BOT_TOKEN"),
        ("auth.test", "token_revoked", "SLACK_BOT_TOKEN"),
        ("apps.connections.open", "invalid_auth", "SLACK_APP_TOKEN"),
    ],
)
async def test_a_refused_token_is_a_configuration_error_naming_it(
    slack: FakeSlack, method: str, error: str, variable: str
) -> None:
    settings = settings_for(slack, socket_mode=True)
    slack.fail_next(method, error=error)
    with pytest.raises(SettingsError) as raised:
        await check_slack_tokens(client_for(settings), settings, retry_delays=NO_WAIT)
    message = str(raised.value)
    assert message.startswith(f"{variable} was refused by Slack ({error})")
    assert ("OAuth & Permissions" if variable == "SLACK_BOT_TOKEN" else "connections:write") in message
    assert len(slack.calls_to(method)) == 1


async def test_an_outage_is_retried_until_slack_answers(slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(slack, socket_mode=True)
    slack.fail_next("auth.test", status=503, count=2)
    slack.fail_next("apps.connections.open", status=429, retry_after=0)
    with caplog.at_level(logging.WARNING, logger="veilleur.slack.tokens"):
        await check_slack_tokens(client_for(settings), settings, retry_delays=NO_WAIT)
    assert len(slack.calls_to("auth.test")) == 3
    assert len(slack.calls_to("apps.connections.open")) == 2
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 3
    assert all(f"cannot reach Slack at {settings.slack_api_url}" in warning for warning in warnings)
    assert "xoxb-test" not in caplog.text and "xapp-test" not in caplog.text


async def test_an_unreachable_slack_is_retried_with_one_line_each_time(
    free_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{free_port}/api/"
    settings = parse_settings({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": url, "SLACK_APP_TOKEN": "xapp-test"})
    with caplog.at_level(logging.WARNING, logger="veilleur.slack.tokens"), pytest.raises(TimeoutError):
        async with asyncio.timeout(1.0):
            await check_slack_tokens(client_for(settings), settings, retry_delays=(0.05,))
    warnings = [record for record in caplog.records if record.name == "veilleur.slack.tokens"]
    assert len(warnings) >= 3
    assert all("to check SLACK_BOT_TOKEN" in record.getMessage() and not record.exc_info for record in warnings)
