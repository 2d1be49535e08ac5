"""The project database schema (SQLAlchemy 2).

Audio is referenced by path plus SHA-256 of its content; a long recording is
one file with several clips. Labels are append-only events: the current label
is the latest event per (clip, annotator); nothing is updated or deleted, and
undo is a new event. Predictions are keyed by (clip, model).

Changing this module means a new Alembic revision in ``migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

LABEL_VALUES = ("human", "nonhuman", "unsure")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class AudioFile(Base):
    __tablename__ = "audio_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(4096), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    mtime: Mapped[float] = mapped_column(Float)
    format: Mapped[str] = mapped_column(String(32))
    subtype: Mapped[str | None] = mapped_column(String(32))
    sample_rate: Mapped[int] = mapped_column(Integer)
    channels: Mapped[int] = mapped_column(Integer)
    frames: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    source_group: Mapped[str | None] = mapped_column(String(1024))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    clips: Mapped[list["Clip"]] = relationship(back_populates="file", cascade="all, delete-orphan")


class Clip(Base):
    __tablename__ = "clips"
    __table_args__ = (UniqueConstraint("file_id", "start_s", "end_s", name="uq_clip_span"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("audio_files.id", ondelete="CASCADE"), index=True)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    file: Mapped[AudioFile] = relationship(back_populates="clips")

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class LabelEvent(Base):
    """One label decision. Append-only: the newest event per annotator wins; NULL clears."""

    __tablename__ = "label_events"
    __table_args__ = (
        CheckConstraint(
            "value IS NULL OR value IN ('human', 'nonhuman', 'unsure')", name="ck_label_value"
        ),
        Index("ix_label_events_clip_annotator", "clip_id", "annotator", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"))
    annotator: Mapped[str] = mapped_column(String(255), index=True)
    value: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("label_events.id"))


class Model(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(4096))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str | None] = mapped_column(String(64))
    card_json: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Prediction(Base):
    __tablename__ = "predictions"
    __table_args__ = (UniqueConstraint("clip_id", "model_id", name="uq_prediction_clip_model"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    clip_score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    window_starts: Mapped[bytes] = mapped_column(LargeBinary)  # float32 seconds
    window_probs: Mapped[bytes] = mapped_column(LargeBinary)  # float32; NaN = silent, not run
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    uri: Mapped[str] = mapped_column(String(1024))  # ssh://user@host:port or adb://SERIAL; never a password
    key_path: Mapped[str | None] = mapped_column(String(4096))
    python_cmd: Mapped[str | None] = mapped_column(String(1024))
    workdir: Mapped[str | None] = mapped_column(String(1024))
    info_json: Mapped[str | None] = mapped_column(Text)  # the last check
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BenchmarkRun(Base):
    __tablename__ = "benchmark_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="SET NULL"))
    model_sha256: Mapped[str] = mapped_column(String(64))
    tool: Mapped[str] = mapped_column(String(64))
    threads: Mapped[int] = mapped_column(Integer)
    runs: Mapped[int] = mapped_column(Integer)
    warmup: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # "ok" | "error"
    results_json: Mapped[str | None] = mapped_column(Text)
    raw_log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    duration_s: Mapped[float | None] = mapped_column(Float)
