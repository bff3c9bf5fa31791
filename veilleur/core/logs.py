"""Logging for operators: our own lines at LOG_LEVEL, other libraries' only when they warn, as text or JSON.

At INFO, httpx logs every request, APScheduler every job run and aiohttp every Slack request: hundreds of lines
an hour that hide the few that matter. They come back with LOG_LEVEL=DEBUG. LOG_FORMAT=json writes one JSON
object per line for log collectors (journald, Loki, a container platform).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

# The loggers of this project (module names; bot.py run as a script logs as __main__).
OUR_LOGGERS = ("veilleur", "handlers", "watchers", "bot", "__main__")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str, log_format: str = "text", stream: TextIO | None = None) -> None:
    """Send every log line to `stream` (standard error by default) in `log_format` ("text" or "json")."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if level == "DEBUG" else max(logging.WARNING, logging.getLevelName(level)))
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(level)
