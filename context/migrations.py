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
