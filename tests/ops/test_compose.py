"""docker-compose.yml and .env.example, read as data, and the stack run for real (docker/compose-check)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.settings import ApiSettings, key_digest
from context.settings import Settings
from pipeline.policy import default_policy
from pipeline.steps import DEFAULT_GRAPH
from tasks.app import ALL_QUEUES, INTAKE_QUEUE

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
ENV_EXAMPLE_TEXT = (ROOT / ".env.example").read_text(encoding="utf-8")

PREFIX = Settings.model_config["env_prefix"]
SETTINGS_VARS = {f"{PREFIX}{name}".upper() for name in Settings.model_fields}
API_SETTINGS_VARS = {f"{PREFIX}{name}".upper() for name in ApiSettings.model_fields}  # the API's own
# Read by docker compose only (a command-line flag, the role's password in a URL), never by the code.
COMPOSE_ONLY_VARS = {
    "CAMPAIGN_WORKER_CONCURRENCY",
    "CAMPAIGN_MEDIA_WORKER_CONCURRENCY",
    "CAMPAIGN_INTAKE_CONCURRENCY",
    "CAMPAIGN_IMAGE_TAG",
}
# Read by docker/postgres-init.sh inside the postgres container, not by the Python code.
INIT_SCRIPT_VARS = {"CAMPAIGN_WORKER_DB_PASSWORD_FILE", "CAMPAIGN_READER_DB_PASSWORD_FILE"}
ROLES = {"db", "broker", "s3", "intake", "worker", "media", "beat", "flower", "api", "monitoring", "tools"}
LONG_RUNNING = {"postgres", "redis", "minio", "intake", "worker", "media-worker", "beat", "flower", "api", "prometheus"}
APP_SERVICES = {"migrate", "intake", "worker", "media-worker", "beat", "flower", "links"}
# A variable set or documented in .env.example, commented out or not: `NAME=...` or `#NAME=...`.
ENV_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", re.MULTILINE)
REFERENCE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(:?[-?][^}]*)?\}$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_TEXT)
    assert isinstance(document, dict)
    return document


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    return compose["services"][name]


def environment(svc: dict[str, Any]) -> dict[str, Any]:
    env = svc.get("environment", {})
    assert isinstance(env, dict), "environment is written as a mapping (the x-app-env anchor merges into it)"
    return env


def command(svc: dict[str, Any]) -> str:
    cmd = svc["command"]
    return " ".join(cmd) if isinstance(cmd, list) else str(cmd)


def env_example() -> dict[str, str]:
    return {m.group(1): m.group(2) for m in ENV_LINE.finditer(ENV_EXAMPLE_TEXT)}


def walk(node: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (dotted.key.path, scalar) in the document."""
    if isinstance(node, dict):
        return [item for k, v in node.items() for item in walk(v, f"{path}.{k}" if path else str(k))]
    if isinstance(node, list):
        return [item for i, v in enumerate(node) for item in walk(v, f"{path}[{i}]")]
    return [(path, node)]


def test_the_stack_has_postgres_redis_a_migration_workers_beat_flower_and_a_links_tool(
    compose: dict[str, Any],
) -> None:
    assert set(compose["services"]) == {
        "postgres",
        "redis",
        "minio",
        "buckets",
        "migrate",
        "worker",
        "media-worker",
        "intake",
        "beat",
        "flower",
        "api",
        "prometheus",
        "links",
    }


def queues_of(svc: dict[str, Any]) -> list[str]:
    cmd = svc["command"]
    return str(cmd[cmd.index("-Q") + 1]).split(",")


def test_steps_videos_and_intake_have_their_own_worker_pools_and_one_beat_sweeps(compose: dict[str, Any]) -> None:
    assert queues_of(service(compose, "worker")) == ["campaign"]
    assert queues_of(service(compose, "media-worker")) == ["media"]
    # Starts never wait for a step slot, steps never wait behind a burst of starts.
    assert queues_of(service(compose, "intake")) == [INTAKE_QUEUE]
    assert service(compose, "beat")["command"] == ["campaign", "beat"]
    assert "deploy" not in service(compose, "beat")  # one beat: two would sweep twice as often
    assert service(compose, "postgres")["image"].startswith("postgres:16")
    assert service(compose, "redis")["image"].startswith("redis:7")


def test_every_queue_the_app_sends_to_is_consumed_by_a_worker_service(compose: dict[str, Any]) -> None:
    consumed = {
        q for name, svc in compose["services"].items() if "-Q" in svc.get("command", []) for q in queues_of(svc)
    }
    assert consumed == set(ALL_QUEUES)


def test_the_worker_can_be_scaled_because_it_has_no_fixed_name_or_host_port(compose: dict[str, Any]) -> None:
    worker = service(compose, "worker")
    assert "container_name" not in worker
    assert "ports" not in worker
    assert "hostname" not in worker  # every replica needs its own celery@<hostname> node name


def test_each_service_is_one_role_so_a_worker_host_starts_no_database_broker_or_beat(
    compose: dict[str, Any],
) -> None:
    profiles = {name: svc.get("profiles") for name, svc in compose["services"].items()}
    assert all(p and len(p) == 1 and p[0] in ROLES for p in profiles.values()), profiles
    assert profiles["postgres"] == profiles["migrate"] == ["db"]
    assert profiles["beat"] == ["beat"]
    worker_host = {name for name, p in profiles.items() if p and set(p) <= {"worker", "media"}}
    assert worker_host == {"worker", "media-worker"}
    # A dependency in a profile that is not active is an error in compose: only same-role dependencies.
    for name, svc in compose["services"].items():
        for dependency in svc.get("depends_on", {}):
            assert profiles[dependency] == profiles[name], f"{name} depends on {dependency} of another role"


def test_one_shots_start_once_what_they_need_is_healthy(compose: dict[str, Any]) -> None:
    assert service(compose, "migrate")["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert service(compose, "buckets")["depends_on"] == {"minio": {"condition": "service_healthy"}}
    assert service(compose, "migrate")["restart"] == service(compose, "buckets")["restart"] == "no"


def test_every_long_running_service_has_a_healthcheck_that_probes_the_real_thing(compose: dict[str, Any]) -> None:
    probes = {name: " ".join(service(compose, name)["healthcheck"]["test"]) for name in LONG_RUNNING}
    assert "pg_isready" in probes["postgres"]
    assert "redis-cli ping" in probes["redis"]
    for name in ("worker", "media-worker", "intake"):
        assert "celery -A tasks.app inspect ping" in probes[name]
        assert "celery@$$HOSTNAME" in probes[name]  # this replica, not any worker ($$: not a compose variable)
    assert "/app/var/celerybeat-schedule" in probes["beat"] and "CAMPAIGN_SWEEP_INTERVAL_S" in probes["beat"]
    assert "/healthcheck" in probes["flower"] and "Authorization" in probes["flower"]
    assert "http://127.0.0.1:8000/readyz" in probes["api"]  # the database and the broker, not just the process
    assert "http://127.0.0.1:9090/-/healthy" in probes["prometheus"]


def test_the_api_serves_campaign_api_with_its_keys_from_secret_files_on_this_host_only(
    compose: dict[str, Any],
) -> None:
    api = service(compose, "api")
    assert api["command"] == ["campaign", "api", "--host", "0.0.0.0", "--port", "8000"]
    assert api["ports"] == ["127.0.0.1:${API_PORT:-8000}:8000"]  # never beyond this host, as Flower
    assert set(api["secrets"]) == {"database_url_worker", "s3_worker_credentials", "api_keys", "metrics_keys"}
    env = environment(api)
    assert env["CAMPAIGN_DATABASE_URL_FILE"] == "/run/secrets/database_url_worker"  # the RLS-bound role
    assert env["CAMPAIGN_API_KEYS_FILE"] == "/run/secrets/api_keys"
    assert env["CAMPAIGN_METRICS_KEYS_FILE"] == "/run/secrets/metrics_keys"
    assert all(v in env or f"{v}_FILE" in env for v in SETTINGS_VARS | API_SETTINGS_VARS)


def test_every_service_rotates_its_logs_and_long_running_ones_have_a_memory_limit(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        assert svc["logging"]["driver"] == "json-file", name
        assert {"max-size", "max-file"} <= set(svc["logging"]["options"]), name
    for name in LONG_RUNNING:
        assert service(compose, name).get("mem_limit"), name


def test_every_image_is_pinned_to_a_version(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        image = svc["image"]
        tag = image.rpartition(":")[2]
        assert tag != "latest" and re.search(r"\d+\.\d+|RELEASE\.\d{4}-", tag), f"{name}: {image}"


def hard_limit_of_queue(queue: str) -> float:
    return max(p.time_limit_s for p in (default_policy(s) for s, _ in DEFAULT_GRAPH) if p.queue == queue)


def seconds(duration: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smh])", duration))


def test_a_worker_stop_lets_the_longest_step_of_its_queue_finish(compose: dict[str, Any]) -> None:
    for name in ("worker", "media-worker"):
        (queue,) = queues_of(service(compose, name))
        assert seconds(service(compose, name)["stop_grace_period"]) > hard_limit_of_queue(queue), name


def test_redis_caps_its_memory_and_never_evicts_keeps_messages_across_restarts(compose: dict[str, Any]) -> None:
    cmd = service(compose, "redis")["command"]
    assert cmd[cmd.index("--maxmemory") + 1]
    assert cmd[cmd.index("--maxmemory-policy") + 1] == "noeviction"
    assert cmd[cmd.index("--appendonly") + 1] == "yes"


def test_the_migration_runs_alembic_upgrade_once_as_the_superuser(compose: dict[str, Any]) -> None:
    migrate = service(compose, "migrate")
    assert command(migrate) == "campaign db upgrade head"  # cli.main db_upgrade: Alembic's upgrade
    assert migrate["secrets"] == ["database_url_migrate"]
    assert environment(migrate)["CAMPAIGN_DATABASE_URL_FILE"] == "/run/secrets/database_url_migrate"


def test_workers_get_only_their_own_secrets_the_rls_bound_role_and_the_bucket_only_s3_user(
    compose: dict[str, Any],
) -> None:
    for name in ("worker", "media-worker", "intake", "beat", "links"):
        svc = service(compose, name)
        assert set(svc["secrets"]) == {"database_url_worker", "s3_worker_credentials"}, name
        env = environment(svc)
        assert env["CAMPAIGN_DATABASE_URL_FILE"] == "/run/secrets/database_url_worker"
        assert env["AWS_SHARED_CREDENTIALS_FILE"] == "/run/secrets/s3_worker_credentials"
        assert "volumes" not in svc  # no shared disk: replicas may run on any host
    flower = service(compose, "flower")
    assert flower["secrets"] == ["flower_basic_auth"]
    assert not any("DATABASE" in k or k.startswith("AWS_") for k in environment(flower))


def test_the_bucket_job_gives_the_workers_user_a_policy_on_the_bucket_alone(compose: dict[str, Any]) -> None:
    script = command(service(compose, "buckets"))
    assert "mc mb --ignore-existing" in script
    assert "mc admin user add" in script and "mc admin policy attach campaign campaign-worker" in script
    assert '"Resource":["arn:aws:s3:::%s"]' in script and '"Resource":["arn:aws:s3:::%s/*"]' in script
    assert "s3:*" not in script


def test_the_init_script_creates_the_worker_and_the_read_only_reader_role_from_secret_files() -> None:
    script = (ROOT / "docker" / "postgres-init.sh").read_text(encoding="utf-8")
    assert script.startswith("#!")
    assert "CREATE ROLE campaign_app NOLOGIN" in script
    assert "CREATE ROLE campaign_worker LOGIN" in script
    assert "GRANT campaign_app TO campaign_worker" in script
    assert "CREATE ROLE campaign_reader LOGIN NOSUPERUSER NOBYPASSRLS" in script
    assert "GRANT SELECT ON TABLES TO campaign_reader" in script
    assert "UPDATE" not in script.split("campaign_reader", 1)[1].split("SQL", 1)[0].replace("GRANT SELECT", "")
    assert '-v worker_password="$worker_password"' in script  # quoted by psql, never spliced into SQL


def test_the_worker_runs_celery_with_a_configurable_concurrency(compose: dict[str, Any]) -> None:
    assert re.search(
        r"^campaign worker .*-c \$\{CAMPAIGN_WORKER_CONCURRENCY:-\d+\}", command(service(compose, "worker"))
    )


WORKER_SERVICES = ("intake", "worker", "media-worker")  # every service running tasks; beat only sends them


def test_every_worker_serves_metrics_from_a_multiprocess_dir_emptied_at_each_start(compose: dict[str, Any]) -> None:
    for name in WORKER_SERVICES:
        svc = service(compose, name)
        cmd = svc["command"]
        assert cmd[:2] == ["campaign", "worker"], name  # `celery worker` has no --metrics-port
        assert cmd[cmd.index("--metrics-port") + 1] == "9100", name
        assert cmd[cmd.index("--metrics-host") + 1] == "0.0.0.0", name  # scraped over the compose network
        folder = environment(svc)["PROMETHEUS_MULTIPROC_DIR"]
        # A tmpfs is empty at every container start, as prometheus_client's multiprocess mode requires; a
        # volume would keep a dead worker's files (and their pids) across a restart.
        # Owned by the image's user: a restarted container's tmpfs comes back 755, whatever mode was asked.
        assert f"{folder}:uid=10001,gid=10001,mode=0700" in svc["tmpfs"], name
        assert "ports" not in svc and not any(folder in str(v) for v in svc.get("volumes", [])), name
    assert "--metrics-port" not in command(service(compose, "beat"))


def test_prometheus_scrapes_every_worker_service_on_its_metrics_port_and_the_api_with_the_metrics_key(
    compose: dict[str, Any],
) -> None:
    svc = service(compose, "prometheus")
    assert svc["profiles"] == ["monitoring"]
    assert svc["ports"] == ["127.0.0.1:${PROMETHEUS_PORT:-9090}:9090"]  # no auth: never beyond this host
    assert "./docker/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in svc["volumes"]
    config = yaml.safe_load((ROOT / "docker" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    (found,) = jobs["campaign-workers"]["dns_sd_configs"]  # every replica of each service, by Docker's DNS
    assert set(found["names"]) == set(WORKER_SERVICES) and found["type"] == "A"
    ports = {service(compose, name)["command"][service(compose, name)["command"].index("--metrics-port") + 1]
             for name in WORKER_SERVICES}  # fmt: skip
    assert ports == {str(found["port"])}
    api = jobs["campaign-api"]
    assert api["static_configs"][0]["targets"] == ["api:8000"]
    assert api["authorization"] == {"type": "Bearer", "credentials_file": "/run/secrets/metrics_key"}
    assert svc["secrets"] == ["metrics_key"]  # the one key of metrics_keys (docker/make-secrets), nothing else
    made = (ROOT / "docker" / "make-secrets").read_text(encoding="utf-8")
    assert 'put metrics_keys "[\\"$(get metrics_key)\\"]"' in made


def test_traces_are_passed_through_from_the_environment_and_off_unless_set(compose: dict[str, Any]) -> None:
    for name in (*WORKER_SERVICES, "api"):
        # None: compose passes the shell's or .env's value through, and sets nothing when there is none.
        assert environment(service(compose, name))["OTEL_EXPORTER_OTLP_ENDPOINT"] is None, name


def test_every_variable_passed_through_to_the_workers_is_documented_in_env_example(compose: dict[str, Any]) -> None:
    passed = {k for k, v in environment(service(compose, "worker")).items() if v is None}
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in passed
    assert passed - set(env_example()) == set()


def test_presigned_links_are_signed_for_the_public_endpoint_not_the_internal_one(compose: dict[str, Any]) -> None:
    assert environment(service(compose, "worker"))["AWS_ENDPOINT_URL"] == "${S3_ENDPOINT:-http://minio:9000}"
    links = service(compose, "links")
    assert links["entrypoint"] == ["campaign", "show", "--links"]
    assert environment(links)["AWS_ENDPOINT_URL"].startswith("${S3_PUBLIC_ENDPOINT")


def test_published_ports_bind_loopback_unless_told_otherwise(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            assert port.startswith(("${PUBLISH_ADDRESS:-127.0.0.1}:", "127.0.0.1:")), f"{name}: {port}"
    assert service(compose, "flower")["ports"] == ["127.0.0.1:${FLOWER_PORT:-5555}:5555"]  # never beyond this host


def test_flower_is_the_read_only_one_and_its_basic_auth_is_a_secret_file(compose: dict[str, Any]) -> None:
    flower = service(compose, "flower")
    assert flower["command"][:3] == ["python3", "-m", "cli.flower_readonly"]
    assert environment(flower)["FLOWER_BASIC_AUTH_FILE"] == "/run/secrets/flower_basic_auth"
    assert "FLOWER_BASIC_AUTH" not in environment(flower)


def test_no_secret_is_an_environment_value_every_one_is_a_file(compose: dict[str, Any]) -> None:
    for path, value in walk(compose):
        key = path.rsplit(".", 1)[-1].upper()
        if key.startswith("SECRETS[") or path.startswith("secrets."):
            continue  # a service's list of secret names, and the top-level secrets' file paths
        if any(word in key for word in ("PASSWORD", "SECRET", "BASIC_AUTH", "TOKEN", "ACCESS_KEY")):
            assert key.endswith("_FILE") and str(value).startswith("/run/secrets/"), f"{path} = {value}"
    urls = [v for _, v in walk(compose) if isinstance(v, str) and re.match(r"^\w+(\+\w+)?://", v)]
    assert urls and not any("@" in url for url in urls), "credentials in a URL"
    defined = compose["secrets"]
    used = {s for svc in compose["services"].values() for s in svc.get("secrets", [])}
    assert used == set(defined)
    for name, spec in defined.items():
        assert spec["file"] == f"${{SECRETS_DIR:-./docker/.secrets}}/{name}"
    made = (ROOT / "docker" / "make-secrets").read_text(encoding="utf-8")
    assert all(f"put {name} " in made for name in defined)


def real_setting(name: str) -> bool:
    known = SETTINGS_VARS | API_SETTINGS_VARS
    return name in known or (name.endswith("_FILE") and name.removesuffix("_FILE") in known)


def test_every_campaign_variable_in_compose_and_env_example_is_a_real_setting() -> None:
    referenced = set(re.findall(r"\bCAMPAIGN_[A-Z0-9_]+", COMPOSE_TEXT)) | {
        name for name in env_example() if name.startswith("CAMPAIGN_")
    }
    assert {n for n in referenced if not real_setting(n)} - COMPOSE_ONLY_VARS - INIT_SCRIPT_VARS == set()
    assert COMPOSE_ONLY_VARS.isdisjoint(SETTINGS_VARS), "a compose-only name now collides with a setting"


def test_every_setting_is_documented_in_env_example_with_a_comment() -> None:
    documented = env_example()
    assert (SETTINGS_VARS | API_SETTINGS_VARS) - set(documented) == set()
    lines = ENV_EXAMPLE_TEXT.splitlines()
    for name in SETTINGS_VARS | API_SETTINGS_VARS | COMPOSE_ONLY_VARS:
        index = next(i for i, line in enumerate(lines) if re.match(rf"^#?{name}=", line))
        above = lines[index - 1]
        assert above.startswith("# ") and not ENV_LINE.match(above), f"{name} needs a one-line comment above it"


def test_every_setting_is_passed_to_the_app_services(compose: dict[str, Any]) -> None:
    for name in ("worker", "migrate"):
        env = environment(service(compose, name))
        assert all(v in env or f"{v}_FILE" in env for v in SETTINGS_VARS), name


def test_env_example_holds_no_secrets() -> None:
    for name, value in env_example().items():
        assert not re.search(r"PASSWORD|SECRET|BASIC_AUTH", name) or name.endswith("_FILE"), name
        assert "@" not in value.split("://", 1)[-1].split("/", 1)[0] or "change-me" in value, name


def test_every_example_value_in_env_example_is_accepted_by_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SETTINGS_VARS | API_SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text(re.sub(r"^#(CAMPAIGN_)", r"\1", ENV_EXAMPLE_TEXT, flags=re.MULTILINE), encoding="utf-8")

    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]

    assert settings.broker_url == "redis://127.0.0.1:6379/0"
    assert settings.database_url.startswith("postgresql+psycopg://campaign_worker:")
    assert settings.generators == {"bgm": "mypackage.audio:generate_bgm"}
    assert str(settings.tenant) == "00000000-0000-4000-8000-000000000001"
    api = ApiSettings(_env_file=env_file)  # type: ignore[call-arg]
    assert set(api.api_keys.values()) == {settings.tenant} and api.metrics_keys and api.max_body_depth == 32


def test_a_setting_is_read_from_the_file_its_file_variable_names_and_a_direct_value_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
    url_file = tmp_path / "database_url"
    url_file.write_text("postgresql://campaign_worker:s3cret@db:5432/campaign\n", encoding="utf-8")
    versions_file = tmp_path / "versions"
    versions_file.write_text('{"bgm": "2"}', encoding="utf-8")
    monkeypatch.setenv("CAMPAIGN_DATABASE_URL_FILE", str(url_file))
    monkeypatch.setenv("CAMPAIGN_STEP_VERSIONS_FILE", str(versions_file))

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "postgresql+psycopg://campaign_worker:s3cret@db:5432/campaign"
    assert settings.step_versions == {"bgm": "2"}  # a JSON setting from a file is parsed like the variable

    monkeypatch.setenv("CAMPAIGN_DATABASE_URL", "postgresql://other@db:5432/campaign")
    assert Settings(_env_file=None).database_url.endswith("//other@db:5432/campaign")  # type: ignore[call-arg]


def test_the_apis_keys_are_read_from_the_file_their_file_variable_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in API_SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
    tenant = uuid.uuid4()
    keys_file, metrics_file = tmp_path / "api_keys", tmp_path / "metrics_keys"
    keys_file.write_text(f'{{"ck_k3y": "{tenant}"}}\n', encoding="utf-8")
    metrics_file.write_text('["ck_m3trics"]', encoding="utf-8")
    monkeypatch.setenv("CAMPAIGN_API_KEYS_FILE", str(keys_file))
    monkeypatch.setenv("CAMPAIGN_METRICS_KEYS_FILE", str(metrics_file))

    api = ApiSettings(_env_file=None)  # type: ignore[call-arg]

    assert api.api_keys == {key_digest("ck_k3y"): tenant}
    assert api.metrics_keys == [key_digest("ck_m3trics")]


def test_a_file_variable_naming_a_missing_file_stops_the_cli_naming_variable_and_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    env["CAMPAIGN_DATABASE_URL_FILE"] = str(missing)
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "status"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    assert f"CAMPAIGN_DATABASE_URL_FILE: cannot read {missing}" in proc.stderr


@pytest.mark.docker
def test_the_stack_runs_for_real_with_docker_compose() -> None:
    """docker/compose-check: images built offline, the stack up, every check against it passes, all removed."""
    project = f"campaigntest{uuid.uuid4().hex[:10]}"
    proc = subprocess.run(
        [str(ROOT / "docker" / "compose-check")],
        cwd=ROOT,
        env={**os.environ, "COMPOSE_CHECK_PROJECT": project},
        capture_output=True,
        text=True,
        timeout=1500,  # a cold machine: debootstrap, wheels and images first (a warm one: about 2 minutes)
    )
    report = proc.stdout + proc.stderr[-4000:]
    print(report)
    assert proc.returncode == 0, report
    assert "FAIL" not in proc.stdout and "checks passed" in proc.stdout
    left = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert left.stdout.strip() == "", "containers of the check were left behind"
    volumes = subprocess.run(
        ["docker", "volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={project}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert volumes.stdout.strip() == "", "volumes of the check were left behind"
