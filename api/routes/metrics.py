"""/metrics in Prometheus' text format, for a key of CAMPAIGN_METRICS_KEYS (counts span every tenant)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.auth import MetricsReader
from api.metrics import exposition
from api.schemas import REFUSALS

router = APIRouter(tags=["metrics"], responses={401: REFUSALS[401], 503: REFUSALS[503]})


@router.get(
    "/metrics",
    dependencies=[MetricsReader],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}},
)
def metrics() -> Response:
    """Runs by status (from the ledger), step durations and queue waits (from the workers)."""
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
