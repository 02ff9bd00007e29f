"""Alembic environment: migrations run as the database owner on the URL the app resolves."""

from alembic import context
from sqlalchemy import create_engine, pool

from app.config import load_config
from app.core.models import Base
from app.db import resolve_database_url, sqlalchemy_url

config = context.config
url = config.attributes.get("database_url") or resolve_database_url(load_config()["DATABASE_URL"])


def run_migrations() -> None:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
