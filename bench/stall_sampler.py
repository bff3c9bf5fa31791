"""Which of the bot's functions held the loop: LoopMonitor's longest holds, each with where the loop thread was.

LoopMonitor names the callback that held the loop ("task Poller.poll"), which is too coarse to fix anything by. A
thread samples the loop thread's stack every few milliseconds and keeps the innermost frame of the bot's own code
(not a library's, not the benchmark's; a library's own when the bot's code is not on the stack); each hold of
`explain_over` seconds or more keeps the samples taken while it ran. For benchmarks only.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType, TracebackType

from loop_monitor import Hold, LoopMonitor

ROOT = Path(__file__).resolve().parent.parent
NOT_THE_BOT = (ROOT / "bench", ROOT / "tests")
SAMPLE_EVERY = 0.005


def where(frame: FrameType) -> str:
    """The innermost frame of the bot's own code in a stack, as "file.py:function"; without one (a library's
    callback), the innermost frame, as "folder/file.py:function"."""
    innermost = frame
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(ROOT) and "site-packages" not in path.parts and not any(
            path.is_relative_to(folder) for folder in NOT_THE_BOT
        ):
            return f"{path.relative_to(ROOT)}:{frame.f_code.co_name}"
        frame = frame.f_back
    return f"{'/'.join(Path(innermost.f_code.co_filename).parts[-2:])}:{innermost.f_code.co_name}"


class SampledLoopMonitor(LoopMonitor):
    """`with SampledLoopMonitor() as monitor:` ... then `monitor.explain(hold)` for any of `monitor.top(n)`."""

    def __init__(self, keep: int = 20, explain_over: float = 0.05) -> None:
        super().__init__(keep)
        self.explain_over = explain_over
        self._samples: list[tuple[float, str]] = []
        self._windows: dict[float, tuple[float, float]] = {}  # a hold's seconds -> when it began and ended
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SampledLoopMonitor:
        loop_thread = threading.get_ident()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, args=(loop_thread,), name="stall-sampler", daemon=True)
        self._thread.start()
        super().__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        super().__exit__(kind, error, traceback)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _sample(self, loop_thread: int) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            frame = sys._current_frames().get(loop_thread)
            if frame is not None:
                self._samples.append((time.perf_counter(), where(frame)))

    def _record(self, seconds: float, handle: object) -> None:
        super()._record(seconds, handle)  # type: ignore[arg-type]
        if seconds >= self.explain_over:
            end = time.perf_counter()
            self._windows[seconds] = (end - seconds, end)

    def reset(self) -> None:
        super().reset()
        self._samples.clear()
        self._windows.clear()

    def explain(self, hold: Hold, count: int = 3) -> str:
        """The bot's functions the loop thread was seen in during `hold`, the most seen first, with their share."""
        start, end = self._windows.get(hold.seconds, (0.0, -1.0))
        seen = Counter(where for moment, where in self._samples if start <= moment <= end)
        total = sum(seen.values())
        return ", ".join(f"{where} {100 * times / total:.0f}%" for where, times in seen.most_common(count))
