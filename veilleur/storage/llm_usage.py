"""Tokens spent per LLM request (see assist/llm.py): what the daily budget counts, and an audit of use."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from veilleur.storage.store import Store, iso, utcnow


class UsageLedger:
    """Tokens per request in the `llm_usage` table, counted per day in the bot's time zone."""

    def __init__(self, store: Store, tz: ZoneInfo) -> None:
        self._db = store._db
        self.tz = tz

    def record(
        self,
        *,
        task: str,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        outcome: str,
        seconds: float,
        now: datetime | None = None,
    ) -> None:
        moment = now or utcnow()
        with self._db.atomic():
            self._db["llm_usage"].insert(
                {
                    "at": iso(moment),
                    "day": moment.astimezone(self.tz).date().isoformat(),
                    "task": task,
                    "model": model,
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                    "outcome": outcome,
                    "seconds": round(seconds, 3),
                }
            )

    def spent_today(self, now: datetime | None = None) -> int:
        day = (now or utcnow()).astimezone(self.tz).date().isoformat()
        row = next(self._db.query("select coalesce(sum(total_tokens), 0) as n from llm_usage where day = ?", [day]))
        return int(row["n"])
