import io
import json
import logging
from collections.abc import Iterator

import pytest

from veilleur.core.logs import configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    ours = {name: logging.getLogger(name).level for name in ("veilleur", "httpx")}
    yield
    root.handlers[:], root.level = handlers, level
    for name, saved in ours.items():
        logging.getLogger(name).setLevel(saved)


def lines_logged(level: str, log_format: str = "text") -> list[str]:
    stream = io.StringIO()
    configure_logging(level, log_format, stream)
    logging.getLogger("httpx").info("HTTP Request: GET https://example.org/feed")
    logging.getLogger("apscheduler.executors.default").info("Job executed successfully")
    logging.getLogger("httpx").warning("connection pool full")
    logging.getLogger("veilleur.runtime").info("polling 3 watchers")
    return stream.getvalue().splitlines()


def test_other_libraries_log_only_warnings_at_info() -> None:
    lines = lines_logged("INFO")
    assert [line.split(" ", 2)[-1] for line in lines] == [
        "WARNING httpx: connection pool full",
        "INFO veilleur.runtime: polling 3 watchers",
    ]


def test_debug_brings_every_library_back() -> None:
    assert len(lines_logged("DEBUG")) == 4


def test_warning_silences_our_info_lines_too() -> None:
    assert [line.split(" ", 2)[-1] for line in lines_logged("WARNING")] == ["WARNING httpx: connection pool full"]


def test_json_is_one_object_per_line() -> None:
    records = [json.loads(line) for line in lines_logged("INFO", "json")]
    assert [(r["level"], r["logger"], r["message"]) for r in records] == [
        ("WARNING", "httpx", "connection pool full"),
        ("INFO", "veilleur.runtime", "polling 3 watchers"),
    ]
    assert all(record["time"] for record in records)
