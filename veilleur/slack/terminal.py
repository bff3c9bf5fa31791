"""Block Kit messages as a terminal shows them: what the CLI's dry runs print instead of posting."""

from __future__ import annotations

import html
import re
from typing import Any

# <url|label>, <url>, <@U123>, <#C123|name>, <!here>: what mrkdwn turns into links and mentions.
_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def as_text(message: dict[str, Any]) -> str:
    """The text of each block, in order (fields and context elements included), buttons in brackets with their
    link, links as "label (url)", and Slack's entities decoded; the fallback text when there are no blocks."""
    lines: list[str] = []
    for block in message.get("blocks", []):
        if isinstance(block.get("text"), dict):
            lines.append(_mrkdwn(block["text"]["text"]))
        for element in block.get("elements", []):
            if element.get("type") == "button":
                label = f"[{element['text']['text']}]"
                lines.append(f"{label} {element['url']}" if element.get("url") else label)
            elif "text" in element:
                text = element["text"] if isinstance(element["text"], str) else element["text"]["text"]
                lines.append(_mrkdwn(text))
        lines.extend(_mrkdwn(field["text"]) for field in block.get("fields", []))
    return "\n".join(lines) if lines else _mrkdwn(message.get("text", ""))


def _mrkdwn(text: str) -> str:
    def shown(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith(("@", "#", "!")):
            return label or target
        return f"{label} ({target})" if label and label != target else target

    return html.unescape(_SLACK_LINK.sub(shown, text))
