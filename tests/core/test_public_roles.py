"""Reading a team's CSV of public roles: bad rows by line number, the rest kept; the merge with [[author]] tables."""

import pytest

from veilleur.core.public_roles import PublicRole, RolesFileError, parse_public_roles, with_imported_roles
from veilleur.core.watcher_config import AuthorLabel

SOURCES = {"mastodon", "bluesky", "rss"}


def test_rows_are_read_whatever_the_column_order_and_handles_are_normalised() -> None:
    text = "Name,Role,Source,Handle\nAnn Maire,elected,mastodon,@Ann@Mairie.example\nLe Progrès,media,rss,\n"
    roles, problems = parse_public_roles(text, SOURCES)
    assert problems == []
    assert roles == [
        PublicRole(handle="ann@mairie.example", source="mastodon", role="elected", name="Ann Maire"),
        PublicRole(handle="", source="rss", role="media", name="Le Progrès"),
    ]


def test_a_bad_row_is_reported_by_its_line_and_the_others_are_kept() -> None:
    text = (
        "handle,source,role,name\n"
        "ann,mastodon,elected,Ann\n"
        "bob,myspace,journalist,Bob\n"  # line 3: unknown source
        "carl,bluesky,troll,Carl\n"  # line 4: not a public role
        ",bluesky,media,\n"  # line 5: nobody
        "dora,bluesky,Journalist,Dora\n"
    )
    roles, problems = parse_public_roles(text, SOURCES)
    assert [role.handle for role in roles] == ["ann", "dora"]
    assert [problem.line for problem in problems] == [3, 4, 5]
    assert "myspace" in problems[0].message
    assert "'troll'" in problems[1].message and "public roles only" in problems[1].message
    assert "handle, name" in problems[2].message


@pytest.mark.parametrize("role", ["opposition", "troll", ""])
def test_only_public_roles_can_be_imported(role: str) -> None:
    roles, problems = parse_public_roles(f"handle,source,role,name\nann,mastodon,{role},Ann\n", SOURCES)
    assert roles == [] and [p.line for p in problems] == [2]


def test_a_quoted_cell_spanning_lines_keeps_later_line_numbers_right() -> None:
    text = 'handle,source,role,name\nann,mastodon,elected,"Ann\nMaire"\nbob,nowhere,media,Bob\n'
    roles, problems = parse_public_roles(text, SOURCES)
    assert roles[0].name == "Ann Maire"
    assert [p.line for p in problems] == [4]


def test_a_file_without_the_needed_header_is_refused_whole() -> None:
    with pytest.raises(RolesFileError, match="missing: role"):
        parse_public_roles("handle,source,name\nann,mastodon,Ann\n", SOURCES)


def test_an_imported_role_wins_over_a_table_naming_the_same_author() -> None:
    tables = [
        AuthorLabel(labels=("journalist",), handle="@ann", source="mastodon"),
        AuthorLabel(labels=("media",), handle="bob"),
    ]
    imported = [PublicRole(handle="ann", source="mastodon", role="elected", name="Ann")]
    merged = with_imported_roles(tables, imported)
    assert [(label.handle, label.labels) for label in merged] == [("ann", ("elected",)), ("bob", ("media",))]
