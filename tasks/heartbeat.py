"""A running step holds its run by a heartbeat (Temporal's heartbeat timeout), not by its hard time limit.

While the step's generator runs, a thread renews the run's lease every third of it. When the worker dies, the
heartbeat stops with it and the lease runs out one lease later; when the step finishes, its heartbeat stops and
nothing it did keeps holding the run.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from context.ledger import Ledger
from tasks.worker import resources

log = logging.getLogger(__name__)


@contextmanager
def heartbeat(run_id: uuid.UUID, tenant_id: uuid.UUID, epoch: int, lease: timedelta) -> Iterator[None]:
    """Hold the run for `lease` every `lease / 3` while the block runs."""
    stop = threading.Event()
    interval = max(lease.total_seconds() / 3, 0.05)

    def beat() -> None:
        while not stop.wait(interval):
            try:
                with resources().sessions() as session, session.begin():
                    if not Ledger(session).heartbeat(run_id, tenant_id, epoch, lease):
                        return  # the run ended or was taken over: nothing to hold
            except SQLAlchemyError as e:  # the database is away: the next beat tries again
                log.warning("heartbeat not recorded", extra={"run_id": str(run_id), "error": str(e)})

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
