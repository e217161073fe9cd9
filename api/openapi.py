"""`python -m api.openapi > docs/schema/openapi.json`: the committed OpenAPI document, as FastAPI builds it."""

from __future__ import annotations

import json
import sys
from typing import Any

from api.app import create_app


def document() -> dict[str, Any]:
    return create_app().openapi()


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
