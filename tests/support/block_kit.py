"""What every message the bot sends must satisfy, whatever it carries: within Block Kit's limits, and outside text
(HOSTILE, from sources and people) inert: no ping, no channel link, no spoofed link, mrkdwn verbatim."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from slack_sdk.models.blocks import Block

# Slack refuses a message at about 13k characters of blocks (slackapi/bolt-js#2509); a card stays well under.
BLOCKS_JSON_LIMIT = 12_000
ELEMENT_LIMITS = {"button": {"value": 2000, "url": 3000, "action_id": 255}}
HOSTILE = "<!channel> <!here> <@U123> <#C123> <!subteam^S1> <https://evil.example|https://bank.example> &amp;"
CONTROL_SEQUENCE = re.compile(r"<[!@#]|<https://evil")


def text_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn"):
            yield node
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list):
        for item in node:
            yield from text_objects(item)


def assert_within_block_kit_limits(message: dict[str, Any]) -> None:
    """Every Block Kit limit a message can break, checked by hand and by slack_sdk's own validators."""
    assert isinstance(message["text"], str) and message["text"].strip()
    assert len(message["text"]) <= 4000
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= 50
    block_ids = [block["block_id"] for block in blocks if "block_id" in block]
    assert len(block_ids) == len(set(block_ids))
    assert all(0 < len(block_id) <= 255 for block_id in block_ids)
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()
        kind = block["type"]
        if kind == "section":
            assert "text" in block or "fields" in block
            assert len(block.get("fields", [])) <= 10
            assert all(len(field["text"]) <= 2000 for field in block.get("fields", []))
        elif kind == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
        elif kind == "context":
            assert 1 <= len(block["elements"]) <= 10
        elif kind == "actions":
            assert 1 <= len(block["elements"]) <= 25
            action_ids = [element["action_id"] for element in block["elements"]]
            assert len(action_ids) == len(set(action_ids))
        for element in getattr(parsed, "elements", None) or []:
            element.validate_json()
        for element in block.get("elements", []):
            for attribute, limit in ELEMENT_LIMITS.get(element["type"], {}).items():
                assert len(element.get(attribute, "")) <= limit, (attribute, element)
            if element["type"] == "button":
                assert element["text"]["type"] == "plain_text" and len(element["text"]["text"]) <= 75
    for text in text_objects(blocks):
        assert text["text"].strip(), text
        assert len(text["text"]) <= 3000
    assert len(json.dumps(blocks, ensure_ascii=False)) <= BLOCKS_JSON_LIMIT


def all_strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from all_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_strings(item)


def assert_outside_text_is_inert(message: dict[str, Any]) -> None:
    """No mention, channel link or spoofed link came through, and all mrkdwn is verbatim."""
    for string in all_strings(message):
        assert not CONTROL_SEQUENCE.search(string), string
    for text in text_objects(message["blocks"]):
        if text["type"] == "mrkdwn":
            assert text["verbatim"] is True


def block(message: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in message["blocks"] if b.get("block_id") == block_id)


def has_block(message: dict[str, Any], block_id: str) -> bool:
    return any(b.get("block_id") == block_id for b in message["blocks"])
