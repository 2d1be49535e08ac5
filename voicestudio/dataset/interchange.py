"""Labels in and out of a project: CSV and Label Studio JSON, so teams can move work across tools.

**CSV** (UTF-8, header row): ``clip_id,path,start_s,end_s,annotator,label,note,created_at``, one
row per annotator's current label. Import also takes the short form ``path,label[,annotator]``
(header optional). A clip is found by its file's path (relative paths are relative to the CSV)
and, when given, its span; ``clip_id`` is never trusted (another project has other ids).

**Label Studio**: a JSON list of tasks, one per audio file, ``{"id", "data": {"audio": PATH},
"annotations": [{"completed_by": {"email": ANNOTATOR}, "result": [...], "created_at", "updated_at"}]}``,
one annotation per annotator. A file that is one clip spanning it gets a clip-level result
``{"from_name": "label", "type": "choices", "value": {"choices": [LABEL]}}``; the clips of a
segmented recording get regions ``{"from_name": "segment", "type": "labels", "value": {"start",
"end", "channel": 0, "labels": [LABEL]}}``. ``LABEL_STUDIO_CONFIG`` is the labelling config that
reads and writes exactly this (paste it into the Label Studio project's Labeling Interface; its
control tags need distinct names, hence ``label`` and ``segment``). Import accepts what Label Studio
exports: numeric ``completed_by`` (annotator ``labelstudio-user-N``), old ``completions``,
cancelled annotations (skipped), other result types such as text areas (ignored), any ``from_name``,
the usual class names ("Speech", "Noise", ... see ``LS_ALIASES``), and audio given as a path, a
``file://`` URL, an upload URL such as ``/data/upload/3/8f2c1a3b-dog.wav`` or a local-files URL
``...?d=folder/dog.wav`` (the exact path first, else the file name, without the upload prefix).
A region is the clip with the same span (within 0.05 s), else the clip it covers most if that is
at least half of the clip.

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
from urllib.parse import parse_qs, unquote, urlparse

from sqlalchemy import func, select

from voicestudio import pathmap
from voicestudio.annotators import AnnotatorError, check_annotator, shown
from voicestudio.dataset.labels import parse_value
from voicestudio.dataset.sourcecheck import CHANGED, SourceRecord, check_source
from voicestudio.errors import VoiceStudioError
from voicestudio.outputs import check_output_file, write_output_file
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store.projectfiles import ProjectFiles
from voicestudio.store.schema import AudioFile, Clip, LabelEvent

FORMATS = ("csv", "labelstudio")
CSV_COLUMNS = ("clip_id", "path", "start_s", "end_s", "annotator", "label", "note", "created_at")
SPAN_TOLERANCE_S = 1e-3  # CSV spans are written with microseconds
REGION_TOLERANCE_S = 0.05  # Label Studio regions are dragged by hand
LABEL_STUDIO_CONFIG = """<View>
  <Audio name="audio" value="$audio"/>
  <Choices name="label" toName="audio" choice="single">
    <Choice value="human"/><Choice value="nonhuman"/><Choice value="unsure"/>
  </Choices>
  <Labels name="segment" toName="audio">
    <Label value="human"/><Label value="nonhuman"/><Label value="unsure"/>
  </Labels>
</View>"""
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

    def to_dict(self) -> dict:
        return {"labelled": self.labelled, "unchanged": self.unchanged, "failures": self.failures}


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


def _label_studio_tasks(rows: list[_Row]) -> list[dict]:
    by_file: dict[int, list[_Row]] = defaultdict(list)
    for r in rows:
        by_file[r.file_id].append(r)
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
            annotations.append({"completed_by": {"email": who}, "result": results,
                                "created_at": times[0], "updated_at": times[-1]})
        tasks.append({"id": file_id, "data": {"audio": file_rows[0].path}, "annotations": annotations})
    return tasks


def export_labels(project, path, *, format: str | None = None, annotator: str | None = None,
                  force: bool = False) -> LabelsExported:
    """Write every annotator's current label (or one annotator's) to ``path``, atomically.

    Never over the project or one of its files; over an existing file only with ``force``
    (``outputs.check_output_file``). A link is followed: its target is written.
    """
    kind = detect_format(path, format)
    path = check_output_file(path, project=project, force=force)
    with project.session() as session:
        rows = _current_rows(session, annotator)
    text = _csv_text(rows) if kind == "csv" else json.dumps(_label_studio_tasks(rows), indent=2, ensure_ascii=False)
    try:
        write_output_file(path, text, replace=force)
    except FileExistsError:
        raise VoiceStudioError(f"{path}: already exists (written meanwhile by another program); "
                               "replace it with --force") from None
    except OSError as exc:
        raise VoiceStudioError(f"{path}: cannot write the labels ({exc.strerror or exc})") from None
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


class _Clips:
    """The project's files and clips, to match labels read from a file."""

    def __init__(self, session):
        self.by_path: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
        self.sources: dict[str, SourceRecord] = {}
        columns = (Clip.id, AudioFile.path, Clip.start_s, Clip.end_s, AudioFile.sha256, AudioFile.size_bytes,
                   AudioFile.mtime)
        for clip_id, path, start, end, sha256, size, mtime in session.execute(clip_store.current_clips(select(*columns))):
            self.by_path[path].append((clip_id, start, end))
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

    def clip(self, wanted: _Wanted) -> int:
        path = self.file(wanted)
        self.unchanged(path)
        clips = self.by_path[path]
        if wanted.start_s is None:
            if len(clips) != 1:
                how = "label its segments with regions" if wanted.name is not None else "give start_s and end_s"
                raise VoiceStudioError(f"{path}: has {len(clips)} clips; {how}")
            return clips[0][0]
        tolerance = REGION_TOLERANCE_S if wanted.region else SPAN_TOLERANCE_S
        for clip_id, start, end in clips:
            if abs(start - wanted.start_s) <= tolerance and abs(end - wanted.end_s) <= tolerance:
                return clip_id
        if wanted.region:  # the clip this region covers most, if it covers at least half of it
            overlap = {clip_id: min(end, wanted.end_s) - max(start, wanted.start_s) for clip_id, start, end in clips}
            best = max(clips, key=lambda c: overlap[c[0]])
            if overlap[best[0]] >= (best[2] - best[1]) / 2:
                return best[0]
        raise VoiceStudioError(f"{path}: no clip spans {wanted.start_s:g}-{wanted.end_s:g} s")


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


def _csv_wanted(path: Path, default_annotator: str) -> tuple[list[_Wanted], list[tuple[int, str]]]:
    records = list(_csv_records(path))
    header = [c.strip().lower() for c in records[0].cells or []] if records else []
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


def _ls_audio(data) -> tuple[str | None, str]:
    """(absolute path or None, file name) of a task's audio reference."""
    data = data if isinstance(data, dict) else {}
    ref = data.get("audio")
    if not isinstance(ref, str):
        ref = next((v for v in data.values() if isinstance(v, str)), "")
    try:
        parsed = urlparse(ref)
        query = parse_qs(parsed.query)
    except ValueError:  # "http://[x/a.wav": not a URL urllib can split
        raise VoiceStudioError(f"audio {shown(ref)} is neither a path nor a URL") from None
    if parsed.scheme == "file":
        path = unquote(parsed.path)
    elif "d" in query:  # local-files storage: ?d=folder/name.wav
        path = query["d"][0]
    else:  # an upload URL (/data/upload/...) is tried as a path too: it is simply not in the project
        path = unquote(parsed.path)
    name = os.path.basename(path)
    if not name:
        raise VoiceStudioError("no audio in its data")
    local = parsed.scheme == "file" or not parsed.scheme or "d" in query
    return (path if local and os.path.isabs(path) else None), name


def _ls_annotator(annotation: dict, default: str) -> str:
    """Who made an annotation: Label Studio writes ``completed_by`` as a user object or a user's number."""
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = next((who[key] for key in ("email", "username", "id") if who.get(key) not in (None, "")), None)
        if who is None:
            raise VoiceStudioError("completed_by: a user without an email, username or id")
    if who is None or who == "":
        return default
    if isinstance(who, int) and not isinstance(who, bool):
        who = f"labelstudio-user-{who}"
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


def _label_studio_wanted(path: Path, default_annotator: str) -> tuple[list[_Wanted], list[tuple[int, str]]]:
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
    wanted, failures = [], []
    for number, task in enumerate(tasks, start=1):
        where = _ls_where(task, number)
        try:
            audio, name = _ls_audio(task.get("data"))
            annotations = _ls_list(task, "annotations") + _ls_list(task, "completions")  # completions: old name
        except VoiceStudioError as exc:
            failures.append((number, f"{where}: {exc}"))
            continue
        for annotation in annotations:
            results = _ls_label_results(annotation)
            try:
                who = _ls_annotator(annotation, default_annotator) if results else None
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
                                      region=result["type"] == "labels"))
    return wanted, failures


def import_labels(project, path, *, format: str | None = None, default_annotator: str) -> LabelsImported:
    """Read labels from ``path`` and append them as label events, all in one transaction."""
    path = Path(path).expanduser().absolute()
    if ProjectFiles.of(project).owns(path):  # never opened: that would drop our SQLite locks on it
        raise VoiceStudioError(f"{path}: is the open project or one of its files, not a label file")
    kind = detect_format(path, format)
    reader = _csv_wanted if kind == "csv" else _label_studio_wanted
    wanted, failures = reader(path, check_annotator(default_annotator))
    result = LabelsImported()
    with project.write() as session:
        clips = _Clips(session)
        current = label_store.labels_by_annotator(session)
        for item in wanted:
            try:
                clip_id = clips.clip(item)
            except VoiceStudioError as exc:
                failures.append((item.order, f"{item.where}: {exc}"))
                continue
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
    return result
