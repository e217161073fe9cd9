# The campaign backend image: one image for the workers, beat, the one-shot migration and Flower.
#   docker build -t campaign-pipeline .
# BASE_IMAGE and PIP_INSTALL_OPTIONS exist for docker/compose-check, which builds the same image offline from a
# Debian root filesystem and wheels built on the host (docker/wheels/); users keep the defaults.
ARG BASE_IMAGE=python:3.11.11-slim-bookworm
FROM ${BASE_IMAGE}
ARG PIP_INSTALL_OPTIONS=""

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # The code finds alembic.ini, alembic/ and config/artifact-types.json beside its packages
    # (context/migrations.py, context/settings.py), so it must be imported from /app, not from
    # site-packages: PYTHONPATH puts /app first. `pip install .` still brings the dependencies
    # and the `campaign` command, into a virtual environment (Debian's own Python refuses system installs).
    PYTHONPATH=/app \
    PATH=/opt/campaign/bin:$PATH

WORKDIR /app

# Dependencies first, so a code-only change does not reinstall them.
COPY docker/wheels/ /wheels/
COPY pyproject.toml README.md ./
COPY context/ context/
COPY pipeline/ pipeline/
COPY tasks/ tasks/
COPY cli/ cli/
COPY api/ api/
# The wheel ships the migrations and the artifact-type config as package data, so they are part of the build.
COPY alembic.ini ./
COPY alembic/ alembic/
COPY config/ config/
# The fonts the generators draw text with (pipeline/media/fonts.py); the offline base image has them already.
RUN [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || (apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core fonts-noto-color-emoji \
    && rm -rf /var/lib/apt/lists/*)
RUN python3 -m venv /opt/campaign \
    && pip install ${PIP_INSTALL_OPTIONS} . \
    && rm -rf /wheels build *.egg-info \
    && python3 -c "import celery, flower, psycopg, sqlalchemy"

# A non-root user. It owns the artifact directory (a named volume mounted there starts out owned by them) and
# /app/var, where `campaign beat` keeps its schedule: everything else under /app stays read-only to it.
RUN groupadd --system --gid 10001 campaign \
    && useradd --system --uid 10001 --gid campaign --home-dir /app --shell /usr/sbin/nologin campaign \
    && mkdir -p /var/lib/campaign/artifacts /app/var \
    && chown -R campaign:campaign /var/lib/campaign /app/var
USER campaign

ENV CAMPAIGN_ARTIFACT_ROOT=/var/lib/campaign/artifacts

CMD ["celery", "-A", "tasks.app", "worker", "-l", "INFO"]
