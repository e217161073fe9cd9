"""The run page in Debian's headless Chromium: a completed, a failed and a running run, live over SSE."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import NOOP, ApiServer, Tenant, wait_until_finished
from tests.cli.test_play import chromium
from tests.services import wait_for

# Set to a folder (docs/img) to keep the screenshots the README shows.
SHOTS = os.environ.get("CAMPAIGN_TEST_SCREENSHOTS")
STEPS = 12
# Every media element of the previews shows or can play what it points at.
MEDIA_READY = """() => [...document.querySelectorAll('#previews [data-type]')].every(e =>
  e.tagName === 'IMG' ? e.complete && e.naturalWidth > 0 : e.tagName === 'AUDIO' ? e.duration > 0 : e.videoWidth > 0)"""


def _visit(page: Any, url: str) -> None:
    """Open `url` as a person would: a 503 (the API could not reach its database in time, on a loaded machine) is
    reloaded after its Retry-After, a few times; anything else but a 200 fails the test, saying what came."""
    for _ in range(5):
        response = page.goto(url)
        assert response is not None, f"no response for {url}"
        if response.status != 503:
            break
        page.wait_for_timeout(1000 * float(response.headers.get("retry-after", "1")))
    assert response.status == 200, f"{url}: {response.status} {page.content()[:1000]}"


def _shot(page: Any, name: str, tmp_path: Path) -> None:
    folder = Path(SHOTS) if SHOTS else tmp_path
    # The viewport made as tall as the page rather than a full-page screenshot: that one paints the game's frame
    # (another origin, another renderer) blank or at a wrong size.
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": page.evaluate("() => document.body.scrollHeight")})
    for frame in page.frames:
        frame.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.screenshot(path=str(folder / f"run-page-{name}.png"))
    page.set_viewport_size(size)


@pytest.fixture
def signed_in(api: ApiServer, tenants: list[Tenant]) -> Any:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{api.url}/runs/00000000-0000-4000-8000-000000000000")
        assert page.url.endswith("/login")  # not signed in: the form, not the run
        page.fill("input[name=key]", tenants[0].key)
        page.click("button")
        page.wait_for_url(f"{api.url}/")
        yield page
        outside = [u for u in requests if not u.startswith((api.url, "data:"))]
        assert outside == [], outside  # everything from the API itself: no CDN, no fonts


def _ledger_steps(sessions: sessionmaker[Session], run_id: str) -> dict[str, Any]:
    with sessions() as s:  # as the superuser: the ledger itself, not what the API makes of it
        rows = s.execute(
            text("SELECT step_id, sent_at, started_at, finished_at, hostname FROM app.run_steps WHERE run_id = :r"),
            {"r": run_id},
        ).all()
    return {r.step_id: r for r in rows}


def _cells(page: Any, step: str) -> dict[str, str]:
    row = page.locator(f"#steps tr[data-step={step}]")
    return {name: row.locator(f"td.{name}").text_content() or "" for name in ("wait", "runtime", "worker")}


def test_a_completed_run_shows_its_timeline_from_the_ledger_its_artifacts_and_its_game(
    signed_in: Any,
    http: httpx.Client,
    api: ApiServer,
    tenants: list[Tenant],
    pg_admin_sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    page, tenant = signed_in, tenants[0]
    run_id = http.post(
        "/v1/runs", json={"payload": {"brief": "Spin for a beach discount."}}, headers=tenant.headers
    ).json()["id"]
    assert wait_until_finished(http, run_id, tenant)["status"] == "completed"

    _visit(page, f"{api.url}/runs/{run_id}")
    assert page.text_content("#run-status") == "completed"
    assert page.locator("#steps tr[data-state=recorded]").count() == STEPS
    # Queue wait and run time as the ledger's timestamps give them, and the worker that ran each step.
    ledger = _ledger_steps(pg_admin_sessions, run_id)
    assert len(ledger) == STEPS
    for step, row in ledger.items():
        assert row.sent_at is not None and row.sent_at <= row.started_at <= row.finished_at, step
        shown = _cells(page, step)
        wait_s, run_s = (
            (row.started_at - row.sent_at).total_seconds(),
            (row.finished_at - row.started_at).total_seconds(),
        )
        assert abs(float(shown["wait"].removesuffix(" s")) - wait_s) <= 0.005, (step, shown, wait_s)
        assert abs(float(shown["runtime"].removesuffix(" s")) - run_s) <= 0.005, (step, shown, run_s)
        assert shown["worker"] == row.hostname and row.hostname, (step, shown)

    # The intro image, the three videos (GIF animations from the offline generators) and both audio tracks load.
    assert page.locator("#previews [data-type]").count() == 6
    assert page.locator("#previews audio").count() == 2
    page.wait_for_function(MEDIA_READY, timeout=15_000)
    for kind in ("bgm", "sfx"):
        fetched = page.evaluate(
            "async (t) => { const r = await fetch(document.querySelector(`audio[data-type=${t}]`).src,"
            " {cache: 'no-store'});"
            " return [r.status, r.headers.get('content-type'), (await r.arrayBuffer()).byteLength]; }",
            kind,
        )
        assert fetched[0] == 200 and fetched[1].startswith("audio/") and fetched[2] > 44, (kind, fetched)

    # The game: a sandboxed frame without same-origin, its page drawn from the bundle with every file inlined.
    frame_element = page.locator("iframe#game")
    assert frame_element.get_attribute("sandbox") == "allow-scripts"
    frame = page.frame(url=re.compile(rf"/v1/runs/{run_id}/game$"))
    assert frame is not None
    frame.wait_for_selector("#start")
    frame.wait_for_function(
        "() => { const i = document.getElementById('intro-video'); return i && i.complete && i.naturalWidth > 0; }"
    )
    assert frame.evaluate("() => window.origin") == "null"  # an opaque origin: not the page's, not the API's
    assert frame.locator("button.choice").count() >= 2
    _shot(page, "completed", tmp_path)


def test_the_game_and_the_page_parts_answer_their_tenant_only_and_the_game_loads_nothing(
    http: httpx.Client, tenants: list[Tenant]
) -> None:
    owner = tenants[0]
    run_id = http.post("/v1/runs", json={"payload": NOOP}, headers=owner.headers).json()["id"]
    wait_until_finished(http, run_id, owner)

    answer = http.get(f"/v1/runs/{run_id}/game", headers=owner.headers)
    assert answer.status_code == 200 and "noop" in answer.text
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "sandbox allow-scripts" in policy
    assert http.get(f"/v1/runs/{run_id}/game").status_code == 401
    # The parts the run page re-reads on each event: the same tenant only, like the page.
    assert http.get(f"/runs/{run_id}/parts").status_code == 401
    assert http.get(f"/runs/{run_id}/parts", headers=tenants[1].headers).status_code == 404
    assert http.get(f"/runs/{run_id}/parts", headers=owner.headers).json()["status"] == "completed"


def test_a_failed_run_shows_its_reason_and_the_step_that_failed(
    signed_in: Any, http: httpx.Client, api: ApiServer, tenants: list[Tenant], tmp_path: Path
) -> None:
    page, tenant = signed_in, tenants[0]
    failing = {**NOOP, "steps": {**NOOP["steps"], "sfx": {"fail": "permanent"}}}
    run_id = http.post("/v1/runs", json={"payload": failing}, headers=tenant.headers).json()["id"]
    run = wait_until_finished(http, run_id, tenant)
    assert run["status"] == "failed"

    _visit(page, f"{api.url}/runs/{run_id}")
    assert page.text_content("#run-status") == "failed"
    assert page.is_visible("#reason")
    assert page.text_content("#reason") == f"sfx: {run['reason']}"
    assert "simulated permanent failure" in str(run["reason"])
    assert page.locator("tr[data-step=sfx][data-state=failed]").count() == 1
    assert page.locator("tr[data-step=audio_manifest]").get_attribute("data-state") == ""  # never sent
    page.wait_for_function("() => document.querySelectorAll('#events li').length >= 2")
    _shot(page, "failed", tmp_path)


def test_a_running_run_follows_its_events_to_completed_without_a_reload(
    signed_in: Any, http: httpx.Client, api: ApiServer, tenants: list[Tenant], tmp_path: Path
) -> None:
    page, tenant = signed_in, tenants[0]
    slow = {**NOOP, "steps": {**NOOP["steps"], "bgm": {"sleep_s": 4}}}
    run_id = http.post("/v1/runs", json={"payload": slow}, headers=tenant.headers).json()["id"]
    # bgm sleeps 4 s once it runs: the page is opened in that window.
    wait_for(lambda: _step_is(http, run_id, tenant, "bgm", "running"), timeout_s=60, what=f"{run_id}'s bgm to run")

    _visit(page, f"{api.url}/runs/{run_id}")
    page.evaluate("() => { window.sameDocument = true; }")  # gone if the page reloads
    assert page.text_content("#run-status") == "running"
    assert page.locator("tr[data-step=bgm]").get_attribute("data-state") == "running"
    assert page.locator("tr[data-step=plan]").get_attribute("data-state") == "recorded"
    assert page.locator("#previews audio").count() == 0  # no artifact shown before the run's context has it
    _shot(page, "running", tmp_path)

    # Nothing but the events stream tells the page the run went on.
    page.wait_for_function("() => document.querySelector('#run-status').textContent === 'completed'", timeout=60_000)
    assert page.evaluate("() => window.sameDocument") is True
    assert page.locator("#steps tr[data-state=recorded]").count() == STEPS
    assert page.locator("#previews audio[data-type=bgm]").count() == 1
    assert page.locator("iframe#game").count() == 1

    _visit(page, f"{api.url}/")
    assert run_id in (page.text_content("#runs") or "")
    _shot(page, "list", tmp_path)


def test_a_running_step_shows_within_the_re_read_interval_without_any_event(
    signed_in: Any, http: httpx.Client, api: ApiServer, tenants: list[Tenant]
) -> None:
    """A step's start logs no event of its own: the page re-reads its parts every 2 s while the run is live."""
    page, tenant = signed_in, tenants[0]
    hold = {**NOOP, "steps": {**NOOP["steps"], "plan": {"sleep_s": 10}}}
    # Two runs take both slots of the shared worker (-c 2); the third run's plan waits in the queue for a slot.
    blockers = [http.post("/v1/runs", json={"payload": hold}, headers=tenant.headers).json()["id"] for _ in range(2)]
    for blocker in blockers:
        wait_for(lambda b=blocker: _step_is(http, b, tenant, "plan", "running"), timeout_s=60, what=f"{blocker} plan")
    run_id = http.post("/v1/runs", json={"payload": hold}, headers=tenant.headers).json()["id"]
    _visit(page, f"{api.url}/runs/{run_id}")
    assert page.locator("tr[data-step=plan]").get_attribute("data-state") != "running"  # waiting for a slot
    page.evaluate("() => source.close()")  # from here on no event reaches the page: only the re-read can update it

    wait_for(lambda: _step_is(http, run_id, tenant, "plan", "running"), timeout_s=60, what=f"{run_id}'s plan to run")
    plan_running = "() => document.querySelector('tr[data-step=plan]').dataset.state === 'running'"
    # The 2 s interval and a request's time (up to 4 s on a loaded machine), well inside the plan's 10 s.
    page.wait_for_function(plan_running, timeout=6000)
    for run in (*blockers, run_id):
        wait_until_finished(http, run, tenant)


def _step_is(http: httpx.Client, run_id: str, tenant: Tenant, step: str, outcome: str) -> bool:
    answer = http.get(f"/v1/runs/{run_id}/steps", headers=tenant.headers)
    return answer.status_code == 200 and any(s["stepId"] == step and s["outcome"] == outcome for s in answer.json())
