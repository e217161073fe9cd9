"""Keys of `campaign keys` over HTTP, against a real uvicorn: a created key is its tenant's, a revoked one is refused
from its next request on, and the keys of CAMPAIGN_API_KEYS keep working beside them."""

from __future__ import annotations

import uuid

import httpx

from tests.api.conftest import NOOP, Tenant
from tests.api.keys_cli import create_key, key_id_of, keys


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_created_key_acts_for_its_tenant_and_a_revoked_one_answers_401_at_once(
    http: httpx.Client, tenants: list[Tenant], app_pg_url: str
) -> None:
    tenant, other = tenants[:2]  # both also have a key in CAMPAIGN_API_KEYS
    key = create_key(app_pg_url, tenant.id)

    answer = http.post("/v1/runs", json={"payload": NOOP}, headers=_bearer(key))
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["id"]
    # The run is the key's tenant's: its environment key reads it, another tenant's does not.
    assert http.get(f"/v1/runs/{run_id}", headers=tenant.headers).status_code == 200
    assert http.get(f"/v1/runs/{run_id}", headers=other.headers).status_code == 404
    assert http.get(f"/v1/runs/{run_id}", headers=_bearer(key)).json()["tenantId"] == str(tenant.id)

    assert keys(app_pg_url, "revoke", str(key_id_of(app_pg_url, tenant.id, key)), "--tenant", str(tenant.id))[0] == 0

    refused = http.get(f"/v1/runs/{run_id}", headers=_bearer(key))  # the very next request
    assert refused.status_code == 401, refused.text
    assert refused.json()["code"] == "unauthorized" and refused.json()["errors"][0]["path"] == "Authorization"
    assert http.get("/v1/runs", headers=_bearer(key)).status_code == 401
    assert http.get(f"/v1/runs/{run_id}", headers=tenant.headers).status_code == 200  # the tenant's other key


def test_a_key_never_created_is_refused_like_a_revoked_one(http: httpx.Client, app_pg_url: str) -> None:
    revoked = create_key(app_pg_url, tenant := uuid.uuid4())
    keys(app_pg_url, "revoke", str(key_id_of(app_pg_url, tenant, revoked)), "--tenant", str(tenant))

    answers = [http.get("/v1/runs", headers=_bearer(k)) for k in (revoked, "ck_" + uuid.uuid4().hex)]

    assert [a.status_code for a in answers] == [401, 401]
    assert answers[0].json() == answers[1].json()


def test_a_created_key_signs_in_to_the_run_page_and_a_revoked_one_no_longer_reads_it(
    http: httpx.Client, app_pg_url: str
) -> None:
    key = create_key(app_pg_url, tenant := uuid.uuid4())
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    with httpx.Client(base_url=http.base_url, timeout=30) as browser:  # its own cookie jar
        signed_in = browser.post("/login", content=f"key={key}", headers=form)
        assert signed_in.status_code == 303, signed_in.text
        assert browser.get("/").status_code == 200  # by the cookie the sign-in set
        assert http.get("/", headers=_bearer(key)).status_code == 200

        keys(app_pg_url, "revoke", str(key_id_of(app_pg_url, tenant, key)), "--tenant", str(tenant))

        assert http.post("/login", content=f"key={key}", headers=form).status_code == 401
        assert browser.get("/").headers.get("location") == "/login"  # the form, not the runs
