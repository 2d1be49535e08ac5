"""Alembic environment: migrations run on a connection VoiceStudio passes in."""

from alembic import context

from voicestudio.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("VoiceStudio runs its migrations itself when a project opens")

# Batch mode lets later migrations ALTER tables on SQLite (copy-and-move).
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
