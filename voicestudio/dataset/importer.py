"""Import audio files and folders into a project.

Files are recognised by content, not by extension: everything under the given
paths is probed, and what is not audio is counted as skipped (or reported as a
failure when its name says it should have been audio). Each file is read end
to end before anything is written, so one bad file never aborts the batch;
checked files are committed in small batches (at least once a second), so a
crash loses at most the last second of work.

Re-importing is idempotent: a file already known at the same path with the same
size and mtime is not read again (another size or mtime: it is hashed again, and
the same hash only updates the mtime). A known recording found at a new path is
relinked by its SHA-256; content that another path still holds (its size and
mtime as stored, else hashed again to be sure) is reported as a duplicate, not
imported twice. Other content at a known path *replaces* the file there: the old
recording keeps its clips, labels and predictions as history, the new content
gets clips of its own, and the report says how many labelled clips stayed behind.

The open project's own files (database, ``-wal``, ``-shm``, ``-journal``) are
recognised without being opened and skipped, as are other SQLite databases:
see ``voicestudio.store.projectfiles`` for why opening them is dangerous.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from voicestudio import pathmap
from voicestudio.audio.decode import AudioInfo, load_audio, probe
from voicestudio.audio.headers import claimed_frames
from voicestudio.audio.scan import AUDIO_SUFFIXES, DeadLink, FileProblem, FoundFile, LinkLoop, scan
from voicestudio.audio.segment import Segment, fixed_segments, silence_segments
from voicestudio.dataset.sourcecheck import CHANGED, MISSING, check_source
from voicestudio.errors import AudioError, MissingExtraError
from voicestudio.files import file_sha256
from voicestudio.progress import CancelToken, ProgressCallback, report
from voicestudio.store import clips as clip_store
from voicestudio.store.project import Project
from voicestudio.store.projectfiles import ProjectFiles, database_kind


@dataclass(frozen=True)
class SegmentRule:
    """How a file becomes clips.

    ``mode``: ``"auto"`` (files longer than ``long_file_s`` are split at
    silences, shorter ones are one clip), ``"silence"``, ``"fixed"`` (pieces of
    ``length_s``) or ``"none"`` (one clip per file).
    """

    mode: str = "auto"
    length_s: float = 10.0
    long_file_s: float = 60.0

    @classmethod
    def parse(cls, text: str) -> "SegmentRule":
        """``auto``, ``none``, ``silence`` or a number of seconds (fixed pieces)."""
        if text in ("auto", "none", "silence"):
            return cls(mode=text)
        try:
            length = float(text)
        except ValueError:
            raise ValueError(f"--segment takes auto, none, silence or seconds, not {text!r}") from None
        if length <= 0:
            raise ValueError("--segment seconds must be positive")
        return cls(mode="fixed", length_s=length)


@dataclass
class ImportReport:
    files_seen: int = 0
    files_added: int = 0
    files_unchanged: int = 0
    files_relinked: int = 0
    clips_added: int = 0
    duplicates: list[FileProblem] = field(default_factory=list)
    skipped: list[FileProblem] = field(default_factory=list)  # not audio (databases too), and not named as audio
    failures: list[FileProblem] = field(default_factory=list)
    # Other content at a known path: the old recording, its clips and labels kept as history.
    changed: list[FileProblem] = field(default_factory=list)
    relinked: list[FileProblem] = field(default_factory=list)  # a known recording found at a new path
    warnings: list[FileProblem] = field(default_factory=list)  # imported or walked, but worth a word
    links_skipped: list[FileProblem] = field(default_factory=list)  # links in a folder leading to no file
    cancelled: bool = False

    def to_dict(self) -> dict:
        return {
            "files_seen": self.files_seen,
            "files_added": self.files_added,
            "files_unchanged": self.files_unchanged,
            "files_relinked": self.files_relinked,
            "clips_added": self.clips_added,
            "duplicates": [vars(p) for p in self.duplicates],
            "skipped": [vars(p) for p in self.skipped],
            "failures": [vars(p) for p in self.failures],
            "changed": [vars(p) for p in self.changed],
            "relinked": [vars(p) for p in self.relinked],
            "warnings": [vars(p) for p in self.warnings],
            "skipped_links": [vars(p) for p in self.links_skipped],
            "cancelled": self.cancelled,
        }


def source_group(found: FoundFile) -> str:
    """The file's folder relative to its import root (``"de/anna"``), else the root's name."""
    folder = found.path.parent
    try:
        relative = folder.relative_to(found.root)
    except ValueError:
        relative = Path()
    return relative.as_posix() if relative.parts else (found.root.name or "/")


def plan_segments(path: Path, info: AudioInfo, rule: SegmentRule) -> list[Segment]:
    """Decide the file's clips. Reading the audio here also validates it end to end."""
    whole = [Segment(0.0, info.duration_s)]
    mode = rule.mode
    if mode == "auto":
        mode = "silence" if info.duration_s > rule.long_file_s else "none"
    if mode == "silence":
        # Streams the whole file once; undecodable data or NaN raise AudioError.
        return silence_segments(path) or whole
    load_audio(path, sample_rate=None)  # decode it all once: truncated data or NaN fail here
    if mode == "fixed":
        return fixed_segments(info.duration_s, rule.length_s)
    return whole


# Imported files are committed together, at least this often: one transaction per file
# made 50,000 small files take minutes. A crash loses at most one batch, which the next
# (idempotent) import redoes.
_BATCH_FILES = 200
_BATCH_S = 1.0


@dataclass(frozen=True)
class _Known:
    """A current file of the project, as stored."""

    id: int
    size: int
    mtime: float
    sha256: str


@dataclass
class _Index:
    """What the project already holds, read once per import (not three queries per file)."""

    current: dict[str, _Known]  # stored path -> the current file there
    shas: set[str]  # every content the project has, current or replaced

    @classmethod
    def load(cls, project: Project) -> "_Index":
        table = clip_store.AudioFile
        with project.session() as session:
            rows = session.execute(
                select(table.id, table.path, table.size_bytes, table.mtime, table.sha256, table.replaced_at)).all()
        current = {path: _Known(id_, size, mtime, sha) for id_, path, size, mtime, sha, replaced in rows
                   if replaced is None}
        return cls(current, {row.sha256 for row in rows})


@dataclass
class _Pending:
    """A file checked end to end, waiting for its batch to be written."""

    fields: dict
    segments: list[Segment]


def import_paths(
    project: Project,
    paths,
    *,
    rule: SegmentRule = SegmentRule(),
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ImportReport:
    """Import files and folders into ``project``; never raises for one bad file."""
    result = ImportReport()
    found = list(scan(paths))
    total = len(found)
    index_ = _Index.load(project)
    own_files = ProjectFiles.of(project)
    batch: list[_Pending] = []
    started = time.monotonic()
    index = 0
    try:
        for index, item in enumerate(found):
            if cancel is not None and cancel.is_set():
                result.cancelled = True
                break
            report(progress, index, total, str(getattr(item, "path", "")))
            if isinstance(item, LinkLoop):
                result.warnings.append(FileProblem(item.path, f"symbolic link loop: leads back to {item.target}, "
                                                              "which is imported once, not again"))
                continue
            if isinstance(item, DeadLink):  # nothing there to read: named, no failure (unless audio was promised)
                dead = FileProblem(item.path, item.reason)
                (result.failures if _named_as_audio(item.path) else result.links_skipped).append(dead)
                continue
            if isinstance(item, FileProblem):
                # A pipe or socket named like anything but audio is no more a failure than a text file.
                special = item.reason.startswith("not a regular file")
                (result.skipped if special and not _named_as_audio(item.path) else result.failures).append(item)
                continue
            result.files_seen += 1
            pending = _check_one(project, item, rule, result, index_, batch, own_files)
            if pending is not None:
                batch.append(pending)
            if len(batch) >= _BATCH_FILES or (batch and time.monotonic() - started > _BATCH_S):
                _write(project, batch, result)
                started = time.monotonic()
    finally:
        _write(project, batch, result)  # what was checked is kept, even when a later step failed
    report(progress, total if not result.cancelled else index, total, "")
    return result


def _named_as_audio(path) -> bool:
    return Path(path).suffix.lower() in AUDIO_SUFFIXES


def _write(project: Project, batch: list[_Pending], result: ImportReport) -> None:
    """Write a batch of checked files and their clips in one transaction, then empty it."""
    if not batch:
        return
    added = 0
    with project.write() as session:
        for pending in batch:
            record = clip_store.add_or_update_file(session, **pending.fields)
            added += clip_store.add_clips(session, record.id, [(s.start_s, s.end_s) for s in pending.segments]).added
    result.files_added += len(batch)
    result.clips_added += added
    batch.clear()


def _check_one(project: Project, found: FoundFile, rule: SegmentRule, result: ImportReport,
               index: _Index, batch: list[_Pending], own_files: ProjectFiles) -> _Pending | None:
    """Read one file end to end: what to write for it, or None (unchanged, relinked, duplicate, failed)."""
    path = found.path
    stored = pathmap.active().stored(str(path))  # a shared project keeps one form of every path
    try:
        st = path.stat()
        if own_files.owns(path, st):  # decided from stat alone: opening it would drop our SQLite locks
            result.skipped.append(FileProblem(str(path), "the open project's own database file (never read)"))
            return None
        known = index.current.get(stored)
        if known is not None and (known.size, known.mtime) == (st.st_size, st.st_mtime):
            result.files_unchanged += 1
            return None
        kind = database_kind(path)
        if kind is not None:
            result.skipped.append(FileProblem(str(path), f"{kind}, not audio"))
            return None
        info = probe(path)
        digest = file_sha256(path)
        if known is not None:
            if known.sha256 == digest:  # touched, not changed
                with project.write() as session:
                    clip_store.set_file_mtime(session, known.id, st.st_mtime)
                index.current[stored] = replace(known, mtime=st.st_mtime)
                result.files_unchanged += 1
                return None
            _replace(project, known, stored, str(path), index, result)
        if digest in index.shas:  # rare: only then ask the project (and write the batch first)
            _write(project, batch, result)
            if _known_elsewhere(project, digest, stored, str(path), st, index, result):
                return None
        segments = plan_segments(path, info, rule)
    except MissingExtraError as exc:
        result.failures.append(FileProblem(str(path), str(exc)))
        return None
    except AudioError as exc:
        problem = FileProblem(str(path), exc.reason)
        (result.failures if _named_as_audio(path) or "not an audio file" not in exc.reason else result.skipped).append(problem)
        return None
    except OSError as exc:
        result.failures.append(FileProblem(str(path), f"cannot read ({exc.strerror or exc})"))
        return None
    truncated = _truncation(path, info)
    if truncated:
        result.warnings.append(FileProblem(str(path), truncated))
    index.shas.add(digest)
    return _Pending(dict(
        path=stored,
        sha256=digest,
        size_bytes=st.st_size,
        mtime=st.st_mtime,
        format=info.format,
        subtype=info.subtype,
        sample_rate=info.sample_rate,
        channels=info.channels,
        frames=info.frames,
        duration_s=info.duration_s,
        source_group=source_group(found),
        imported_at=datetime.now(timezone.utc),
    ), segments)


def _replace(project: Project, known: _Known, stored: str, shown: str, index: _Index, result: ImportReport) -> None:
    """Other content at a known path: keep the old recording, with its clips and labels, as history."""
    with project.write() as session:
        clip_store.replace_file(session, known.id)
        labelled = clip_store.count_labelled_clips(session, known.id)
    del index.current[stored]
    result.changed.append(_changed(shown, labelled))


def _changed(shown: str, labelled: int, moved_to: str | None = None) -> FileProblem:
    where = f" (found at {moved_to})" if moved_to else ""
    return FileProblem(shown, f"changed since import: {labelled} labelled clip{'' if labelled == 1 else 's'} "
                              f"kept with the old recording{where}")


def _known_elsewhere(project: Project, digest: str, stored: str, shown: str, st: os.stat_result,
                     index: _Index, result: ImportReport) -> bool:
    """Content the project knows: a duplicate of a file still there, or a known recording moved here.

    Another current file is a duplicate's original only if its path still holds
    this content (checked: size and mtime as stored, else hashed again). If none
    does, the recording moved here: the file that was current elsewhere (its path
    gone or holding other audio now), else the latest replaced one, is relinked
    to this path with its clips and labels. False: nothing known (import it).
    """
    with project.session() as session:
        records = [r for r in clip_store.find_files_by_sha(session, digest)
                   if not (r.path == stored and r.replaced_at is None)]
    current = [r for r in records if r.replaced_at is None]
    checks = [check_source(record) for record in current]
    for record, check in zip(current, checks):
        if check.ok or check.status not in (MISSING, CHANGED):  # unreadable there: assume it still is
            result.duplicates.append(FileProblem(shown, f"same audio as {pathmap.active().local(record.path)}"))
            return True
    replaced = sorted((r for r in records if r.replaced_at is not None), key=lambda r: (r.replaced_at, r.id))
    moved = current[0] if current else (replaced[-1] if replaced else None)
    if moved is None:
        return False
    with project.write() as session:
        clip_store.relink_file(session, moved.id, stored, mtime=st.st_mtime)
        labelled = clip_store.count_labelled_clips(session, moved.id)
    old_path = pathmap.active().local(moved.path)
    if moved.replaced_at is None:
        index.current.pop(moved.path, None)
        how = f"moved here from {old_path}"
        if checks[0].status == CHANGED:  # and other audio took its old place: say so there too
            result.changed.append(_changed(old_path, labelled, moved_to=shown))
    else:
        how = f"the recording imported as {old_path} (replaced there by other audio), found here with its clips and labels"
    index.current[stored] = _Known(moved.id, st.st_size, st.st_mtime, digest)
    result.files_relinked += 1
    result.relinked.append(FileProblem(shown, how))
    return True


def _truncation(path: Path, info: AudioInfo) -> str | None:
    """"truncated: header says X s, file holds Y s" when the header claims more frames than there are."""
    claimed = claimed_frames(path) if info.backend == "soundfile" else None
    if claimed is None or claimed <= info.frames:
        return None
    return (f"truncated: header says {claimed / info.sample_rate:.4g} s, "
            f"file holds {info.frames / info.sample_rate:.4g} s")
