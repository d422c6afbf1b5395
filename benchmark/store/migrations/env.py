"""Alembic's environment for the store: runs on the connection :func:`benchmark.store.schema.upgrade`
passes in ``config.attributes["connection"]``, or on the configured URL for Alembic's own commands
(``revision --autogenerate``, offline ``upgrade --sql``)."""

from alembic import context

from benchmark.store.engine import create_store_engine
from benchmark.store.models import Base


def run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()


config = context.config
if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=Base.metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()
elif "connection" in config.attributes:
    run_on(config.attributes["connection"])
else:
    engine = create_store_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as connection:
            run_on(connection)
    finally:
        engine.dispose()
