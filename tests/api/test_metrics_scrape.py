"""A scrape of /metrics when the broker does not answer: the queue depths are left out, the rest is served."""

from __future__ import annotations

import pytest
from celery import Celery

from api import metrics
from tests.services import free_port


def test_queue_depths_are_left_out_not_a_failed_scrape_when_the_broker_does_not_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nobody = Celery("nobody", broker=f"redis://127.0.0.1:{free_port()}/0")  # a port nothing listens on
    monkeypatch.setattr(metrics, "app", nobody)

    assert list(metrics.QueueDepthCollector().collect()) == []
