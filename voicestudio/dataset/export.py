"""Export the labelled set for retraining: audio per clip, splits, manifest and dataset card.

``export_dataset(project, options)`` decides which clips go out and with which
label (``Consensus``), splits them (stratified by label, grouped by source:
``splits``), cuts every clip into its own mono file (resampled with ``rate``),
optionally computes MFCC features with the model's ``FeatureSpec``, and writes
``manifest.csv`` and a ``README.md`` dataset card.

Layouts (``OUT`` is the target folder):

- ``folders``: ``OUT/train/human/x.wav`` — what ``voicestudio train`` and
  Keras' ``audio_dataset_from_directory(OUT/"train")`` read;
- ``csv``: ``OUT/audio/x.wav`` with the split in ``manifest.csv``;
- ``hf``: Hugging Face ``audiofolder``: ``OUT/train/human/x.wav`` as in
  ``folders`` (audiofolder takes the label from the folder, as a ``ClassLabel``,
  and the split from ``train/``, ``val/``, ``test/``: it names ``val`` "validation"),
  and a dataset card whose YAML front matter gives the features (``label``:
  ``class_label`` with the names), the splits' files and the sample rate. No
  ``metadata.csv``: audiofolder would then read ``label`` as a string. Exports
  from before this wrote ``OUT/validation/x.wav`` with ``metadata.csv``; they
  are still recognised (``--force`` replaces them).

The split is called ``val`` everywhere VoiceStudio writes it (manifest, folders).
Training layouts (``folders``, ``hf``) are resampled to the model's rate (16 kHz)
unless ``rate`` says otherwise; ``csv`` keeps each source's rate (at most 32 kHz).

Everything is written into a hidden folder beside ``OUT`` and moved into place
only when complete, so ``OUT`` holds a whole export or none (``staging``: the
folder is named after its process, and the next export into the same parent
removes those of processes that were killed). ``--force`` replaces an earlier
export only if ``OUT`` holds nothing but what that export wrote (its manifest
lists it, ``checksums.sha256`` says it is unedited); ``OUT`` may be a link to a
folder: the export goes into the link's target and the link stays (a link to
nothing is refused, never made into the folders it names). The same project, options and seed give
byte-identical output (no timestamps).
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import shlex
import shutil
import stat
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import numpy as np
import soundfile as sf
from sqlalchemy import select

from voicestudio import __version__
from voicestudio.audio.decode import MAX_RATE, load_audio
from voicestudio.audio.features import FeatureSpec, mfcc
from voicestudio.audio.resample import resample
from voicestudio.dataset.audit import agreement
from voicestudio.dataset.cliptable import ClipTable, load_clip_table
from voicestudio.dataset.consensus import Consensus
from voicestudio.dataset.png import gray_png, scaled_to_bytes
from voicestudio.dataset.safenames import safe_stem, unique_names
from voicestudio.dataset.sourcecheck import SourceRecord, check_source
from voicestudio.splits import SPLIT_NAMES, assign_splits, check_fractions
from voicestudio.errors import AudioError, VoiceStudioError
from voicestudio.files import file_sha256
from voicestudio.outputs import holds_project
from voicestudio.progress import CancelToken, ProgressCallback, report, run_ahead
from voicestudio.staging import StaleFolder, make_staging, move_into_place, remove_stale
from voicestudio.store.schema import AudioFile, Clip

LAYOUTS = ("folders", "csv", "hf")
AUDIO_FORMATS = ("wav", "flac")
FEATURE_KINDS = ("mfcc-npy", "mfcc-png")
GROUP_BY = ("source", "folder", "none")
OLD_HF_SPLIT_DIRS = ("train", "validation", "test")  # the hf layout before it took folders: still replaceable
HF_SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}  # what audiofolder calls each split
MODEL_RATE = "model"  # ``ExportOptions.rate``: the model's rate for training layouts, the source's for csv
TRAINING_LAYOUTS = ("folders", "hf")
MANIFEST_COLUMNS = ("path", "label", "split", "source_file", "start_s", "end_s", "duration_s", "sample_rate",
                    "sha256", "source_sha256", "source_group", "annotators", "model_score", "clip_id", "features")
MAX_EXPORT_RATE = 48000
CARD_MARK = "<!-- written by VoiceStudio export -->"  # how --force recognises an export it may replace
CHECKSUMS = "checksums.sha256"  # every other file's SHA-256 (sha256sum format): --force keeps edited ones
_NAMED_AT_MOST = 5  # files named when refusing to replace a folder
_WHOLE_FILE_TOLERANCE_S = 1e-3


@dataclass(frozen=True)
class ExportOptions:
    layout: str = "folders"
    consensus: Consensus = Consensus()
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    group_by: str = "source"
    seed: int = 0
    rate: int | str | None = MODEL_RATE  # MODEL_RATE: see sample_rate; None: each file's own rate, at most 32 kHz
    audio_format: str = "wav"
    features: str | None = None
    force: bool = False
    workers: int | None = None  # None: one per core

    def __post_init__(self):
        object.__setattr__(self, "fractions", check_fractions(self.fractions))
        for name, allowed in (("layout", LAYOUTS), ("audio_format", AUDIO_FORMATS), ("group_by", GROUP_BY)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name.replace('_', ' ')} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}")
        if self.features is not None and self.features not in FEATURE_KINDS:
            raise ValueError(f"features must be one of {', '.join(FEATURE_KINDS)}, not {self.features!r}")
        if self.rate == MODEL_RATE:
            pass
        elif isinstance(self.rate, str) or (self.rate is not None and not 1000 <= self.rate <= MAX_EXPORT_RATE):
            raise ValueError(f"rate must be within 1000..{MAX_EXPORT_RATE} Hz, not {self.rate}")

    def sample_rate(self, spec: FeatureSpec) -> int | None:
        """The rate every clip is written at: None keeps each source's (at most 32 kHz)."""
        if self.rate == MODEL_RATE:
            return spec.sample_rate if self.layout in TRAINING_LAYOUTS else None
        return self.rate

    def warnings(self) -> list[str]:
        """Choices that work but trap a usual reader of the layout."""
        if self.layout == "folders" and self.audio_format != "wav":
            return [f"Keras' audio_dataset_from_directory reads WAV files only: this {self.audio_format.upper()} "
                    "export is for other readers (use --audio-format wav for Keras)"]
        return []

    def command(self, db: str, *, how: bool = True) -> str:
        """The CLI command that makes this export (``OUT`` stands for the target folder).

        ``how=False`` leaves out ``--force`` and ``--workers``: they change how the
        export is written, not what it holds, so the dataset card does not name them
        (two exports of the same data are byte-identical however they were written).
        """
        args = ["voicestudio", "--db", db, "export", "OUT", "--format", self.layout,
                "--consensus", self.consensus.rule]
        if self.consensus.annotator:
            args += ["--annotator", self.consensus.annotator]
        if self.consensus.include_unsure:
            args.append("--include-unsure")
        args += ["--split", ",".join(f"{f:g}" for f in self.fractions), "--group-by", self.group_by,
                 "--seed", str(self.seed)]
        if self.rate != MODEL_RATE:
            args += ["--rate", "source" if self.rate is None else str(self.rate)]
        if self.audio_format != "wav":
            args += ["--audio-format", self.audio_format]
        if self.features:
            args += ["--features", self.features]
        if how and self.force:
            args.append("--force")
        if how and self.workers is not None:
            args += ["--workers", str(self.workers)]
        return shlex.join(args)


@dataclass(frozen=True)
class ExportItem:
    """One clip to write, with where it goes."""

    clip_id: int
    source: str
    source_sha256: str
    start_s: float
    end_s: float
    whole_file: bool
    label: str
    group: str
    annotators: str  # "ann:human;bob:human"
    score: float | None
    split: str = ""
    name: str = ""  # unique file stem
    source_size: int = -1  # the source's size and mtime at import, checked before it is read
    source_mtime: float = 0.0


@dataclass(frozen=True)
class WrittenClip:
    item: ExportItem
    path: str  # relative to OUT, with / separators
    sample_rate: int
    duration_s: float
    sha256: str
    features: str = ""


@dataclass(frozen=True)
class ExportFailure:
    clip_id: int
    source: str
    reason: str


@dataclass
class ExportResult:
    out: Path
    written: list[WrittenClip] = field(default_factory=list)
    failures: list[ExportFailure] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)  # unlabelled, unsure, no consensus
    elapsed_s: float = 0.0
    cancelled: bool = False
    link: Path | None = None  # the link named as OUT, when ``out`` is its target
    stale: list[StaleFolder] = field(default_factory=list)  # folders of killed exports removed first

    def counts(self) -> dict[str, dict[str, int]]:
        """split -> label -> clips written."""
        result: dict[str, Counter] = {}
        for w in self.written:
            result.setdefault(w.item.split, Counter())[w.item.label] += 1
        return {s: dict(sorted(result[s].items())) for s in SPLIT_NAMES if s in result}

    def to_dict(self) -> dict:
        return {"out": str(self.out), "clips": len(self.written), "counts": self.counts(),
                "left_out": dict(self.left_out), "cancelled": self.cancelled, "elapsed_s": round(self.elapsed_s, 3),
                "link": None if self.link is None else str(self.link),
                "stale_removed": [s.describe() for s in self.stale],
                "failures": [{"clip_id": f.clip_id, "path": f.source, "reason": f.reason} for f in self.failures]}


# Choosing the clips --------------------------------------------------------------------

@dataclass(frozen=True)
class ExportPlan:
    items: list[ExportItem]
    left_out: dict[str, int]
    table: ClipTable


def plan_export(project, options: ExportOptions, *, model_id: int | None = None) -> ExportPlan:
    """The clips that go out, with label, split and unique name; nothing is written."""
    with project.session() as session:
        table = load_clip_table(session, model_id=model_id)
        files = {clip_id: tuple(file) for clip_id, *file in session.execute(
            select(Clip.id, AudioFile.path, AudioFile.sha256, AudioFile.source_group, AudioFile.duration_s,
                   AudioFile.size_bytes, AudioFile.mtime)
            .join(AudioFile, Clip.file_id == AudioFile.id))}
    consensus = options.consensus
    left_out = Counter()
    items = []
    for row in range(len(table)):
        votes = table.votes.get(row, {})
        considered = {who: v for who, v in votes.items() if consensus.annotator in (None, who)}
        label = consensus.resolve(votes)
        if label is None:
            if not considered:
                left_out["unlabelled"] += 1
            elif replace(consensus, include_unsure=True).resolve(votes) == "unsure":
                left_out["unsure"] += 1
            else:
                left_out["no consensus"] += 1
            continue
        clip_id = int(table.ids[row])
        path, sha, folder, duration, size, mtime = files[clip_id]
        start, end = float(table.starts[row]), float(table.ends[row])
        group = {"source": path, "folder": folder or os.path.dirname(path), "none": f"clip {clip_id}"}[options.group_by]
        score = None if np.isnan(table.score[row]) else float(table.score[row])
        items.append(ExportItem(
            clip_id, path, sha, start, end, start == 0 and end >= duration - _WHOLE_FILE_TOLERANCE_S, label, group,
            ";".join(f"{who}:{value}" for who, (_, value) in sorted(considered.items())), score,
            source_size=size, source_mtime=mtime,
        ))
    splits = assign_splits([i.label for i in items], [i.group for i in items], options.fractions, options.seed)
    stems = [safe_stem(Path(i.source).stem) + ("" if i.whole_file else f"_{i.start_s:.2f}-{i.end_s:.2f}s")
             for i in items]
    names = unique_names(stems)
    items = [replace(i, split=s, name=n) for i, s, n in zip(items, splits, names)]
    return ExportPlan(items, dict(left_out), table)


# Writing ---------------------------------------------------------------------------------

def _relative_dir(item: ExportItem, layout: str) -> str:
    if layout == "folders":
        return f"{item.split}/{item.label}"
    if layout == "hf":
        return f"{item.split}/{item.label}"
    return "audio"


def _write_audio(path: Path, samples: np.ndarray, rate: int, audio_format: str) -> str:
    """Write the file (by path: libsndfile's own I/O runs without the GIL) and return its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        sf.write(str(path), np.clip(samples, -1.0, 1.0), rate, format=audio_format.upper(), subtype="PCM_16")
    except sf.SoundFileError as exc:  # libsndfile says "System error." for a full disk
        raise OSError(errno.EIO, f"could not write audio: {exc} (is the disk full?)", str(path)) from None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def _clip_features(item: ExportItem, audio, spec: FeatureSpec) -> np.ndarray:
    """The clip's MFCC with the model's spec. A failure is this clip's: reported, and the export goes on."""
    try:
        samples = audio.samples if audio.sample_rate == spec.sample_rate else resample(audio.samples, audio.sample_rate, spec.sample_rate)
        return mfcc(samples, spec) if len(samples) >= spec.frame_length else np.zeros((0, spec.n_coeffs), np.float32)
    except (ValueError, MemoryError) as exc:
        raise AudioError(item.source, f"features could not be computed ({str(exc) or type(exc).__name__})") from None


def _export_one(item: ExportItem, root: Path, options: ExportOptions, spec: FeatureSpec) -> WrittenClip:
    rate = options.sample_rate(spec)
    max_rate = max(MAX_RATE, rate or 0)
    source = check_source(SourceRecord(item.source, item.source_sha256, item.source_size, item.source_mtime))
    if not source.ok:  # the file now holds other audio than the one the label was given for
        raise AudioError(item.source, source.reason)
    audio = load_audio(item.source, start_s=item.start_s, end_s=item.end_s, sample_rate=rate, max_rate=max_rate)
    coefficients = _clip_features(item, audio, spec) if options.features else None  # before any file is written
    relative = f"{_relative_dir(item, options.layout)}/{item.name}.{options.audio_format}"
    digest = _write_audio(root / relative, audio.samples, audio.sample_rate, options.audio_format)
    feature_path = ""
    if coefficients is not None:
        folder = "features/" + ("audio" if options.layout == "csv" else f"{item.split}/{item.label}")
        if options.features == "mfcc-npy":
            feature_path = f"{folder}/{item.name}.npy"
            buffer = io.BytesIO()
            np.save(buffer, coefficients.astype(np.float32))
            _write_file(root / feature_path, buffer.getvalue())
        elif len(coefficients):
            feature_path = f"{folder}/{item.name}.png"  # rows: coefficients (c0 on top), columns: frames
            _write_file(root / feature_path, gray_png(scaled_to_bytes(coefficients.T)))
    return WrittenClip(item, relative, audio.sample_rate, len(audio.samples) / audio.sample_rate, digest, feature_path)


def _write_manifest(root: Path, written: list[WrittenClip]) -> None:
    with open(root / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(MANIFEST_COLUMNS)
        for w in written:
            i = w.item
            out.writerow([w.path, i.label, i.split, i.source, f"{i.start_s:.6f}", f"{i.end_s:.6f}",
                          f"{w.duration_s:.6f}", w.sample_rate, w.sha256, i.source_sha256, i.group, i.annotators,
                          "" if i.score is None else f"{i.score:.6f}", i.clip_id, w.features])


def _write_checksums(root: Path, written: list[WrittenClip]) -> None:
    """``CHECKSUMS``: the SHA-256 of every file in ``root`` but itself, card, manifest and tables included,
    so ``--force`` can tell an edited README or manifest from the one it wrote (clips: hashed already)."""
    known = {w.path: w.sha256 for w in written}
    lines = []
    for folder, _, files in os.walk(root):
        for name in files:
            relative = Path(folder, name).relative_to(root).as_posix()
            if relative != CHECKSUMS:
                lines.append(f"{known.get(relative) or file_sha256(Path(folder, name))}  {relative}\n")
    with open(root / CHECKSUMS, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(sorted(lines, key=lambda line: line.split("  ", 1)[1]))


def _read_checksums(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 from an earlier export's ``CHECKSUMS`` (empty: none, as before it existed)."""
    try:
        text = (folder / CHECKSUMS).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    found = {}
    for line in text.splitlines():
        digest, _, relative = line.partition("  ")
        if len(digest) == 64 and relative:
            found[relative] = digest.lower()
    return found


# The target folder -------------------------------------------------------------------------

def _files_of_export(folder: Path) -> dict[str, str] | None:
    """What the export in ``folder`` wrote, from its manifest and checksums: relative path -> SHA-256
    ("" where neither has one: an export from before ``CHECKSUMS``). None if ``folder`` holds no export."""
    try:
        if CARD_MARK not in (folder / "README.md").read_text(encoding="utf-8", errors="replace"):
            return None
        with open(folder / "manifest.csv", newline="", encoding="utf-8", errors="replace") as f:
            rows = list(csv.DictReader(f))
    except (OSError, csv.Error):
        return None
    written = {"README.md": "", "manifest.csv": ""}
    for row in rows:
        path = row.get("path") or ""
        written[path] = row.get("sha256") or ""
        if row.get("features"):
            written[row["features"]] = ""
        parts = PurePosixPath(path).parts
        if len(parts) == 2 and parts[0] in OLD_HF_SPLIT_DIRS:
            written[f"{parts[0]}/metadata.csv"] = ""  # the hf layout's per-split table
    checksums = _read_checksums(folder)
    if checksums:
        written[CHECKSUMS] = ""
    return {**written, **checksums}


def _not_written_by_export(folder: Path, written: dict[str, str], check_content: bool) -> list[str]:
    """Everything in ``folder`` the export did not write: other files, links, folders holding neither,
    and (``check_content``) clips whose content changed since: the user's edits are theirs."""
    needed_dirs = {str(parent) for path in written for parent in PurePosixPath(path).parents}
    others = []
    for root, dirs, files in os.walk(folder):
        here = PurePosixPath(Path(root).relative_to(folder).as_posix())
        for name in dirs:
            if os.path.islink(os.path.join(root, name)):
                others.append(str(here / name))  # os.walk does not enter it: the link itself is the user's
            elif str(here / name) not in needed_dirs and not os.listdir(os.path.join(root, name)):
                others.append(f"{here / name}/")
        for name in files:
            relative, path = str(here / name), os.path.join(root, name)
            if relative not in written or not stat.S_ISREG(os.lstat(path).st_mode):
                others.append(relative)  # not written by it, or a link or device put there since
            elif check_content and written[relative] and file_sha256(path) != written[relative]:
                others.append(f"{relative} (changed since the export)")
    return sorted(others)


def _named(paths: list[str]) -> str:
    shown = ", ".join(paths[:_NAMED_AT_MOST])
    return shown if len(paths) <= _NAMED_AT_MOST else f"{shown} and {len(paths) - _NAMED_AT_MOST} more"


def check_target(out: Path, force: bool, project=None, *, check_content: bool = True) -> None:
    """Refuse a target that is a file, holds the project, or is a non-empty folder.

    With ``force`` a folder is replaced only if it holds an earlier export and
    nothing else: any file the export did not write is named and kept.
    ``check_content=False`` skips reading the earlier clips to see if they
    were changed (a quick check for a dialog; the export itself checks them).
    """
    _refuse_dangling_link(out)
    if holds_project(out, project):
        raise VoiceStudioError(f"{out}: holds the open project {project.label}; export to another folder")
    if out.exists() and not out.is_dir():
        raise VoiceStudioError(f"{out}: exists and is not a folder")
    if os.path.ismount(out):  # the export is staged beside OUT and renamed: that cannot cross into a disk
        raise VoiceStudioError(f"{out}: is where a disk is mounted; export into a folder on it, e.g. {out / 'export'}")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise VoiceStudioError(f"{out}: folder is not empty (use --force to replace an earlier export)")
        written = _files_of_export(out)
        if written is None:
            raise VoiceStudioError(f"{out}: not empty and not a VoiceStudio export; refusing to replace it even with --force")
        others = _not_written_by_export(out, written, check_content)
        if others:
            raise VoiceStudioError(f"{out}: holds files the earlier export did not write: {_named(others)}; "
                                   "move them out first (--force replaces only what an export wrote)")


def _refuse_dangling_link(out: Path) -> None:
    """A link whose target is missing: following it would create the folders it names, wherever they are."""
    if os.path.islink(out) and not os.path.exists(out):
        raise VoiceStudioError(f"{out}: is a link to {os.readlink(out)}, which does not exist; "
                               "create that folder or export to another one")


def _disk_error(exc: OSError, out: Path) -> VoiceStudioError:
    reason = exc.strerror or str(exc)
    return VoiceStudioError(f"{out}: export failed ({reason}); nothing was changed there")


# The whole export ------------------------------------------------------------------------------

def export_dataset(
    project,
    out,
    options: ExportOptions = ExportOptions(),
    *,
    detector=None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ExportResult:
    """Export the project's labelled clips into the folder ``out`` (see the module docstring).

    ``detector`` gives the ``model_score`` column (its stored predictions) and
    the feature spec for ``features``. A clip whose audio fails is reported in
    ``failures`` and left out; the rest is exported.
    """
    started = time.perf_counter()
    out = Path(out).expanduser().absolute()
    link = out if out.is_symlink() else None
    _refuse_dangling_link(out)
    if link is not None:  # a link to a folder: write into its target, keep the link
        out = Path(os.path.realpath(link))
    check_target(out, options.force, project)
    model_id = None
    spec = FeatureSpec()
    if detector is not None:
        from voicestudio.dataset.scoring import register

        model_id, spec = register(project, detector), detector.card.feature_spec
    plan = plan_export(project, options, model_id=model_id)
    result = ExportResult(out, left_out=plan.left_out, link=link)
    if not plan.items:
        raise VoiceStudioError(f"nothing to export: no clip has a label (counted: {options.consensus.describe()})")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        result.stale = remove_stale(out.parent)
        staging = make_staging(out)
    except OSError as exc:
        raise _disk_error(exc, out) from None
    try:
        written = _write_all(plan.items, staging, options, spec, result, progress, cancel)
        if result.cancelled:
            return result
        result.written = sorted(written, key=lambda w: w.path)
        _write_manifest(staging, result.written)
        (staging / "README.md").write_text(
            dataset_card(result, options, plan, project_label=str(project.label),
                         model=None if detector is None else f"{detector.card.name} ({detector.sha256[:12]})",
                         spec=spec), encoding="utf-8")
        _write_checksums(staging, result.written)  # last: it covers the card and the tables
        move_into_place(staging, out)
    except OSError as exc:
        raise _disk_error(exc, out) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when moved into place
    result.elapsed_s = time.perf_counter() - started
    return result


def _write_all(items, staging, options, spec, result, progress, cancel) -> list[WrittenClip]:
    """Clips written by a pool of threads (libsndfile and soxr work without the GIL)."""
    workers = options.workers or os.cpu_count() or 1
    written: list[WrittenClip] = []
    done = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export") as pool:
        for item, future in run_ahead(pool, lambda i: _export_one(i, staging, options, spec), items, 4 * workers, cancel):
            try:
                written.append(future.result())
            except AudioError as exc:  # the clip's source: report it and go on
                result.failures.append(ExportFailure(item.clip_id, item.source, exc.reason))
            # An OSError is the target's (sources fail as AudioError): it propagates and stops the export.
            done += 1
            report(progress, done, len(items), item.name)
    result.cancelled = cancel is not None and cancel.is_set() and done < len(items)
    return written


# The dataset card ----------------------------------------------------------------------------

def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _hf_front_matter(labels: list[str], counts: dict, rates: list[int]) -> list[str]:
    """The card's YAML header: what the Hub and ``load_dataset(OUT)`` read (features, the splits' files)."""
    lines = ["---", "task_categories:", "- audio-classification", "configs:", "- config_name: default", "  data_files:"]
    for split in SPLIT_NAMES:
        if split in counts:
            lines += [f"  - split: {HF_SPLIT_NAMES[split]}", f"    path: {split}/*/*"]
    lines += ["dataset_info:", "  features:", "  - name: audio", "    dtype:", "      audio:"]
    if len(rates) == 1:
        lines.append(f"        sampling_rate: {rates[0]}")
    lines += ["  - name: label", "    dtype:", "      class_label:", "        names:"]
    lines += [f"          '{i}': {label}" for i, label in enumerate(labels)]
    lines += ["  splits:"]
    for split in SPLIT_NAMES:
        if split in counts:
            lines += [f"  - name: {HF_SPLIT_NAMES[split]}", f"    num_examples: {sum(counts[split].values())}"]
    return lines + ["---"]


def dataset_card(result: ExportResult, options: ExportOptions, plan: ExportPlan, *, project_label: str,
                 model: str | None, spec: FeatureSpec) -> str:
    """README.md for the export: what is in it, how it was made, how to load it. No timestamps."""
    counts = result.counts()
    labels = sorted({w.item.label for w in result.written})
    rows = [[s, *(counts.get(s, {}).get(label, 0) for label in labels), sum(counts.get(s, {}).values())]
            for s in SPLIT_NAMES if s in counts]
    rows.append(["**all**", *(sum(c.get(label, 0) for c in counts.values()) for label in labels), len(result.written)])
    groups = {s: len({w.item.group for w in result.written if w.item.split == s}) for s in counts}
    agree = agreement(plan.table)
    rates = sorted({w.sample_rate for w in result.written})
    rate = options.sample_rate(spec)
    lines = [
        *(_hf_front_matter(labels, counts, rates) if options.layout == "hf" else []),
        CARD_MARK,
        "# Human-voice detection dataset",
        "",
        f"Exported by VoiceStudio {__version__} from the project `{project_label}` with:",
        "",
        "```sh",
        options.command(project_label, how=False),
        "```",
        "",
        "(`OUT` is this folder.)",
        "",
        "## Contents",
        "",
        *_table(["split", *labels, "clips"], rows),
        "",
        f"Source groups per split (grouped by {options.group_by}; no group is in two splits): "
        + ", ".join(f"{s} {n}" for s, n in groups.items()) + ".",
        f"Split fractions {', '.join(f'{f:g}' for f in options.fractions)} (train, val, test), stratified by label, seed {options.seed}.",
        "",
        "## Labels",
        "",
        f"Label of a clip: {options.consensus.describe()}.",
        "Left out: " + (", ".join(f"{n} {why}" for why, n in sorted(result.left_out.items())) or "nothing") + ".",
    ]
    if agree.annotators:
        lines.append(f"Annotators: {', '.join(agree.annotators)}; {agree.multi_labelled} clips labelled by two or more"
                     + (f", Fleiss' kappa {agree.fleiss_kappa:.3f}" if agree.fleiss_kappa is not None else "") + ".")
        for pair in agree.pairs:
            if pair.clips:
                kappa = "undefined" if pair.kappa is None else f"{pair.kappa:.3f}"
                lines.append(f"- {pair.first} / {pair.second}: {pair.clips} clips in common, "
                             f"{pair.observed:.1%} the same, Cohen's kappa {kappa}")
    lines += [
        "",
        "## Audio",
        "",
        f"One mono {options.audio_format.upper()} file (16-bit PCM) per clip; segments of longer recordings are cut "
        f"into their own files. Sample rate: {', '.join(f'{r} Hz' for r in rates)}"
        + (" (each source's own rate, at most 32 kHz)" if rate is None
           else " (the model's rate, the default for this layout; `--rate` chooses another, `--rate source` keeps each source's)"
           if options.rate == MODEL_RATE else "") + ".",
        "`manifest.csv` lists every file: " + ", ".join(f"`{c}`" for c in MANIFEST_COLUMNS) + ".",
        f"`{CHECKSUMS}` holds the SHA-256 of every other file (`sha256sum -c {CHECKSUMS}`); "
        "`export --force` refuses to replace a file edited since.",
    ]
    if model:
        lines.append(f"`model_score` is the clip score of {model} stored in the project (empty: not scored).")
    if options.features:
        lines += ["", "## Features", "",
                  f"MFCC per clip ({options.features}) with the feature spec "
                  f"`{json.dumps(spec.to_dict())}`: "
                  + ("float32 arrays of shape (frames, coefficients)." if options.features == "mfcc-npy"
                     else "8-bit grayscale PNG, coefficients as rows (c0 on top), frames as columns, each image scaled to its own range.")]
    if result.failures:
        lines += ["", "## Clips that failed", ""]
        lines += [f"- clip {f.clip_id} `{f.source}`: {f.reason}" for f in result.failures]
    lines += ["", "## Loading it", ""]
    if options.layout == "folders":
        lines += ["```python",
                  "import keras",
                  'train = keras.utils.audio_dataset_from_directory("OUT/train", class_names=["nonhuman", "human"])',
                  "```", "", "or `voicestudio train OUT model.tflite`."]
        if options.audio_format != "wav":
            lines.append("Keras reads WAV files only: export with `--audio-format wav` for it.")
    elif options.layout == "hf":
        lines += ["```python", "import datasets", 'ds = datasets.load_dataset("audiofolder", data_dir="OUT")', "```", "",
                  "`label` is a `ClassLabel` (from the folder names), the splits are `train`, `validation` (the `val/` "
                  "folder) and `test`. Tested with `pip install 'datasets>=3.6,<4' 'pandas<3' librosa` (datasets 4 and later "
                  "decode audio with torchcodec instead of soundfile). "
                  "`load_dataset(\"OUT\")` reads this card's YAML header instead, with the same features and splits."]
    else:
        lines += ["Read `manifest.csv`: `path` is relative to this folder, `split` says where each clip belongs."]
    return "\n".join(lines) + "\n"
