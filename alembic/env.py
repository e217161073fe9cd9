"""Alembic environment: the URL is CAMPAIGN_DATABASE_URL unless a caller set one on the config."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context as alembic_context
from sqlalchemy import create_engine, pool, text

from context.settings import database_url

config = alembic_context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = config.attributes.get("url") or database_url()


def run_migrations_offline() -> None:
    alembic_context.configure(url=url, literal_binds=True, version_table_schema="public")
    with alembic_context.begin_transaction():
        alembic_context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        # Two processes migrating one database (two `campaign` commands on a fresh embedded one) take turns; the
        # second then finds the schema current.
        connection.execute(text("SELECT pg_advisory_lock(hashtext('campaign_migrations'))"))
        connection.commit()
        alembic_context.configure(connection=connection)
        with alembic_context.begin_transaction():
            alembic_context.run_migrations()
    engine.dispose()


if alembic_context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
