"""The embedded default is a real PostgreSQL from a wheel: shared by concurrent `campaign` processes, stopped by the
last one, and a crashed one leaves nothing that blocks the next start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.embedded_db import embedded_query, server_running
from tests.cli.test_cli import campaign
from tests.services import wait_for
from tests.worker_fixtures import ROOT

# A demo run takes seconds; on a loaded machine, minutes. The demo gives up first and says where its run stands.
DEMO_TIMEOUT_S = 240


def _outputs(procs: list[subprocess.Popen[str]], tmp_path: Path) -> list[tuple[str, str]]:
    """Each process's (stdout, stderr); when one outlives the demo's own timeout, all are killed and the test fails
    with what they printed and the embedded server's log, rather than a bare TimeoutExpired."""
    deadline = time.monotonic() + DEMO_TIMEOUT_S + 60
    try:
        return [p.communicate(timeout=max(1.0, deadline - time.monotonic())) for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        printed = [p.communicate() for p in procs]
        log = tmp_path / "var" / "postgres" / "log"
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else "(no server log)"
        pytest.fail(f"a `campaign demo` outlived its own {DEMO_TIMEOUT_S} s timeout; printed: {printed}; log: {tail}")


def test_two_campaign_processes_share_one_embedded_server_and_the_last_one_stops_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")} | {"PYTHONPATH": str(ROOT)}
    demo = [sys.executable, "-m", "cli", "demo", "--timeout", str(DEMO_TIMEOUT_S)]
    procs = [subprocess.Popen(demo, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]  # fmt: skip
    outputs = _outputs(procs, tmp_path)

    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    assert embedded_query(tmp_path, "SELECT count(*) FROM app.runs WHERE status = 'completed'") == [[2]]
    assert not server_running(tmp_path)


def test_a_campaign_process_killed_mid_run_leaves_nothing_that_blocks_the_next(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")} | {"PYTHONPATH": str(ROOT)}
    victim = subprocess.Popen([sys.executable, "-m", "cli", "demo"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    handles = tmp_path / "var" / "postgres" / ".handle_pids.json"
    wait_for(lambda: server_running(tmp_path) and handles.exists() and str(victim.pid) in handles.read_text(),
             timeout_s=120, what="the victim to hold the embedded server")  # fmt: skip
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)

    after = campaign("demo", cwd=tmp_path)

    assert after.returncode == 0, after.stderr
    assert not server_running(tmp_path)  # the dead process's handle did not keep the server up


# Process A of the test below: inserts its run (queued, as `campaign run` does before it sends the start) and exits
# before it sends the start, as a process would that another one overtakes.
_QUEUE_A_RUN = """
import json, sys
from pipeline.launch import RunRequest, prepare_run
from tasks.app import settings
from tasks.worker import resources
res = resources()
request = RunRequest(tenant_id=settings.tenant, payload=json.loads(sys.argv[1]), trigger_type="manual")
print(prepare_run(request, service=res.service, sessions=res.sessions, graph=res.graph, store=res.store).run_id)
"""


def test_a_campaign_process_finishes_the_runs_of_others_it_admitted_before_it_exits(tmp_path: Path) -> None:
    """Every process on one embedded database admits the tenant's queued runs, and drives what it admits through
    its own in-memory broker: one that left after its own run left the other's steps in a queue that died with it
    (a stress run found two `campaign demo` at once with one run still running after 240 s)."""
    noop = {"CAMPAIGN_GENERATORS": json.dumps({"*": "pipeline.noop:noop"})}
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")} | {"PYTHONPATH": str(ROOT)} | noop
    # The other process's run: its first step takes 2 s, so its later steps are still to come when this one's ends.
    other = {"brief": "the other process's run", "steps": {"plan": {"sleep_s": 2}}}
    queued = subprocess.run([sys.executable, "-c", _QUEUE_A_RUN, json.dumps(other)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=180, check=False)  # fmt: skip
    assert queued.returncode == 0, queued.stderr
    other_id = queued.stdout.strip().splitlines()[-1]
    (tmp_path / "own.json").write_text(json.dumps({"brief": "this process's own run"}))

    own = campaign("run", "own.json", "--wait", "--timeout", "120", cwd=tmp_path, env=noop)

    assert own.returncode == 0, own.stderr
    statuses = embedded_query(tmp_path, "SELECT id::text, status FROM app.runs ORDER BY created_at")
    assert statuses[0] == [other_id, "completed"], statuses  # admitted by `own`'s process, finished before it left
    assert [status for _, status in statuses] == ["completed", "completed"]
