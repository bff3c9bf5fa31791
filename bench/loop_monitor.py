"""How long the asyncio loop is held: every callback timed, the longest ones kept with what ran.

A person feels a held loop as a late Slack ack or a late card, so the benchmarks report the longest holds, not
averages. `LoopMonitor` wraps `asyncio.Handle._run` (the one place every callback and task step goes through) for
as long as it is installed; it costs about a microsecond per callback and is meant for benchmarks only.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from dataclasses import dataclass, field
from types import TracebackType


@dataclass(order=True)
class Hold:
    seconds: float
    what: str = field(compare=False)


class LoopMonitor:
    """`with LoopMonitor() as monitor: ...` then `monitor.longest`, `monitor.top(5)`, `monitor.count_over(0.05)`."""

    def __init__(self, keep: int = 20) -> None:
        self.keep = keep
        self._top: list[tuple[float, int, Hold]] = []
        self._counter = itertools.count()
        self._over: list[float] = []
        self._original = asyncio.events.Handle._run

    def __enter__(self) -> LoopMonitor:
        original = self._original
        monitor = self

        def timed_run(handle: asyncio.events.Handle) -> None:
            start = time.perf_counter()
            try:
                original(handle)
            finally:
                monitor._record(time.perf_counter() - start, handle)

        asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]

    def _record(self, seconds: float, handle: asyncio.events.Handle) -> None:
        if seconds >= 0.01:
            self._over.append(seconds)
        if len(self._top) < self.keep or seconds > self._top[0][0]:
            entry = (seconds, next(self._counter), Hold(seconds, _describe(handle)))
            if len(self._top) < self.keep:
                heapq.heappush(self._top, entry)
            else:
                heapq.heapreplace(self._top, entry)

    def reset(self) -> None:
        self._top.clear()
        self._over.clear()

    @property
    def longest(self) -> float:
        return max((seconds for seconds, _, _ in self._top), default=0.0)

    def top(self, count: int = 5) -> list[Hold]:
        return [hold for _, _, hold in sorted(self._top, reverse=True)[:count]]

    def count_over(self, seconds: float) -> int:
        return sum(1 for held in self._over if held > seconds)


def _describe(handle: asyncio.events.Handle) -> str:
    """The task's coroutine (where it is now) or the callback, short enough to print in a table."""
    callback = getattr(handle, "_callback", None)
    task = getattr(callback, "__self__", None)
    if isinstance(task, asyncio.Task):
        coro = task.get_coro()
        frame = getattr(coro, "cr_frame", None)
        where = f" at {frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno}" if frame else ""
        return f"task {getattr(coro, '__qualname__', type(coro).__name__)}{where}"
    # Never repr() the callback: that reprs the object it is bound to, and some reprs have side effects (an aiohttp
    # response's repr reads its headers before they are parsed, breaking the request).
    function = getattr(callback, "__func__", callback)
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', type(function).__name__)}"
