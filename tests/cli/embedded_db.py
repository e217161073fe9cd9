"""Read a `campaign` folder's embedded PostgreSQL as its superuser, from a short-lived process of its own: it joins
the server the way `campaign` does and, as the last user, stops it again, so no test leaves a server behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.worker_fixtures import ROOT

_QUERY = """
import json, sys
import psycopg
from context.embedded import embedded_url
url = embedded_url(__import__("pathlib").Path(sys.argv[1])).replace("postgresql+psycopg://", "postgresql://")
with psycopg.connect(url) as conn:
    rows = conn.execute(sys.argv[2]).fetchall()
print(json.dumps([list(r) for r in rows], default=str))
"""


def embedded_query(cwd: Path, sql: str) -> list[list[Any]]:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-c", _QUERY, str(cwd / "var"), sql]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=False, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def server_running(cwd: Path) -> bool:
    """Whether a postgres of this folder's embedded database is alive (its postmaster.pid names a live process)."""
    pid_file = cwd / "var" / "postgres" / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().split()[0])
    return Path(f"/proc/{pid}").exists()
