"""manifest.yml (Socket Mode) and manifest.http.yml (HTTP mode) declare exactly what the code uses: every slash
command, shortcut and event a handler registers, and the bot scopes of every Web API method the code calls; a
declaration that nothing uses fails as well. Slack's install screen lists the scopes: each one must be needed."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CODE = [*sorted((ROOT / "handlers").glob("*.py")), *sorted((ROOT / "veilleur").rglob("*.py"))]
MANIFESTS = ["manifest.yml", "manifest.http.yml"]

# The bot scopes each Web API method needs (docs.slack.dev/reference/methods/<method>), for the conversations the
# bot works in: public and private channels. None: no scope, or not the bot token (apps.connections.open).
METHOD_SCOPES: dict[str, set[str]] = {
    "apps.connections.open": set(),
    "auth.test": set(),
    "chat.delete": {"chat:write"},
    "chat.getPermalink": set(),
    "chat.postEphemeral": {"chat:write"},
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "conversations.history": {"channels:history", "groups:history"},
    "conversations.info": {"channels:read", "groups:read"},
    "conversations.join": {"channels:join"},
    "conversations.open": {"im:write"},
    "conversations.replies": {"channels:history", "groups:history"},
    "files.upload.v2": {"files:write"},
    "usergroups.users.list": {"usergroups:read"},
    "users.info": {"users:read"},
    "views.open": set(),
    "views.publish": set(),
    "views.update": set(),
}
# The scope each event subscription needs.
EVENT_SCOPES = {"app_home_opened": set(), "app_mention": {"app_mentions:read"}, "reaction_added": {"reactions:read"}}


def source() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in CODE)


def registered(kind: str) -> set[str]:
    """What the handlers register with `app.<kind>("…")`."""
    return set(re.findall(rf"\bapp\.{kind}\(\"([^\"]+)\"\)", source()))


def methods_called() -> set[str]:
    """Web API methods of the SDK client the code names (`client.chat_postMessage`, or "conversations_replies"
    given to a pager): chat_postMessage is chat.postMessage."""
    names = re.findall(
        r"(?:\.|\(\")((?:apps|auth|chat|conversations|files|usergroups|users|views|reactions|pins)_[A-Za-z0-9_]+)\b",
        source(),
    )
    return {name.replace("_", ".") for name in names}


def manifest(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", MANIFESTS)
def test_the_manifest_declares_every_command_shortcut_and_event_handled_and_nothing_else(name: str) -> None:
    features, events = manifest(name)["features"], manifest(name)["settings"]["event_subscriptions"]
    assert {command["command"] for command in features["slash_commands"]} == registered("command")
    shortcuts = {shortcut["callback_id"]: shortcut["type"] for shortcut in features["shortcuts"]}
    assert {key for key, kind in shortcuts.items() if kind == "message"} == registered("message_shortcut") | {
        key for key in registered("shortcut") if shortcuts.get(key) == "message"
    }
    assert set(shortcuts) == registered("message_shortcut") | registered("shortcut")
    assert set(events["bot_events"]) == registered("event")


@pytest.mark.parametrize("name", MANIFESTS)
def test_the_bot_scopes_are_those_the_code_needs(name: str) -> None:
    called = methods_called()
    assert called <= set(METHOD_SCOPES), f"add the scopes of {sorted(called - set(METHOD_SCOPES))} here"
    needed = set().union(*(METHOD_SCOPES[method] for method in called))
    needed |= set().union(*(EVENT_SCOPES[event] for event in registered("event")))
    needed |= {"commands"} if registered("command") else set()
    assert set(manifest(name)["oauth_config"]["scopes"]["bot"]) == needed


def test_the_http_manifest_differs_only_by_its_request_urls() -> None:
    socket, http = manifest("manifest.yml"), manifest("manifest.http.yml")
    assert socket["settings"]["socket_mode_enabled"] is True and http["settings"]["socket_mode_enabled"] is False
    url = http["settings"]["interactivity"]["request_url"]
    assert url.endswith("/slack/events") and http["settings"]["event_subscriptions"]["request_url"] == url
    assert all(command["url"] == url for command in http["features"]["slash_commands"])
    for document in (socket, http):
        for command in document["features"]["slash_commands"]:
            command.pop("url", None)
        document["settings"]["interactivity"].pop("request_url", None)
        document["settings"]["event_subscriptions"].pop("request_url", None)
        document["settings"].pop("socket_mode_enabled")
    assert socket == http
