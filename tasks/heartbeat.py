"""A running step holds its run by a heartbeat (Temporal's heartbeat timeout), not by its hard time limit.

One thread per worker process renews the run's lease, every third of it, for each step the process is running.
When the worker dies, the thread dies with it and the leases run out one lease later; when a step finishes, it
leaves the set and nothing it did keeps holding the run. One long-lived thread, not one per step: starting a thread
cost every step about a millisecond, and a process runs one step at a time under prefork anyway. A step that starts
wakes the thread only when its first beat is due before the thread would look again by itself: a wake-up is a
thread switch, and the step then waits for the interpreter lock (a tenth of a no-op step's CPU went there).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta

from tasks.worker import resources

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 0.05
# With nothing to hold, the thread still looks once a second: a step that starts then (first beat a third of a lease
# away, seconds for any real lease) need not wake it.
IDLE_LOOK_S = 1.0


@dataclass
class Held:
    """A running step's hold on its run: renewed for `lease` at `due` (monotonic clock), then every lease / 3."""

    run_id: uuid.UUID
    tenant_id: uuid.UUID
    epoch: int
    lease: timedelta
    due: float

    @property
    def interval_s(self) -> float:
        return max(self.lease.total_seconds() / 3, MIN_INTERVAL_S)


# Renews one hold; False when the run ended or another epoch drives it (nothing left to hold).
Renew = Callable[[Held], bool]


class Heartbeats:
    """The set of steps this process is running, and the one thread that renews their runs' leases."""

    def __init__(self, renew: Renew) -> None:
        self._renew = renew
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a forked child has no thread: it starts its own

    def _reset(self) -> None:
        self._changed = threading.Condition()
        self._held: dict[int, Held] = {}
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None
        # When the waiting thread looks at the set again by itself; None while it is not waiting (it reads the set
        # before it waits again). Read and written under the lock.
        self._wake_at: float | None = None
        self.wakeups = 0  # times the thread was woken early by a new step (tests and curious operators)

    @contextmanager
    def hold(self, run_id: uuid.UUID, tenant_id: uuid.UUID, epoch: int, lease: timedelta) -> Iterator[None]:
        """Hold the run for `lease` every `lease / 3` while the block runs."""
        token = self.start(run_id, tenant_id, epoch, lease)
        try:
            yield
        finally:
            self.stop(token)

    def start(self, run_id: uuid.UUID, tenant_id: uuid.UUID, epoch: int, lease: timedelta) -> int:
        held = Held(run_id, tenant_id, epoch, lease, due=0.0)
        held.due = time.monotonic() + held.interval_s  # the step's start holds the run until then
        with self._changed:
            token = next(self._tokens)
            self._held[token] = held
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._beat, name="heartbeats", daemon=True)
                self._thread.start()
            elif self._wake_at is not None and held.due < self._wake_at:
                self.wakeups += 1
                self._changed.notify()
        return token

    def stop(self, token: int) -> None:
        with self._changed:
            self._held.pop(token, None)

    def holding(self) -> list[Held]:
        with self._changed:
            return list(self._held.values())

    def _beat(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                due = [(t, h) for t, h in self._held.items() if h.due <= now]
                if not due:
                    nearest = min((h.due for h in self._held.values()), default=now + IDLE_LOOK_S)
                    self._wake_at = nearest
                    self._changed.wait(nearest - now)
                    self._wake_at = None
                    continue
            # Outside the lock: a slow database never keeps a step from starting or finishing.
            for token, held in due:
                try:
                    alive = self._renew(held)
                except Exception as e:  # the database is away (or one renewal broke): the next beat tries again
                    log.warning("heartbeat not recorded", extra={"run_id": str(held.run_id), "error": str(e)})
                    alive = True
                with self._changed:
                    if token not in self._held:
                        continue  # the step finished meanwhile
                    if alive:
                        held.due = time.monotonic() + held.interval_s
                    else:  # the run ended or was taken over: nothing to hold
                        self._held.pop(token)


def _renew(held: Held) -> bool:
    with resources().ledger() as ledger:
        return ledger.heartbeat(held.run_id, held.tenant_id, held.epoch, held.lease)


HEARTBEATS = Heartbeats(_renew)


def heartbeat(run_id: uuid.UUID, tenant_id: uuid.UUID, epoch: int, lease: timedelta) -> AbstractContextManager[None]:
    """Hold the run for `lease` every `lease / 3` while the block runs (this process's heartbeat thread)."""
    return HEARTBEATS.hold(run_id, tenant_id, epoch, lease)
