"""The optional `[[author]]` tables of the watchers file: who is a journalist, an elected official, the opposition,
a known troll."""

from pathlib import Path

import pytest

from veilleur.core.watcher_config import (
    AuthorLabel,
    WatchersFileError,
    load_authors_file,
    load_watchers_file,
    parse_authors,
)

SOURCES = ("rss", "mastodon", "bluesky")


def test_authors_are_read_from_the_watchers_file_next_to_the_watchers(tmp_path: Path) -> None:
    path = tmp_path / "watchers.toml"
    path.write_text(
        '[[watcher]]\nname = "w"\nsource = "rss"\nurl = "https://n.example/feed"\nquery = "tram"\n'
        'channel = "C0123"\n\n'
        '[[author]]\nhandle = "@rita@mastodon.social"\nsource = "mastodon"\nlabels = ["journalist"]\n\n'
        '[[author]]\nname = "Jean Dupont"\nlabels = ["elected", "opposition", "elected"]\n\n'
        '[[author]]\nhandle = "@x"\nlabels = ["celebrity"]\n'
    )
    authors, problems = load_authors_file(path, SOURCES)
    assert authors == [
        AuthorLabel(labels=("journalist",), handle="@rita@mastodon.social", source="mastodon"),
        AuthorLabel(labels=("elected", "opposition"), name="Jean Dupont"),
    ]
    (problem,) = problems
    assert str(problem) == (
        "author '@x', field 'labels': expected a list of journalist, elected, media, institution, opposition, troll,"
        " got ['celebrity']"
    )
    configs, watcher_problems = load_watchers_file(path, SOURCES)
    assert [config.name for config in configs] == ["w"] and watcher_problems == []


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"labels": ["troll"]}, "handle"),
        ({"handle": "@a", "labels": []}, "labels"),
        ({"handle": "@a", "labels": "troll"}, "labels"),
        ({"handle": "@a", "labels": ["troll"], "source": "myspace"}, "source"),
        ({"handle": "@a", "labels": ["troll"], "reach": 10}, "reach"),
        ({"handle": 12, "labels": ["troll"]}, "handle"),
    ],
)
def test_bad_author_entries_name_the_field(table: dict, field: str) -> None:
    authors, (problem,) = parse_authors([table], SOURCES)
    assert authors == [] and problem.field == field and problem.kind == "author"


def test_a_file_without_authors_has_none(tmp_path: Path) -> None:
    (tmp_path / "watchers.toml").write_text("")
    assert load_authors_file(tmp_path / "watchers.toml", SOURCES) == ([], [])


@pytest.mark.parametrize(
    ("source", "handle", "name", "matches"),
    [
        ("mastodon", "rita@mastodon.social", "", True),
        ("mastodon", "@RITA@mastodon.social", "Rita", True),
        ("bluesky", "rita@mastodon.social", "", False),  # the label is for one source
        ("mastodon", "rita", "", False),
    ],
)
def test_handles_match_without_case_or_leading_at(source: str, handle: str, name: str, matches: bool) -> None:
    label = AuthorLabel(labels=("journalist",), handle="@rita@mastodon.social", source="mastodon")
    assert label.matches(source, handle, name) is matches


def test_names_match_on_any_source_without_case() -> None:
    label = AuthorLabel(labels=("elected",), name="Jean Dupont")
    assert label.matches("rss", "", "jean dupont") and label.matches("slack", "U1", "Jean Dupont")
    assert not label.matches("rss", "jdupont", "")


def test_media_and_institution_are_labels_too() -> None:
    authors, problems = parse_authors(
        [{"handle": "@ouest", "labels": ["media"]}, {"name": "Préfecture", "labels": ["institution"]}], SOURCES
    )
    assert problems == [] and [author.labels for author in authors] == [("media",), ("institution",)]


@pytest.mark.parametrize("labels", [["troll"], ["opposition"], ["elected", "opposition"]])
def test_the_public_body_profile_refuses_a_label_that_is_not_a_public_role(labels: list[str]) -> None:
    tables = [{"handle": "@ann", "labels": ["journalist"]}, {"handle": "@jean", "labels": labels}]
    assert parse_authors(tables, SOURCES)[1] == []  # the standard profile takes it
    with pytest.raises(WatchersFileError) as raised:
        parse_authors(tables, SOURCES, public_roles_only=True)
    line = str(raised.value)
    assert line.startswith("author '@jean', field 'labels':") and "PRIVACY_PROFILE=public-body" in line
    assert "elected, journalist, media, institution" in line and "\n" not in line


def test_the_public_body_profile_keeps_public_roles_and_stops_at_any_other_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "watchers.toml"
    path.write_text(
        '[[author]]\nname = "Jean Dupont"\nlabels = ["elected"]\n\n'
        '[[author]]\nhandle = "@rita@mastodon.social"\nlabels = ["journalist", "media"]\n\n'
        '[[author]]\nhandle = "@bad"\nlabels = ["journalist"]\nreach = 3\n'
    )
    authors, (problem,) = load_authors_file(path, SOURCES, public_roles_only=True)
    assert [author.name or author.handle for author in authors] == ["Jean Dupont", "@rita@mastodon.social"]
    assert problem.field == "reach"  # any other mistake leaves the table out, as in the standard profile
    with path.open("a") as file:
        file.write('\n[[author]]\nhandle = "@x"\nlabels = ["troll"]\n')
    with pytest.raises(WatchersFileError) as raised:
        load_authors_file(path, SOURCES, public_roles_only=True)
    assert str(raised.value).startswith(f"WATCHERS_FILE {str(path)!r}: author '@x', field 'labels': 'troll' is not")
