"""`campaign keys` in-process (Typer's CliRunner) against the session's database."""

from __future__ import annotations

import uuid

from typer.testing import CliRunner

from cli.main import cli


def keys(db_url: str, *args: str) -> tuple[int, str, str]:
    """Run `campaign keys ARGS` on `db_url`: exit code, stdout, stderr."""
    result = CliRunner().invoke(cli, ["keys", *args], env={"CAMPAIGN_DATABASE_URL": db_url})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def create_key(db_url: str, tenant: uuid.UUID) -> str:
    code, stdout, stderr = keys(db_url, "create", "--tenant", str(tenant))
    assert code == 0, stderr
    return stdout.splitlines()[-1]


def key_id_of(db_url: str, tenant: uuid.UUID, key: str) -> uuid.UUID:
    """The id `campaign keys list` shows for `key` (found by the prefix the listing shows)."""
    _, stdout, _ = keys(db_url, "list", "--tenant", str(tenant))
    [key_id] = [line.split("\t")[0] for line in stdout.splitlines()[1:] if key.startswith(line.split("\t")[1])]
    return uuid.UUID(key_id)
