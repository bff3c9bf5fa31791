"""The command line as an operator runs it: the real `bot.py` as a child process, with an environment that points
it at the fakes.

`run_cli` runs one command to its end and gives (exit code, stdout, stderr); `BotProcess` is the process itself,
to kill at any moment. A watchdog thread reads the process's peak resident memory (`VmHWM`, a high-water mark, so a
peak between two readings still counts) every VALVE_EVERY seconds, and kills it past `MEMORY_VALVE`, so a memory
bomb that gets through fails the test instead of exhausting the machine. Not `ru_maxrss` from `wait4`: Linux carries
the parent's peak into a child across fork and exec, so it would report the test process's own size.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.slack_api import FakeSlack

BOT = Path(__file__).resolve().parents[2] / "bot.py"
MEMORY_VALVE = 1024 * 1024 * 1024
VALVE_EVERY = 0.02


def env_for(workdir: Path, slack: FakeSlack | None, **extra: str) -> dict[str, str]:
    """The environment of a bot with its database and watchers file in `workdir`, posting to the fake Slack (None:
    no Slack token), without the Slack and OpenAI settings of the environment the tests run in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_"))}
    env.update(
        DATABASE_PATH=str(workdir / "veilleur.db"),
        WATCHERS_FILE=str(workdir / "watchers.toml"),
        LOG_LEVEL="WARNING",
    )
    if slack is not None:
        env.update(SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=slack.api_url)
    env.update(extra)
    return env


@dataclass(frozen=True)
class Finished:
    """How a bot process ended: its exit code (-9 when killed), output, peak resident memory and duration."""

    code: int
    out: str
    err: str
    peak_rss_mb: float
    seconds: float
    timed_out: bool
    valve_tripped: bool

    @property
    def output(self) -> str:
        return self.out + self.err

    def describe(self) -> str:
        return (
            f"exit {self.code} after {self.seconds:.1f}s, peak RSS {self.peak_rss_mb:.0f} MB"
            + (", killed: over the time allowed" if self.timed_out else "")
            + (f", killed: over {MEMORY_VALVE >> 20} MB" if self.valve_tripped else "")
            + f"\n--- stdout\n{self.out[-3000:]}\n--- stderr\n{self.err[-3000:]}"
        )


class BotProcess:
    """`python bot.py <args>` in `workdir`: start it, kill it with SIGKILL at any moment, or wait for its end."""

    def __init__(self, workdir: Path, env: dict[str, str], *args: str) -> None:
        self.workdir, self.env, self.args = workdir, env, args
        self.pid = 0
        self.valve_tripped = False
        self._out = _scratch_file()
        self._err = _scratch_file()
        self._exited = threading.Event()
        self._ended: asyncio.Future[tuple[int, float]] | None = None
        self._started_at = 0.0
        self._popen: subprocess.Popen[bytes] | None = None
        self._peak_kb = 0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._ended = loop.create_future()
        self._started_at = time.monotonic()
        self._popen = subprocess.Popen(
            [sys.executable, str(BOT), *self.args], cwd=self.workdir, env=self.env, stdout=self._out,
            stderr=self._err, stdin=subprocess.DEVNULL,
        )
        self.pid = self._popen.pid
        threading.Thread(target=self._reap, args=(loop, self._ended), daemon=True).start()
        threading.Thread(target=self._watch_memory, daemon=True).start()

    @property
    def running(self) -> bool:
        return self.pid != 0 and not self._exited.is_set()

    def kill(self) -> bool:
        """SIGKILL now; True if the process was still running (a real kill, not a process already done)."""
        if not self.running:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        return True

    async def ended(self) -> None:
        """Return once the process has ended, whatever ended it."""
        assert self._ended is not None, "start() first"
        await asyncio.shield(self._ended)

    async def finished(self, within: float) -> Finished:
        """Wait for the end (killing the process after `within` seconds) and read what it printed."""
        assert self._ended is not None, "start() first"
        timed_out = False
        try:
            code, seconds = await asyncio.wait_for(asyncio.shield(self._ended), within)
        except TimeoutError:
            timed_out = self.kill()
            code, seconds = await self._ended
        return Finished(code, _read_and_close(self._out), _read_and_close(self._err), self._peak_kb / 1024, seconds,
                        timed_out, self.valve_tripped)

    def _reap(self, loop: asyncio.AbstractEventLoop, ended: asyncio.Future[tuple[int, float]]) -> None:
        _, status = os.waitpid(self.pid, 0)
        self._exited.set()
        result = (os.waitstatus_to_exitcode(status), time.monotonic() - self._started_at)
        if self._popen is not None:
            self._popen.returncode = result[0]  # reaped here, not by Popen
        with contextlib.suppress(RuntimeError):  # the test's loop is gone: nobody is waiting any more
            loop.call_soon_threadsafe(lambda: ended.done() or ended.set_result(result))

    def _watch_memory(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._exited.is_set():
            try:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            except OSError:  # gone, or a zombie about to be reaped
                return
            if "VmHWM" in fields:  # absent once the process is a zombie
                self._peak_kb = max(self._peak_kb, int(fields["VmHWM"].split()[0]))
            if int(fields.get("VmRSS", "0 kB").split()[0]) * 1024 > MEMORY_VALVE and self.kill():
                self.valve_tripped = True
                return
            self._exited.wait(VALVE_EVERY)


def _scratch_file() -> int:
    """A file descriptor on a nameless temporary file, for a child's output."""
    descriptor, path = tempfile.mkstemp(prefix="veilleur-bot-")
    os.unlink(path)
    return descriptor


def _read_and_close(descriptor: int) -> str:
    os.lseek(descriptor, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(descriptor, 1 << 20):
        chunks.append(chunk)
    os.close(descriptor)
    return b"".join(chunks).decode(errors="replace")


async def run_bot(workdir: Path, env: dict[str, str], *args: str, within: float = 60) -> Finished:
    """Run `bot.py <args>` to its end (at most `within` seconds; killed if the caller is cancelled first)."""
    process = BotProcess(workdir, env, *args)
    process.start()
    try:
        return await process.finished(within)
    finally:
        process.kill()


async def run_cli(workdir: Path, env: dict[str, str], *args: str, within: float = 60) -> tuple[int, str, str]:
    """`bot.py <args>` run to its end: exit code, stdout, stderr. Past `within` seconds it is killed and the test
    fails with the output so far."""
    finished = await run_bot(workdir, env, *args, within=within)
    assert not finished.timed_out and not finished.valve_tripped, finished.describe()
    return finished.code, finished.out, finished.err
