"""A FeedServer in a second process, as a remote site would be, so a benchmark measures the bot and not the
server sharing its event loop."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tests.support.feed_server import FeedServer

Setup = Callable[[FeedServer], None]


@contextmanager
def playback_server(setup: Setup) -> Iterator[str]:
    """Start a FeedServer whose routes `setup` adds (a module-level function or a partial of one); yield its URL."""
    ports: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    process = multiprocessing.Process(target=_serve, args=(setup, ports, stop), daemon=True)
    process.start()
    try:
        yield f"http://127.0.0.1:{ports.get(timeout=60)}"
    finally:
        stop.set()
        process.join(timeout=5)


def _serve(setup: Setup, ports: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    async def main() -> None:
        server = FeedServer()
        setup(server)
        await server.start()
        ports.put(server.port)
        await asyncio.to_thread(stop.wait)
        await server.stop()

    asyncio.run(main())
