"""Import audio files and folders into a project.

Files are recognised by content, not by extension: everything under the given
paths is probed, and what is not audio is counted as skipped (or reported as a
failure when its name says it should have been audio). Each file is imported in
its own transaction, so one bad file never aborts the batch and a crash loses
at most the file in flight.

Re-importing is idempotent: a file already known at the same path with the same
size and mtime is not read again; a known file whose content moved to a new
path is relinked by its SHA-256; content already present at another existing
path is reported as a duplicate, not imported twice.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

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
    """Regular files under ``paths`` (recursively, sorted), once each.

    Symlinked folders are followed, but a folder already visited (a symlink
    loop, or two links to one place) is not entered again. Unreadable folders
    and broken paths come out as ``FileProblem``.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[str] = set()
    for given in paths:
        root = Path(given).expanduser().absolute()
        try:
            if not root.exists():
                yield FileProblem(str(root), "no such file or folder")
                continue
        except OSError as exc:
            yield FileProblem(str(root), f"cannot read ({exc.strerror or exc})")
            continue
        if root.is_file():
            if str(root) not in seen_files:
                seen_files.add(str(root))
                yield FoundFile(root, root.parent)
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
                try:
                    if entry.is_dir():
                        subfolders.append(Path(entry.path))
                    elif entry.is_file():
                        if entry.path not in seen_files:
                            seen_files.add(entry.path)
                            yield FoundFile(Path(entry.path), root)
                    elif entry.is_symlink():
                        yield FileProblem(entry.path, "broken symbolic link")
                except OSError as exc:
                    yield FileProblem(entry.path, f"cannot read ({exc.strerror or exc})")
            stack.extend(reversed(subfolders))  # depth-first, in name order


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
    for index, item in enumerate(found):
        if cancel is not None and cancel.is_set():
            result.cancelled = True
            break
        report(progress, index, total, str(getattr(item, "path", "")))
        if isinstance(item, FileProblem):
            result.failures.append(item)
            continue
        result.files_seen += 1
        _import_one(project, item, rule, result)
    report(progress, total if not result.cancelled else index, total, "")
    return result


def _import_one(project: Project, found: FoundFile, rule: SegmentRule, result: ImportReport) -> None:
    path = found.path
    try:
        stat = path.stat()
        with project.session() as session:
            known = clip_store.find_file_by_path(session, str(path))
            if known is not None and known.size_bytes == stat.st_size and known.mtime == stat.st_mtime:
                result.files_unchanged += 1
                return
        info = probe(path)
        digest = sha256_of(path)
        with project.session() as session:
            others = [f.path for f in clip_store.find_files_by_sha(session, digest) if f.path != str(path)]
        if others:
            present = [p for p in others if Path(p).exists()]
            if present:
                result.duplicates.append(FileProblem(str(path), f"same audio as {present[0]}"))
                return
            with project.write() as session:  # the content moved here: relink, keep its clips and labels
                moved = clip_store.find_files_by_sha(session, digest)[0]
                clip_store.relink_file(session, moved.id, str(path), mtime=stat.st_mtime)
            result.files_relinked += 1
            return
        segments = plan_segments(path, info, rule)
    except MissingExtraError as exc:
        result.failures.append(FileProblem(str(path), str(exc)))
        return
    except AudioError as exc:
        problem = FileProblem(str(path), exc.reason)
        looks_like_audio = path.suffix.lower() in AUDIO_SUFFIXES
        (result.failures if looks_like_audio or "not an audio file" not in exc.reason else result.skipped).append(problem)
        return
    except OSError as exc:
        result.failures.append(FileProblem(str(path), f"cannot read ({exc.strerror or exc})"))
        return

    with project.write() as session:
        record = clip_store.add_or_update_file(
            session,
            path=str(path),
            sha256=digest,
            size_bytes=stat.st_size,
            mtime=stat.st_mtime,
            format=info.format,
            subtype=info.subtype,
            sample_rate=info.sample_rate,
            channels=info.channels,
            frames=info.frames,
            duration_s=info.duration_s,
            source_group=source_group(found),
            imported_at=datetime.now(timezone.utc),
        )
        added = clip_store.add_clips(session, record.id, [(s.start_s, s.end_s) for s in segments]).added
    result.files_added += 1
    result.clips_added += added
