"""The layering rule: context and pipeline import without Celery, kombu or Redis."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UPWARD_IMPORT = re.compile(r"^\s*(from|import)\s+(celery|kombu|redis|tasks|cli)\b")
PROBE = """
import json, sys
import context, pipeline, pipeline.generators, pipeline.launch, pipeline.noop, pipeline.plugins, pipeline.quality
queue_modules = sorted(m for m in sys.modules if m.split(".")[0] in ("celery", "kombu", "redis"))
print(json.dumps({"queue_modules": queue_modules, "pipeline_loaded": "pipeline.executor" in sys.modules}))
"""


def test_context_and_pipeline_import_no_task_queue_module() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["pipeline_loaded"]  # the probe really imported the layer it judges
    assert report["queue_modules"] == []


def test_no_context_or_pipeline_module_imports_a_higher_layer_or_a_queue_client() -> None:
    offenders = [
        f"{path.relative_to(REPO)}: {line.strip()}"
        for package in ("context", "pipeline")
        for path in sorted((REPO / package).rglob("*.py"))
        for line in path.read_text().splitlines()
        if UPWARD_IMPORT.match(line)
    ]

    assert offenders == []
