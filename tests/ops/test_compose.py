"""docker-compose.yml and .env.example, read as data: the stack a user starts is wired as documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from context.settings import Settings
from tasks.app import ALL_QUEUES, INTAKE_QUEUE

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
ENV_EXAMPLE_TEXT = (ROOT / ".env.example").read_text(encoding="utf-8")

PREFIX = Settings.model_config["env_prefix"]
SETTINGS_VARS = {f"{PREFIX}{name}".upper() for name in Settings.model_fields}
# Read by docker compose only (a command-line flag, the role's password in a URL), never by the code.
COMPOSE_ONLY_VARS = {
    "CAMPAIGN_WORKER_CONCURRENCY",
    "CAMPAIGN_MEDIA_WORKER_CONCURRENCY",
    "CAMPAIGN_INTAKE_CONCURRENCY",
    "CAMPAIGN_WORKER_DB_PASSWORD",
    "CAMPAIGN_ARTIFACT_BUCKET",
}
SECRETS = {"POSTGRES_PASSWORD", "CAMPAIGN_WORKER_DB_PASSWORD", "FLOWER_BASIC_AUTH", "MINIO_ROOT_PASSWORD"}
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


def test_the_stack_has_postgres_redis_a_migration_workers_and_flower(compose: dict[str, Any]) -> None:
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


def test_services_start_in_order_once_what_they_need_is_healthy_or_done(compose: dict[str, Any]) -> None:
    assert service(compose, "migrate")["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert service(compose, "worker")["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "buckets": {"condition": "service_completed_successfully"},
        "redis": {"condition": "service_healthy"},
    }
    assert service(compose, "flower")["depends_on"]["redis"] == {"condition": "service_healthy"}


def test_postgres_redis_and_the_workers_have_healthchecks_that_probe_the_real_service(
    compose: dict[str, Any],
) -> None:
    workers = ("worker", "media-worker", "intake")
    probes = {name: " ".join(service(compose, name)["healthcheck"]["test"]) for name in ("postgres", "redis", *workers)}
    assert "pg_isready" in probes["postgres"]
    assert "redis-cli ping" in probes["redis"]
    for name in workers:
        assert "celery -A tasks.app inspect ping" in probes[name]
        assert "celery@$$HOSTNAME" in probes[name]  # this replica, not any worker ($$: not a compose variable)


def test_the_migration_runs_alembic_upgrade_once_as_the_superuser(compose: dict[str, Any]) -> None:
    migrate = service(compose, "migrate")
    assert command(migrate) == "campaign db upgrade head"  # cli.main db_upgrade: Alembic's upgrade
    assert migrate["restart"] == "no"
    url = environment(migrate)["CAMPAIGN_DATABASE_URL"]
    assert url.startswith("postgresql://postgres:${POSTGRES_PASSWORD:?")


def test_workers_log_in_as_the_rls_bound_role_and_never_get_the_superuser_password(
    compose: dict[str, Any],
) -> None:
    for name in ("worker", "media-worker", "intake"):
        worker_env = environment(service(compose, name))
        url = worker_env["CAMPAIGN_DATABASE_URL"]
        assert url.startswith("postgresql://campaign_worker:${CAMPAIGN_WORKER_DB_PASSWORD"), name
        assert not any("POSTGRES_PASSWORD" in str(v) for v in worker_env.values()), name
        assert not any("FLOWER_BASIC_AUTH" in str(v) for v in worker_env.values()), name
    postgres = service(compose, "postgres")
    init_mounts = [v for v in postgres["volumes"] if "/docker-entrypoint-initdb.d/" in v]
    assert init_mounts and init_mounts[0].startswith("./docker/postgres-init.sh:")
    assert "CAMPAIGN_WORKER_DB_PASSWORD" in environment(postgres)


def test_the_init_script_creates_the_worker_role_in_campaign_app_with_the_password_from_the_env() -> None:
    script = (ROOT / "docker" / "postgres-init.sh").read_text(encoding="utf-8")
    assert script.startswith("#!")
    assert "CREATE ROLE campaign_app NOLOGIN" in script
    assert "CREATE ROLE campaign_worker LOGIN" in script
    assert "GRANT campaign_app TO campaign_worker" in script
    assert 'worker_password="$CAMPAIGN_WORKER_DB_PASSWORD"' in script  # quoted by psql, never spliced into SQL


def test_the_worker_runs_celery_with_a_configurable_concurrency(compose: dict[str, Any]) -> None:
    assert re.search(
        r"^celery -A tasks\.app worker .*-c \$\{CAMPAIGN_WORKER_CONCURRENCY:-\d+\}", command(service(compose, "worker"))
    )


def test_workers_share_artifacts_through_minio_and_no_volume(compose: dict[str, Any]) -> None:
    worker = service(compose, "worker")
    env = environment(worker)
    assert env["CAMPAIGN_ARTIFACT_URL"].startswith("s3://${CAMPAIGN_ARTIFACT_BUCKET:-")
    assert env["AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert env["AWS_SECRET_ACCESS_KEY"] == "${MINIO_ROOT_PASSWORD:?set MINIO_ROOT_PASSWORD}"
    assert "volumes" not in worker  # no shared disk: replicas may run on any host
    assert worker["depends_on"]["buckets"] == {"condition": "service_completed_successfully"}
    assert service(compose, "buckets")["depends_on"] == {"minio": {"condition": "service_healthy"}}
    assert "mc mb --ignore-existing" in command(service(compose, "buckets"))
    assert service(compose, "minio")["ports"] == ["127.0.0.1:9000:9000"]


def test_flower_is_published_on_localhost_only_and_its_basic_auth_comes_from_the_environment(
    compose: dict[str, Any],
) -> None:
    flower = service(compose, "flower")
    assert "flower" in command(flower) and "--port=5555" in command(flower)
    assert flower["ports"] == ["127.0.0.1:5555:5555"]
    auth = environment(flower)["FLOWER_BASIC_AUTH"]  # the variable Flower reads natively
    assert auth.startswith("${FLOWER_BASIC_AUTH:?"), "no default: compose must refuse to start without it"
    assert "--basic-auth" not in command(flower)  # not on the command line, where `ps` shows it


def test_every_secret_is_a_required_variable_reference_and_never_a_literal(compose: dict[str, Any]) -> None:
    for path, value in walk(compose):
        key = path.rsplit(".", 1)[-1]
        if any(word in key.upper() for word in ("PASSWORD", "SECRET", "BASIC_AUTH", "TOKEN")):
            assert isinstance(value, str) and REFERENCE.match(value), f"{path} must be a ${{...}} reference"
            assert ":?" in value, f"{path} must have no default"
    for secret in SECRETS:
        assert f"${{{secret}:?" in COMPOSE_TEXT, f"{secret} is required, with no default"
        assert f"${{{secret}:-" not in COMPOSE_TEXT and f"${{{secret}-" not in COMPOSE_TEXT
    urls = [v for _, v in walk(compose) if isinstance(v, str) and re.match(r"^\w+(\+\w+)?://", v)]
    assert urls
    for url in urls:
        userinfo, at, _host = url.split("://", 1)[1].rpartition("@")
        if at and ":" in userinfo:
            password = userinfo.split(":", 1)[1]
            assert REFERENCE.match(password), f"literal password in {url}"


def test_every_campaign_variable_in_compose_and_env_example_is_a_real_setting() -> None:
    referenced = set(re.findall(r"\bCAMPAIGN_[A-Z0-9_]+", COMPOSE_TEXT)) | {
        name for name in env_example() if name.startswith("CAMPAIGN_")
    }
    assert referenced - SETTINGS_VARS - COMPOSE_ONLY_VARS == set()
    assert COMPOSE_ONLY_VARS.isdisjoint(SETTINGS_VARS), "a compose-only name now collides with a setting"


def test_every_setting_is_documented_in_env_example_with_a_comment() -> None:
    documented = env_example()
    assert SETTINGS_VARS - set(documented) == set()
    lines = ENV_EXAMPLE_TEXT.splitlines()
    for name in SETTINGS_VARS | COMPOSE_ONLY_VARS | SECRETS:
        index = next(i for i, line in enumerate(lines) if re.match(rf"^#?{name}=", line))
        above = lines[index - 1]
        assert above.startswith("# ") and not ENV_LINE.match(above), f"{name} needs a one-line comment above it"


def test_every_setting_is_passed_to_the_app_services(compose: dict[str, Any]) -> None:
    for name in ("worker", "migrate"):
        assert set(environment(service(compose, name))) >= SETTINGS_VARS, name


def test_env_example_holds_only_placeholder_secrets() -> None:
    documented = env_example()
    for secret in SECRETS:
        assert "change-me" in documented[secret], secret


def test_every_example_value_in_env_example_is_accepted_by_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in SETTINGS_VARS:
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text(re.sub(r"^#(CAMPAIGN_)", r"\1", ENV_EXAMPLE_TEXT, flags=re.MULTILINE), encoding="utf-8")

    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]

    assert settings.broker_url == "redis://127.0.0.1:6379/0"
    assert settings.database_url.startswith("postgresql+psycopg://campaign_worker:")
    assert settings.generators == {"bgm": "mypackage.audio:generate_bgm"}
    assert str(settings.tenant) == "00000000-0000-4000-8000-000000000001"
