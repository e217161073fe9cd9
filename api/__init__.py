"""The HTTP door: a FastAPI app over the same client functions as the `campaign` command."""

from __future__ import annotations

from api.app import create_app

__all__ = ["create_app"]
