"""One LISTEN connection per API process, waking every event stream of a run when its log grows.

The notification only wakes; each stream then reads the log (app.run_events) from its last event id, so
a notification lost while the listener reconnects costs latency (the streams' periodic re-read), not events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterator

import psycopg

from context.run_log import LOG_CHANNEL, LoggedEvent

log = logging.getLogger(__name__)

RECONNECT_S = 1.0


class EventHub:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._notifications = 0  # received so far, of every run
        self._reads: dict[Hashable, asyncio.Future[list[LoggedEvent]]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen(), name="campaign-run-log-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.contextmanager
    def subscribe(self, run_id: str) -> Iterator[asyncio.Event]:
        """An event set whenever `run_id`'s log grows; registered before the caller's first read, so none is missed."""
        wake = asyncio.Event()
        self._waiters[run_id].add(wake)
        try:
            yield wake
        finally:
            self._waiters[run_id].discard(wake)
            if not self._waiters[run_id]:
                del self._waiters[run_id]

    @property
    def generation(self) -> int:
        """Notifications received so far: a read started at generation g saw every append notified up to g."""
        return self._notifications

    async def shared(self, key: Hashable, read: Callable[[], Awaitable[list[LoggedEvent]]]) -> list[LoggedEvent]:
        """One `read` for every caller asking with the same key while it runs: 50 streams of a run at the same
        event id, woken by the same notification, make one query. Callers put the generation in the key, so a
        stream never shares a read that started before the notification that woke it."""
        future = self._reads.get(key)
        if future is None:
            future = asyncio.ensure_future(read())
            self._reads[key] = future
            future.add_done_callback(lambda _: self._reads.pop(key, None))
        return await asyncio.shield(future)

    def _wake(self, run_id: str) -> None:
        self._notifications += 1
        for wake in self._waiters.get(run_id, ()):
            wake.set()

    def _wake_all(self) -> None:
        self._notifications += 1
        for waiters in self._waiters.values():
            for wake in waiters:
                wake.set()

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {LOG_CHANNEL}")
                    self._wake_all()  # whatever was appended while no one listened
                    async for note in conn.notifies():
                        self._wake(note.payload)
            except psycopg.OperationalError as e:
                log.warning("run log listener lost its connection; reconnecting", extra={"error": str(e)})
                await asyncio.sleep(RECONNECT_S)
