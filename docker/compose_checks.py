"""The checks docker/compose-check runs against the stack it brought up (Python's standard library only).

Each check prints one line, PASS or FAIL with what it saw; the exit status is the number of failures (capped).
The stack's coordinates come from the environment compose-check exports (project name, ports, secrets folder).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROJECT = os.environ["COMPOSE_CHECK_PROJECT"]
SECRETS = Path(os.environ["SECRETS_DIR"])
FLOWER = f"http://127.0.0.1:{os.environ['FLOWER_PORT']}"
API = f"http://127.0.0.1:{os.environ['API_PORT']}"
PROMETHEUS = f"http://127.0.0.1:{os.environ['PROMETHEUS_PORT']}"
COMPOSE = ["docker-compose", "--ansi", "never", "-p", PROJECT, "-f", "docker-compose.yml", "-f",
           "docker/compose.standin.yml"]  # fmt: skip
HOST2 = [*COMPOSE[:4], f"{PROJECT}host2", *COMPOSE[5:], "-f", "docker/compose.host2.yml"]
APP_SERVICES = ("intake", "worker", "media-worker", "beat", "flower", "api")
HEALTHY_WITHIN_S = 240  # first start: PostgreSQL initialises, migrations run, workers come up
RUN_WITHIN_S = 240  # one campaign run of the offline generators, started to completed

failures: list[str] = []
state: dict[str, str] = {}


def sh(*args: str, check: bool = True, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:6])}... exited {proc.returncode}: {proc.stderr.strip()[-800:]}")
    return proc.stdout


def containers(project: str = PROJECT, all_: bool = False) -> dict[str, list[str]]:
    """service name -> container ids of the project (running ones unless all_)."""
    out = sh("docker", "ps", *(["-a"] if all_ else []), "--filter", f"label=com.docker.compose.project={project}",
             "--format", '{{.ID}} {{.Label "com.docker.compose.service"}}')  # fmt: skip
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        cid, _, service = line.partition(" ")
        found.setdefault(service, []).append(cid)
    return found


def one(service: str) -> str:
    ids = containers().get(service, [])
    assert len(ids) == 1, f"{len(ids)} running containers of {service}"
    return ids[0]


def inspect(cid: str, template: str) -> str:
    return sh("docker", "inspect", "-f", template, cid).strip()


def health(cid: str) -> str:
    return inspect(cid, "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}")


def logs(cid: str) -> str:
    proc = subprocess.run(["docker", "logs", cid], capture_output=True, text=True, timeout=60)
    return proc.stdout + proc.stderr


def secret(name: str) -> str:
    return (SECRETS / name).read_text(encoding="utf-8").strip()


def flower(path: str, method: str = "GET", auth: str | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    request = urllib.request.Request(
        FLOWER + path, method=method, headers=headers, data=b"" if method == "POST" else None
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def check(name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    def wrap(fn: Callable[[], str]) -> Callable[[], str]:
        CHECKS.append((name, fn))
        return fn

    return wrap


CHECKS: list[tuple[str, Callable[[], str]]] = []


@check("every service healthy (beat included)")
def all_healthy() -> str:
    deadline = time.monotonic() + HEALTHY_WITHIN_S
    while True:
        running = containers()
        states = {s: [health(c) for c in ids] for s, ids in running.items()}
        expected = {"postgres", "redis", "minio", "prometheus", *APP_SERVICES}
        if expected <= set(states) and all(h == "healthy" for s in expected for h in states[s]):
            return f"healthy: {', '.join(sorted(expected))}"
        # No early exit on "unhealthy": a worker started before the migrations stops and is restarted, and Docker
        # may show the restarting container as unhealthy for a moment.
        if time.monotonic() > deadline:
            raise AssertionError(f"not all healthy after {HEALTHY_WITHIN_S} s: {states}")
        time.sleep(2)


@check("migrations applied once, by the one-shot migrate container")
def migrations_once() -> str:
    migrate = containers(all_=True).get("migrate", [])
    assert len(migrate) == 1, f"{len(migrate)} migrate containers"
    assert inspect(migrate[0], "{{.State.Status}} {{.State.ExitCode}}") == "exited 0"
    versions = sh("docker", "exec", one("postgres"), "psql", "-U", "postgres", "-d", "campaign", "-tAc",
                  "SELECT version_num FROM alembic_version").split()  # fmt: skip
    assert len(versions) == 1, versions
    return f"alembic_version {versions[0]}"


@check("Redis: AOF on, maxmemory set, never evicts")
def redis_config() -> str:
    redis = one("redis")
    got = {k: sh("docker", "exec", redis, "redis-cli", "config", "get", k).split()[1]
           for k in ("maxmemory", "maxmemory-policy", "appendonly")}  # fmt: skip
    assert int(got["maxmemory"]) > 0 and got["maxmemory-policy"] == "noeviction" and got["appendonly"] == "yes", got
    return json.dumps(got)


@check("a celery-node client starts a run as the README does; it completes; its context validates; reader is read-only")
def node_client_run() -> str:
    node_dir = ROOT / "clients" / "node"
    if not (node_dir / "node_modules").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=node_dir, check=True,
                       timeout=300)  # fmt: skip
    redis = f"redis://127.0.0.1:{os.environ['REDIS_PORT']}"
    reader = (
        f"postgresql://campaign_reader:{secret('reader_db_password')}@127.0.0.1:{os.environ['POSTGRES_PORT']}/campaign"
    )
    env = {**os.environ, "CAMPAIGN_BROKER_URL": f"{redis}/0", "CAMPAIGN_RESULT_BACKEND": f"{redis}/1",
           "CAMPAIGN_READER_PG_URL": reader, "RUN_DEADLINE_MS": str(RUN_WITHIN_S * 1000)}  # fmt: skip
    out = sh("node", "clients/node/test/compose-start.mjs", env=env, timeout=RUN_WITHIN_S + 60)
    result = json.loads(out.strip().splitlines()[-1])
    state.update(run_id=result["runId"], tenant_id=result["tenantId"])
    return f"run {result['runId']} {result['status']}; reader UPDATE: {result['updateRefused']}"


def api(path: str, key: str, body: object = None) -> tuple[int, dict[str, object]]:
    """A JSON request to the api service's published port: its status and JSON body."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    request = urllib.request.Request(API + path, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def sse_kinds_until_end(run_id: str, key: str) -> list[str]:
    """The `kind` of each event of GET /v1/runs/{id}/events, read up to the run's end (the stream stays open)."""
    request = urllib.request.Request(f"{API}/v1/runs/{run_id}/events", headers={"Authorization": f"Bearer {key}"})
    kinds: list[str] = []
    with urllib.request.urlopen(request, timeout=30) as stream:
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("data:"):
                kinds.append(json.loads(line[5:])["kind"])
                if kinds[-1] in ("completed", "failed", "cancelled"):
                    return kinds
    raise AssertionError(f"the stream ended after {kinds}")


@check("the api service: a key of `campaign keys create` submits a run over HTTP; it completes; SSE tells so")
def api_run() -> str:
    status, _ = api("/v1/runs", "ck_not-a-key")
    assert status == 401, status
    tenant = str(uuid.uuid4())
    made = sh("docker", "exec", one("api"), "campaign", "keys", "create", "--tenant", tenant)
    key = made.strip().splitlines()[-1]
    body = {"payload": {"brief": "Spin the wheel for a free coffee. Warm colours."}}
    submitted = time.monotonic()
    status, run = api("/v1/runs", key, body)
    assert status == 202, (status, run)
    run_id = str(run["id"])
    deadline = time.monotonic() + RUN_WITHIN_S
    while (run := api(f"/v1/runs/{run_id}", key)[1])["status"] not in ("completed", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"run {run_id} still {run['status']} after {RUN_WITHIN_S} s"
        time.sleep(1)
    assert run["status"] == "completed" and run["tenantId"] == tenant, run
    state["run_s"] = str(time.monotonic() - submitted)  # how long a whole run takes on this machine, now
    kinds = sse_kinds_until_end(run_id, key)
    assert kinds[0] == "queued" and kinds[-1] == "completed", kinds
    file_key = next(iter(json.loads(secret("api_keys"))))  # the secret file's key works beside the table's
    assert api(f"/v1/runs/{run_id}", file_key)[0] == 404  # another tenant's run: as a missing one
    assert api("/v1/runs", file_key)[0] == 200
    steps = kinds.count("step_finished")
    return f"run {run_id} completed for tenant {tenant}; {len(kinds)} events over SSE ({steps} steps)"


def step_records(run_id: str, tenant_id: str) -> list[dict[str, object]]:
    out = sh("docker", "exec", one("intake"), "campaign", "show", run_id, "--tenant", tenant_id, "--json", "--steps")
    records = json.loads(out)
    assert isinstance(records, list)
    return records


@check("video steps ran on the media worker only, the other steps on the step worker")
def media_only() -> str:
    records = step_records(state["run_id"], state["tenant_id"])
    media_host = inspect(one("media-worker"), "{{.Config.Hostname}}")
    worker_host = inspect(one("worker"), "{{.Config.Hostname}}")
    videos = [r for r in records if r.get("queue") == "media"]
    others = [r for r in records if r.get("queue") == "campaign" and r.get("outcome") == "executed"]
    assert videos, records
    assert all(media_host in str(r["hostname"]) for r in videos), videos
    assert all(worker_host in str(r["hostname"]) for r in others), others
    return f"{len(videos)} video steps on {media_host}, {len(others)} others on {worker_host}"


@check("the bgm step was served by the HTTP generation service in its own container (CAMPAIGN_SERVICES)")
def generation_service() -> str:
    records = {r["stepId"]: r for r in step_records(state["run_id"], state["tenant_id"])}
    assert records["bgm"]["outcome"] == "executed", records["bgm"]
    served = [line for line in logs(one("genservice")).splitlines() if '"POST /generate' in line and " 200 " in line]
    assert served, logs(one("genservice"))[-1500:]
    return f"bgm executed; the service answered {len(served)} POST /generate with 200"


@check("an update re-runs only what changed")
def update_reruns_changed() -> str:
    run_id, tenant_id = state["run_id"], state["tenant_id"]
    intake = one("intake")
    payload = '{"steps": {"bgm": {"mood": "epic", "tempo_bpm": 120}}}'
    sh("docker", "exec", intake, "sh", "-c", f"printf '%s' '{payload}' > /tmp/update.json")
    out = sh("docker", "exec", intake, "campaign", "update", "--from", run_id, "--payload", "/tmp/update.json",
             "--tenant", tenant_id, "--wait", "--timeout", str(RUN_WITHIN_S), timeout=RUN_WITHIN_S + 30)  # fmt: skip
    new_id = out.split("run id:", 1)[1].split()[0]
    records = step_records(new_id, tenant_id)
    executed = sorted(str(r["stepId"]) for r in records if r.get("outcome") == "executed")
    reused = [r for r in records if r.get("outcome") == "reused"]
    assert "bgm" in executed and reused, records
    assert "plan" not in executed, executed
    return f"update {new_id}: executed {executed}, reused {len(reused)}"


@check("beat runs as uid 10001, its schedule is in /app/var, its sweeps are logged")
def beat_non_root() -> str:
    beat = one("beat")
    uid = sh("docker", "exec", beat, "id", "-u").strip()
    assert uid == "10001", uid
    deadline = time.monotonic() + 3 * float(os.environ.get("CAMPAIGN_SWEEP_INTERVAL_S", "30")) + 10
    while "campaign.sweep" not in (text := logs(beat)):
        assert time.monotonic() < deadline, text[-1500:]
        time.sleep(1)
    sent = sum("Sending due task" in line and "campaign.sweep" in line for line in text.splitlines())
    return f"uid {uid}; sweeps sent and logged: {sent}"


@check("Flower: 401 without auth on every path; read API with auth; control calls refused (read-only)")
def flower_read_only() -> str:
    auth = secret("flower_basic_auth")
    for path in ("/", "/workers", "/metrics", "/healthcheck", "/api/workers", "/api/tasks", "/nope"):
        status, _ = flower(path)
        assert status == 401, f"{path} answered {status} without auth"
    assert (status := flower("/metrics", auth=auth)[0]) == 200, f"/metrics with auth answered {status}"
    worker = one("worker")
    before = inspect(worker, "{{.State.StartedAt}}")
    status, body = flower("/api/workers?status=1", auth=auth)
    assert status == 200, status
    nodes = sorted(json.loads(body))
    refused = {}
    control = (
        f"/api/worker/shutdown/{nodes[0]}",
        f"/api/worker/pool/shrink/{nodes[0]}",
        "/api/task/async-apply/campaign.start_run",
        "/api/task/send-task/campaign.start_run",
        "/api/task/revoke/x",
    )
    for path in control:
        refused[path] = flower(path, method="POST", auth=auth)[0]
    assert set(refused.values()) == {403}, refused
    time.sleep(1)  # a shutdown that got through takes a moment to stop the worker
    # Still the same process running (its health check can lag on a loaded host; the start time cannot).
    after = inspect(worker, "{{.State.Running}} {{.State.StartedAt}}")
    assert after == f"true {before}", f"the worker was stopped or restarted: {before} -> {after}"
    return f"nodes {nodes}; POST answers {sorted(set(refused.values()))}"


@check("a presigned link carries the public endpoint and, fetched from another container, returns the bytes")
def presigned_link() -> str:
    out = sh(*COMPOSE, "run", "--rm", "-T", "links", state["run_id"], "--tenant", state["tenant_id"],
             env={**os.environ, "COMPOSE_PROFILES": "tools"})  # fmt: skip
    links = [u for u in re.findall(r"https?://\S+", out) if "X-Amz-Signature=" in u]  # one line per artifact
    assert links, out[-1500:]
    public = os.environ["S3_PUBLIC_ENDPOINT"] + "/"
    assert all(link.startswith(public) for link in links), links[:2]
    fetch = "import hashlib, sys, urllib.request as u; print(hashlib.sha256(u.urlopen(sys.argv[1]).read()).hexdigest())"
    image = f"campaign-standin:{os.environ['STANDIN_TAG']}"
    digest = sh("docker", "run", "--rm", "--network", f"{PROJECT}_default", image, "python3", "-c", fetch, links[0])
    digest = digest.strip()
    context = json.loads(sh("docker", "exec", one("intake"), "campaign", "show", state["run_id"], "--tenant",
                            state["tenant_id"], "--json"))  # fmt: skip
    assert digest in json.dumps(context.get("artifacts", {})), f"sha256 {digest} is not an artifact hash of the run"
    return f"{len(links)} links at {public}; the first fetched from a fresh container: sha256 {digest[:12]}... matches"


WORKER_SERVICES = ("intake", "worker", "media-worker")  # the services running tasks, each with /metrics on 9100
METRICS_PORT = 9100
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
ENDED = ("completed", "failed", "cancelled")


def samples(exposition: str) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of each sample of a Prometheus text exposition."""
    found = []
    for line in exposition.splitlines():
        if line and not line.startswith("#") and (m := SAMPLE.match(line)):
            found.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return found


def total(found: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels`."""
    return sum(v for n, got, v in found if n == name and labels.items() <= got.items())


def scrape_workers() -> dict[str, str]:
    """container id -> its /metrics, fetched over the compose network (as Prometheus would) by a throwaway container:
    the port is published nowhere."""
    urls: dict[str, str] = {}
    for service in WORKER_SERVICES:
        for cid in containers().get(service, []):
            assert sh("docker", "port", cid).strip() == "", f"{service} publishes a port"
            ip = inspect(cid, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")
            urls[cid] = f"http://{ip}:{METRICS_PORT}/metrics"
    fetch = (
        "import json, sys, urllib.request as u; print(json.dumps("
        "{k: u.urlopen(url, timeout=10).read().decode() for k, url in json.loads(sys.argv[1]).items()}))"
    )
    image = f"campaign-standin:{os.environ['STANDIN_TAG']}"
    network = f"{PROJECT}_default"
    out = sh("docker", "run", "--rm", "--network", network, image, "python3", "-c", fetch, json.dumps(urls))
    texts = json.loads(out)
    assert isinstance(texts, dict)
    return texts


def api_metrics(key: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(API + "/metrics", headers=headers), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@check("/metrics of each worker (over the compose network) and of the API count what the ledger holds")
def metrics_match_the_ledger() -> str:
    # Before the fault checks: a killed worker's tmpfs starts empty again, and what it counted before is gone.
    runs = {s: int(n) for s, n in (line.split() for line in psql(
        "SELECT status, count(*) FROM app.runs GROUP BY status").splitlines() if line.strip())}  # fmt: skip
    assert not {"queued", "pending", "running"} & set(runs), f"runs still live: {runs}"
    starts = {q: int(n) for q, n in (line.split() for line in psql(
        "SELECT queue, sum(attempts) FROM app.run_steps WHERE started_at IS NOT NULL GROUP BY queue").splitlines()
        if line.strip())}  # fmt: skip
    worker_texts = scrape_workers()
    status, api_text = api_metrics(None)
    assert status == 401, f"/metrics without a key answered {status}"
    status, api_text = api_metrics(json.loads(secret("metrics_keys"))[0])
    assert status == 200, (status, api_text[:300])
    api_found = samples(api_text)
    per_worker = {cid: samples(text) for cid, text in worker_texts.items()}
    # Steps: each container counts the ones its pool ran; summed per queue, the ledger's starts of that queue.
    for queue, started in starts.items():
        ran = sum(total(f, "campaign_step_duration_seconds_count", queue=queue) for f in per_worker.values())
        waited = sum(total(f, "campaign_step_queue_wait_seconds_count", queue=queue) for f in per_worker.values())
        assert ran == waited == started, f"queue {queue}: ledger {started} starts, metrics {ran} ran, {waited} waited"
    for service in WORKER_SERVICES:
        for cid in containers().get(service, []):
            queues = {labels["queue"] for n, labels, v in per_worker[cid]
                      if n == "campaign_step_duration_seconds_count" and v > 0}  # fmt: skip
            expected = {"worker": {"campaign"}, "media-worker": {"media"}, "intake": set()}[service]
            assert queues == expected & set(starts), f"{service} ran steps of {queues}"
    # Runs ended: counted by whichever process ended each (a step worker, the intake, the API), once.
    for outcome in ENDED:
        counted = sum(total(f, "campaign_run_duration_seconds_count", outcome=outcome)
                      for f in [*per_worker.values(), api_found])  # fmt: skip
        assert counted == runs.get(outcome, 0), f"{outcome}: ledger {runs.get(outcome, 0)}, metrics {counted}"
    # The API's gauges: the ledger's count for every status, 0 for those with no run.
    gauges = {labels["status"]: v for n, labels, v in api_found if n == "campaign_runs"}
    assert gauges and all(gauges[s] == runs.get(s, 0) for s in gauges) and set(runs) <= set(gauges), (gauges, runs)
    stored = sum(total(f, "campaign_artifact_bytes_total") for f in per_worker.values())
    assert stored > 0, "no artifact bytes counted"
    return (f"step starts per queue {starts} = metrics of {len(per_worker)} workers; runs {runs} = "
            f"campaign_runs and run_duration counts; {stored / 1e6:.1f} MB of artifacts counted")  # fmt: skip


def prometheus(path: str) -> dict[str, Any]:
    with urllib.request.urlopen(PROMETHEUS + path, timeout=10) as response:
        answer = json.loads(response.read())
    assert answer.get("status") == "success", answer
    data = answer["data"]
    assert isinstance(data, dict)
    return data


def prometheus_value(query: str) -> float | None:
    result = prometheus("/api/v1/query?" + urllib.parse.urlencode({"query": query}))["result"]
    return float(result[0]["value"][1]) if result else None


@check("Prometheus (profile monitoring) finds every worker and the API, and what it scraped equals the ledger")
def prometheus_scrapes() -> str:
    workers = sum(len(containers().get(s, [])) for s in WORKER_SERVICES)
    ended = int(psql("SELECT count(*) FROM app.runs WHERE status = 'completed'").strip())
    started = int(psql("SELECT sum(attempts) FROM app.run_steps WHERE started_at IS NOT NULL").strip())
    # Targets are found by DNS and scraped every 15 s: a few scrapes after the runs ended.
    deadline = time.monotonic() + 60
    while True:
        targets = prometheus("/api/v1/targets?state=active")["activeTargets"]
        up = sorted(t["labels"]["service"] for t in targets if t["health"] == "up")
        got = (prometheus_value("sum(campaign_step_duration_seconds_count)"),
               prometheus_value('campaign_runs{status="completed"}'))  # fmt: skip
        if len(up) == workers + 1 and got == (started, ended):
            return f"targets up: {up}; scraped {got[0]:.0f} step runs and {got[1]:.0f} completed runs, as the ledger"
        errors = {t["labels"].get("service"): t.get("lastError") for t in targets if t["health"] != "up"}
        assert time.monotonic() < deadline, f"up {up}, others {errors}; scraped {got}, ledger {(started, ended)}"
        time.sleep(2)


@check("a second host (profiles worker,media) starts workers only, which join the first host's cluster")
def second_host() -> str:
    env = {**os.environ, "COMPOSE_PROFILES": "worker,media", "FIRST_HOST_NETWORK": f"{PROJECT}_default"}
    sh(*HOST2, "up", "-d", "--no-build", env=env, timeout=180)
    started = containers(f"{PROJECT}host2")
    assert set(started) == {"worker", "media-worker"}, started
    hosts = {inspect(c, "{{.Config.Hostname}}") for ids in started.values() for c in ids}
    deadline = time.monotonic() + 90
    while True:
        out = sh("docker", "exec", one("intake"), "celery", "-A", "tasks.app", "inspect", "ping", "--timeout", "5",
                 check=False)  # fmt: skip
        if all(h in out for h in hosts):
            sh(*HOST2, "down", "-t", "5", env=env, timeout=120)  # the fault checks below are about host 1's worker
            return f"host 2 runs {sorted(started)}; its nodes answer the first host's ping: {sorted(hosts)}"
        assert time.monotonic() < deadline, out[-1500:]
        time.sleep(2)


SLOW_BGM = {"scenario": "slow", "delay_s": 8, "fail_times": 1}  # the service takes 8 s on the first call of a key


def start_runs(count: int, bgm: dict[str, object] | None = None) -> list[str]:
    """`campaign run` in the intake container, without waiting: the run ids."""
    intake = one("intake")
    payload = json.dumps({"brief": "Pop the balloons. Bright colours.", "steps": {"bgm": bgm or {}}})
    sh("docker", "exec", intake, "sh", "-c", f"printf '%s' '{payload}' > /tmp/b.json")
    return [sh("docker", "exec", intake, "campaign", "run", "/tmp/b.json").strip().split()[-1] for _ in range(count)]


def psql(sql: str) -> str:
    return sh("docker", "exec", one("postgres"), "psql", "-U", "postgres", "-d", "campaign", "-tAF", " ", "-c", sql)


def statuses(run_ids: list[str]) -> dict[str, str]:
    ids = ",".join(f"'{r}'" for r in run_ids)  # ids printed by `campaign run`: UUIDs
    out = psql(f"SELECT id, status FROM app.runs WHERE id IN ({ids})")
    return dict(line.split() for line in out.splitlines() if line.strip())


def the_bound_s() -> float:
    """Lease + the longest hard limit + a sweep interval: what the README promises after any single fault."""
    policy = json.loads(os.environ["CAMPAIGN_STEP_POLICY"])
    hard = max(float(p["time_limit_s"]) for p in policy.values())
    return float(os.environ["CAMPAIGN_RUN_LEASE_S"]) + hard + float(os.environ["CAMPAIGN_SWEEP_INTERVAL_S"])


def all_complete_within(run_ids: list[str], since: float, bound_s: float) -> str:
    # The bound covers finding the fault; then the runs' remaining steps still run (three runs on two slots: about
    # two runs' time, as measured on this machine by the api check) and a container restarts (30 s).
    margin_s = 30 + 2 * float(state.get("run_s", "15"))
    deadline = since + bound_s + margin_s
    while True:
        got = statuses(run_ids)
        if len(got) == len(run_ids) and set(got.values()) == {"completed"}:
            took = time.monotonic() - since
            return f"{len(run_ids)} runs completed {took:.0f} s after the fault (bound {bound_s:.0f} s)"
        assert not {"failed", "cancelled"} & set(got.values()), got
        assert time.monotonic() < deadline, f"after {bound_s + margin_s:.0f} s: {got}"
        time.sleep(1)


@check("the step worker docker-killed mid-run and started again: every run completes by itself within the bound")
def worker_killed() -> str:
    runs = start_runs(3, bgm=SLOW_BGM)  # the worker is killed while its bgm steps wait on the service
    worker = one("worker")
    ids = ",".join(f"'{r}'" for r in runs)
    in_flight = (
        f"SELECT count(*) FROM app.run_steps WHERE step_id = 'bgm' AND run_id IN ({ids})"
        " AND started_at IS NOT NULL AND finished_at IS NULL"
    )
    deadline = time.monotonic() + 30
    while int(psql(in_flight).strip() or 0) == 0:
        assert time.monotonic() < deadline, statuses(runs)
        time.sleep(0.2)
    sh("docker", "kill", worker)
    killed_at = time.monotonic()
    sh("docker", "start", worker)
    return all_complete_within(runs, killed_at, the_bound_s())


QUEUED = (  # messages waiting in the step queue's lists (kombu keeps one list per priority level)
    "local n = 0 for _, k in ipairs(redis.call('KEYS', 'campaign*')) do "
    "if redis.call('TYPE', k).ok == 'list' then n = n + redis.call('LLEN', k) end end return n"
)


@check("Redis restarted with step messages queued: none lost (AOF), every run completes")
def redis_restarted() -> str:
    worker, redis, beat = one("worker"), one("redis"), one("beat")
    sh("docker", "pause", worker)  # nothing takes the steps: they wait in Redis
    # Nor does a sweep land among them between the two counts (beat sends one to the step queue every 5 s here).
    sh("docker", "pause", beat)
    try:
        runs = start_runs(3)
        deadline = time.monotonic() + 30
        while (before := int(sh("docker", "exec", redis, "redis-cli", "EVAL", QUEUED, "0").strip())) < 3:
            assert time.monotonic() < deadline, f"{before} messages queued; runs {statuses(runs)}"
            time.sleep(0.2)
        sh("docker", "restart", "-t", "5", redis)
        restarted_at = time.monotonic()
        deadline = restarted_at + 30
        while sh("docker", "exec", redis, "redis-cli", "ping", check=False).strip() != "PONG":
            assert time.monotonic() < deadline, "redis did not come back"
            time.sleep(0.2)
        after = int(sh("docker", "exec", redis, "redis-cli", "EVAL", QUEUED, "0").strip())
    finally:
        sh("docker", "unpause", worker)
        sh("docker", "unpause", beat)
    assert after == before, f"{before} step messages queued before the restart, {after} after"
    return f"{before} step messages kept across the restart; " + all_complete_within(runs, restarted_at, the_bound_s())


def main() -> int:
    started = time.monotonic()
    passed = 0
    for name, fn in CHECKS:
        t0 = time.monotonic()
        try:
            detail = fn()
        except Exception as e:
            failures.append(name)
            detail = f"{type(e).__name__}: {e}"
            if not isinstance(e, AssertionError | RuntimeError):
                traceback.print_exc()
        status = "FAIL" if failures and failures[-1] == name else "PASS"
        passed += status == "PASS"
        print(f"{status} {name} ({time.monotonic() - t0:.1f} s): {detail}", flush=True)
        if status == "FAIL" and name in ("every service healthy (beat included)",):
            break  # nothing else can pass
    if failures:
        for service in ("migrate", *APP_SERVICES):
            for cid in containers(all_=True).get(service, []):
                tail = "\n".join(logs(cid).splitlines()[-30:])
                print(f"--- {service} {cid} (last lines)\n{tail}", flush=True)
    print(f"{passed}/{len(CHECKS)} checks passed in {time.monotonic() - started:.0f} s")
    return min(len(failures), 100)


if __name__ == "__main__":
    sys.exit(main())
