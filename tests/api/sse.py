"""A small Server-Sent Events reader for the tests: (id, data) pairs off an httpx stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

TERMINAL_KINDS = {"completed", "failed", "cancelled"}


def messages(answer: httpx.Response) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each message with an id and data, in order; comments and `retry:` lines are skipped."""
    event_id, data = None, []
    for line in answer.iter_lines():
        if line == "":
            if event_id is not None and data:
                yield event_id, json.loads("\n".join(data))
            event_id, data = None, []
        elif line.startswith("id:"):
            event_id = int(line[3:].strip())
        elif line.startswith("data:"):
            data.append(line[5:].strip())


def read_events(
    http: httpx.Client, run_id: str, headers: dict[str, str], *, last_id: int | None = None, count: int | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """The stream's events until the run's terminal event (or `count` of them), then the connection is closed."""
    extra = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
    got: list[tuple[int, dict[str, Any]]] = []
    with http.stream("GET", f"/v1/runs/{run_id}/events", headers={**headers, **extra}, timeout=120) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"].startswith("text/event-stream")
        for event_id, event in messages(answer):
            got.append((event_id, event))
            if event["kind"] in TERMINAL_KINDS or (count is not None and len(got) >= count):
                break
    return got
