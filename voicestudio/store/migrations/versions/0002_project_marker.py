"""Mark SQLite projects as VoiceStudio's and make label events append-only in the database.

- ``PRAGMA application_id`` = 0x5653504A ("VSPJ"): the file header itself says
  this is a VoiceStudio project, so a newer project can be told apart from
  another application's database (``voicestudio.store.migrate.APPLICATION_ID``).
- Triggers refuse UPDATE and DELETE on ``label_events``: labels are events that
  are only ever appended. A labelled clip therefore cannot be deleted either
  (its cascade would delete the events).

Other databases (PostgreSQL) get neither; the store never updates or deletes
label events on any backend.

Revision ID: 0002_project_marker
Revises: 0001_initial
Create Date: 2026-11-22
"""
from alembic import op

revision = "0002_project_marker"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

APPLICATION_ID = 0x5653504A  # frozen here; a test checks it against migrate.APPLICATION_ID
TRIGGERS = {
    "label_events_no_update": ("UPDATE", "label events are append-only: add a new event instead"),
    "label_events_no_delete": ("DELETE", "label events are append-only: they are never deleted"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for name, (action, message) in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {action} ON label_events "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("PRAGMA application_id = 0")
