"""kombu's Redis transport, except that a message that is not a kombu JSON envelope does not kill the worker.

kombu decodes each message it pops from a queue list before Celery sees it; one raw `LPUSH celery 'not json {'`
from a buggy sender raised there, out of the worker's event loop, and the worker exited with the message gone.
Here such a message is moved to the list `campaign:dead-letters` (with its queue, the error and when) for an
operator to read, logged once, and the worker goes on with the next message.
"""

from __future__ import annotations

import json
import logging
import time
from queue import Empty
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads

log = logging.getLogger(__name__)

DEAD_LETTERS = "campaign:dead-letters"
_ENVELOPE_KEYS = ("body", "headers", "properties")


def _envelope(item: bytes | str) -> dict[str, Any]:
    """The decoded envelope, or ValueError saying why it is none."""
    message = loads(bytes_to_str(item))
    if not isinstance(message, dict):
        raise ValueError(f"a JSON {type(message).__name__}, not an object")
    missing = [k for k in _ENVELOPE_KEYS if k not in message]
    if missing or not isinstance(message.get("properties"), dict):
        raise ValueError(f"not a kombu envelope (missing {', '.join(missing) or 'properties object'})")
    return message


class Channel(kombu_redis.Channel):
    def _dead_letter(self, queue: str, item: bytes | str, error: Exception) -> None:
        record = {"queue": queue, "error": f"{type(error).__name__}: {error}", "at": time.time(),
                  "message": bytes_to_str(item)[:65536]}  # fmt: skip
        try:
            with self.conn_or_acquire() as client:
                client.lpush(DEAD_LETTERS, json.dumps(record))
        except Exception as e:  # the broker went away meanwhile: the log line is all that is left of it
            log.error("dead letter not stored", extra={"queue": queue, "error": str(e)})
        log.error("a message that is not a kombu JSON envelope was moved to %s", DEAD_LETTERS,
                  extra={"queue": queue, "error": record["error"]})  # fmt: skip

    def _brpop_read(self, **options: Any) -> bool:
        try:
            try:
                dest__item = self.client.parse_response(self.client.connection, "BRPOP", **options)
            except self.connection_errors:
                self.client.connection.disconnect()  # the next iteration reconnects
                raise
            if not dest__item:
                raise Empty()
            dest, item = dest__item
            dest = bytes_to_str(dest).rsplit(self.sep, 1)[0]
            self._queue_cycle.rotate(dest)
            try:
                message = _envelope(item)
            except ValueError as e:
                self._dead_letter(dest, item, e)
                raise Empty() from None
            self.connection._deliver(message, dest)
            return True
        finally:
            self._in_poll = None  # type: ignore[assignment]
            flush = getattr(self, "_flush_brpop_reauth", None)
            if flush is not None:
                flush()

    def _get(self, queue: str, timeout: Any = None) -> Any:
        with self.conn_or_acquire() as client:
            for pri in self.priority_steps:
                item = client.rpop(self._q_for_pri(queue, pri))
                if item:
                    self._maybe_update_queues_expire(client, queue)
                    try:
                        return _envelope(item)
                    except ValueError as e:
                        self._dead_letter(queue, item, e)
                        raise Empty() from None
            self._maybe_update_queues_expire(client, queue)
            raise Empty()


class Transport(kombu_redis.Transport):
    Channel = Channel
