"""The project database schema (SQLAlchemy 2 declarative).

Audio is referenced by path plus SHA-256 of its content; a long recording is
one file with several clips. Labels are append-only events: the current label
is the latest event per (clip, annotator); nothing is updated or deleted, and
undo is a new event (on SQLite, triggers refuse UPDATE and DELETE). Predictions
are keyed by (clip, model); re-scoring replaces the row.

Every timestamp is UTC and comes back as an aware ``datetime``.

Changing this module means a new Alembic revision in ``migrations/versions``
(a test compares the migrated database with these tables).
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
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

LABEL_VALUES = ("human", "nonhuman", "unsure")  # the one definition: labels, audit and the column check use it
BENCHMARK_STATUSES = ("ok", "error")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator):
    """A UTC timestamp: aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite keeps no zone, so values are converted to UTC before they are
    stored; naive datetimes are refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no time zone; pass an aware UTC datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class AudioFile(Base):
    """One recording, by absolute path and content hash (relinked by hash when moved).

    When other content turns up at its path, the record is *replaced*
    (``replaced_at`` set): it stays, with its clips, labels and predictions, as
    the history of the recording those labels were given for, and the new
    content gets a record of its own. Only current records (``replaced_at`` NULL)
    have unique paths; a replaced one becomes current again when its content is
    found at some path (relinked).
    """

    __tablename__ = "audio_files"
    __table_args__ = (
        Index("uq_audio_files_current_path", "path", unique=True,
              sqlite_where=text("replaced_at IS NULL"), postgresql_where=text("replaced_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(4096))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    mtime: Mapped[float] = mapped_column(Float)
    format: Mapped[str] = mapped_column(String(32))
    subtype: Mapped[str | None] = mapped_column(String(32))
    sample_rate: Mapped[int] = mapped_column(Integer)
    channels: Mapped[int] = mapped_column(Integer)
    frames: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    source_group: Mapped[str | None] = mapped_column(String(1024))  # parent folder, speaker, ...
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    replaced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # other content took its path then

    clips: Mapped[list[Clip]] = relationship(back_populates="file", cascade="all, delete-orphan")


class Clip(Base):
    """A span of a file, in seconds from its start."""

    __tablename__ = "clips"
    __table_args__ = (UniqueConstraint("file_id", "start_s", "end_s", name="uq_clip_span"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("audio_files.id", ondelete="CASCADE"), index=True)
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    file: Mapped[AudioFile] = relationship(back_populates="clips")

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class LabelEvent(Base):
    """One label decision. Append-only: the newest event per annotator wins; NULL clears."""

    __tablename__ = "label_events"
    __table_args__ = (
        CheckConstraint(f"value IS NULL OR value IN ({', '.join(map(repr, LABEL_VALUES))})", name="ck_label_value"),
        Index("ix_label_events_clip_annotator", "clip_id", "annotator", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"))
    annotator: Mapped[str] = mapped_column(String(255), index=True)
    value: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("label_events.id"))


class Model(Base):
    """A detector model, by the SHA-256 of its file, with its card as JSON."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(4096))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str | None] = mapped_column(String(64))
    card_json: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Prediction(Base):
    """A model's scores for a clip: float32 arrays stored as little-endian bytes."""

    __tablename__ = "predictions"
    __table_args__ = (UniqueConstraint("clip_id", "model_id", name="uq_prediction_clip_model"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    clip_score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    window_starts: Mapped[bytes] = mapped_column(LargeBinary)  # float32 seconds
    window_probs: Mapped[bytes] = mapped_column(LargeBinary)  # float32; NaN = silent, not run
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Device(Base):
    """A device to benchmark on. Credentials are a key file path, never a password."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    uri: Mapped[str] = mapped_column(String(1024))  # ssh://user@host:port or adb://SERIAL
    key_path: Mapped[str | None] = mapped_column(String(4096))
    python_cmd: Mapped[str | None] = mapped_column(String(1024))
    workdir: Mapped[str | None] = mapped_column(String(1024))
    info_json: Mapped[str | None] = mapped_column(Text)  # the last check
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class BenchmarkRun(Base):
    """One timing run of a model on a device, with its raw log."""

    __tablename__ = "benchmark_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="SET NULL"))
    model_sha256: Mapped[str] = mapped_column(String(64))
    tool: Mapped[str] = mapped_column(String(64))
    threads: Mapped[int] = mapped_column(Integer)
    runs: Mapped[int] = mapped_column(Integer)
    warmup: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # one of BENCHMARK_STATUSES
    results_json: Mapped[str | None] = mapped_column(Text)
    raw_log: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    duration_s: Mapped[float | None] = mapped_column(Float)


class ProjectSetting(Base):
    """One setting of the project itself, shared by everyone who opens it (``store/project_settings.py``)."""

    __tablename__ = "project_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
