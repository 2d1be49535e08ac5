"""Labels in and out of a project: CSV and Label Studio JSON, so teams can move work across tools.

**CSV** (UTF-8, header row): ``clip_id,path,start_s,end_s,annotator,label,note,created_at``, one
row per annotator's current label. Import also takes the short form ``path,label[,annotator]``
(header optional). A clip is found by its file's path (relative paths are relative to the CSV)
and, when given, its span; ``clip_id`` is never trusted (another project has other ids).

**Label Studio**: a JSON list of tasks, one per audio file, ``{"id", "data": {"audio": AUDIO, "path":
PATH}, "annotations": [{"result": [...], "created_at", "updated_at"}]}``, one annotation per
annotator, made to import into a stock Label Studio server (``POST /api/projects/ID/import``, checked
against a real one by tests/test_label_studio_server.py). A file that is one clip spanning it gets a
clip-level result ``{"from_name": "label", "type": "choices", "value": {"choices": [LABEL]}}``; the
clips of a segmented recording get regions ``{"from_name": "segment", "type": "labels", "value":
{"start", "end", "channel": 0, "labels": [LABEL]}}``. ``LABEL_STUDIO_CONFIG`` (``voicestudio labels
config --format labelstudio``) is the labelling config that reads and writes exactly this.

- *Who*: Label Studio refuses an annotation whose ``completed_by`` email is not one of its users
  ("Unknown annotator's email"), and keeps only ``result``, ``was_cancelled``, ``ground_truth`` and
  ``lead_time`` of an imported annotation. So the export leaves ``completed_by`` out (the annotation
  goes to the importing user) and keeps the annotator in a text result of the config's
  ``voicestudio_annotator`` TextArea, which survives Label Studio's JSON, JSON-MIN and CSV exports.
  ``users={NAME: EMAIL}`` (``--ls-user``) writes ``completed_by: {"email": EMAIL}`` instead, for
  annotators who are users of the Label Studio server; import maps the email back to NAME.
- *Audio*: Label Studio plays a URL, not a path. ``document_root`` (``--ls-document-root DIR``, the
  server's ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT``) writes ``/data/local-files/?d=RELATIVE``;
  ``audio_url_prefix`` (``--audio-url-prefix URL``) writes URL + the path relative to
  ``document_root`` (or to the exported files' common folder). Without either, ``audio`` is the file's
  path (VoiceStudio reads it back; Label Studio cannot play it). ``path`` is always the file's path,
  so an import back into VoiceStudio matches the file exactly.

Import reads Label Studio's three export formats: JSON (tasks), JSON-MIN (one flat record per
annotation, task data at the top level) and CSV (JSON-MIN as columns: a header with
``annotation_id`` and ``annotator``). It takes the audio from the data field the labelling config's
``<Audio value="$FIELD">`` names (``config``, ``--ls-config``; ours names ``audio``), else a value
that looks like an audio file, never the first string (a ``title`` is not audio). It accepts numeric
``completed_by`` (annotator ``labelstudio-user-N``), old ``completions``, cancelled annotations
(skipped), other result types such as ratings (ignored), any ``from_name``, the usual class names
("Speech", "Noise", ... see ``LS_ALIASES``), and audio given as a path, a ``file://`` URL, an upload
URL such as ``/data/upload/3/8f2c1a3b-dog.wav`` or a local-files URL ``...?d=folder/dog.wav`` (under
``document_root`` when given; else the project file whose path ends so, else the file name, without
the upload prefix). A region labels the clip with the same span (within 0.05 s), else every clip lying
inside it; when those clips do not tile the region, the region's own segment clip is made and labelled
too (``regions.label_span_in``). Clips it only partly overlaps are reported, not labelled.

Import writes every good row in one transaction and reports each bad one, named by its line or task,
in one line: a bad row or task (a number that is not a finite number of seconds, a value of the
wrong type, a missing field, an annotator name that breaks ``annotators.check_annotator``) fails
alone. A row that repeats the annotator's current label writes nothing, so importing a file twice
changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlparse

from sqlalchemy import func, select

from voicestudio import pathmap
from voicestudio.annotators import AnnotatorError, check_annotator, shown
from voicestudio.dataset.labels import parse_value
from voicestudio.dataset.regions import label_span_in
from voicestudio.dataset.sourcecheck import CHANGED, SourceRecord, check_source
from voicestudio.errors import VoiceStudioError
from voicestudio.outputs import check_output_file, write_output_text
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store.projectfiles import ProjectFiles
from voicestudio.store.schema import AudioFile, Clip, LabelEvent

FORMATS = ("csv", "labelstudio")
CSV_COLUMNS = ("clip_id", "path", "start_s", "end_s", "annotator", "label", "note", "created_at")
SPAN_TOLERANCE_S = 1e-3  # CSV spans are written with microseconds
REGION_TOLERANCE_S = 0.05  # Label Studio regions are dragged by hand
ANNOTATOR_CONTROL = "voicestudio_annotator"  # the TextArea that carries the VoiceStudio annotator
LABEL_STUDIO_CONFIG = f"""<View>
  <Audio name="audio" value="$audio"/>
  <Header value="The whole file (a file that is one clip)"/>
  <Choices name="label" toName="audio" choice="single" showInline="true">
    <Choice value="human"/><Choice value="nonhuman"/><Choice value="unsure"/>
  </Choices>
  <Header value="Segments: pick a label, then drag over the waveform"/>
  <Labels name="segment" toName="audio">
    <Label value="human"/><Label value="nonhuman"/><Label value="unsure"/>
  </Labels>
  <Header value="VoiceStudio annotator (set by the export; leave empty for your own work)"/>
  <TextArea name="{ANNOTATOR_CONTROL}" toName="audio" maxSubmissions="1" rows="1"/>
</View>
"""
# Keys Label Studio's JSON-MIN and CSV exports add to each record beside the task data and the controls.
LS_RECORD_KEYS = frozenset({"id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement",
                            "history"})
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aif", ".aiff", ".wma", ".webm",
                  ".mp4", ".caf", ".au", ".w64")
# What Label Studio projects commonly call the classes, beyond ``labels.parse_value``'s spellings.
LS_ALIASES = {"speech": "human", "voice": "human", "person": "human", "noise": "nonhuman",
              "non-speech": "nonhuman", "nonspeech": "nonhuman", "no speech": "nonhuman", "not human": "nonhuman"}
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")
_WHOLE_FILE_S = 1e-3  # a single clip this close to both ends of its file is the whole file


def detect_format(path, format: str | None = None) -> str:
    if format is not None:
        if format not in FORMATS:
            raise VoiceStudioError(f"label format must be one of {', '.join(FORMATS)}, not {format!r}")
        return format
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix == ".json":
        return "labelstudio"
    raise VoiceStudioError(f"{path}: cannot tell the label format from the name (.csv or .json, or give --format)")


@dataclass(frozen=True)
class LabelStudioOptions:
    """How an export meets a Label Studio server, and how an import reads Label Studio's files."""

    document_root: Path | None = None  # the server's LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT
    audio_url_prefix: str | None = None  # audio served over HTTP: URL + path relative to the root
    users: dict[str, str] = field(default_factory=dict)  # VoiceStudio annotator -> Label Studio user's email
    config: str = LABEL_STUDIO_CONFIG  # the project's labelling config (XML), for import


def parse_ls_users(pairs) -> dict[str, str]:
    """``["alice=alice@lab.org", ...]`` (``--ls-user``) as {annotator: email}."""
    users = {}
    for pair in pairs or ():
        name, sep, email = pair.partition("=")
        if not sep or not name.strip() or "@" not in email:
            raise VoiceStudioError(f"--ls-user takes NAME=EMAIL (a Label Studio user's email), not {shown(pair)}")
        users[check_annotator(name.strip())] = email.strip()
    return users


@dataclass(frozen=True)
class _LsConfig:
    """What import needs from a labelling config: the audio's data field and the controls' kinds."""

    audio_field: str | None
    controls: dict[str, str]  # name -> "choices" | "labels" | "textarea" | other tag, lower case

    @classmethod
    def parse(cls, text: str) -> "_LsConfig":
        import xml.etree.ElementTree as ET

        try:
            view = ET.fromstring(text)
        except ET.ParseError as exc:
            raise VoiceStudioError(f"the Label Studio labelling config is not XML ({exc})") from None
        audio_field, controls = None, {}
        for tag in view.iter():
            kind, name = tag.tag.lower(), tag.get("name")
            if kind in ("audio", "audioplus") and audio_field is None and (tag.get("value") or "").startswith("$"):
                audio_field = tag.get("value")[1:]
            elif name and tag.get("toName"):
                controls[name] = kind
        return cls(audio_field, controls)


@dataclass
class LabelsExported:
    path: Path
    format: str
    labels: int
    clips: int

    def to_dict(self) -> dict:
        return {"path": str(self.path), "format": self.format, "labels": self.labels, "clips": self.clips}


@dataclass
class LabelsImported:
    labelled: int = 0
    unchanged: int = 0
    failures: list[str] = field(default_factory=list)
    created: int = 0  # segment clips made for Label Studio regions that matched no clip
    notes: list[str] = field(default_factory=list)  # what was done beyond the obvious (clips made, partial overlaps)

    def to_dict(self) -> dict:
        return {"labelled": self.labelled, "unchanged": self.unchanged, "failures": self.failures,
                "segments_created": self.created, "notes": self.notes}


# Export --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Row:
    clip_id: int
    file_id: int
    path: str
    start_s: float
    end_s: float
    duration_s: float
    whole_file: bool
    annotator: str
    value: str
    note: str | None
    created_at: str


def _current_rows(session, annotator: str | None) -> list[_Row]:
    latest = select(func.max(LabelEvent.id)).group_by(LabelEvent.clip_id, LabelEvent.annotator)
    if annotator is not None:
        latest = latest.where(LabelEvent.annotator == annotator)
    clips_per_file = dict(session.execute(select(Clip.file_id, func.count(Clip.id)).group_by(Clip.file_id)).all())
    statement = (
        select(Clip.id, Clip.file_id, AudioFile.path, Clip.start_s, Clip.end_s, AudioFile.duration_s,
               LabelEvent.annotator, LabelEvent.value, LabelEvent.note, LabelEvent.created_at)
        .join(Clip, LabelEvent.clip_id == Clip.id).join(AudioFile, Clip.file_id == AudioFile.id)
        .where(LabelEvent.id.in_(latest), LabelEvent.value.is_not(None), clip_store.is_current())
        .order_by(AudioFile.path, Clip.start_s, LabelEvent.annotator)
    )
    return [_Row(clip_id, file_id, path, start, end, duration,
                 clips_per_file[file_id] == 1 and start <= _WHOLE_FILE_S and end >= duration - _WHOLE_FILE_S,
                 who, value, note, created.isoformat(timespec="seconds"))
            for clip_id, file_id, path, start, end, duration, who, value, note, created in session.execute(statement)]


def _csv_text(rows: list[_Row]) -> str:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    for r in rows:
        out.writerow([r.clip_id, r.path, f"{r.start_s:.6f}", f"{r.end_s:.6f}", r.annotator, r.value, r.note or "",
                      r.created_at])
    return buffer.getvalue()


def _audio_refs(paths: list[str], options: LabelStudioOptions) -> dict[str, str]:
    """What each task's ``audio`` is: a local-files URL, a URL under the prefix, or the path itself."""
    if options.audio_url_prefix is None and options.document_root is None:
        return {p: p for p in paths}
    local = {p: pathmap.active().local(p) for p in paths}  # where the server sees them: this machine's form
    if options.document_root is not None:
        root = os.path.abspath(os.path.expanduser(str(options.document_root)))
    else:
        root = os.path.commonpath([os.path.dirname(p) for p in local.values()]) if local else "/"
    refs = {}
    for stored, path in local.items():
        rel = os.path.relpath(path, root)
        if rel.startswith(os.pardir + os.sep) or rel == os.pardir or os.path.isabs(rel):
            raise VoiceStudioError(f"{_cut(path)}: not under the document root {root} (Label Studio serves "
                                   "only files below it)")
        rel = rel.replace(os.sep, "/")
        if options.audio_url_prefix is not None:
            refs[stored] = options.audio_url_prefix.rstrip("/") + "/" + quote(rel)
        else:
            refs[stored] = "/data/local-files/?d=" + quote(rel)
    return refs


def _label_studio_tasks(rows: list[_Row], options: LabelStudioOptions) -> list[dict]:
    by_file: dict[int, list[_Row]] = defaultdict(list)
    for r in rows:
        by_file[r.file_id].append(r)
    audio = _audio_refs(sorted({r.path for r in rows}), options)
    tasks = []
    for file_id, file_rows in by_file.items():
        by_annotator: dict[str, list[_Row]] = defaultdict(list)
        for r in file_rows:
            by_annotator[r.annotator].append(r)
        annotations = []
        for who, own in sorted(by_annotator.items()):
            results = []
            for r in own:
                if r.whole_file:
                    results.append({"id": f"clip{r.clip_id}", "from_name": "label", "to_name": "audio",
                                    "type": "choices", "value": {"choices": [r.value]}})
                else:
                    results.append({"id": f"clip{r.clip_id}", "from_name": "segment", "to_name": "audio",
                                    "type": "labels", "original_length": r.duration_s,
                                    "value": {"start": r.start_s, "end": r.end_s, "channel": 0, "labels": [r.value]}})
            times = sorted(r.created_at for r in own)
            annotation = {"result": results, "created_at": times[0], "updated_at": times[-1]}
            if who in options.users:  # a user of the server: Label Studio resolves the email
                annotation["completed_by"] = {"email": options.users[who]}
            else:  # the annotator in a result Label Studio keeps (and exports in JSON, JSON-MIN and CSV)
                results.append({"id": "annotator", "from_name": ANNOTATOR_CONTROL, "to_name": "audio",
                                "type": "textarea", "value": {"text": [who]}})
            annotations.append(annotation)
        path = file_rows[0].path
        tasks.append({"id": file_id, "data": {"audio": audio[path], "path": path}, "annotations": annotations})
    return tasks


def export_labels(project, path, *, format: str | None = None, annotator: str | None = None,
                  force: bool = False, label_studio: LabelStudioOptions | None = None) -> LabelsExported:
    """Write every annotator's current label (or one annotator's) to ``path``, atomically.

    Never over the project or one of its files; over an existing file only with ``force``
    (``outputs.check_output_file``). A link is followed: its target is written.
    """
    kind = detect_format(path, format)
    path = check_output_file(path, project=project, force=force)
    with project.session() as session:
        rows = _current_rows(session, annotator)
    options = label_studio or LabelStudioOptions()
    text = _csv_text(rows) if kind == "csv" else json.dumps(_label_studio_tasks(rows, options), indent=2,
                                                            ensure_ascii=False)
    write_output_text(path, text, replace=force, what="the labels")
    return LabelsExported(path, kind, len(rows), len({r.clip_id for r in rows}))


# Import ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Wanted:
    """One label read from a file, before it is matched to a clip."""

    order: int  # the line or task number, to report problems in file order
    where: str  # "line 7" or "task 12"
    path: str | None  # absolute, or None when only ``name`` can be matched
    name: str | None  # Label Studio: match by file name when the path is not in the project
    start_s: float | None
    end_s: float | None
    annotator: str
    value: str | None
    note: str | None
    region: bool = False  # a hand-drawn Label Studio region: matched loosely
    rel: str | None = None  # Label Studio local files: the path below the document root ("folder/dog.wav")


@dataclass
class _Targets:
    """Where one label goes: existing clips, and perhaps a segment clip to make for a region."""

    clip_ids: list[int]
    make: tuple[int, float, float] | None = None  # (file_id, start_s, end_s)
    path: str = ""
    notes: list[str] = field(default_factory=list)


class _Clips:
    """The project's files and clips, to match labels read from a file."""

    def __init__(self, session):
        self.by_path: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
        self.sources: dict[str, SourceRecord] = {}
        columns = (Clip.id, AudioFile.path, Clip.start_s, Clip.end_s, AudioFile.sha256, AudioFile.size_bytes,
                   AudioFile.mtime)
        self.file_ids: dict[str, int] = {}
        for clip_id, file_id, path, start, end, sha256, size, mtime in session.execute(
                clip_store.current_clips(select(Clip.id, Clip.file_id, *columns[1:]))):
            self.by_path[path].append((clip_id, start, end))
            self.file_ids[path] = file_id
            self.sources[path] = SourceRecord(path, sha256, size, mtime)
        self.checked: dict[str, str] = {}  # path -> why its labels cannot be taken ("" when they can)
        self.by_name: dict[str, list[str]] = defaultdict(list)
        for path in self.by_path:
            self.by_name[os.path.basename(path)].append(path)

    def file(self, wanted: _Wanted) -> str:
        if wanted.path is not None:
            local = os.path.normpath(wanted.path)  # "../audio/x.wav" from a CSV
            for path in (wanted.path, local, pathmap.active().stored(local)):  # another machine's form
                if path in self.by_path:
                    return path
        if wanted.name is None:  # CSV paths are exact
            raise VoiceStudioError(f"{_cut(wanted.path)}: not in the project (import it first)")
        name = wanted.name
        candidates = self.by_name.get(name) or self.by_name.get(_UPLOAD_PREFIX.sub("", name), [])
        named = _cut(wanted.path or name)
        if not candidates:
            raise VoiceStudioError(f"{named}: not in the project (import it first)")
        if len(candidates) > 1 and wanted.rel:  # local files: the project file whose path ends with folder/name
            tail = "/" + wanted.rel.lstrip("/")
            candidates = [c for c in candidates if c.replace(os.sep, "/").endswith(tail)] or candidates
        if len(candidates) > 1:
            raise VoiceStudioError(f"{named}: ambiguous, {len(candidates)} project files are named {name}")
        return candidates[0]

    def unchanged(self, path: str) -> None:
        """Refuse a label for a file whose audio changed since it was imported.

        The annotator heard what is on disk now; the project's clips hold the old
        recording. Taking the label would put it on audio it was not given for.
        """
        if path not in self.checked:
            source = check_source(self.sources[path])
            self.checked[path] = f"{_cut(path)}: {source.reason}" if source.status == CHANGED else ""
        if self.checked[path]:
            raise VoiceStudioError(self.checked[path])

    def targets(self, wanted: _Wanted) -> _Targets:
        path = self.file(wanted)
        self.unchanged(path)
        clips = self.by_path[path]
        if wanted.start_s is None:
            if len(clips) != 1:
                how = "label its segments with regions" if wanted.name is not None else "give start_s and end_s"
                raise VoiceStudioError(f"{path}: has {len(clips)} clips; {how}")
            return _Targets([clips[0][0]])
        tolerance = REGION_TOLERANCE_S if wanted.region else SPAN_TOLERANCE_S
        for clip_id, start, end in clips:
            if abs(start - wanted.start_s) <= tolerance and abs(end - wanted.end_s) <= tolerance:
                return _Targets([clip_id])
        if not wanted.region:
            raise VoiceStudioError(f"{path}: no clip spans {wanted.start_s:g}-{wanted.end_s:g} s")
        return self._region_targets(path, wanted.start_s, wanted.end_s)

    def _region_targets(self, path: str, start_s: float, end_s: float) -> _Targets:
        """A region that is no clip's span: every clip inside it; its own segment clip unless those tile it."""
        tol = REGION_TOLERANCE_S
        inside = sorted((c for c in self.by_path[path] if c[1] >= start_s - tol and c[2] <= end_s + tol),
                        key=lambda c: (c[1], c[2]))
        partial = [c for c in self.by_path[path] if c not in inside and min(c[2], end_s) > max(c[1], start_s)]
        reach, tiled = start_s, bool(inside)
        for _, start, end in inside:
            if start > reach + tol:
                tiled = False
            reach = max(reach, end)
        tiled = tiled and reach >= end_s - tol
        span = f"region {start_s:g}-{end_s:g} s"
        result = _Targets([c[0] for c in inside], path=path)
        if len(inside) > 1:
            result.notes.append(f"{span} labels the {len(inside)} clips inside it")
        if not tiled:
            result.make = (self.file_ids[path], start_s, end_s)
            result.notes.append(f"{span} is no clip's span: made its segment clip")
        if partial:
            spans = ", ".join(f"{start:g}-{end:g} s" for _, start, end in sorted(partial, key=lambda c: c[1]))
            result.notes.append(f"{span} partly overlaps clip{'s' if len(partial) > 1 else ''} {spans} "
                                "(not labelled)")
        return result

    def made(self, path: str, clip_id: int, start_s: float, end_s: float) -> None:
        """A segment clip made by this import: later rows with its span match it."""
        if all(c[0] != clip_id for c in self.by_path[path]):
            self.by_path[path].append((clip_id, start_s, end_s))


def _cut(path: str, limit: int = 4096) -> str:
    """A path read from a label file, for a message: one longer than any real path (PATH_MAX) is cut."""
    return path if len(path) <= limit else path[:limit] + "…"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise VoiceStudioError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise VoiceStudioError(f"{path}: not a UTF-8 text file") from None


def _described(value) -> str:
    """What a value read from a file is, for a one-line message, without printing all of it."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return shown(str(value))
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _seconds(value, name: str) -> float:
    """A finite number of seconds from a CSV cell or a JSON number; VoiceStudioError naming ``name`` otherwise."""
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise VoiceStudioError(f"{name} must be a number of seconds, not {shown(value)}") from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            raise VoiceStudioError(f"{name} {_described(value)} is too large") from None
    else:
        raise VoiceStudioError(f"{name} must be a number of seconds, not {_described(value)}")
    if not math.isfinite(number):
        raise VoiceStudioError(f"{name} {_described(value)} is not a finite number of seconds")
    return number


def _span(start, end, names: tuple[str, str]) -> tuple[float, float]:
    """(start_s, end_s) read by ``_seconds``, checked to be a span of the recording."""
    start_s, end_s = _seconds(start, names[0]), _seconds(end, names[1])
    if not 0 <= start_s < end_s:
        raise VoiceStudioError(f"{names[0]} {start_s:g} and {names[1]} {end_s:g} are not a span of seconds")
    return start_s, end_s


def _span_of(record: dict) -> tuple[float | None, float | None]:
    """(start_s, end_s) of a CSV row, both None when neither is given."""
    start, end = (record.get(key, "").strip() for key in ("start_s", "end_s"))
    if not start and not end:
        return None, None
    if not start or not end:
        raise VoiceStudioError(f"start_s and end_s must both be numbers of seconds (or both empty), "
                               f"not {shown(start)} and {shown(end)}")
    return _span(start, end, ("start_s", "end_s"))


@dataclass(frozen=True)
class _CsvRecord:
    line: int  # where the record starts: quoted fields may span lines
    cells: list[str] | None  # None when the record could not be read
    problem: str | None = None


def _csv_records(path: Path):
    """Each CSV record; one the csv module cannot read (a field over its size limit) is a failed record."""
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    line = 1
    while True:
        try:
            record = _CsvRecord(line, next(reader))
        except StopIteration:
            return
        except csv.Error as exc:
            record = _CsvRecord(line, None, f"not readable as CSV ({exc})")
        yield record
        line = reader.line_num + 1


def _csv_file(text: str, base: Path) -> str:
    """The absolute path a CSV cell names, relative to the CSV's folder."""
    try:
        file = Path(text).expanduser()
    except RuntimeError:  # "~someone/x.wav" and no such user
        raise VoiceStudioError(f"{shown(text)}: cannot expand ~ (no such user)") from None
    return str(file if file.is_absolute() else (base / file).absolute())


def _csv_row(line: int, record: dict, base: Path, default_annotator: str) -> _Wanted:
    if not record.get("path", "").strip() or "label" not in record:
        raise VoiceStudioError("expected path,label[,annotator]")
    start, end = _span_of(record)
    value = parse_value(record["label"])
    given = record.get("annotator") or ""
    annotator = check_annotator(given if given.strip(" ") else default_annotator)  # controls are refused, not stripped
    return _Wanted(line, f"line {line}", _csv_file(record["path"].strip(), base), None, start, end, annotator, value,
                   (record.get("note") or "").strip() or None)


def _csv_wanted(path: Path, default_annotator: str,
                options: LabelStudioOptions) -> tuple[list[_Wanted], list[tuple[int, str]]]:
    records = list(_csv_records(path))
    header = [c.strip().lower() for c in records[0].cells or []] if records else []
    if _is_ls_csv_header(header):  # Label Studio's CSV export: its header is never data
        tasks, failures = _ls_csv_tasks(path, _LsConfig.parse(options.config))
        wanted, more = _label_studio_wanted(path, default_annotator, options, tasks)
        return wanted, failures + more
    named = "path" in header and "label" in header
    wanted, failures = [], []
    for record in records[1:] if named else records:
        try:
            if record.cells is None:
                raise VoiceStudioError(record.problem)
            if not any(cell.strip() for cell in record.cells):
                continue
            cells = dict(zip(header, record.cells)) if named else dict(zip(("path", "label", "annotator"), record.cells))
            wanted.append(_csv_row(record.line, cells, path.parent, default_annotator))
        except VoiceStudioError as exc:
            failures.append((record.line, f"line {record.line}: {exc}"))
    return wanted, failures


def _looks_like_audio(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = urlparse(value)
        ref = parse_qs(parsed.query).get("d", [parsed.path])[0]
    except ValueError:
        return False
    return ref.lower().endswith(AUDIO_SUFFIXES)


def _ls_audio(data, config: _LsConfig, options: LabelStudioOptions) -> tuple[str | None, str, str | None]:
    """(absolute path or None, file name, path below the document root or None) of a task's audio.

    The audio is the data field the labelling config names (``$audio`` in ours), else the one value
    that looks like an audio file; our own exports add ``path``, the exact file.
    """
    data = data if isinstance(data, dict) else {}
    field_name = config.audio_field or "audio"
    ref = data.get(field_name)
    if not isinstance(ref, str) or not ref.strip():
        ref = next((v for v in data.values() if _looks_like_audio(v)), None)
    if ref is None:
        raise VoiceStudioError(f"no audio in its data (no field {shown(field_name)}, which the labelling config "
                               "names, and no value that is an audio file)")
    try:
        parsed = urlparse(ref)
        query = parse_qs(parsed.query)
    except ValueError:  # "http://[x/a.wav": not a URL urllib can split
        raise VoiceStudioError(f"audio {shown(ref)} is neither a path nor a URL") from None
    rel = None
    if parsed.scheme == "file":
        path = unquote(parsed.path)
    elif "d" in query:  # local-files storage: ?d=folder/name.wav
        rel = query["d"][0]
        path = os.path.join(os.path.expanduser(str(options.document_root)), rel) if options.document_root else rel
    else:  # an upload URL (/data/upload/...) is tried as a path too: it is simply not in the project
        path = unquote(parsed.path)
    name = os.path.basename(path)
    if not name:
        raise VoiceStudioError("no audio in its data")
    local = parsed.scheme == "file" or not parsed.scheme or "d" in query
    exact = path if local and os.path.isabs(path) else None
    given = data.get("path")  # our export: the file's path as the project stores it
    if isinstance(given, str) and os.path.isabs(given) and os.path.basename(given) == name:
        exact = given
    return exact, name, rel


def _ls_annotator(annotation: dict, default: str, users: dict[str, str] | None = None) -> str:
    """Who made an annotation: our ``voicestudio_annotator`` text, else Label Studio's ``completed_by``
    (a user object, a user's number or an email; an email ``users`` maps is that annotator)."""
    for result in annotation.get("result") or []:
        if isinstance(result, dict) and result.get("from_name") == ANNOTATOR_CONTROL:
            text = (result.get("value") or {}).get("text") if isinstance(result.get("value"), dict) else None
            text = text[0] if isinstance(text, list) and text else text
            if isinstance(text, str) and text.strip():
                try:
                    return check_annotator(text.strip())
                except AnnotatorError as exc:
                    raise VoiceStudioError(f"{ANNOTATOR_CONTROL}: {exc}") from None
    who = annotation.get("completed_by")
    by_email = {email.lower(): name for name, email in (users or {}).items()}
    if isinstance(who, dict):
        who = next((who[key] for key in ("email", "username", "id") if who.get(key) not in (None, "")), None)
        if who is None:
            raise VoiceStudioError("completed_by: a user without an email, username or id")
    if who is None or who == "":
        return default
    if isinstance(who, int) and not isinstance(who, bool):
        who = f"labelstudio-user-{who}"
    if isinstance(who, str) and who.strip().lower() in by_email:
        return by_email[who.strip().lower()]
    try:
        return check_annotator(who)
    except AnnotatorError as exc:
        raise VoiceStudioError(f"completed_by: {exc}") from None


def _ls_value(values) -> str:
    """The stored label for a result's ``choices`` or ``labels`` list (Label Studio never clears)."""
    if not isinstance(values, list) or len(values) != 1 or not isinstance(values[0], str):
        raise VoiceStudioError(f"expected one label, got {_described(values)}")
    text = values[0]
    try:
        value = parse_value(LS_ALIASES.get(text.strip().lower(), text))
    except VoiceStudioError:
        value = None
    if value is None:  # unknown, or "None"/"clear": a class name here, never an instruction to clear
        raise VoiceStudioError(f"unknown label {shown(text)}: use human, nonhuman or unsure (or {', '.join(LS_ALIASES)})")
    return value


def _ls_list(task: dict, key: str) -> list:
    found = task.get(key)
    if found is None:
        return []
    if not isinstance(found, list):
        raise VoiceStudioError(f"its {key} are not a list")
    return found


def _ls_where(task: dict, number: int) -> str:
    """How a message names a task: its id when that is a plain number or short name, else its place in the file."""
    task_id = task.get("id")
    if isinstance(task_id, int) and not isinstance(task_id, bool) and abs(task_id) < 10**18:
        return f"task {task_id}"
    if isinstance(task_id, str) and 0 < len(task_id) <= 40 and task_id.isprintable():
        return f"task {task_id}"
    return f"task {number}"


def _ls_label_results(annotation) -> list[dict]:
    """The results of an annotation that are labels (text areas, ratings... are not); none if it was cancelled."""
    if not isinstance(annotation, dict) or annotation.get("was_cancelled"):
        return []
    results = annotation.get("result")
    return [r for r in results if isinstance(r, dict) and r.get("type") in ("choices", "labels")] \
        if isinstance(results, list) else []


def _ls_result(result: dict) -> tuple[str, float | None, float | None]:
    """(label, start_s, end_s) of a choices result (no span) or a labels region."""
    kind = result["type"]
    value = result.get("value")
    if not isinstance(value, dict):
        raise VoiceStudioError(f"a {kind} result without a value object")
    label = _ls_value(value.get(kind))
    if kind == "choices":
        return label, None, None
    if "start" not in value or "end" not in value:
        raise VoiceStudioError("a labels region needs numbers start and end (seconds)")
    return (label, *_span(value["start"], value["end"], ("region start", "end")))


def _json_int(text: str) -> int | float:
    """A JSON integer; one too long for ``int`` (Python refuses over 4300 digits) becomes a float (inf),
    refused by the field it is in instead of failing the whole file."""
    return int(text) if len(text) <= 4000 else float(text)


def _ls_min_value(cell):
    """A JSON-MIN value, or a CSV cell holding one (lists and objects as JSON text, numbers as text)."""
    if isinstance(cell, str):
        text = cell.strip()
        if not text:
            return None
        if text[0] in "[{":
            try:
                return json.loads(text, parse_int=_json_int)
            except json.JSONDecodeError:
                return cell
    return cell


def _is_region_list(value) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, dict) and "labels" in v and "start" in v and "end" in v for v in value)


def _ls_min_task(record: dict, config: _LsConfig) -> dict:
    """A JSON-MIN record (one annotation, task data at the top level) as a task of the JSON export."""
    data, results = {}, []
    for key, cell in record.items():
        if key in LS_RECORD_KEYS:
            continue
        kind = config.controls.get(key)
        if kind is None and _is_region_list(_ls_min_value(cell)):  # regions of a control the config lacks
            kind = "labels"
        if kind is None:  # task data; the CSV export renames data that collides with a control: _data_NAME
            data[key[len("_data_"):] if key.startswith("_data_") and key[6:] in config.controls else key] = cell
            continue
        value = _ls_min_value(cell)
        if value is None or value == []:
            continue
        if kind == "choices":
            results.append({"from_name": key, "type": "choices",
                            "value": {"choices": value if isinstance(value, list) else [value]}})
        elif kind == "labels":
            regions = value if isinstance(value, list) else [value]
            results += [{"from_name": key, "type": "labels", "value": region} for region in regions]
        elif kind == "textarea":
            results.append({"from_name": key, "type": "textarea",
                            "value": {"text": value if isinstance(value, list) else [value]}})
    who = _ls_min_value(record.get("annotator"))
    if isinstance(who, str) and who.strip().isdigit():
        who = int(who)
    annotations = [{"completed_by": who, "result": results}] if results else []
    return {"id": record.get("id"), "data": data, "annotations": annotations}


def _is_ls_csv_header(header: list[str]) -> bool:
    """Label Studio's CSV export always has these columns; VoiceStudio's CSV never has both."""
    return "annotation_id" in header and "annotator" in header


def _ls_csv_tasks(path: Path, config: _LsConfig) -> tuple[list, list[tuple[int, str]]]:
    records = list(_csv_records(path))
    header = [c.strip() for c in records[0].cells or []] if records else []
    tasks, failures = [], []
    for record in records[1:]:
        if record.cells is None:
            failures.append((record.line, f"line {record.line}: {record.problem}"))
            continue
        if not any(cell.strip() for cell in record.cells):
            continue
        row = dict(zip(header, record.cells))
        tasks.append(_ls_min_task(row, config))
    return tasks, failures


def _ls_json_tasks(path: Path, config: _LsConfig) -> list:
    try:
        tasks = json.loads(_read_text(path), parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise VoiceStudioError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise VoiceStudioError(f"{path}: not a Label Studio export (nested too deeply)") from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise VoiceStudioError(f"{path}: not a Label Studio export (expected a list of tasks)")
    # JSON-MIN: records without "data" (and without "annotations"): the task's data at the top level
    return [t if any(k in t for k in ("data", "annotations", "completions")) else _ls_min_task(t, config)
            for t in tasks]


def _label_studio_wanted(path: Path, default_annotator: str, options: LabelStudioOptions,
                         tasks: list | None = None) -> tuple[list[_Wanted], list[tuple[int, str]]]:
    config = _LsConfig.parse(options.config)
    if tasks is None:
        tasks = _ls_json_tasks(path, config)
    wanted, failures = [], []
    for number, task in enumerate(tasks, start=1):
        where = _ls_where(task, number)
        try:
            audio, name, rel = _ls_audio(task.get("data"), config, options)
            annotations = _ls_list(task, "annotations") + _ls_list(task, "completions")  # completions: old name
        except VoiceStudioError as exc:
            failures.append((number, f"{where}: {exc}"))
            continue
        for annotation in annotations:
            results = _ls_label_results(annotation)
            try:
                who = _ls_annotator(annotation, default_annotator, options.users) if results else None
            except VoiceStudioError as exc:
                failures.append((number, f"{where}: {exc}"))
                continue
            for result in results:
                try:
                    label, start, end = _ls_result(result)
                except VoiceStudioError as exc:
                    failures.append((number, f"{where}: {exc}"))
                    continue
                wanted.append(_Wanted(number, where, audio, name, start, end, who, label, None,
                                      region=result["type"] == "labels", rel=rel))
    return wanted, failures


def import_labels(project, path, *, format: str | None = None, default_annotator: str,
                  label_studio: LabelStudioOptions | None = None) -> LabelsImported:
    """Read labels from ``path`` and append them as label events, all in one transaction.

    A Label Studio region that is no clip's span labels the clips inside it and, unless they tile
    it, a segment clip made for it (``result.created``); ``result.notes`` says where.
    """
    path = Path(path).expanduser().absolute()
    if ProjectFiles.of(project).owns(path):  # never opened: that would drop our SQLite locks on it
        raise VoiceStudioError(f"{path}: is the open project or one of its files, not a label file")
    kind = detect_format(path, format)
    reader = _csv_wanted if kind == "csv" else _label_studio_wanted
    wanted, failures = reader(path, check_annotator(default_annotator), label_studio or LabelStudioOptions())
    result = LabelsImported()
    notes: list[tuple[int, str]] = []
    with project.write() as session:
        clips = _Clips(session)
        current = label_store.labels_by_annotator(session)
        for item in wanted:
            try:
                targets = clips.targets(item)
                if targets.make is not None:
                    file_id, start_s, end_s = targets.make
                    made = label_span_in(session, file_id, start_s, end_s, item.value, annotator=item.annotator,
                                         note=item.note)
                    clips.made(targets.path, made["clip_id"], made["start_s"], made["end_s"])
                    current.setdefault(made["clip_id"], {})[item.annotator] = item.value
                    result.created += 1
                    result.labelled += 1
            except VoiceStudioError as exc:
                failures.append((item.order, f"{item.where}: {exc}"))
                continue
            notes += [(item.order, f"{item.where}: {note}") for note in targets.notes]
            for clip_id in targets.clip_ids:
                mine = current.setdefault(clip_id, {})
                if mine.get(item.annotator) == item.value:
                    result.unchanged += 1
                    continue
                label_store.add_label(session, clip_id, item.annotator, item.value, note=item.note)
                if item.value is None:
                    mine.pop(item.annotator, None)
                else:
                    mine[item.annotator] = item.value
                result.labelled += 1
    result.failures = [text for _, text in sorted(failures, key=lambda f: f[0])]
    result.notes = [text for _, text in sorted(notes, key=lambda f: f[0])]
    return result
