"""The engine's rules live as versioned SQL (alembic/sql): the migrated database runs exactly those files."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from context.migrations import sql_files
from context.runs import LIVE_STATUSES

_DEFINITION = re.compile(r"CREATE OR REPLACE FUNCTION app\.(\w+)\(.*?\$\$(.*)\$\$", re.S)
# Made by an earlier migration and not a rule: the trigger that sends NOTIFY events.
NOT_A_RULE = {"notify_run_event"}


def _files() -> dict[str, str]:
    bodies = {}
    for path in sql_files():
        match = _DEFINITION.search(path.read_text(encoding="utf-8"))
        assert match, f"{path.name} holds no CREATE OR REPLACE FUNCTION app.<name>(...) AS $$ ... $$"
        bodies[match.group(1)] = match.group(2)
    return bodies


def test_every_function_of_the_database_is_its_file_exactly(pg_sessions: sessionmaker[Session]) -> None:
    with pg_sessions() as s:
        rows = s.execute(text("SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                              "WHERE n.nspname = 'app'")).all()  # fmt: skip
    in_db = {r.proname: r.prosrc for r in rows if r.proname not in NOT_A_RULE}

    assert in_db == _files()


def test_the_live_statuses_are_the_same_in_python_and_sql(pg_sessions: sessionmaker[Session]) -> None:
    with pg_sessions() as s:
        live = {
            status
            for status in ("queued", "pending", "running", "completed", "failed", "cancelled")
            if s.execute(text("SELECT app.is_live(:s)"), {"s": status}).scalar_one()
        }
    assert live == {s.value for s in LIVE_STATUSES}
