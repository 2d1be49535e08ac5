"""Initial schema: files, clips, append-only labels, models, predictions, devices, benchmark runs.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audio_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path", sa.String(4096), nullable=False, unique=True),
        sa.Column("sha256", sa.String(64), nullable=False, index=True),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("mtime", sa.Float, nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("subtype", sa.String(32)),
        sa.Column("sample_rate", sa.Integer, nullable=False),
        sa.Column("channels", sa.Integer, nullable=False),
        sa.Column("frames", sa.Integer, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("source_group", sa.String(1024)),
        sa.Column("imported_at", TS, nullable=False),
    )
    op.create_table(
        "clips",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("file_id", sa.Integer, sa.ForeignKey("audio_files.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("start_s", sa.Float, nullable=False),
        sa.Column("end_s", sa.Float, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("file_id", "start_s", "end_s", name="uq_clip_span"),
    )
    op.create_table(
        "label_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("clip_id", sa.Integer, sa.ForeignKey("clips.id", ondelete="CASCADE"), nullable=False),
        sa.Column("annotator", sa.String(255), nullable=False, index=True),
        sa.Column("value", sa.String(16)),
        sa.Column("note", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("undoes_id", sa.Integer, sa.ForeignKey("label_events.id")),
        sa.CheckConstraint("value IS NULL OR value IN ('human', 'nonhuman', 'unsure')", name="ck_label_value"),
    )
    op.create_index("ix_label_events_clip_annotator", "label_events", ["clip_id", "annotator", "id"])
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("path", sa.String(4096), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.String(64)),
        sa.Column("card_json", sa.Text, nullable=False),
        sa.Column("added_at", TS, nullable=False),
    )
    op.create_table(
        "predictions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("clip_id", sa.Integer, sa.ForeignKey("clips.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("clip_score", sa.Float, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("window_starts", sa.LargeBinary, nullable=False),
        sa.Column("window_probs", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("clip_id", "model_id", name="uq_prediction_clip_model"),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("uri", sa.String(1024), nullable=False),
        sa.Column("key_path", sa.String(4096)),
        sa.Column("python_cmd", sa.String(1024)),
        sa.Column("workdir", sa.String(1024)),
        sa.Column("info_json", sa.Text),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "benchmark_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("device_id", sa.Integer, sa.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="SET NULL")),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("tool", sa.String(64), nullable=False),
        sa.Column("threads", sa.Integer, nullable=False),
        sa.Column("runs", sa.Integer, nullable=False),
        sa.Column("warmup", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("results_json", sa.Text),
        sa.Column("raw_log", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("duration_s", sa.Float),
    )


def downgrade() -> None:
    for table in ("benchmark_runs", "devices", "predictions", "models", "label_events", "clips", "audio_files"):
        op.drop_table(table)
