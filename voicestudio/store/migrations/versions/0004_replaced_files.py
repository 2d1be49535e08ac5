"""A recording whose path now holds other content is kept as history, not overwritten.

``audio_files.replaced_at`` (NULL for current files) and a path uniqueness that
applies to current files only (a partial unique index, on SQLite and PostgreSQL),
so the new content at a path gets a record and clips of its own while the old
recording keeps its clips, labels and predictions.

On SQLite the table is rebuilt (its UNIQUE constraint cannot be dropped in
place); ``open_project`` runs migrations with foreign keys off for that, as
SQLite's own procedure for table changes requires (else dropping the old table
would cascade into the clips), and checks them before committing.

Revision ID: 0004_replaced_files
Revises: 0003_postgres_append_only
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_replaced_files"
down_revision = "0003_postgres_append_only"
branch_labels = None
depends_on = None

INDEX = "uq_audio_files_current_path"
CURRENT = sa.text("replaced_at IS NULL")
# 0001 declared the path unique without naming it: SQLite reflects it nameless, PostgreSQL names it so.
SQLITE_UNIQUE = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
POSTGRES_UNIQUE = "audio_files_path_key"


def upgrade() -> None:
    column = sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True)
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("audio_files", naming_convention=SQLITE_UNIQUE) as batch:
            batch.add_column(column)
            batch.drop_constraint("uq_audio_files_path", type_="unique")
    else:
        op.add_column("audio_files", column)
        op.drop_constraint(POSTGRES_UNIQUE, "audio_files", type_="unique")
    op.create_index(INDEX, "audio_files", ["path"], unique=True, sqlite_where=CURRENT, postgresql_where=CURRENT)


def downgrade() -> None:
    op.drop_index(INDEX, "audio_files")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("audio_files") as batch:
            batch.drop_column("replaced_at")
            batch.create_unique_constraint("uq_audio_files_path", ["path"])
    else:
        op.drop_column("audio_files", "replaced_at")
        op.create_unique_constraint(POSTGRES_UNIQUE, "audio_files", ["path"])
