"""Alembic environment: migrations run on a connection VoiceStudio passes in.

VoiceStudio upgrades a project itself when it opens it
(``voicestudio.store.project.open_project``), inside a transaction that holds
the write lock; there is no alembic.ini. To write a new revision after changing
``voicestudio/store/schema.py``, autogenerate it against a project at the
current head, e.g.::

    from alembic import command
    from voicestudio.store.migrate import alembic_config
    from voicestudio.store.project import open_project

    with open_project("/tmp/head.vsproj").engine.begin() as conn:
        command.revision(alembic_config(conn), "what changed", autogenerate=True,
                         rev_id="0003_what_changed")

then add the new id to ``KNOWN_REVISIONS`` in ``voicestudio/store/migrate.py``.
"""

from alembic import context

from voicestudio.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("VoiceStudio runs its migrations on a connection it passes in (see this file's docstring)")

# Batch mode lets later migrations ALTER tables on SQLite (copy-and-move).
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
