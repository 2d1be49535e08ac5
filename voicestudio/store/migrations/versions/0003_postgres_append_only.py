"""Label events are append-only on PostgreSQL too.

0002 gave SQLite projects triggers that refuse UPDATE and DELETE on ``label_events``;
this gives PostgreSQL (team) projects the same, with one trigger function. As on
SQLite, a labelled clip therefore cannot be deleted (its cascade would delete events).
SQLite projects only move to this revision.

Revision ID: 0003_postgres_append_only
Revises: 0002_project_marker
Create Date: 2026-12-01
"""
from alembic import op

revision = "0003_postgres_append_only"
down_revision = "0002_project_marker"
branch_labels = None
depends_on = None

FUNCTION = "voicestudio_label_events_append_only"
TRIGGERS = {"label_events_no_update": "UPDATE", "label_events_no_delete": "DELETE"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'label events are append-only: add a new event instead (% refused)', TG_OP; "
        "END $$"
    )
    for name, action in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} BEFORE {action} ON label_events FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON label_events")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
