"""A metric that cannot be written is logged; the step or run that recorded it goes on."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from context.ledger import RunEnd
from tasks import metrics


class _Unwritable:
    """Stands for a metric whose multiprocess file cannot be written (a full or read-only directory)."""

    def labels(self, **_: Any) -> Any:
        raise OSError(28, "No space left on device")


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("RUN_DURATION", lambda: metrics.run_ended(RunEnd("completed", 1.0))),
        ("SWEEPER_ACTIONS", lambda: metrics.swept("taken_over")),
        ("ARTIFACT_BYTES", lambda: metrics.artifacts_stored((("image", 10),))),
    ],
)
def test_an_unwritable_metric_is_logged_not_raised(
    name: str, call: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(metrics, name, _Unwritable())
    with caplog.at_level(logging.WARNING, logger="tasks.metrics"):
        call()
    assert [r.getMessage() for r in caplog.records] == ["metric not recorded"]
    assert "No space left" in caplog.text
