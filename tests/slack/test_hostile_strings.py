"""Hostile strings from sources, through the whole bot: playback server -> poll -> store -> outbox -> fake Slack.

Each test checks what the fake Slack received, as Slack would show it: nothing pings anyone, no link says one place
and leads to another, every block is within Block Kit's limits, and no format character (invisible, or changing the
direction of the text) nor control character is left, a zero-width joiner between two emoji excepted: it is what
makes 👨‍👩‍👧 one emoji. Unit-level cases of the same rules are in test_cards.py, test_slack_text.py and test_text.py.
"""

from __future__ import annotations

import copy
import html
import json
import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.support.block_kit import assert_within_block_kit_limits
from tests.support.bot import BotLauncher
from tests.support.cli import env_for
from tests.support.feed_server import FeedServer
from tests.support.slack_api import Call, FakeSlack
from tests.support.sql import sql
from tests.support.world import PUBLISHED as DATE
from tests.support.world import RECENTLY
from veilleur.runtime import Runtime
from veilleur.slack import cards

MASTODON_STATUS = Path(__file__).parents[1] / "fixtures" / "mastodon" / "status_entity_docs_example.json"
TAG_TIMELINE = "/api/v1/timelines/tag/tramway"
NEWS, FEDI = "C0NEWS", "C0FEDI"
PINGS = re.compile(r"<[!@#]")
LINK = re.compile(r"<([^<>|]*)\|([^<>]*)>")
SOURCE_NAMES = {name for _emoji, name in cards.SOURCES.values()}
ZWJ = "\u200d"
SKIN_TONES = range(0x1F3FB, 0x1F400)

StartBot = Callable[[str], Awaitable[Runtime]]


# --- The bot and its sources -----------------------------------------------------------------------------------


@pytest.fixture
def start_bot(
    tmp_path: Path, slack: FakeSlack, feeds: FeedServer, signing_secret: str, free_port: int, launch_bot: BotLauncher
) -> StartBot:
    """Starts the bot with an RSS watcher on /news and a Mastodon watcher on #tramway, both with `query`."""

    async def start(query: str) -> Runtime:
        (tmp_path / "watchers.toml").write_text(
            f'[[watcher]]\nname = "news"\nsource = "rss"\nurl = "{feeds.url("/news")}"\nquery = {json.dumps(query)}\n'
            f'channel = "{NEWS}"\n\n'
            f'[[watcher]]\nname = "fedi"\nsource = "mastodon"\nbase_url = "{feeds.base_url}"\n'
            f'query = {json.dumps(query)}\nchannel = "{FEDI}"\noptions = {{ tags = ["tramway"], search = false }}\n'
        )
        feeds.add("/news", rss([]))
        feeds.add(TAG_TIMELINE, "[]", content_type="application/json")
        env = env_for(tmp_path, slack, SLACK_SIGNING_SECRET=signing_secret, PORT=str(free_port), BURST_THRESHOLD="50")
        runtime = (await launch_bot(env)).runtime
        for watcher in ("news", "fedi"):
            await runtime.services.poller.poll(watcher)  # the first poll only records what is there: nothing
        return runtime

    return start


def rss(items: list[dict[str, str]]) -> str:
    """A feed of items given as {guid, title, author, description, link}, each escaped once for XML."""
    body = "".join(
        f"<item><guid>https://news.example/{item['guid']}</guid><title>{html.escape(item['title'])}</title>"
        f"<dc:creator>{html.escape(item.get('author', ''))}</dc:creator>"
        f"<link>{html.escape(item.get('link', 'https://news.example/' + item['guid']))}</link><pubDate>{DATE}</pubDate>"
        f"<description>{html.escape(item.get('description', ''))}</description></item>"
        for item in items
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
        f"<channel><title>News</title>{body}</channel></rss>"
    )


def status(number: int, content: str, *, name: str = "Camille", spoiler: str = "", url: str = "") -> dict[str, Any]:
    """A Mastodon status (the API's JSON), from the documentation's example."""
    template = json.loads(MASTODON_STATUS.read_text())
    made = copy.deepcopy(template)
    made |= {
        "id": str(1000 + number), "uri": f"https://example.social/users/camille/statuses/{number}",
        "url": url or f"https://example.social/@camille/{number}", "content": content, "spoiler_text": spoiler,
        "in_reply_to_id": None, "reblog": None, "created_at": RECENTLY.isoformat(),
    }  # fmt: skip
    made["account"] |= {"acct": "camille", "username": "camille", "display_name": name}
    return made


async def poll_and_wait(runtime: Runtime, slack: FakeSlack, expected: int) -> list[Call]:
    for watcher in ("news", "fedi"):
        report = await runtime.services.poller.poll(watcher)
        assert report.ok, report
    return await slack.wait_for_calls("chat.postMessage", expected, within=20)


# --- What Slack must never receive -----------------------------------------------------------------------------


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def mrkdwn_texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            yield node["text"]
        for value in node.values():
            yield from mrkdwn_texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from mrkdwn_texts(item)


def is_emoji_joiner(text: str, index: int) -> bool:
    """A zero-width joiner between two emoji (the one before may carry a skin tone or an emoji-style selector)."""
    before, after = text[index - 1 : index], text[index + 1 : index + 2]
    emoji_before = before and (
        unicodedata.category(before) == "So" or before == "\ufe0f" or ord(before) in SKIN_TONES
    )
    return bool(emoji_before and after and unicodedata.category(after) == "So")


def invisible_characters(text: str) -> list[str]:
    """Format (Cf) and control characters in `text`, but line breaks and joiners inside emoji sequences."""
    return [
        f"U+{ord(char):04X}"
        for index, char in enumerate(text)
        if (unicodedata.category(char) == "Cf" and not (char == ZWJ and is_emoji_joiner(text, index)))
        or (unicodedata.category(char) == "Cc" and char != "\n")
    ]


def assert_safe_for_slack(call: Call) -> None:
    """What one chat.postMessage carried: inert, honest links, within limits, nothing invisible."""
    args = call.args
    assert_within_block_kit_limits({"text": args["text"], "blocks": args["blocks"]})
    assert args.get("unfurl_links") is False and args.get("unfurl_media") is False
    assert not args.get("link_names") and args.get("parse") in (None, "none")
    assert "<" not in args["text"]  # the notification text holds no link and no mention at all
    for string in strings({"text": args["text"], "blocks": args["blocks"]}):
        assert not PINGS.search(string), string
        assert invisible_characters(string) == [], string
    for text in mrkdwn_texts(args["blocks"]):
        for target, label in LINK.findall(text):
            assert_label_is_its_target(html.unescape(target), html.unescape(label))


def assert_label_is_its_target(target: str, label: str) -> None:
    """A link shows where it leads (its address, perhaps cut with "…"), or is one of our own source names."""
    assert target.startswith(("https://", "http://")), target
    if label in SOURCE_NAMES:
        return
    address = re.sub(r"^https?://", "", unquote(target))
    assert address.startswith(unquote(label.removesuffix("…"))), (target, label)


# --- Invisible characters: matched and shown without them -------------------------------------------------------


async def test_invisible_characters_neither_hide_a_mention_nor_reach_the_card(
    start_bot: StartBot, slack: FakeSlack, feeds: FeedServer
) -> None:
    runtime = await start_bot("tramway")
    feeds.add("/news", rss([
        {"guid": "1", "title": "Le tram\u200bway de Caen\u2063 prolong\u00e9",
         "author": "\u202eJean\u202c Du\u2060pont", "description": "La ligne du tram\u034fway ouvre\ufeff en 2027."},
        {"guid": "2", "title": "Un tram\ufe0fway \u2066invisible\u2069", "author": "M\u00e9tropole\u200e",
         "description": "Rien d'autre."},
    ]))  # fmt: skip
    feeds.add(TAG_TIMELINE, json.dumps([
        status(1, "<p>Le tram\u2060way arrive \u00e0 l\u2019h\u00f4pital\u200b !</p>",
               name="Mai\u200bri\u200ce \u202eofficielle\u202c", spoiler="tram\u00adway"),
    ]), content_type="application/json")  # fmt: skip
    calls = await poll_and_wait(runtime, slack, 3)
    for call in calls:
        assert_safe_for_slack(call)
    news = [call.args for call in calls if call.args["channel"] == NEWS]
    fedi = [call.args for call in calls if call.args["channel"] == FEDI]
    assert len(news) == 2 and len(fedi) == 1
    shown = json.dumps([call.args["blocks"] for call in calls], ensure_ascii=False)
    for visible in ("Le tramway de Caen prolongé", "Jean Dupont", "La ligne du tram\u034fway ouvre en 2027.",
                    "Un tram\ufe0fway invisible", "Le tramway arrive à l’hôpital !", "Mairie officielle", "*tramway*"):
        assert visible in shown, visible
    stored = [runtime.services.store.mention(mention_id) for (mention_id,) in
              sql(runtime.services.store).execute("select id from mentions").fetchall()]
    assert len(stored) == 3
    assert all(invisible_characters(field) == [] for m in stored for field in (m.title, m.text, m.author_name))


# --- Hostile strings ----------------------------------------------------------------------------------------------

MASS_MENTIONS = "<!channel> <!here> <!everyone> <@U123> <#C123> <!subteam^S1> <!date^1392734382^{date}|x>"
SPOOFED_LINKS = "<https://evil.example|bank.fr> [bank.fr](https://evil.example) <https://evil.example> *bold* `code`"
LONG = "tramway " + "x" * 5000
BIDI = "\u202egnp.exe\u202c \u2066\u2067admin\u2069\u2069 \u200fعلي\u200e"


def hostile_feed_items() -> list[dict[str, str]]:
    return [
        {"guid": "mass", "title": f"tramway {MASS_MENTIONS}", "author": MASS_MENTIONS, "description": MASS_MENTIONS},
        {"guid": "links", "title": f"tramway {SPOOFED_LINKS}", "author": "<https://evil.example|Mairie>",
         "description": SPOOFED_LINKS, "link": "https://evil.example/login?next=https://bank.fr|bank.fr"},
        {"guid": "bidi", "title": f"tramway {BIDI}", "author": f"\u202eeirieM\u202c {BIDI}", "description": BIDI,
         "link": "https://news.example/\u202egnp.exe"},
        {"guid": "long", "title": LONG, "author": "A" * 5000, "description": LONG * 3},
        {"guid": "emoji", "title": "🚋🚋🚋", "author": "👨\u200d👩\u200d👧",
         "description": "🏳\ufe0f\u200d🌈 🧑🏽\u200d💻"},
        {"guid": "rtl", "title": "ترامواي كان", "author": "שלום עליכם", "description": "مرحبا بالعالم ‏tramway‏"},
    ]  # fmt: skip


def hostile_statuses() -> list[dict[str, Any]]:
    escaped = html.escape
    return [
        status(1, f"<p>{escaped(MASS_MENTIONS)}</p>", name=MASS_MENTIONS, spoiler="<@U123> <#C123>"),
        status(2, f'<p><a href="https://evil.example">https://bank.fr</a> {escaped(SPOOFED_LINKS)}</p>',
               name="<https://evil.example|Mairie>", url="https://evil.example/@x/2|https://bank.fr"),
        status(3, f"<p>{BIDI}</p>", name=f"\u202eeirieM\u202c{BIDI}", spoiler=BIDI),
        status(4, f"<p>{'x' * 5000}</p>", name="N" * 5000, spoiler="S" * 5000),
        status(5, "<p>nul\u0000 bell\u0007 escape\u001b[31m red del\u007f c1\u0085\u009b</p>",
               name="Mal\u0000lory\u0008\u001b[2J", spoiler="tab\there\u000bvertical"),
        status(6, "<p>🚋 👨\u200d👩\u200d👧 🏳\ufe0f\u200d🌈</p>", name="🚋"),
    ]  # fmt: skip


async def test_hostile_strings_from_a_feed_and_an_api_reach_slack_inert_within_limits_and_visible(
    start_bot: StartBot, slack: FakeSlack, feeds: FeedServer
) -> None:
    runtime = await start_bot("site:news.example OR site:evil.example OR site:example.social")
    feeds.add("/news", rss(hostile_feed_items()))
    feeds.add(TAG_TIMELINE, json.dumps(hostile_statuses()), content_type="application/json")
    calls = await poll_and_wait(runtime, slack, 12)
    assert len([call for call in calls if call.args["channel"] == NEWS]) == 6
    assert len([call for call in calls if call.args["channel"] == FEDI]) == 6
    for call in calls:
        assert call.response["ok"], call.response
        assert_safe_for_slack(call)
    shown = json.dumps([call.args for call in calls], ensure_ascii=False)
    # Hostile text is shown as text, not dropped: escaped mentions, links as typed, emoji and RTL intact.
    for visible in ("&lt;!channel&gt;", "&lt;https://evil.example|bank.fr&gt;", "[bank.fr](https://evil.example)",
                    "gnp.exe", "🚋🚋🚋", "👨\u200d👩\u200d👧", "🏳\ufe0f\u200d🌈", "ترامواي كان", "שלום עליכם",
                    "nul bell escape[31m red del", "Mallory[2J"):
        assert visible in shown, visible
