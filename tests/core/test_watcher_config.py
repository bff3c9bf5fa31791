from pathlib import Path

import pytest

from veilleur.core.mentions import Mention
from veilleur.core.watcher_config import (
    WatcherFieldError,
    WatchersFileError,
    load_routes_file,
    load_watchers_file,
    parse_interval,
    parse_routes,
    parse_watchers,
)

SOURCES = {"rss", "mastodon"}
GOOD = {"name": "caen-tram", "source": "rss", "url": "https://e.fr/feed.xml", "query": "tram", "channel": "C0123456"}


def test_a_complete_watcher_is_parsed() -> None:
    (watcher,), problems = parse_watchers([GOOD | {"interval": "15m", "backfill": 3, "options": {"k": 1}}], SOURCES)
    assert problems == []
    assert watcher.name == "caen-tram" and watcher.interval == 900 and watcher.backfill == 3
    assert watcher.options == {"k": 1}
    assert watcher.interval == 900


@pytest.mark.parametrize(
    ("change", "field", "hint"),
    [
        ({"name": "bad name!"}, "name", "letters"),
        ({"source": "twitter"}, "source", "rss"),
        ({"query": "(tram"}, "query", "parenthes"),
        ({"query": ""}, "query", "required"),
        ({"channel": "#general"}, "channel", "C0123456789"),
        ({"url": "ftp://x"}, "url", "http"),
        ({"url": None}, "url", "feed"),
        ({"interval": "5 minutes"}, "interval", "5m"),
        ({"interval": "10s"}, "interval", "at least"),
        ({"backfill": -1}, "backfill", "0 to 100"),
        ({"options": "x"}, "options", "table"),
        ({"token": "secret"}, "token", "options"),
        ({"subject": 3}, "subject", "text in quotes"),
        ({"subject": "le tram " * 30}, "subject", "at most 200 characters"),
    ],
)
def test_a_bad_entry_names_its_field_and_the_others_still_load(change: dict, field: str, hint: str) -> None:
    bad = {key: value for key, value in (GOOD | {"name": "broken"} | change).items() if value is not None}
    watchers, (problem,) = parse_watchers([GOOD, bad], SOURCES)
    assert [w.name for w in watchers] == ["caen-tram"]
    assert problem.field == field
    assert hint.lower() in problem.message.lower()
    assert str(problem).startswith(f"watcher {bad.get('name', '#2')!r}, field {field!r}")


def test_a_subject_is_kept_on_one_line_and_optional() -> None:
    (with_subject, without, blank), problems = parse_watchers([
        GOOD | {"subject": "  le projet\nde tramway "},
        GOOD | {"name": "other"},
        GOOD | {"name": "blank", "subject": "  "},
    ], SOURCES)
    assert problems == []
    assert with_subject.subject == "le projet de tramway"
    assert without.subject is None and blank.subject is None


def test_duplicate_names_are_refused() -> None:
    watchers, (problem,) = parse_watchers([GOOD, GOOD], SOURCES)
    assert len(watchers) == 1 and problem.field == "name" and "unique" in problem.message


@pytest.mark.parametrize(("raw", "seconds"), [("90s", 90), ("5m", 300), ("1h", 3600), ("1d", 86400), (120, 120)])
def test_intervals(raw: object, seconds: int) -> None:
    assert parse_interval(raw) == seconds


@pytest.mark.parametrize("raw", ["", "m5", "1.5h", True, -5])
def test_bad_intervals(raw: object) -> None:
    with pytest.raises(WatcherFieldError):
        parse_interval(raw)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(WatchersFileError, match="does not exist"):
        load_watchers_file(tmp_path / "missing.toml", SOURCES)
    broken = tmp_path / "broken.toml"
    broken.write_text("[[watcher]\nname = ")
    with pytest.raises(WatchersFileError, match="not valid TOML"):
        load_watchers_file(broken, SOURCES)
    single = tmp_path / "single.toml"
    single.write_text('[watcher]\nname = "x"\n')
    with pytest.raises(WatchersFileError, match=r"\[\[watcher\]\]"):
        load_watchers_file(single, SOURCES)


def test_example_file_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "watchers.example.toml"
    watchers, problems = load_watchers_file(example, SOURCES)
    assert problems == [] and len(watchers) >= 2
    # It runs as shipped: real public sources that need no credentials, no placeholder addresses.
    for watcher in watchers:
        address = watcher.url or watcher.base_url or ""
        assert address.startswith("https://") and "example" not in address, watcher.name
        assert watcher.source in ("rss", "mastodon", "hackernews"), watcher.name


def route_mention(text: str) -> Mention:
    return Mention(source="rss", external_id="1", url="https://e.fr/1", text=text)


def test_routes_match_by_watcher_and_by_query() -> None:
    tables = [
        {"name": "transport", "query": "tram OR transport", "officials": ["U0TRANSPORT"]},
        {"name": "caen", "watchers": ["caen-tram"], "officials": ["U0CAEN", "U0CAEN"]},
        {"name": "both", "watchers": ["caen-tram"], "query": "accident", "officials": ["U0SAFETY"]},
    ]
    (transport, caen, both), problems = parse_routes(tables, {"caen-tram", "other"})
    assert problems == []
    assert caen.officials == ("U0CAEN",)
    assert transport.matches("other", route_mention("Le tram est en retard"))
    assert not transport.matches("other", route_mention("La piscine ferme"))
    assert caen.matches("caen-tram", route_mention("La piscine ferme"))
    assert not caen.matches("other", route_mention("tram"))
    # both conditions given: both must hold
    assert both.matches("caen-tram", route_mention("un accident de tram"))
    assert not both.matches("other", route_mention("un accident de tram"))
    assert not both.matches("caen-tram", route_mention("un retard"))


@pytest.mark.parametrize(
    ("change", "field", "hint"),
    [
        ({"officials": []}, "officials", "required"),
        ({"officials": ["@marie"]}, "officials", "U0123ABCD"),
        ({"officials": "U0123ABCD"}, "officials", "list"),
        ({"query": "(tram"}, "query", "parenthes"),
        ({"query": None, "watchers": ["nope"]}, "watchers", "nope"),
        ({"query": None}, "query", "something to match"),
        ({"channel": "C0123"}, "channel", "known fields"),
    ],
)
def test_a_bad_route_names_its_field_and_the_others_still_load(change: dict, field: str, hint: str) -> None:
    good = {"name": "good", "query": "tram", "officials": ["U0123ABCD"]}
    bad = {key: value for key, value in (good | {"name": "broken"} | change).items() if value is not None}
    routes, (problem,) = parse_routes([good, bad], {"caen-tram"})
    assert [route.name for route in routes] == ["good"]
    assert problem.field == field and hint.lower() in problem.message.lower()
    assert str(problem).startswith(f"route 'broken', field {field!r}")


def test_routes_are_read_from_the_watchers_file(tmp_path: Path) -> None:
    path = tmp_path / "watchers.toml"
    path.write_text(
        '[[watcher]]\nname = "caen-tram"\nsource = "rss"\nurl = "https://e.fr/feed"\nquery = "tram"\n'
        'channel = "C0123"\n\n[[route]]\nwatchers = ["caen-tram"]\nofficials = ["U0123ABCD"]\n\n'
        '[[route]]\nquery = "x"\nofficials = ["nobody"]\n'
    )
    (route,), (problem,) = load_routes_file(path)
    assert route.name == "#1" and route.watchers == frozenset({"caen-tram"})
    assert str(problem).startswith("route '#2', field 'officials'")
