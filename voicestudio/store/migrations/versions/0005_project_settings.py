"""Settings that belong to the project, not to one user: a small key-value table.

The first key is the project's default model (``default_model_sha256``, the
SHA-256 of a row in ``models``): the window, its scoring and its audit use it
for everyone who opens the project. A plain table, no rebuild of another one,
so the same statements run on SQLite and PostgreSQL.

Revision ID: 0005_project_settings
Revises: 0004_replaced_files
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_project_settings"
down_revision = "0004_replaced_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("project_settings")
