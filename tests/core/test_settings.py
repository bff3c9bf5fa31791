from datetime import date, time, timedelta
from pathlib import Path

import pytest

from veilleur.core.settings import SettingsError, load_settings, parse_settings, require_slack_connection


def test_defaults_follow_the_design() -> None:
    settings = parse_settings({})
    assert settings.port == 3000
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_path == Path("data/veilleur.db")
    assert settings.watchers_file == Path("watchers.toml")
    assert settings.bot_timezone.key == "Europe/Paris"
    assert settings.digest_time == time(8, 30)
    assert settings.digest_days == ("mon", "tue", "wed", "thu", "fri")
    assert settings.escalation_emoji == ("rotating_light",)
    assert not settings.llm_enabled
    assert not settings.socket_mode


def test_full_configuration_is_parsed() -> None:
    settings = parse_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_APP_TOKEN": "xapp-1",
            "PORT": "8080",
            "SLACK_API_URL": "http://127.0.0.1:9999/api",
            "OPENAI_BASE_URL": "http://localhost:11434/v1",
            "BOT_LANGUAGE": "FR",
            "BOT_TIMEZONE": "America/Montreal",
            "ESCALATION_CHANNEL": "C0ESCAL",
            "ESCALATION_EMOJI": ":sos:, rotating_light",
            "OFFICIALS": "U01, U02",
            "DIGEST_TIME": "7:05",
            "DIGEST_DAYS": "sat-mon",
            "MAX_CARDS_PER_POLL": "50",
        }
    )
    assert settings.socket_mode and settings.llm_enabled
    assert settings.port == 8080
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.bot_language == "fr"
    assert settings.escalation_emoji == ("sos", "rotating_light")
    assert settings.officials == ("U01", "U02")
    assert settings.digest_time == time(7, 5)
    assert settings.digest_days == ("sat", "sun", "mon")
    assert settings.max_cards_per_poll == 50


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN"),
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ({"OPENAI_BASE_URL": "ftp://x"}, "OPENAI_BASE_URL"),
        ({"BOT_LANGUAGE": "de"}, "BOT_LANGUAGE"),
        ({"BOT_TIMEZONE": "Paris"}, "BOT_TIMEZONE"),
        ({"ESCALATION_CHANNEL": "#general"}, "ESCALATION_CHANNEL"),
        ({"OFFICIALS": "U01,@marie"}, "OFFICIALS"),
        ({"ESCALATION_EMOJI": "🚨"}, "ESCALATION_EMOJI"),
        ({"DIGEST_TIME": "8h30"}, "DIGEST_TIME"),
        ({"DIGEST_DAYS": "monday-friday"}, "DIGEST_DAYS"),
        ({"BURST_THRESHOLD": "0"}, "BURST_THRESHOLD"),
        ({"MAX_CARDS_PER_POLL": "0"}, "MAX_CARDS_PER_POLL"),
        ({"MAX_CARDS_PER_POLL": "twenty"}, "MAX_CARDS_PER_POLL"),
        ({"LLM_LABELLING": "yes"}, "LLM_LABELLING"),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings(env)
    message = str(raised.value)
    assert message.startswith(variable)
    assert "\n" not in message
    assert "expected" in message or "must" in message


def test_http_mode_needs_a_signing_secret_and_socket_mode_does_not() -> None:
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        require_slack_connection(parse_settings({"SLACK_BOT_TOKEN": "xoxb-1"}))
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN"):
        require_slack_connection(parse_settings({}))
    require_slack_connection(parse_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}))


def test_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=4000\nBOT_LANGUAGE=fr\n# comment\nSLACK_BOT_TOKEN=xoxb-from-file\n")
    settings = load_settings({"PORT": "5000"}, env_file)
    assert settings.port == 5000
    assert settings.bot_language == "fr"
    assert settings.slack_bot_token == "xoxb-from-file"


def test_secrets_do_not_appear_in_errors() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"SLACK_BOT_TOKEN": "secret-value-1234567890"})
    assert "1234567890" not in str(raised.value)


def test_settings_repr_hides_tokens() -> None:
    settings = parse_settings({"SLACK_BOT_TOKEN": "xoxb-very-secret", "OPENAI_API_KEY": "sk-very-secret"})
    assert "very-secret" not in repr(settings)


def test_source_credentials_from_dotenv_reach_the_watchers_environment(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("REDDIT_CLIENT_ID=from-file\nREDDIT_CLIENT_SECRET=file-secret\n")
    settings = load_settings({"REDDIT_CLIENT_SECRET": "env-secret"}, env_file)
    assert settings.env["REDDIT_CLIENT_ID"] == "from-file"
    assert settings.env["REDDIT_CLIENT_SECRET"] == "env-secret"
    assert "secret" not in repr(settings)


def test_escalation_reminders_default_to_four_business_hours_three_times() -> None:
    settings = parse_settings({})
    assert settings.escalation_remind_after == timedelta(hours=4)
    assert settings.escalation_max_reminders == 3
    hours = settings.business_hours
    assert hours.days == frozenset(range(5))
    assert (hours.start, hours.end) == (9 * 60, 18 * 60)


def test_escalation_reminders_and_business_hours_are_parsed() -> None:
    settings = parse_settings(
        {"ESCALATION_REMIND_AFTER": "90m", "ESCALATION_MAX_REMINDERS": "0", "BUSINESS_HOURS": "sat-mon 08:30-24:00"}
    )
    assert settings.escalation_remind_after == timedelta(minutes=90)
    assert settings.escalation_max_reminders == 0
    assert settings.business_hours.days == frozenset({5, 6, 0})
    assert (settings.business_hours.start, settings.business_hours.end) == (8 * 60 + 30, 24 * 60)
    every_day = parse_settings({"BUSINESS_HOURS": "07:00-19:00"}).business_hours
    assert every_day.days == frozenset(range(7))


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"ESCALATION_REMIND_AFTER": "4 hours"}, "ESCALATION_REMIND_AFTER"),
        ({"ESCALATION_REMIND_AFTER": "0h"}, "ESCALATION_REMIND_AFTER"),
        ({"ESCALATION_MAX_REMINDERS": "-1"}, "ESCALATION_MAX_REMINDERS"),
        ({"BUSINESS_HOURS": "mon-fri"}, "BUSINESS_HOURS"),
        ({"BUSINESS_HOURS": "weekdays 09:00-18:00"}, "BUSINESS_HOURS"),
        ({"BUSINESS_HOURS": "mon-fri 18:00-09:00"}, "BUSINESS_HOURS"),
        ({"BUSINESS_HOURS": "mon-fri 09:00-24:30"}, "BUSINESS_HOURS"),
        ({"BUSINESS_HOLIDAYS": "XX"}, "BUSINESS_HOLIDAYS"),
        ({"BUSINESS_HOLIDAYS": "FR-99"}, "BUSINESS_HOLIDAYS"),
        ({"BUSINESS_HOLIDAYS": "FR, 2026-13-01"}, "BUSINESS_HOLIDAYS"),
        ({"BUSINESS_HOLIDAYS": "14 juillet"}, "BUSINESS_HOLIDAYS"),
    ],
)
def test_a_wrong_escalation_setting_is_one_line_naming_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings(env)
    assert str(raised.value).startswith(variable) and "\n" not in str(raised.value)


def test_public_holidays_are_french_by_default_with_subdivisions_extra_dates_or_none() -> None:
    bastille, boxing_day, bridge = date(2026, 7, 14), date(2026, 12, 26), date(2026, 5, 15)
    default = parse_settings({}).business_hours.holidays
    assert bastille in default and boxing_day not in default
    moselle = parse_settings({"BUSINESS_HOLIDAYS": "fr-57, 2026-05-15"}).business_hours.holidays
    assert all(day in moselle for day in (bastille, boxing_day, bridge))
    assert bastille not in parse_settings({"BUSINESS_HOLIDAYS": "none"}).business_hours.holidays


def test_private_urls_are_refused_by_default_and_allowed_by_true_or_by_network() -> None:
    default = parse_settings({})
    assert (default.allow_private_urls, default.private_url_networks) == (False, ())
    assert parse_settings({"ALLOW_PRIVATE_URLS": "TRUE"}).allow_private_urls
    listed = parse_settings({"ALLOW_PRIVATE_URLS": "10.1.2.0/24, 192.168.1.20,fd12::/64,"})
    assert not listed.allow_private_urls
    assert [str(network) for network in listed.private_url_networks] == ["10.1.2.0/24", "192.168.1.20/32", "fd12::/64"]


@pytest.mark.parametrize("value", ["yes", "10.1.2.5/24", "10.1.2.0/24,intranet", "300.1.2.3"])
def test_a_wrong_allow_private_urls_is_one_line_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"ALLOW_PRIVATE_URLS": value})
    assert str(raised.value).startswith("ALLOW_PRIVATE_URLS") and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("env", "host"),
    [
        ({"OPENAI_API_KEY": "sk-1"}, "api.openai.com"),
        ({"OPENAI_BASE_URL": "http://LocalHost:11434/v1"}, "localhost"),
        ({"OPENAI_BASE_URL": "http://[::1]:8000/v1"}, "::1"),
        ({}, None),
    ],
)
def test_the_llm_host_is_where_prompts_go(env: dict[str, str], host: str | None) -> None:
    assert parse_settings(env).llm_host == host


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.mistral.ai/v1",
        "https://API.Mistral.AI./v1",  # case and a trailing dot do not make another host
        "http://10.0.0.5:8000/v1",
    ],
)
def test_a_listed_llm_host_is_allowed(base_url: str) -> None:
    settings = parse_settings({
        "OPENAI_BASE_URL": base_url, "LLM_ALLOWED_HOSTS": "api.mistral.ai, 10.0.0.5", "PRIVACY_PROFILE": "public-body",
    })
    assert settings.llm_host is not None


@pytest.mark.parametrize(
    ("base_url", "allowed"),
    [
        ("https://api.openai.com/v1", "api.mistral.ai"),
        ("https://eu.api.mistral.ai/v1", "api.mistral.ai"),  # a subdomain is another host
        ("http://10.0.0.6:8000/v1", "10.0.0.5"),
        ("http://localhost:11434/v1", "api.mistral.ai"),  # a list is the whole list, loopback included
    ],
)
def test_an_llm_host_that_llm_allowed_hosts_does_not_list_stops_start_up(base_url: str, allowed: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"OPENAI_BASE_URL": base_url, "LLM_ALLOWED_HOSTS": allowed})
    message = str(raised.value)
    assert "LLM_ALLOWED_HOSTS" in message and "OPENAI_BASE_URL" in message and "\n" not in message


def test_the_default_openai_endpoint_is_checked_against_the_list_too() -> None:
    with pytest.raises(SettingsError, match=r"api\.openai\.com, which LLM_ALLOWED_HOSTS does not list"):
        parse_settings({"OPENAI_API_KEY": "sk-1", "LLM_ALLOWED_HOSTS": "api.mistral.ai"})
    assert parse_settings({"OPENAI_API_KEY": "sk-1", "LLM_ALLOWED_HOSTS": "api.openai.com"}).llm_enabled


def test_ip_addresses_are_compared_by_value() -> None:
    settings = parse_settings({"OPENAI_BASE_URL": "http://[0:0:0:0:0:0:0:1]:8000/v1", "LLM_ALLOWED_HOSTS": "[::1]"})
    assert settings.llm_host == "0:0:0:0:0:0:0:1"


@pytest.mark.parametrize(
    "base_url",
    [
        "http://localhost:11434/v1",
        "http://ollama.localhost:11434/v1",
        "http://127.0.0.1:11434/v1",
        "http://[::1]:8000/v1",
        "http://10.1.2.3:8000/v1",
        "http://172.20.0.4:8000/v1",
        "http://192.168.1.20:8000/v1",
        "http://[fd12::5]:8000/v1",
    ],
)
def test_the_public_body_profile_allows_a_self_hosted_model_by_default(base_url: str) -> None:
    settings = parse_settings({"OPENAI_BASE_URL": base_url, "PRIVACY_PROFILE": "public-body"})
    assert settings.public_body and settings.llm_enabled


@pytest.mark.parametrize(
    "env",
    [
        {"OPENAI_API_KEY": "sk-1"},  # the default endpoint, api.openai.com
        {"OPENAI_BASE_URL": "https://api.mistral.ai/v1"},
        {"OPENAI_BASE_URL": "http://llm.mairie.example:8000/v1"},  # a name is not resolved: it is not known local
        {"OPENAI_BASE_URL": "http://ollama:11434/v1"},
        {"OPENAI_BASE_URL": "http://8.8.8.8/v1"},
        {"OPENAI_BASE_URL": "http://100.64.0.1/v1"},  # shared address space: not a private network
    ],
)
def test_the_public_body_profile_refuses_any_other_host_until_it_is_listed(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings(env | {"PRIVACY_PROFILE": "public-body"})
    message = str(raised.value)
    assert message.startswith("OPENAI_BASE_URL") and "\n" not in message
    assert "list it in LLM_ALLOWED_HOSTS" in message and "art. 28" in message and "outside the EU" in message
    host = parse_settings(env).llm_host
    assert host is not None
    assert parse_settings(env | {"PRIVACY_PROFILE": "public-body", "LLM_ALLOWED_HOSTS": host}).llm_host == host


def test_without_an_llm_no_host_is_checked() -> None:
    settings = parse_settings({"PRIVACY_PROFILE": "public-body", "LLM_ALLOWED_HOSTS": "api.mistral.ai"})
    assert settings.llm_host is None


def test_the_llm_key_never_appears_in_a_refusal() -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings({"OPENAI_API_KEY": "sk-very-secret", "PRIVACY_PROFILE": "public-body"})
    assert "very-secret" not in str(raised.value)


def test_llm_labelling_is_on_by_default_and_can_be_turned_off() -> None:
    assert parse_settings({}).llm_labelling
    assert not parse_settings({"LLM_LABELLING": "OFF"}).llm_labelling
