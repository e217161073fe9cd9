"""`campaign gc`: objects no run of any tenant references, older than DAYS, go; everything else stays."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli.main import cli
from context.artifact_refs import referenced_uris
from context.db import make_engine
from pipeline.store import LocalArtifactStore, StoredObject
from pipeline.store_s3 import S3ArtifactStore
from tests.s3_server import S3Server

DAY = 86400


def _add_run(sessions: sessionmaker[Session], tenant: uuid.UUID, *objects: StoredObject) -> None:
    """A run row of `tenant` whose context references `objects` (written as the admin, past row-level security)."""
    artifacts = {
        str(uuid.uuid4()): {"type": "plan", "uri": o.uri, "hash": o.hash, "stepId": "plan", "createdAt": "x"}
        for o in objects
    }
    with sessions() as s, s.begin():
        s.execute(
            text(
                "INSERT INTO app.runs (id, tenant_id, campaign_id, workflow_name, status, context, created_at, "
                "updated_at) VALUES (:id, :tenant, :id, 'campaign', 'completed', CAST(:ctx AS jsonb), now(), now())"
            ),
            {"id": uuid.uuid4(), "tenant": tenant, "ctx": json.dumps({"artifacts": artifacts, "refs": {}})},
        )


def _gc(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["gc", *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _bytes() -> bytes:
    return f"object {uuid.uuid4()}".encode()


def test_the_function_returns_every_tenant_s_uris_to_a_role_that_row_level_security_hides_them_from(
    app_pg_url: str, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    store = LocalArtifactStore(tmp_path)
    a, b = store.put(_bytes(), ".json"), store.put(_bytes(), ".json")
    _add_run(pg_sessions, uuid.uuid4(), a)
    _add_run(pg_sessions, uuid.uuid4(), b)
    engine = make_engine(app_pg_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM app.runs")).scalar() == 0  # no tenant named: no rows
        assert {a.uri, b.uri} <= referenced_uris(engine)
    finally:
        engine.dispose()


def test_gc_on_the_local_store_is_a_dry_run_until_yes_and_spares_referenced_and_young_objects(
    app_pg_url: str, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    store = LocalArtifactStore(tmp_path / "artifacts")
    ref_a, ref_b = store.put(_bytes(), ".json"), store.put(_bytes(), ".png")
    old, young = store.put(_bytes(), ".json"), store.put(_bytes(), ".wav")
    ten_days_ago = time.time() - 10 * DAY
    for obj in (ref_a, ref_b, old):
        os.utime(store.path_of(obj.uri), (ten_days_ago, ten_days_ago))
    os.utime(store.path_of(young.uri), (time.time() - 6 * DAY,) * 2)
    (store.root / "notes.txt").write_text("not an artifact")
    _add_run(pg_sessions, uuid.uuid4(), ref_a)
    _add_run(pg_sessions, uuid.uuid4(), ref_b)  # another tenant's run keeps its object too
    env = {"CAMPAIGN_DATABASE_URL": app_pg_url, "CAMPAIGN_ARTIFACT_ROOT": str(store.root)}

    code, stdout, stderr = _gc(env, "--older-than", "7")

    assert code == 0
    assert stdout.split() == [old.uri, *stdout.split()[1:3]] and len(stdout.splitlines()) == 1
    assert "1 unreferenced object(s) older than 7 day(s)" in stderr and "dry run" in stderr
    assert "kept 2 referenced, 1 younger" in stderr
    assert all(store.verify(o.uri, o.hash) for o in (ref_a, ref_b, old, young))

    code, _, stderr = _gc(env, "--older-than", "7", "--yes")

    assert code == 0 and "deleted 1" in stderr
    assert not store.path_of(old.uri).exists()
    assert all(store.verify(o.uri, o.hash) for o in (ref_a, ref_b, young))
    assert (store.root / "notes.txt").exists()

    code, _, stderr = _gc(env, "--older-than", "5", "--yes")
    assert "deleted 1" in stderr and not store.path_of(young.uri).exists()


def test_re_putting_known_bytes_makes_them_young_again(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    data = _bytes()
    obj = store.put(data, ".json")
    os.utime(store.path_of(obj.uri), (time.time() - 10 * DAY,) * 2)

    store.put(data, ".json")

    assert time.time() - store.path_of(obj.uri).stat().st_mtime < 60


@pytest.fixture
def s3_gc_store(s3_env: S3Server, bucket: str) -> Iterator[tuple[S3ArtifactStore, dict[str, str]]]:
    yield S3ArtifactStore(f"s3://{bucket}/gc"), {"CAMPAIGN_ARTIFACT_URL": f"s3://{bucket}/gc", **s3_env.env()}


def test_gc_on_the_s3_store_deletes_only_old_unreferenced_objects(
    app_pg_url: str, pg_sessions: sessionmaker[Session], s3_gc_store: tuple[S3ArtifactStore, dict[str, str]]
) -> None:
    store, env = s3_gc_store
    env = {**env, "CAMPAIGN_DATABASE_URL": app_pg_url}
    ref_a, ref_b, old = (store.put(_bytes(), ".json") for _ in range(3))
    _add_run(pg_sessions, uuid.uuid4(), ref_a)
    _add_run(pg_sessions, uuid.uuid4(), ref_b)
    time.sleep(4)  # S3 LastModified cannot be set: let `old` age instead
    young = store.put(_bytes(), ".json")
    three_seconds = str(3 / DAY)

    code, stdout, stderr = _gc(env, "--older-than", three_seconds)

    assert code == 0, stderr
    assert [line.split()[0] for line in stdout.splitlines()] == [old.uri]
    assert "dry run" in stderr
    assert {o.uri for o in store.objects()} == {ref_a.uri, ref_b.uri, old.uri, young.uri}

    code, _, stderr = _gc(env, "--older-than", three_seconds, "--yes")

    assert code == 0 and "deleted 1" in stderr
    assert {o.uri for o in store.objects()} == {ref_a.uri, ref_b.uri, young.uri}
    assert store.verify(ref_a.uri, ref_a.hash) and store.verify(young.uri, young.hash)


def test_gc_names_an_unreachable_store_in_one_line(app_pg_url: str, s3_env: S3Server) -> None:
    env = {"CAMPAIGN_DATABASE_URL": app_pg_url, "CAMPAIGN_ARTIFACT_URL": "s3://no-such-bucket-here/x", **s3_env.env()}

    code, _, stderr = _gc(env, "--older-than", "1")

    assert code == 4
    assert "artifact store unreachable (s3://no-such-bucket-here/x)" in stderr and "NoSuchBucket" in stderr


def test_older_than_is_required_and_not_negative(app_pg_url: str, tmp_path: Path) -> None:
    env = {"CAMPAIGN_DATABASE_URL": app_pg_url, "CAMPAIGN_ARTIFACT_ROOT": str(tmp_path)}
    assert _gc(env)[0] == 2
    assert _gc(env, "--older-than", "-1")[0] == 2


def test_plan_counts_from_now(tmp_path: Path) -> None:
    from pipeline.gc import plan_gc

    store = LocalArtifactStore(tmp_path)
    obj = store.put(_bytes(), ".json")
    later = datetime.now(UTC) + timedelta(days=3)

    assert plan_gc(store, [], timedelta(days=1)).garbage == []
    assert [o.uri for o in plan_gc(store, [], timedelta(days=1), now=later).garbage] == [obj.uri]
    assert plan_gc(store, [obj.uri.replace(str(tmp_path), "/moved/root")], timedelta(days=1), now=later).garbage == []


def test_links_on_the_local_store_are_file_paths_and_say_links_need_s3(tmp_path: Path) -> None:
    from rich.console import Console

    from cli.links import print_links

    store = LocalArtifactStore(tmp_path)
    obj = store.put(_bytes(), ".json")
    out, err = Console(record=True, width=400), Console(record=True, width=400)

    print_links({"artifacts": {"a": {"type": "plan", "uri": obj.uri, "hash": obj.hash}}}, store, 60, out, err)

    assert out.export_text().split() == ["plan", str(store.path_of(obj.uri))]
    assert "links need CAMPAIGN_ARTIFACT_URL=s3://" in err.export_text()
