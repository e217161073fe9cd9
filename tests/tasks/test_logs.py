"""Log lines are JSON, with the ids given in `extra` as fields of their own."""

from __future__ import annotations

import json
import logging

from tasks.logs import JsonFormatter


def test_a_log_record_becomes_one_json_line_with_its_extra_fields() -> None:
    record = logging.getLogger("tasks.steps").makeRecord(
        "tasks.steps", logging.INFO, __file__, 1, "step %s", ("reused",), None,
        extra={"run_id": "r-1", "tenant_id": "t-1", "step_id": "bgm"},
    )  # fmt: skip

    line = JsonFormatter().format(record)

    assert "\n" not in line
    document = json.loads(line)
    assert document["message"] == "step reused"
    assert (document["run_id"], document["tenant_id"], document["step_id"]) == ("r-1", "t-1", "bgm")
    assert document["level"] == "INFO" and document["ts"].endswith("Z")
    assert "args" not in document and "msg" not in document  # the record's own attributes stay out


def test_an_exception_is_kept_in_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.getLogger("x").makeRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    document = json.loads(JsonFormatter().format(record))

    assert "ValueError: boom" in document["exception"]
