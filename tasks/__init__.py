"""How campaigns run on Celery: the app, the step tasks, the run driver, the run lifecycle, the client."""

from __future__ import annotations

from tasks.app import app

__all__ = ["app"]
