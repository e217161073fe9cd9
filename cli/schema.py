"""`campaign schema context|request|event`: the JSON Schema (2020-12) generated from the models."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Literal

import typer


def schema(
    name: Annotated[Literal["context", "request", "event"], typer.Argument(help="context, request or event.")],
) -> None:
    """Print the JSON Schema of the stored context, a run request (campaign.start_run's JSON) or a run event."""
    from pipeline.schemas import json_schema

    sys.stdout.write(json.dumps(json_schema(name), indent=2, ensure_ascii=False) + "\n")
