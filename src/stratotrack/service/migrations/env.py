"""Alembic environment: migrations run on the connection the service hands over (or on the configured URL)."""

from alembic import context
from sqlalchemy import create_engine

from stratotrack.service.db import Base

target_metadata = Base.metadata
config = context.config


def run():
    con = config.attributes.get("connection")
    if con is not None:
        context.configure(connection=con, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as c:
        context.configure(connection=c, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run()
