"""The HTTP API: POST /v1/runs latency against a bare FastAPI endpoint that inserts one row; SSE fan-out.

POST: sequential requests on one keep-alive connection, against `campaign api` (key lookup, validation of the
payload against the step graph, an idempotency key claimed in PostgreSQL, the start message sent to Redis, the
run read back) and against `bare_api.py` (FastAPI + uvicorn + one INSERT), both uvicorn subprocesses on the same
database. No worker runs: the start messages stay in Redis.

SSE fan-out: 50 subscribers (and, as the baseline, 1) hold `GET /v1/runs/{id}/events` open; a status change of
the run is committed in PostgreSQL and the time until every subscriber has read its event is measured (the
trigger appends it to app.run_events, NOTIFY wakes the API's listener, each stream reads the log).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg

from benchmarks.harness import ROOT, STEP_IDS, Services, services, worker_env
from benchmarks.stats import Row, compare, summarize
from tests.services import free_port, wait_for

NAME = "api"
KEY = "bench-key"
NOOP: dict[str, Any] = {"steps": {step: {"noop": True} for step in STEP_IDS}}


@contextmanager
def uvicorn(svc: Services, target: str, tenant: uuid.UUID) -> Iterator[str]:
    port = free_port()
    env = worker_env(svc, CAMPAIGN_API_KEYS=json.dumps({KEY: str(tenant)}))
    cmd = [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(url, proc), timeout_s=30, what=f"{target} on {port}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _up(url: str, proc: subprocess.Popen[bytes]) -> bool:
    if proc.poll() is not None:
        raise RuntimeError(f"uvicorn exited with {proc.returncode}")
    try:
        httpx.get(f"{url}/openapi.json", timeout=1)
    except httpx.TransportError:
        return False
    return True


def _post_latencies(url: str, path: str, body: dict[str, Any], n: int, *, keyed: bool) -> list[float]:
    samples = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as http:
        for i in range(n + 5):
            headers = {"Idempotency-Key": uuid.uuid4().hex} if keyed else {}
            t0 = time.perf_counter()
            answer = http.post(path, json=body, headers=headers)
            elapsed = time.perf_counter() - t0
            if answer.status_code != 202:
                raise RuntimeError(f"{path} answered {answer.status_code}: {answer.text[:300]}")
            if i >= 5:  # warm-up: connection, pools, caches
                samples.append(elapsed)
    return samples


async def _fan_out(url: str, run_id: str, subscribers: int, rounds: int, dsn: str) -> list[float]:
    """Seconds from each committed status change until the last of `subscribers` streams has read it."""
    got: list[dict[int, float]] = [{} for _ in range(rounds)]
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute("SELECT coalesce(max(id), 0) FROM app.run_events WHERE run_id = %s", (run_id,))
        row = await cur.fetchone()
    last_id = int(row[0]) if row else 0  # the streams start after the events so far
    ready = asyncio.Event()
    connected = 0

    async def subscribe(client: httpx.AsyncClient) -> None:
        nonlocal connected
        seen = 0
        async with client.stream("GET", f"/v1/runs/{run_id}/events", headers={"Last-Event-ID": str(last_id)}) as s:
            connected += 1
            if connected == subscribers:
                ready.set()
            async for line in s.aiter_lines():
                if line.startswith("data:"):
                    got[seen][id(client)] = time.perf_counter()
                    seen += 1
                    if seen == rounds:
                        return

    limits = httpx.Limits(max_connections=subscribers + 5)
    clients = [httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60, limits=limits)
               for _ in range(subscribers)]  # fmt: skip
    tasks = [asyncio.create_task(subscribe(c)) for c in clients]
    await asyncio.wait_for(ready.wait(), 30)
    await asyncio.sleep(0.5)  # every stream past its first (empty) read of the log
    latencies = []
    conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    for r in range(rounds):
        status = "running" if r % 2 == 0 else "queued"
        t0 = time.perf_counter()
        await conn.execute("UPDATE app.runs SET status = %s WHERE id = %s", (status, run_id))
        while len(got[r]) < subscribers:
            await asyncio.sleep(0.001)
        latencies.append(max(got[r].values()) - t0)
    await conn.close()
    await asyncio.gather(*tasks)
    for c in clients:
        await c.aclose()
    return latencies


def run(*, quick: bool, deadline: float | None = None) -> list[Row]:
    n = 60 if quick else 300
    rounds = 10 if quick else 30
    tenant = uuid.uuid4()
    with services("api") as svc, svc.connect() as conn:
        with uvicorn(svc, "benchmarks.bare_api:create_app", tenant) as bare_url:
            bare = _post_latencies(bare_url, "/rows", {"payload": NOOP}, n, keyed=False)
        with uvicorn(svc, "api.app:create_app", tenant) as api_url:
            plain = _post_latencies(api_url, "/v1/runs", {"payload": NOOP}, n, keyed=False)
            keyed = _post_latencies(api_url, "/v1/runs", {"payload": NOOP}, n, keyed=True)
            run_id = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO app.runs (id, tenant_id, campaign_id, workflow_name, status, created_at, updated_at) "
                "VALUES (%s, %s, %s, 'campaign', 'queued', now(), now())",
                (run_id, tenant, uuid.uuid4()),
            )
            one = asyncio.run(_fan_out(api_url, run_id, 1, rounds, svc.pg_dsn))
            fifty = asyncio.run(_fan_out(api_url, run_id, 50, rounds, svc.pg_dsn))
    base = Row(NAME, "bare FastAPI POST inserting one row", "s", summarize(bare))
    rows = [base]
    for case, samples in (("POST /v1/runs", plain), ("POST /v1/runs with an Idempotency-Key", keyed)):
        s = summarize(samples)
        p99 = sorted(samples)[max(0, int(len(samples) * 0.99) - 1)]
        bare_p99 = sorted(bare)[max(0, int(len(bare) * 0.99) - 1)]
        rows.append(compare(Row(NAME, case, "s", s, note=f"p99 {p99 * 1000:.1f} ms (bare {bare_p99 * 1000:.1f} ms)",
                                extra={"p99_s": p99, "bare_p99_s": bare_p99}), base))  # fmt: skip
    single = Row(NAME, "SSE: 1 subscriber, commit to event read", "s", summarize(one))
    rows += [
        single,
        compare(Row(NAME, "SSE: 50 subscribers, commit to the last one's read", "s", summarize(fifty)), single),
    ]
    return rows
