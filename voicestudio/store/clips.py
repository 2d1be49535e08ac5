"""Audio files and their clips."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from voicestudio.store.schema import AudioFile, Clip


@dataclass(frozen=True)
class ClipRow:
    id: int
    file_id: int
    path: str
    start_s: float
    end_s: float
    source_group: str | None
    sha256: str

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def find_file_by_path(session, path: str) -> AudioFile | None:
    return session.scalar(select(AudioFile).where(AudioFile.path == path))


def find_files_by_sha(session, sha256: str) -> list[AudioFile]:
    return list(session.scalars(select(AudioFile).where(AudioFile.sha256 == sha256).order_by(AudioFile.id)))


def add_or_update_file(session, *, path: str, **fields) -> AudioFile:
    """The file row for ``path``, created or brought up to date (clips and labels stay)."""
    record = find_file_by_path(session, path)
    if record is None:
        record = AudioFile(path=path, **fields)
        session.add(record)
    else:
        for name, value in fields.items():
            setattr(record, name, value)
    session.flush()
    return record


def relink_file(session, file_id: int, new_path: str, *, mtime: float | None = None) -> None:
    """Point a file (and so its clips, labels and predictions) at where its content now lives."""
    record = session.get(AudioFile, file_id)
    record.path = new_path
    if mtime is not None:
        record.mtime = mtime
    session.flush()


def add_clip(session, file_id: int, start_s: float, end_s: float) -> tuple[Clip, bool]:
    """The clip for this span of the file, and whether it was created now."""
    start_s, end_s = round(float(start_s), 6), round(float(end_s), 6)
    existing = session.scalar(
        select(Clip).where(Clip.file_id == file_id, Clip.start_s == start_s, Clip.end_s == end_s)
    )
    if existing is not None:
        return existing, False
    clip = Clip(file_id=file_id, start_s=start_s, end_s=end_s)
    session.add(clip)
    session.flush()
    return clip, True


def _rows(statement):
    return (
        statement.add_columns(AudioFile.path, AudioFile.source_group, AudioFile.sha256)
        .join(AudioFile, Clip.file_id == AudioFile.id)
    )


def _to_row(clip: Clip, path: str, group: str | None, sha: str) -> ClipRow:
    return ClipRow(clip.id, clip.file_id, path, clip.start_s, clip.end_s, group, sha)


def get_clip(session, clip_id: int) -> ClipRow | None:
    found = session.execute(_rows(select(Clip)).where(Clip.id == clip_id)).first()
    return _to_row(*found) if found else None


def clips_for_path(session, path: str) -> list[ClipRow]:
    statement = _rows(select(Clip)).where(AudioFile.path == path).order_by(Clip.start_s)
    return [_to_row(*r) for r in session.execute(statement)]


def list_clips(session, *, limit: int | None = None, offset: int = 0) -> list[ClipRow]:
    statement = _rows(select(Clip)).order_by(AudioFile.path, Clip.start_s).offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    return [_to_row(*r) for r in session.execute(statement)]


def count_clips(session) -> int:
    return session.scalar(select(func.count(Clip.id)))
