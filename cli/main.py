"""`campaign`: run, follow, update and inspect campaign runs; a thin shell over tasks.client."""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from cli.assets import AssetOpt, read_assets, upload_assets
from cli.gc import gc as gc_command
from cli.keys import keys_cli
from cli.open_cmd import open_run
from cli.schema import schema as _schema_command
from context.errors import BaseRunNotFoundError, ContextError

if TYPE_CHECKING:
    from context.settings import Settings as SettingsType

EXIT_OK, EXIT_BAD_INPUT, EXIT_NOT_FOUND, EXIT_UNAVAILABLE, EXIT_RUN_FAILED = 0, 2, 3, 4, 5
EXIT_STILL_RUNNING = 6  # --wait gave up; the run goes on

cli = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
db_cli = typer.Typer(no_args_is_help=True, help="Database migrations (Alembic).")
cli.add_typer(db_cli, name="db")
cli.add_typer(keys_cli, name="keys")
cli.command("open")(open_run)
cli.command("schema")(_schema_command)
cli.command("gc")(gc_command)
# Piped or redirected, lines are as long as their content: a table must never cut a run id to fit 80 columns.
out = Console(width=None if sys.stdout.isatty() else 100_000)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 100_000)

# Only a brief: the plan reads title, palette, mood, tempo, buttons and the winner from its words.
DEMO_PAYLOAD: dict[str, Any] = {"brief": "Spin the wheel for a summer discount. Bright, playful, beach colours."}

TenantOpt = Annotated[
    uuid.UUID | None, typer.Option("--tenant", envvar="CAMPAIGN_TENANT", help="Tenant id (default: the local tenant).")
]


def settings_now() -> SettingsType:
    """The settings, imported on first use: `campaign --help` must not pay for pydantic-settings."""
    from context.settings import get_settings

    return get_settings()


def fail(message: str, code: int) -> typer.Exit:
    err.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextmanager
def errors_as_exit(run_id: uuid.UUID | None = None) -> Iterator[None]:
    """One line per problem and a non-zero exit for every expected failure; a traceback means a bug."""
    from kombu.exceptions import OperationalError as BrokerError
    from pydantic import ValidationError
    from sqlalchemy.exc import OperationalError as DbError

    from pipeline.refusals import refusal_for

    try:
        yield
    except (ContextError, ValidationError) as e:
        refusal = refusal_for(e, run_id=str(run_id) if run_id else None)
        if refusal is None:
            raise
        for problem in refusal.errors:
            err.print(f"[red]error:[/] {_cli_path(problem.path)}{problem.message}", highlight=False, soft_wrap=True)
        raise typer.Exit(refusal.exit_code) from e
    except DbError as e:
        where = settings_now().where  # never prints credentials
        raise fail(f"database unreachable ({where}): {_one_line(e.orig)}", EXIT_UNAVAILABLE) from e
    except (BrokerError, ConnectionError) as e:
        where = (settings_now().broker_url or "").split("@")[-1]
        raise fail(f"broker unreachable ({where}): {_one_line(e)}", EXIT_UNAVAILABLE) from e
    except TimeoutError as e:
        from tasks.client import StillRunningError

        raise fail(str(e), EXIT_STILL_RUNNING if isinstance(e, StillRunningError) else EXIT_UNAVAILABLE) from e


def _cli_path(path: str) -> str:
    """A request's JSON path as the CLI user knows it: relative to the payload file, `--steps` for forced steps."""
    if path in ("runId", "baseRunId", "steps", "database", "(request)"):
        return ""
    if path.startswith("steps["):
        return "--steps: "
    return f"{path.removeprefix('payload.')}: "


def _one_line(error: object) -> str:
    return " ".join(str(error).split())  # driver messages span lines


def read_json_file(path: Path, what: str) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise fail(f"{what} file {path} does not exist", EXIT_BAD_INPUT) from e
    except (OSError, UnicodeDecodeError) as e:
        raise fail(f"{what} file {path} cannot be read: {e}", EXIT_BAD_INPUT) from e
    except json.JSONDecodeError as e:
        raise fail(f"{what} file {path} is not valid JSON: {e.msg} at line {e.lineno}", EXIT_BAD_INPUT) from e
    if not isinstance(document, dict):
        raise fail(f"{what} file {path} must hold a JSON object, not {type(document).__name__}", EXIT_BAD_INPUT)
    return document


def _assets(specs: list[str] | None) -> dict[str, tuple[bytes, str]]:
    try:
        return read_assets(specs)
    except ValueError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from e


def _str(value: object | None) -> str | None:
    return None if value is None else str(value)


def _tenant(tenant: uuid.UUID | None) -> uuid.UUID:
    return tenant or settings_now().tenant


def execute(request: Any, *, wait: bool, timeout_s: float) -> None:
    """Send the run (embedded: run it here) and, when waiting, draw its steps live until it ends."""
    from tasks import client
    from tasks.app import settings

    if settings.embedded:
        client.validate(request)  # refuse bad input before starting a worker
        with client.embedded_worker():
            run_id = client.submit(request)
            err.print(f"run {run_id} started (embedded: PostgreSQL in {settings.data_dir} + in-process worker)")
            snap = _follow(run_id, request.tenant_id, timeout_s)
    else:
        run_id = client.submit(request)
        err.print(f"run {run_id} enqueued on {settings.broker_url.split('@')[-1] if settings.broker_url else ''}")
        if not wait:
            out.print(str(run_id))
            return
        snap = _follow(run_id, request.tenant_id, timeout_s)
    _finish(snap)


def _finish(snap: Any) -> None:
    """Print the run's steps and where its artifacts are; a failed run exits non-zero."""
    from cli.render import steps_table
    from tasks.app import settings
    from tasks.worker import resources

    out.print(steps_table(snap.run, snap.steps, resources().graph))
    out.print(f"run id: {snap.run.id}")
    out.print(f"artifacts: {settings.artifact_url or settings.artifact_root.resolve()}")
    bundle = _artifact_uri(snap.run.context, "gameBundleArtifactId")
    if bundle:
        out.print(f"game bundle: {bundle}", soft_wrap=True)
    if snap.run.status != "completed":
        raise fail(
            f"run {snap.run.id} {snap.run.status} at step {snap.run.failed_step}: {snap.run.error}", EXIT_RUN_FAILED
        )


def _follow(run_id: uuid.UUID, tenant_id: uuid.UUID, timeout_s: float) -> Any:
    from cli.render import steps_table
    from tasks import client
    from tasks.worker import resources

    graph = resources().graph
    from rich.live import Live

    with Live(console=err, refresh_per_second=8, transient=True) as live:
        return client.wait(
            run_id, tenant_id, timeout_s=timeout_s, on_update=lambda s: live.update(steps_table(s.run, s.steps, graph))
        )


def _artifact_uri(ctx: dict[str, Any] | None, ref: str) -> str | None:
    if not ctx or ref not in ctx.get("refs", {}):
        return None
    art = ctx.get("artifacts", {}).get(ctx["refs"][ref])
    return art.get("uri") if art else None


@cli.command()
def demo(
    brief: Annotated[str | None, typer.Option(help="The campaign brief.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the run.")] = 300,
    asset: AssetOpt = None,
) -> None:
    """Run a whole campaign on the embedded default: PostgreSQL from a wheel + an in-process Celery worker."""
    from pipeline.launch import RunRequest

    if not settings_now().embedded:
        raise fail("demo runs embedded; unset CAMPAIGN_BROKER_URL or use `campaign run FILE --wait`", EXIT_BAD_INPUT)
    payload = {**DEMO_PAYLOAD, **({"brief": brief} if brief else {})}
    images = _assets(asset)
    with errors_as_exit():
        request = RunRequest(
            tenant_id=settings_now().tenant,
            payload=payload,
            trigger_type="manual",
            initiated_by="cli",
            assets=upload_assets(images),
        )
        execute(request, wait=True, timeout_s=timeout)


@cli.command()
def run(
    payload_file: Annotated[Path, typer.Argument(help="JSON trigger payload: {'brief': ..., 'steps': {...}}.")],
    tenant: TenantOpt = None,
    workflow: Annotated[str, typer.Option(help="Workflow name.")] = "campaign",
    wait: Annotated[bool, typer.Option("--wait", help="Show live progress until the run ends.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait.")] = 900,
    asset: AssetOpt = None,
) -> None:
    """Enqueue a run on the configured broker (no broker: run it here, embedded) and print its id."""
    from pipeline.launch import RunRequest

    payload = read_json_file(payload_file, "payload")
    images = _assets(asset)
    with errors_as_exit():
        request = RunRequest(
            tenant_id=_tenant(tenant),
            payload=payload,
            workflow_name=workflow,
            trigger_type="manual",
            initiated_by="cli",
            assets=upload_assets(images),
        )
        execute(request, wait=wait, timeout_s=timeout)


@cli.command()
def update(
    base: Annotated[uuid.UUID, typer.Option("--from", help="The completed run to update.")],
    steps: Annotated[str, typer.Option("--steps", help="Steps to re-run even if unchanged, comma separated.")] = "",
    payload_file: Annotated[Path | None, typer.Option("--payload", help="JSON merged over the base payload.")] = None,
    tenant: TenantOpt = None,
    wait: Annotated[bool, typer.Option("--wait", help="Show live progress until the run ends.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait.")] = 900,
    asset: AssetOpt = None,
) -> None:
    """Start a run from a finished one, re-running only the steps whose inputs changed (or --steps)."""
    from pipeline.launch import RunRequest

    payload = read_json_file(payload_file, "payload") if payload_file else {}
    forced = [s.strip() for s in steps.split(",") if s.strip()]
    images = _assets(asset)
    with errors_as_exit(base):
        request = RunRequest(
            tenant_id=_tenant(tenant),
            base_run_id=base,
            steps=forced,
            payload=payload,
            trigger_type="manual",
            initiated_by="cli",
            assets=upload_assets(images),
        )
        execute(request, wait=wait, timeout_s=timeout)


@cli.command()
def show(
    run_id: uuid.UUID,
    tenant: TenantOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the stored context JSON, exactly.")] = False,
    steps: Annotated[bool, typer.Option("--steps", help="With --json: the per-step records instead.")] = False,
    links: Annotated[bool, typer.Option("--links", help="Print a time-limited link to each artifact.")] = False,
    expires: Annotated[int, typer.Option(min=1, max=604800, help="Seconds the --links stay valid.")] = 3600,
) -> None:
    """Show a run's status and, per step, what happened, why, where it ran and for how long.

    Exits 5 for a failed or cancelled run, so scripts can tell.
    """
    from cli.render import step_records, steps_table
    from cli.summary import print_summary
    from tasks import client
    from tasks.worker import resources

    with errors_as_exit(run_id):
        snap = client.snapshot(run_id, _tenant(tenant))
        if snap is None:
            raise BaseRunNotFoundError(str(run_id))
        graph = resources().graph
        if as_json:
            # Exactly what is stored (the contract's JSON), or the step records; nothing else on stdout.
            document: Any = step_records(snap.steps, graph) if steps else snap.run.context
            sys.stdout.write(json.dumps(document) + "\n")
        else:
            out.print(steps_table(snap.run, snap.steps, graph))
            print_summary(snap.run.context, out)
            if links:
                from cli.links import print_links

                print_links(snap.run.context, resources().store, expires, out, err)
        if snap.run.status in ("failed", "cancelled"):
            raise fail(f"run {run_id} {snap.run.status} at {snap.run.failed_step or '-'}: {snap.run.error}",
                       EXIT_RUN_FAILED)  # fmt: skip


@cli.command()
def verify(run_id: uuid.UUID, tenant: TenantOpt = None) -> None:
    """Recompute every step's input hash from the stored context and read every artifact back.

    Exit 0 when consistent; 1 with one line per problem.
    """
    from context.service import decode_context
    from pipeline.verify import verify_context
    from tasks.worker import resources

    with errors_as_exit():
        res = resources()
        ctx = decode_context(run_id, res.service.load_run(run_id, _tenant(tenant)).context)
        problems = verify_context(ctx, res.graph, res.executor)
    for problem in problems:
        out.print(problem, highlight=False, soft_wrap=True)
    if problems:
        err.print(f"run {run_id}: {len(problems)} problem(s)")
        raise typer.Exit(1)
    err.print(f"run {run_id}: consistent ({len(ctx.artifacts)} artifacts, {len(ctx.refs)} refs)")


@cli.command()
def cancel(
    run_id: uuid.UUID,
    tenant: TenantOpt = None,
    reason: Annotated[str, typer.Option(help="Why; stored on the run.")] = "",
    by: Annotated[str, typer.Option(help="Who cancels (default: the OS user).")] = "",
) -> None:
    """Cancel a queued or running run: queued steps never start, running ones are stopped."""
    import getpass

    from tasks import client

    with errors_as_exit():
        client.cancel(run_id, _tenant(tenant), by=by or getpass.getuser(), reason=reason)
    err.print(f"run {run_id} cancelled")


@cli.command()
def resume(
    run_id: uuid.UUID,
    tenant: TenantOpt = None,
    wait: Annotated[bool, typer.Option("--wait", help="Show live progress until the run ends.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait.")] = 900,
) -> None:
    """Continue a failed run: recorded step results are kept, only what is missing runs."""
    from tasks import client
    from tasks.app import settings

    tenant_id = _tenant(tenant)
    with errors_as_exit(run_id):
        if settings.embedded:
            client.check_resumable(run_id, tenant_id)
            with client.embedded_worker():
                client.resume(run_id, tenant_id)
                _finish(_follow(run_id, tenant_id, timeout))
            return
        client.resume(run_id, tenant_id)
        err.print(f"run {run_id} resumed")
        if wait:
            _finish(_follow(run_id, tenant_id, timeout))


@cli.command()
def stale(
    older_than: Annotated[float, typer.Option(help="Minutes without progress.")] = 30,
    tenant: TenantOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array of the runs.")] = False,
) -> None:
    """List runs stuck in `pending` or `running` for longer than --older-than minutes (for `campaign resume`)."""
    from datetime import timedelta

    from tasks import client

    with errors_as_exit():
        runs = client.stale_runs(_tenant(tenant), timedelta(minutes=older_than))
    if as_json:
        rows = [
            {
                "runId": str(r.id),
                "status": r.status,
                "updatedAt": r.updated_at.isoformat(),
                "baseRunId": _str(r.base_run_id),
            }
            for r in runs
        ]
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    for run in runs:
        out.print(f"{run.id}\t{run.status}\tlast progress {run.updated_at.isoformat()}", highlight=False)
    err.print(f"{len(runs)} stale run(s)")


@cli.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def worker(
    ctx: typer.Context,
    queues: Annotated[
        str, typer.Option("--queues", "-Q", help="Comma-separated queues to consume (default: all, e.g. media).")
    ] = "",
    metrics_port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Serve /metrics on this port (needs PROMETHEUS_MULTIPROC_DIR).")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Address of the /metrics server.")] = "127.0.0.1",
) -> None:
    """Start a Celery worker (extra arguments go to `celery worker`, e.g. -c 4 -l info)."""
    from tasks.app import ALL_QUEUES, app, settings

    if settings.embedded:
        raise fail("no broker configured: set CAMPAIGN_BROKER_URL (e.g. redis://127.0.0.1:6379/0)", EXIT_BAD_INPUT)
    chosen = [q.strip() for q in queues.split(",") if q.strip()] or ALL_QUEUES
    unknown = [q for q in chosen if q not in ALL_QUEUES]
    if unknown:
        raise fail(f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(ALL_QUEUES)}", EXIT_BAD_INPUT)
    if metrics_port is not None:
        from tasks.metrics import MetricsDirError, serve_metrics

        try:
            serve_metrics(metrics_port, metrics_host)
        except (MetricsDirError, OSError) as e:
            raise fail(f"--metrics-port {metrics_port}: {e}", EXIT_BAD_INPUT) from e
    app.worker_main(["worker", "-Q", ",".join(chosen), *ctx.args])


@cli.command()
def beat() -> None:
    """Start Celery beat: it sends `campaign.sweep` every CAMPAIGN_SWEEP_INTERVAL_S (run exactly one)."""
    from tasks.app import app, settings

    if settings.embedded:
        raise fail("no broker configured: set CAMPAIGN_BROKER_URL (e.g. redis://127.0.0.1:6379/0)", EXIT_BAD_INPUT)
    Path("var").mkdir(exist_ok=True)
    app.start(["beat", "-s", "var/celerybeat-schedule", "-l", "INFO"])  # INFO: each sweep sent is logged


@cli.command("api")
def api_server(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (and the run page) with uvicorn; keys from `campaign keys create` or CAMPAIGN_API_KEYS."""
    import uvicorn

    cfg = settings_now()
    if cfg.embedded:  # PostgreSQL it has, the embedded default being one; its runs need workers
        raise fail("the API needs a broker for its runs: set CAMPAIGN_BROKER_URL=redis://...", EXIT_BAD_INPUT)
    # By import string (the CLI never imports the api package): uvicorn's worker processes import it themselves.
    # Event streams never end by themselves: on shutdown, give requests in flight a few seconds, then close.
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        timeout_graceful_shutdown=5,
    )


@contextmanager
def migration_errors() -> Iterator[None]:
    """Alembic's own refusals (a revision it does not know: a database newer than this code) as one line."""
    from alembic.util import CommandError

    try:
        yield
    except CommandError as e:
        raise fail(
            f"{_one_line(e)}: the database was migrated by a newer campaign-pipeline; upgrade it, or name a known "
            "revision",
            EXIT_BAD_INPUT,
        ) from e


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION on CAMPAIGN_DATABASE_URL (the embedded database migrates itself)."""
    from context.migrations import upgrade as do_upgrade
    from context.settings import database_url

    with errors_as_exit(), migration_errors():
        do_upgrade(database_url(), revision)
    err.print(f"database at {revision}")


@db_cli.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Revert migrations down to REVISION ('base' removes everything)."""
    from context.migrations import downgrade as do_downgrade
    from context.settings import database_url

    with errors_as_exit(), migration_errors():
        do_downgrade(database_url(), revision)
    err.print(f"database at {revision}")


def check_settings() -> None:
    """A bad CAMPAIGN_* value (environment or .env): one line per variable saying what is wrong, exit 2."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from context.settings import SecretFileError

    try:
        settings_now()
    except SettingsError as e:
        if isinstance(e.__cause__, SecretFileError):  # CAMPAIGN_X_FILE names a missing or unreadable file
            err.print(f"[red]error:[/] {e.__cause__}", highlight=False, soft_wrap=True)
            raise SystemExit(EXIT_BAD_INPUT) from None
        # otherwise a JSON-valued variable that is not JSON
        field = re.search(r'field "(\w+)"', str(e))
        name = f"CAMPAIGN_{field.group(1).upper()}" if field else "a CAMPAIGN_* variable"
        err.print(f"[red]error:[/] {name}: not valid JSON (expected an object, e.g. {{}})", highlight=False)
        raise SystemExit(EXIT_BAD_INPUT) from None
    except ValidationError as e:
        for item in e.errors(include_url=False):
            name = "CAMPAIGN_" + str(item["loc"][0]).upper() if item["loc"] else "CAMPAIGN_*"
            message = item["msg"].removeprefix("Value error, ")
            err.print(f"[red]error:[/] {name}: {message}", highlight=False, soft_wrap=True)
        raise SystemExit(EXIT_BAD_INPUT) from None


def main() -> None:
    args = sys.argv[1:]
    if args and not {"--help", "-h"} & set(args) and args[0] != "schema":
        check_settings()
    cli()
