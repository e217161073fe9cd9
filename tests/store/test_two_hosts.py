"""No shared disk: two workers in separate directories, as two hosts would be, share artifacts through S3 only."""

from __future__ import annotations

import hashlib
import re
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import redis
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from context.models import CampaignContext
from pipeline.steps import DEFAULT_GRAPH
from tests.cli.test_cli import campaign
from tests.s3_server import S3Server
from tests.services import RedisServer, empty_redis
from tests.worker_fixtures import ROOT, WorkerProcess, client_app, wait_for_run, worker_env

BRIEF = {"brief": "Catch the falling stars", "steps": {"bgm": {"mood": "happy"}}}
SHA_NAME = re.compile(r"[0-9a-f]{64}\.")
TYPES = [step_id for step_id, _ in DEFAULT_GRAPH]


@pytest.fixture(scope="module")
def hosts_redis_url(session_redis: RedisServer) -> Iterator[str]:
    """A database of the session's redis-server apart from the shared worker's (which uses the local store)."""
    url = session_redis.url_for(3)
    empty_redis(url)
    yield url
    redis.Redis.from_url(url).flushdb()


@pytest.fixture(scope="module")
def bucket(s3_server: S3Server) -> str:
    return s3_server.new_bucket()


@pytest.fixture(scope="module")
def two_hosts(
    app_pg_url: str, hosts_redis_url: str, s3_server: S3Server, bucket: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Celery, list[WorkerProcess], list[Path]]]:
    """Two workers for the module, each in its own directory; the tests use distinct tenants."""
    tmp_path = tmp_path_factory.mktemp("hosts")
    client = client_app(hosts_redis_url)
    dirs, workers = [], []
    try:
        for name in ("host-a", "host-b"):
            home = tmp_path / name
            home.mkdir()
            env = worker_env(
                app_pg_url,
                hosts_redis_url,
                home / "artifacts",  # each host's own local root: must stay empty
                CAMPAIGN_ARTIFACT_URL=f"s3://{bucket}/campaigns",
                **s3_server.env(),
            )
            proc = WorkerProcess(env, tmp_path / f"{name}.log", concurrency=1, name=name, cwd=home)
            proc.start(client)
            dirs.append(home)
            workers.append(proc)
        yield client, workers, dirs
    finally:
        for proc in workers:
            proc.stop()
        client.close()


def _start(
    client: Celery, tenant: uuid.UUID, payload: Mapping[str, object], base: uuid.UUID | None = None
) -> uuid.UUID:
    run_id = uuid.uuid4()
    body = {"tenantId": str(tenant), "runId": str(run_id), "payload": payload}
    if base:
        body["baseRunId"] = str(base)
    client.send_task("campaign.start_run", args=[body])
    return run_id


def _steps_done_by(proc: WorkerProcess) -> set[str]:
    return set(re.findall(r"Task campaign\.([a-z_]+)\[[^\]]+\] succeeded", proc.log_text())) - {
        "start_run",
        "persist",
        "merge",
    }


def _assert_all_in_s3(ctx: CampaignContext, s3: S3Server, bucket: str) -> None:
    for art in ctx.artifacts.values():
        assert art.uri.startswith(f"s3://{bucket}/campaigns/"), art.uri
        key = art.uri.removeprefix(f"s3://{bucket}/")
        body = s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == art.hash


def test_two_workers_without_a_shared_disk_complete_a_campaign_and_an_update(
    two_hosts: tuple[Celery, list[WorkerProcess], list[Path]],
    pg_sessions: sessionmaker[Session],
    s3_server: S3Server,
    bucket: str,
) -> None:
    client, workers, dirs = two_hosts
    tenant = uuid.uuid4()

    base = _start(client, tenant, BRIEF)
    run, steps = wait_for_run(pg_sessions, base, tenant)

    assert run.status == "completed", run.error
    base_ctx = CampaignContext.model_validate(run.context)
    _assert_all_in_s3(base_ctx, s3_server, bucket)
    assert len(base_ctx.artifacts) == 12
    done = [_steps_done_by(w) for w in workers]
    assert all(done), f"each host should have run steps: {done}"
    # A step on one host read what a step on the other wrote: their sets of steps differ and cover all 12.
    assert done[0] | done[1] == set(steps)

    update = _start(client, tenant, {"steps": {"bgm": {"mood": "sad"}}}, base=base)
    run, steps = wait_for_run(pg_sessions, update, tenant)

    assert run.status == "completed", run.error
    executed = {sid for sid, s in steps.items() if s.outcome == "executed"}
    assert executed == {"bgm", "audio_manifest", "game_config", "game_bundle", "campaign_manifest"}
    assert all(s.reason == "inputs unchanged" for sid, s in steps.items() if sid not in executed)
    _assert_all_in_s3(CampaignContext.model_validate(run.context), s3_server, bucket)

    for home in dirs:  # nothing was written to either host's disk
        assert not [p for p in home.rglob("*") if SHA_NAME.match(p.name)]

    _assert_links_fetch_the_bundle(base, base_ctx, tenant, workers[0].env, s3_server)


def _assert_links_fetch_the_bundle(
    run_id: uuid.UUID, ctx: CampaignContext, tenant: uuid.UUID, env: dict[str, str], s3_server: S3Server
) -> None:
    """`campaign show RUN --links`: one presigned link per artifact; the bundle's fetches without credentials."""
    proc = campaign("show", str(run_id), "--links", "--expires", "600", "--tenant", str(tenant), cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    links = dict(line.split(None, 1) for line in proc.stdout.splitlines() if line.startswith(tuple(TYPES)))
    assert set(links) == {a.type for a in ctx.artifacts.values()}
    assert "12 link(s), valid for 600 s" in proc.stderr
    bundle = next(a for a in ctx.artifacts.values() if a.type == "game_bundle")
    link = links["game_bundle"].strip()
    assert link.startswith(s3_server.endpoint) and "X-Amz-Expires=600" in link
    with urllib.request.urlopen(link, timeout=10) as response:  # no AWS credentials on this request
        assert hashlib.sha256(response.read()).hexdigest() == bundle.hash


def test_a_corrupt_object_in_s3_is_reported_and_regenerated_by_an_update(
    two_hosts: tuple[Celery, list[WorkerProcess], list[Path]],
    pg_sessions: sessionmaker[Session],
    s3_server: S3Server,
    bucket: str,
) -> None:
    client, _, _ = two_hosts
    tenant = uuid.uuid4()
    base = _start(client, tenant, BRIEF)
    run, _ = wait_for_run(pg_sessions, base, tenant)
    assert run.status == "completed", run.error
    sfx = next(a for a in CampaignContext.model_validate(run.context).artifacts.values() if a.type == "sfx")
    key = sfx.uri.removeprefix(f"s3://{bucket}/")
    s3_server.client().put_object(Bucket=bucket, Key=key, Body=b"not the sound you stored")

    update = _start(client, tenant, {}, base=base)
    run, steps = wait_for_run(pg_sessions, update, tenant)

    assert run.status == "completed", run.error
    assert steps["sfx"].outcome == "executed"
    assert steps["sfx"].reason is not None and steps["sfx"].reason.startswith("stored artifact is corrupt")
    body = s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == sfx.hash  # the same bytes, written again under the same key
