"""Audio files and their clips: add, find, relink, replace, list and count.

A file whose path came to hold other content is *replaced* (``replaced_at``
set) and kept as history with its clips and labels. Everything that lists or
counts clips sees the current files only: ``current_clips`` is that one join,
for the queries elsewhere (export, label files) too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from datetime import datetime

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import aliased

from voicestudio.store.schema import AudioFile, Clip, LabelEvent, utcnow

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SPAN_DECIMALS = 6  # clip bounds are rounded to the microsecond, so the same span is the same clip


@dataclass(frozen=True)
class ClipRow:
    """A clip with what is needed to find and show it."""

    id: int
    file_id: int
    path: str
    start_s: float
    end_s: float
    source_group: str | None
    sha256: str
    size_bytes: int = -1  # the file's size and mtime when it was imported (checked before its audio is used)
    mtime: float = 0.0
    replaced_at: datetime | None = None  # set: other content took the file's path; this clip is history

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def check_sha256(sha256: str) -> str:
    """The digest in lower case; ValueError unless it is 64 hex digits."""
    digest = str(sha256).lower()
    if not _SHA256.fullmatch(digest):
        raise ValueError(f"sha256 must be 64 hex digits, not {sha256!r}")
    return digest


# Files -----------------------------------------------------------------------

def is_current():
    """SQL condition on ``AudioFile``: not replaced by other content at its path."""
    return AudioFile.replaced_at.is_(None)


def get_file(session, file_id: int) -> AudioFile | None:
    return session.get(AudioFile, file_id)


def find_file_by_path(session, path: str) -> AudioFile | None:
    """The current file at ``path`` (replaced ones at the same path are history)."""
    return session.scalar(select(AudioFile).where(AudioFile.path == str(path), is_current()))


def find_files_by_sha(session, sha256: str) -> list[AudioFile]:
    """Files with this content, current or replaced, oldest first (a moved file is found here by its hash)."""
    statement = select(AudioFile).where(AudioFile.sha256 == str(sha256).lower()).order_by(AudioFile.id)
    return list(session.scalars(statement))


def add_or_update_file(session, *, path: str, **fields) -> AudioFile:
    """The current file row for ``path``, created or brought up to date (its clips and labels stay).

    ``fields`` are the other ``AudioFile`` columns (sha256, size_bytes, mtime,
    format, subtype, sample_rate, channels, frames, duration_s, source_group,
    imported_at). ``path`` must be absolute. A current row with another
    ``sha256`` is never updated: its labels belong to that content. It is
    replaced (kept as history) and a new row made.
    """
    path = str(path)
    if not os.path.isabs(path):
        raise ValueError(f"audio file paths are stored absolute, not {path!r}")
    if "sha256" in fields:
        fields["sha256"] = check_sha256(fields["sha256"])
    record = find_file_by_path(session, path)
    if record is not None and "sha256" in fields and record.sha256 != fields["sha256"]:
        replace_file(session, record.id)  # e.g. imported meanwhile by another program, from other content
        record = None
    if record is None:
        record = AudioFile(path=path, **fields)
        session.add(record)
    else:
        for name, value in fields.items():
            setattr(record, name, value)
    session.flush()
    return record


def relink_file(session, file_id: int, new_path: str, *, mtime: float | None = None) -> AudioFile:
    """Point a file (and so its clips, labels and predictions) at where its content now lives.

    A replaced file becomes current again there: its recording was found.
    """
    new_path = str(new_path)
    if not os.path.isabs(new_path):
        raise ValueError(f"audio file paths are stored absolute, not {new_path!r}")
    record = session.get(AudioFile, file_id)
    if record is None:
        raise ValueError(f"no audio file with id {file_id}")
    other = find_file_by_path(session, new_path)
    if other is not None and other.id != record.id:
        raise ValueError(f"{new_path}: already in the project as file {other.id}")
    record.path = new_path
    record.replaced_at = None
    if mtime is not None:
        record.mtime = mtime
    session.flush()
    return record


def replace_file(session, file_id: int, when: datetime | None = None) -> AudioFile:
    """Mark a file replaced: its path now holds other content.

    The file, its clips, labels and predictions stay, as history: they belong to
    the recording that was there, never to what took its place.
    """
    record = session.get(AudioFile, file_id)
    if record is None:
        raise ValueError(f"no audio file with id {file_id}")
    record.replaced_at = when or utcnow()
    session.flush()
    return record


def count_labelled_clips(session, file_id: int) -> int:
    """How many of the file's clips have a current label (by anyone)."""
    return session.scalar(select(func.count(Clip.id)).where(Clip.file_id == file_id, has_current_label()))


def set_file_mtime(session, file_id: int, mtime: float) -> None:
    """The file was touched but holds the same content: remember its new mtime (no re-hash next time)."""
    record = session.get(AudioFile, file_id)
    if record is None:
        raise ValueError(f"no audio file with id {file_id}")
    record.mtime = mtime
    session.flush()


# Clips -----------------------------------------------------------------------

@dataclass(frozen=True)
class ClipsAdded:
    ids: list[int]  # one per span asked for, in order
    added: int  # how many of them are new


def _span(start_s: float, end_s: float) -> tuple[float, float]:
    start_s, end_s = round(float(start_s), _SPAN_DECIMALS), round(float(end_s), _SPAN_DECIMALS)
    if not 0.0 <= start_s < end_s:
        raise ValueError(f"a clip needs 0 <= start < end, not {start_s}..{end_s} s")
    return start_s, end_s


def add_clip(session, file_id: int, start_s: float, end_s: float) -> tuple[Clip, bool]:
    """The clip for this span of the file, and whether it was created now (idempotent)."""
    start_s, end_s = _span(start_s, end_s)
    existing = session.scalar(
        select(Clip).where(Clip.file_id == file_id, Clip.start_s == start_s, Clip.end_s == end_s)
    )
    if existing is not None:
        return existing, False
    clip = Clip(file_id=file_id, start_s=start_s, end_s=end_s)
    session.add(clip)
    session.flush()
    return clip, True


def add_clips(session, file_id: int, spans: Iterable[tuple[float, float]]) -> ClipsAdded:
    """Clips for (start_s, end_s) spans of a file, added where missing: one query, one batched insert."""
    wanted = [_span(start, end) for start, end in spans]
    known = {
        (start, end): clip_id
        for start, end, clip_id in session.execute(
            select(Clip.start_s, Clip.end_s, Clip.id).where(Clip.file_id == file_id)
        )
    }
    new = [Clip(file_id=file_id, start_s=start, end_s=end) for start, end in dict.fromkeys(wanted) if (start, end) not in known]
    session.add_all(new)
    session.flush()
    known.update({(clip.start_s, clip.end_s): clip.id for clip in new})
    return ClipsAdded([known[span] for span in wanted], len(new))


def current_clips(statement: Select) -> Select:
    """``statement`` (over ``Clip``) joined to each clip's file, keeping the clips of current files.

    The one filter every list, count, queue, score, audit and export goes through:
    the clips of a replaced recording are history, not part of the data set.
    """
    return statement.join(AudioFile, Clip.file_id == AudioFile.id).where(is_current())


_FILE_COLUMNS = (AudioFile.path, AudioFile.source_group, AudioFile.sha256, AudioFile.size_bytes, AudioFile.mtime,
                 AudioFile.replaced_at)


def _rows(statement: Select, *, include_replaced: bool = False) -> Select:
    statement = statement.add_columns(*_FILE_COLUMNS)
    if include_replaced:
        return statement.join(AudioFile, Clip.file_id == AudioFile.id)
    return current_clips(statement)


def _to_row(clip: Clip, *file_columns) -> ClipRow:
    path, group, sha, size, mtime, replaced_at = file_columns
    return ClipRow(clip.id, clip.file_id, path, clip.start_s, clip.end_s, group, sha, size, mtime, replaced_at)


def get_clip(session, clip_id: int, *, include_replaced: bool = False) -> ClipRow | None:
    """The clip with its file's path, group and hash (``get_file`` for the rest of the file).

    None for a clip of a replaced recording unless ``include_replaced``.
    """
    found = session.execute(_rows(select(Clip), include_replaced=include_replaced).where(Clip.id == clip_id)).first()
    return _to_row(*found) if found else None


def clips_for_path(session, path: str) -> list[ClipRow]:
    statement = _rows(select(Clip)).where(AudioFile.path == str(path)).order_by(Clip.start_s)
    return [_to_row(*r) for r in session.execute(statement)]


def has_current_label(annotator: str | None = None):
    """SQL condition on ``Clip``: it has a current (not cleared) label, by ``annotator`` or by anyone."""
    event, newer = aliased(LabelEvent), aliased(LabelEvent)
    latest_of_its_annotator = (
        select(func.max(newer.id))
        .where(newer.clip_id == event.clip_id, newer.annotator == event.annotator)
        .scalar_subquery()
    )
    conditions = [event.clip_id == Clip.id, event.value.is_not(None), event.id == latest_of_its_annotator]
    if annotator is not None:
        conditions.append(event.annotator == annotator)
    return exists().where(*conditions)


def _filtered(
    statement: Select,
    *,
    file_id: int | None,
    source_group: str | None,
    path_prefix: str | None,
    unlabelled: bool,
    unlabelled_by: str | None,
) -> Select:
    if file_id is not None:
        statement = statement.where(Clip.file_id == file_id)
    if source_group is not None:
        statement = statement.where(AudioFile.source_group == source_group)
    if path_prefix is not None:
        statement = statement.where(AudioFile.path.startswith(str(path_prefix), autoescape=True))
    if unlabelled:
        statement = statement.where(~has_current_label())
    if unlabelled_by is not None:
        statement = statement.where(~has_current_label(unlabelled_by))
    return statement


def list_clips(
    session,
    *,
    file_id: int | None = None,
    source_group: str | None = None,
    path_prefix: str | None = None,
    unlabelled: bool = False,
    unlabelled_by: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ClipRow]:
    """Clips ordered by path and start, optionally filtered.

    ``unlabelled``: only clips nobody has a current label on; ``unlabelled_by``:
    only clips this annotator has not labelled (or has cleared) — a labelling queue.
    """
    statement = _filtered(
        _rows(select(Clip)), file_id=file_id, source_group=source_group, path_prefix=path_prefix,
        unlabelled=unlabelled, unlabelled_by=unlabelled_by,
    ).order_by(AudioFile.path, Clip.start_s, Clip.id).offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    return [_to_row(*r) for r in session.execute(statement)]


def count_clips(
    session,
    *,
    file_id: int | None = None,
    source_group: str | None = None,
    path_prefix: str | None = None,
    unlabelled: bool = False,
    unlabelled_by: str | None = None,
) -> int:
    """How many clips ``list_clips`` would return with the same filters."""
    statement = _filtered(
        current_clips(select(func.count(Clip.id)).select_from(Clip)),
        file_id=file_id, source_group=source_group, path_prefix=path_prefix,
        unlabelled=unlabelled, unlabelled_by=unlabelled_by,
    )
    return session.scalar(statement)
