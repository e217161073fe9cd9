"""The run page in Debian's headless Chromium: a completed, a failed and a running run, live over SSE."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import NOOP, ApiServer, Tenant, wait_until_finished
from tests.cli.test_play import chromium
from tests.services import wait_for

# Set to a folder (docs/img) to keep the screenshots the README shows.
SHOTS = os.environ.get("CAMPAIGN_TEST_SCREENSHOTS")


def _shot(page: Any, name: str, tmp_path: Path) -> None:
    folder = Path(SHOTS) if SHOTS else tmp_path
    page.screenshot(path=str(folder / f"run-page-{name}.png"), full_page=True)


@pytest.fixture
def signed_in(api: ApiServer, tenants: list[Tenant]) -> Any:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{api.url}/runs/00000000-0000-4000-8000-000000000000")
        assert page.url.endswith("/login")  # not signed in: the form, not the run
        page.fill("input[name=key]", tenants[0].key)
        page.click("button")
        page.wait_for_url(f"{api.url}/")
        yield page
        outside = [u for u in requests if not u.startswith(api.url)]
        assert outside == [], outside  # everything from the API itself: no CDN, no fonts


def test_the_run_page_shows_a_completed_a_failed_and_a_running_run(
    signed_in: Any, http: httpx.Client, api: ApiServer, tenants: list[Tenant], tmp_path: Path
) -> None:
    page, tenant = signed_in, tenants[0]
    failing = {**NOOP, "steps": {**NOOP["steps"], "sfx": {"fail": "permanent"}}}
    done = http.post("/v1/runs", json={"payload": {"brief": "Spin for a beach discount."}}, headers=tenant.headers)
    failed = http.post("/v1/runs", json={"payload": failing}, headers=tenant.headers)
    done_id, failed_id = done.json()["id"], failed.json()["id"]
    wait_until_finished(http, done_id, tenant)
    wait_until_finished(http, failed_id, tenant)

    page.goto(f"{api.url}/runs/{done_id}")
    page.wait_for_function("document.querySelectorAll('#events li').length >= 14")
    assert page.text_content("#run-status") == "completed"
    assert page.locator("#steps tr").count() == 12
    assert page.locator("#steps .s-executed").count() == 12
    assert page.eval_on_selector("img[alt=intro_image]", "i => i.complete && i.naturalWidth > 0")
    assert page.locator("audio").count() == 2
    _shot(page, "completed", tmp_path)

    page.goto(f"{api.url}/runs/{failed_id}")
    page.wait_for_function("document.querySelectorAll('#events li').length >= 2")
    assert page.text_content("#run-status") == "failed"
    assert page.is_visible("#reason") and "sfx" in (page.text_content("#reason") or "")
    assert page.locator("tr[data-step=sfx] .s-failed").count() == 1
    _shot(page, "failed", tmp_path)

    slow = {**NOOP, "steps": {**NOOP["steps"], "bgm": {"sleep_s": 4}}}
    running_id = http.post("/v1/runs", json={"payload": slow}, headers=tenant.headers).json()["id"]
    wait_for(lambda: _plan_done(http, running_id, tenant), timeout_s=60, what=f"run {running_id}'s plan step")
    page.goto(f"{api.url}/runs/{running_id}")
    page.wait_for_function("['pending', 'running'].includes(document.querySelector('#run-status').textContent)")
    page.wait_for_selector("tr[data-step=plan] .s-executed")
    _shot(page, "running", tmp_path)
    # No reload: the page follows the run's events until it completes.
    page.wait_for_function("document.querySelector('#run-status').textContent === 'completed'", timeout=60_000)
    assert page.locator("#steps .s-executed").count() == 12

    page.goto(f"{api.url}/")
    listed = page.text_content("#runs") or ""
    assert done_id in listed and failed_id in listed and running_id in listed
    _shot(page, "list", tmp_path)


def _plan_done(http: httpx.Client, run_id: str, tenant: Tenant) -> bool:
    answer = http.get(f"/v1/runs/{run_id}/steps", headers=tenant.headers)
    return answer.status_code == 200 and answer.json()[0]["outcome"] == "executed"
