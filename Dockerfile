# The campaign backend image: one image for the worker, the one-shot migration and Flower.
#   docker build -t campaign-pipeline .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # The code finds alembic.ini, alembic/ and config/artifact-types.json beside its packages
    # (context/migrations.py, context/settings.py), so it must be imported from /app, not from
    # site-packages: PYTHONPATH puts /app first. `pip install .` still brings the dependencies
    # and the `campaign` command.
    PYTHONPATH=/app

WORKDIR /app

# Dependencies first, so a code-only change does not reinstall them.
COPY pyproject.toml README.md ./
COPY context/ context/
COPY pipeline/ pipeline/
COPY tasks/ tasks/
COPY cli/ cli/
# The wheel ships the migrations and the artifact-type config as package data, so they are part of the build.
COPY alembic.ini ./
COPY alembic/ alembic/
COPY config/ config/
RUN pip install . && python -c "import celery, flower, psycopg, sqlalchemy"

# A non-root user; the artifact directory exists and is theirs, so a named volume mounted
# there starts out owned by them (Docker copies the image directory's ownership into an empty volume).
RUN groupadd --system --gid 10001 campaign \
    && useradd --system --uid 10001 --gid campaign --home-dir /app --shell /usr/sbin/nologin campaign \
    && mkdir -p /var/lib/campaign/artifacts \
    && chown -R campaign:campaign /var/lib/campaign
USER campaign

ENV CAMPAIGN_ARTIFACT_ROOT=/var/lib/campaign/artifacts

CMD ["celery", "-A", "tasks.app", "worker", "-l", "INFO"]
