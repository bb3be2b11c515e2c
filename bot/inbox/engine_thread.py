"""The engine's own thread, with its own event loop (and, in `bot.server`, its own SQLite
connection), so the engine's CPU work never holds the event loop that acknowledges
platform requests: an ack waits for its inbox commit, not behind other messages' answers.

Python's GIL still lets one thread run at a time; the acknowledging loop gets it back at
the latest after `SWITCH_INTERVAL_S` (set while this thread runs), where before it waited
for whole messages' engine work (~3 ms each, two lanes of them)."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

SWITCH_INTERVAL_S = 0.001
"""How long a thread holding the GIL runs before a waiting one may take it (Python's
default is 5 ms; the acknowledging loop needs it back within an ack's budget)."""


class EngineThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="engine", daemon=True)
        self._switch = sys.getswitchinterval()

    def start(self) -> None:
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def call(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the engine's loop and wait for its result (from another loop)."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))

    def submit(self, work: Coroutine[Any, Any, object]) -> None:
        """Run `work` on the engine's loop without waiting for it."""
        asyncio.run_coroutine_threadsafe(work, self.loop)

    def call_soon(self, callback: Any, *args: Any) -> None:
        self.loop.call_soon_threadsafe(callback, *args)

    def stop(self) -> None:
        """Stop the loop (after the caller drained it) and the thread."""
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
        self.loop.close()
        sys.setswitchinterval(self._switch)
