"""Alembic environment: runs migrations on the connection canceldesk hands it.

`daemon.db.migrate()` passes its own connection, so the daemon, the tests and the
`alembic` command line all migrate the same way.
"""
from alembic import context
from sqlalchemy import create_engine

from daemon.models import Base

target_metadata = Base.metadata


def run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    url = context.config.get_main_option("sqlalchemy.url")
    with create_engine(url).begin() as own_connection:
        run_migrations(own_connection)
