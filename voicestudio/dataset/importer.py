"""Import audio files and folders into a project.

Files are recognised by content, not by extension: everything under the given
paths is probed, and what is not audio is counted as skipped (or reported as a
failure when its name says it should have been audio). Each file is read end
to end before anything is written, so one bad file never aborts the batch;
checked files are committed in small batches (at least once a second), so a
crash loses at most the last second of work.

Re-importing is idempotent: a file already known at the same path with the same
size and mtime is not read again; a known file whose content moved to a new
path is relinked by its SHA-256; content already present at another existing
path is reported as a duplicate, not imported twice.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import select

from voicestudio import pathmap
from voicestudio.audio.decode import AudioInfo, load_audio, probe
from voicestudio.audio.segment import Segment, fixed_segments, silence_segments
from voicestudio.errors import AudioError, MissingExtraError
from voicestudio.progress import CancelToken, ProgressCallback, report
from voicestudio.store import clips as clip_store
from voicestudio.store.project import Project

# Names that promise audio: a file named like this that does not decode is a
# failure worth reporting; any other non-audio file is just skipped.
AUDIO_SUFFIXES = {
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc",
    ".caf", ".w64", ".rf64", ".au", ".snd", ".m4a", ".mp4", ".aac", ".wma", ".webm", ".mka",
}


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


@dataclass(frozen=True)
class FileProblem:
    path: str
    reason: str


@dataclass
class ImportReport:
    files_seen: int = 0
    files_added: int = 0
    files_unchanged: int = 0
    files_relinked: int = 0
    clips_added: int = 0
    duplicates: list[FileProblem] = field(default_factory=list)
    skipped: list[FileProblem] = field(default_factory=list)  # not audio, and not named as audio
    failures: list[FileProblem] = field(default_factory=list)
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
            "cancelled": self.cancelled,
        }


@dataclass(frozen=True)
class FoundFile:
    path: Path
    root: Path  # the import argument it was found under (for its source group)


def scan(paths) -> Iterator[FoundFile | FileProblem]:
    """Files under ``paths`` (recursively, sorted), once each.

    Symlinked folders are followed, but a folder already visited (a symlink
    loop, or two links to one place) is not entered again. Unreadable folders,
    broken or looping links, names the project cannot store and things that
    are not regular files (FIFOs, sockets, devices: never opened, a FIFO would
    block) come out as ``FileProblem``.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    for given in paths:
        root = Path(given).expanduser().absolute()
        try:
            is_dir = stat.S_ISDIR(root.stat().st_mode)
        except FileNotFoundError:
            yield FileProblem(str(root), "broken symbolic link" if root.is_symlink() else "no such file or folder")
            continue
        except OSError as exc:
            yield FileProblem(str(root), _os_reason(exc))
            continue
        if not is_dir:
            if str(root) not in seen_files:
                seen_files.add(str(root))
                yield _found(root, root.parent)
            continue
        stack = [root]
        while stack:
            folder = stack.pop()
            try:
                info = folder.stat()
                if (info.st_dev, info.st_ino) in seen_dirs:
                    continue
                seen_dirs.add((info.st_dev, info.st_ino))
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                yield FileProblem(str(folder), f"cannot read folder ({exc.strerror or exc})")
                continue
            subfolders = []
            for entry in entries:
                kind = _entry_kind(entry)
                if kind == "dir":
                    subfolders.append(Path(entry.path))
                elif kind == "file":
                    if entry.path not in seen_files:
                        seen_files.add(entry.path)
                        yield _found(Path(entry.path), root)
                else:
                    yield FileProblem(entry.path, kind)
            stack.extend(reversed(subfolders))  # depth-first, in name order


def _entry_kind(entry: os.DirEntry) -> str:
    """``"dir"``, ``"file"`` (regular) or the reason it is neither, following symlinks."""
    try:
        if entry.is_dir():
            return "dir"
        if entry.is_file():
            return "file"
        mode = entry.stat().st_mode  # not a plain file or folder: say what it is
    except FileNotFoundError:
        return "broken symbolic link"  # DirEntry says so for a link to nowhere (or a file just deleted)
    except OSError as exc:
        return _os_reason(exc)
    what = {stat.S_IFIFO: "a named pipe", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device",
            stat.S_IFBLK: "a device"}.get(stat.S_IFMT(mode), "not a file")
    return f"not a regular file ({what})"


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (the link points back to itself)"
    return f"cannot read ({exc.strerror or exc})"


def _found(path: Path, root: Path) -> FoundFile | FileProblem:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        # The project stores paths as text; a name in a legacy encoding (an old zip) cannot be.
        return FileProblem(str(path), "the file name is not valid UTF-8: rename the file to import it")
    return FoundFile(path, root)


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


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


@dataclass
class _Index:
    """What the project already holds, read once per import (not three queries per file)."""

    stats: dict[str, tuple[int, float]]  # path -> (size, mtime)
    shas: set[str]

    @classmethod
    def load(cls, project: Project) -> "_Index":
        table = clip_store.AudioFile
        with project.session() as session:
            rows = session.execute(select(table.path, table.size_bytes, table.mtime, table.sha256)).all()
        return cls({path: (size, mtime) for path, size, mtime, _ in rows}, {sha for *_, sha in rows})


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
    batch: list[_Pending] = []
    started = time.monotonic()
    index = 0
    try:
        for index, item in enumerate(found):
            if cancel is not None and cancel.is_set():
                result.cancelled = True
                break
            report(progress, index, total, str(getattr(item, "path", "")))
            if isinstance(item, FileProblem):
                # A pipe or socket named like anything but audio is no more a failure than a text file.
                special = item.reason.startswith("not a regular file")
                (result.skipped if special and not _named_as_audio(item.path) else result.failures).append(item)
                continue
            result.files_seen += 1
            pending = _check_one(project, item, rule, result, index_, batch)
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
               index: _Index, batch: list[_Pending]) -> _Pending | None:
    """Read one file end to end: what to write for it, or None (unchanged, relinked, duplicate, failed)."""
    path = found.path
    stored = pathmap.active().stored(str(path))  # a shared project keeps one form of every path
    try:
        st = path.stat()
        if index.stats.get(stored) == (st.st_size, st.st_mtime):
            result.files_unchanged += 1
            return None
        info = probe(path)
        digest = sha256_of(path)
        if digest in index.shas:  # rare: only then ask the project (and write the batch first)
            _write(project, batch, result)
            with project.session() as session:
                others = [f.path for f in clip_store.find_files_by_sha(session, digest) if f.path != stored]
        else:
            others = []
        if others:
            present = [p for p in others if Path(pathmap.active().local(p)).exists()]
            if present:
                result.duplicates.append(FileProblem(str(path), f"same audio as {present[0]}"))
                return None
            with project.write() as session:  # the content moved here: relink, keep its clips and labels
                moved = clip_store.find_files_by_sha(session, digest)[0]
                clip_store.relink_file(session, moved.id, stored, mtime=st.st_mtime)
            index.stats[stored] = (st.st_size, st.st_mtime)
            result.files_relinked += 1
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
    index.stats[stored] = (st.st_size, st.st_mtime)
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
