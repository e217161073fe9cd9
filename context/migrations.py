"""Run the Alembic migrations from code (the CLI's `db upgrade`, the test set-up)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from context.assets import migrations_dir
from context.errors import SchemaRevisionError


def alembic_config(url: str) -> Config:
    # No alembic.ini: its only other content is logging set-up, which code callers turn off anyway.
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["url"] = url
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def schema_problem(engine: Engine) -> str | None:
    """What is wrong with the database's schema revision for this code, as one line saying what to do; or None.

    Best effort: an unreachable database, or a role that may not read alembic_version and sees app.runs, is
    not reported here (the first real query reports the outage, or works).
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(str(engine.url))).get_heads())
    where = engine.url.render_as_string(hide_password=True).split("@")[-1]
    try:
        with engine.connect() as conn:
            try:
                current = set(MigrationContext.configure(conn).get_current_heads())
            except ProgrammingError:  # no alembic_version table, or no right to read it
                conn.rollback()
                has_runs = conn.execute(text("SELECT to_regclass('app.runs') IS NOT NULL")).scalar()
                return None if has_runs else _unmigrated(where)
    except OperationalError:
        return None
    if not current:
        return _unmigrated(where)
    if current == heads:
        return None
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    unknown = sorted(rev for rev in current if _revision_or_none(script, rev) is None)
    if unknown:
        return (
            f"database {where} is at revision {', '.join(unknown)}, newer than this campaign-pipeline knows "
            f"(its newest is {', '.join(sorted(heads))}): upgrade campaign-pipeline, or use a matching database"
        )
    return (
        f"database {where} is at revision {', '.join(sorted(current))}, this code needs {', '.join(sorted(heads))}: "
        "run `campaign db upgrade`"
    )


def _unmigrated(where: str) -> str:
    return f"database {where} has no campaign schema yet: run `campaign db upgrade`"


def _revision_or_none(script: Any, revision: str) -> Any:
    from alembic.util import CommandError

    try:
        return script.get_revision(revision)
    except CommandError:
        return None


def check_schema_revision(engine: Engine) -> None:
    """SchemaRevisionError when the database does not match the code."""
    problem = schema_problem(engine)
    if problem:
        raise SchemaRevisionError(problem)


def sql_files(names: tuple[str, ...] = ()) -> list[Path]:
    """The versioned SQL function files (alembic/sql), in load order; only `names` (file stems) when given."""
    files = sorted((migrations_dir() / "sql").glob("*.sql"))
    return [f for f in files if not names or f.stem in names]


def load_sql_functions(names: tuple[str, ...] = ()) -> None:
    """Inside a migration: (re)create the functions of `names`, or of every file. Each file is CREATE OR REPLACE."""
    from alembic import op

    for path in sql_files(names):
        op.get_bind().exec_driver_sql(path.read_text(encoding="utf-8"))


INSPECTOR = "campaign_inspector"


def act_as_inspector(on: bool) -> None:
    """Inside a migration: make the migrating role a member of campaign_inspector (to hand it, or drop, its
    functions), or stop it being one: a lasting member would inherit its policy and read every tenant's rows."""
    from alembic import op

    op.execute(f"GRANT {INSPECTOR} TO CURRENT_USER" if on else f"REVOKE {INSPECTOR} FROM CURRENT_USER")


def hand_to_inspector(signatures: tuple[str, ...]) -> None:
    """Inside a migration: make campaign_inspector (migration 0012) the owner of functions that must see every
    tenant's rows, executable by the worker role and the owner only."""
    from alembic import op

    act_as_inspector(True)
    # A new owner needs CREATE on the schema at the moment it is handed an object, and never after.
    op.execute(f"GRANT CREATE ON SCHEMA app TO {INSPECTOR}")
    for signature in signatures:
        op.execute(f"ALTER FUNCTION {signature} OWNER TO {INSPECTOR}")
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        # The worker role, and the owner (a managed database's workers may log in as its admin).
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO campaign_app, CURRENT_USER")
    op.execute(f"REVOKE CREATE ON SCHEMA app FROM {INSPECTOR}")
    act_as_inspector(False)
