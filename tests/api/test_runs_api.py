"""The HTTP API against a real uvicorn, PostgreSQL, Redis and worker: runs, refusals, idempotency, listing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from context.runs import Run, RunRepository
from tests.api.conftest import NOOP, Tenant, wait_until_finished

JSON = {"Content-Type": "application/json"}


def test_a_run_submitted_over_http_completes_with_its_steps_and_artifacts(
    http: httpx.Client, tenants: list[Tenant]
) -> None:
    tenant = tenants[0]
    answer = http.post("/v1/runs", json={"payload": {"brief": "Spin for a summer discount."}}, headers=tenant.headers)
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["id"]
    assert answer.json()["status"] in ("queued", "pending", "running")

    run = wait_until_finished(http, run_id, tenant)

    assert run["status"] == "completed", run
    assert run["tenantId"] == str(tenant.id) and run["context"]["runId"] == run_id  # type: ignore[index]
    steps = http.get(f"/v1/runs/{run_id}/steps", headers=tenant.headers).json()
    assert steps[0]["stepId"] == "plan" and len(steps) == 12
    assert {s["outcome"] for s in steps} == {"executed"}
    image = http.get(f"/v1/runs/{run_id}/artifacts/intro_image", headers=tenant.headers)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG"), image.status_code
    missing = http.get(f"/v1/runs/{run_id}/artifacts/no_such_type", headers=tenant.headers)
    assert missing.status_code == 404 and missing.json()["errors"][0]["path"] == "type"


def test_an_update_over_http_reruns_only_the_forced_step(http: httpx.Client, tenants: list[Tenant]) -> None:
    tenant = tenants[0]
    base = http.post("/v1/runs", json={"payload": NOOP}, headers=tenant.headers).json()["id"]
    assert wait_until_finished(http, base, tenant)["status"] == "completed"

    answer = http.post(f"/v1/runs/{base}/updates", json={"steps": ["bgm"]}, headers=tenant.headers)
    assert answer.status_code == 202, answer.text
    update = wait_until_finished(http, answer.json()["id"], tenant)

    assert update["status"] == "completed" and update["baseRunId"] == base
    outcomes = {
        s["stepId"]: s["outcome"] for s in http.get(f"/v1/runs/{update['id']}/steps", headers=tenant.headers).json()
    }
    assert outcomes["bgm"] == "executed" and outcomes["plan"] == "reused"


def test_the_same_idempotency_key_and_body_give_the_same_run_and_another_body_is_refused(
    http: httpx.Client, tenants: list[Tenant]
) -> None:
    tenant, other = tenants[:2]
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"payload": NOOP}
    first = http.post("/v1/runs", json=body, headers={**tenant.headers, **key})
    # The same body with its keys in another order is the same request.
    reordered = json.dumps(body, sort_keys=True, indent=2)
    again = http.post("/v1/runs", content=reordered, headers={**tenant.headers, **key, **JSON})
    changed = http.post("/v1/runs", json={"payload": {**NOOP, "brief": "another"}}, headers={**tenant.headers, **key})
    # Keys are per tenant: another tenant's identical key makes its own run.
    theirs = http.post("/v1/runs", json=body, headers={**other.headers, **key})

    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.headers.get("Idempotent-Replayed") == "true"
    assert changed.status_code == 409, changed.text
    assert changed.json()["code"] == "invalid_state" and changed.json()["errors"][0]["path"] == "Idempotency-Key"
    assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"]
    assert wait_until_finished(http, first.json()["id"], tenant)["status"] == "completed"


def test_requests_without_a_valid_key_are_refused_and_health_is_open(http: httpx.Client, tenants: list[Tenant]) -> None:
    missing = http.get("/v1/runs")
    wrong = http.get("/v1/runs", headers={"Authorization": "Bearer nope"})

    for answer in (missing, wrong):
        assert answer.status_code == 401, answer.text
        assert answer.json()["code"] == "unauthorized" and answer.json()["errors"][0]["path"] == "Authorization"
        assert set(answer.json()) == {"code", "exitCode", "message", "errors"}
    assert http.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_another_tenants_run_answers_exactly_like_a_missing_one(http: httpx.Client, tenants: list[Tenant]) -> None:
    mine, theirs = tenants[:2]
    run_id = http.post("/v1/runs", json={"payload": NOOP}, headers=mine.headers).json()["id"]
    wait_until_finished(http, run_id, mine)
    missing_id = str(uuid.uuid4())

    for path in ("", "/steps", "/events", "/artifacts/plan", "/game"):
        other = http.get(f"/v1/runs/{run_id}{path}", headers=theirs.headers)
        missing = http.get(f"/v1/runs/{missing_id}{path}", headers=theirs.headers)
        assert other.status_code == missing.status_code == 404, path
        assert other.text.replace(run_id, "RUN") == missing.text.replace(missing_id, "RUN"), path
    for action in ("cancel", "resume", "updates"):
        other = http.post(f"/v1/runs/{run_id}/{action}", json={}, headers=theirs.headers)
        missing = http.post(f"/v1/runs/{missing_id}/{action}", json={}, headers=theirs.headers)
        assert other.status_code == missing.status_code == 404, (action, other.text)
        assert other.text.replace(run_id, "RUN") == missing.text.replace(missing_id, "RUN"), action


def test_bad_bodies_and_params_are_refused_naming_the_problem(http: httpx.Client, tenants: list[Tenant]) -> None:
    headers = tenants[0].headers
    huge = http.post(
        "/v1/runs", content=b'{"payload": {"brief": "' + b"x" * 1_000_000 + b'"}}', headers={**headers, **JSON}
    )
    deep = http.post("/v1/runs", content=b'{"payload": ' + b"[" * 100 + b"]" * 100 + b"}", headers={**headers, **JSON})
    broken = http.post("/v1/runs", content=b'{"payload": ', headers={**headers, **JSON})
    bad_param = http.post("/v1/runs", json={"payload": {"steps": {"bgm": {"tempo_bpm": 999}}}}, headers=headers)
    unknown = http.post("/v1/runs", json={"payload": {}, "colour": "red"}, headers=headers)
    bad_query = http.get("/v1/runs?limit=0", headers=headers)

    assert huge.status_code == 413 and huge.json()["code"] == "too_large"
    assert deep.status_code == 400 and "nested" in deep.json()["message"]
    assert broken.status_code == 400 and broken.json()["code"] == "malformed"
    assert bad_param.status_code == 422, bad_param.text
    assert bad_param.json()["errors"][0]["path"] == "payload.steps.bgm.tempo_bpm"
    assert unknown.status_code == 422 and unknown.json()["errors"] == [{"path": "colour", "message": "unknown key"}]
    assert bad_query.status_code == 422 and bad_query.json()["errors"][0]["path"] == "query.limit"


def test_a_finished_run_cannot_be_cancelled_or_resumed(http: httpx.Client, tenants: list[Tenant]) -> None:
    tenant = tenants[0]
    run_id = http.post("/v1/runs", json={"payload": NOOP}, headers=tenant.headers).json()["id"]
    wait_until_finished(http, run_id, tenant)

    cancel = http.post(f"/v1/runs/{run_id}/cancel", json={"reason": "late"}, headers=tenant.headers)
    resume = http.post(f"/v1/runs/{run_id}/resume", headers=tenant.headers)

    assert cancel.status_code == 409 and "completed already" in cancel.json()["message"]
    assert resume.status_code == 409 and resume.json()["code"] == "invalid_state"


def test_a_queued_run_is_cancelled_over_http(
    http: httpx.Client, tenants: list[Tenant], pg_sessions: sessionmaker[Session]
) -> None:
    tenant = tenants[1]
    run = _insert_runs(pg_sessions, tenant.id, ["queued"])[0]

    answer = http.post(f"/v1/runs/{run}/cancel", json={"reason": "changed my mind"}, headers=tenant.headers)

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled" and "changed my mind" in answer.json()["reason"]


def test_runs_are_listed_newest_first_by_status_and_time_a_page_at_a_time(
    http: httpx.Client, tenants: list[Tenant], pg_sessions: sessionmaker[Session]
) -> None:
    tenant = tenants[2]  # only this test makes runs for it: the list holds exactly these
    ids = [
        str(i)
        for i in _insert_runs(pg_sessions, tenant.id, ["completed", "failed", "completed", "running", "completed"])
    ]

    pages, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = http.get("/v1/runs", params=params, headers=tenant.headers).json()
        pages.append([r["id"] for r in page["runs"]])
        cursor = page.get("nextCursor")
        if cursor is None:
            break
    completed = http.get("/v1/runs", params={"status": "completed"}, headers=tenant.headers).json()["runs"]
    two = http.get("/v1/runs", params=[("status", "failed"), ("status", "running")], headers=tenant.headers).json()
    created = datetime.fromisoformat(http.get(f"/v1/runs/{ids[2]}", headers=tenant.headers).json()["createdAt"])
    window = {"createdAfter": created.isoformat(), "createdBefore": (created + timedelta(minutes=2)).isoformat()}
    in_window = http.get("/v1/runs", params=window, headers=tenant.headers).json()["runs"]
    bad_cursor = http.get("/v1/runs", params={"cursor": "bm9wZQ=="}, headers=tenant.headers)

    assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]
    assert [r["id"] for r in completed] == [ids[4], ids[2], ids[0]] and "context" not in completed[0]
    assert [r["id"] for r in two["runs"]] == [ids[3], ids[1]] and "nextCursor" not in two
    assert [r["id"] for r in in_window] == [ids[3], ids[2]]
    assert bad_cursor.status_code == 422 and bad_cursor.json()["errors"][0]["path"] == "query.cursor"


def _insert_runs(sessions: sessionmaker[Session], tenant: uuid.UUID, statuses: list[str]) -> list[uuid.UUID]:
    """Runs with known statuses, one minute apart, oldest first."""
    start = datetime.now(UTC) - timedelta(hours=1)
    ids = []
    with sessions() as s, s.begin():
        repo = RunRepository(s)
        for i, status in enumerate(statuses):
            run_id = uuid.uuid4()
            context = {"campaignId": str(uuid.uuid4()), "runId": str(run_id)}
            repo.add(Run(id=run_id, tenant_id=tenant, campaign_id=uuid.uuid4(), workflow_name="campaign",
                         status=status, context=context, created_at=start + timedelta(minutes=i)))  # fmt: skip
            ids.append(run_id)
    return ids
