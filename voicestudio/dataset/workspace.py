"""What the window holds open: a project, a detector registered in it, and its clip table.

Opening one is slow (migrations, maybe the demo project's first scoring, the
TFLite runtime's import), so the window runs these functions on a worker
thread; they are plain functions the CLI and tests can call too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicestudio.dataset.cliptable import ClipTable, load_clip_table
from voicestudio.dataset.scoring import register
from voicestudio.errors import VoiceStudioError
from voicestudio.progress import ProgressCallback
from voicestudio.store.predictions import clip_scores
from voicestudio.store.project import Project, default_project_path, open_project
from voicestudio.store.projectfiles import ProjectFiles


@dataclass
class ModelChoice:
    detector: object | None  # voicestudio.model.detector.Detector
    model_id: int | None
    scores: dict[int, float]
    warning: str | None = None  # why the requested model is not the one loaded

    @property
    def threshold(self) -> float:
        return self.detector.card.threshold if self.detector is not None else 0.5


@dataclass
class Workspace:
    target: str
    project: Project
    model: ModelChoice
    table: ClipTable
    created_demo: bool = False


def load_model(project: Project, model_path: str | None, *, fallback: bool = True) -> ModelChoice:
    """The detector at ``model_path`` (the built-in one when empty), registered in the project.

    With ``fallback`` a model that fails to load is replaced by the built-in
    one with a warning (a project must open even if its model has gone);
    without, the error is raised. With no usable model at all the project
    opens without predictions.
    """
    from voicestudio.model.detector import DEFAULT_MODEL, Detector

    warning = None
    detector = None
    if model_path:
        try:
            if ProjectFiles.of(project).owns(model_path):  # never opened: that would drop our SQLite locks on it
                raise VoiceStudioError(f"{model_path}: is the open project or one of its files, not a model")
            detector = Detector(model_path)
        except (VoiceStudioError, OSError, ValueError) as exc:
            if not fallback:
                raise VoiceStudioError(f"could not load the model {model_path}: {exc}") from exc
            warning = f"could not load the model {model_path}: {exc}; using the built-in detector"
    if detector is None and DEFAULT_MODEL.exists():
        try:
            detector = Detector()
        except VoiceStudioError as exc:
            warning = f"no detector available ({exc}); clips are shown without predictions"
    if detector is None:
        return ModelChoice(None, None, {}, warning)
    model_id = register(project, detector)
    return ModelChoice(detector, model_id, model_scores(project, model_id), warning)


def default_model(project: Project) -> str | None:
    """The path of the project's default model (``adopt_model``), or None: the built-in one."""
    from voicestudio.store import project_settings
    from voicestudio.store.models import find_model

    with project.session() as session:
        sha256 = project_settings.get_setting(session, project_settings.DEFAULT_MODEL)
        model = find_model(session, sha256) if sha256 else None
        return None if model is None else model.path


def adopt_model(project: Project, path: str | None) -> int | None:
    """Make the model at ``path`` the project's default for everyone who opens it (registered first);
    None or "" goes back to the built-in model. Returns the model's id (None for the built-in)."""
    from voicestudio.model.detector import Detector
    from voicestudio.store import project_settings

    if project.read_only:
        raise VoiceStudioError(f"{project.label}: the project is read-only; its default model cannot change")
    model_id, sha256 = None, None
    if path:
        if ProjectFiles.of(project).owns(path):
            raise VoiceStudioError(f"{path}: is the open project or one of its files, not a model")
        detector = Detector(path)
        model_id, sha256 = register(project, detector), detector.sha256
    with project.write() as session:
        project_settings.set_setting(session, project_settings.DEFAULT_MODEL, sha256)
    return model_id


def open_workspace(target: str, *, model_path: str | None = None, personal_model: str = "", annotator: str = "",
                   progress: ProgressCallback | None = None) -> Workspace:
    """Open (or create) the project at ``target``; the default project starts as the demo project.

    The model: ``model_path`` when given (the user chose it in this session; "" = the built-in one),
    else the project's default model, else ``personal_model`` (the user's last choice), else the built-in one.
    """
    created = False
    if Path(target) == default_project_path():
        from voicestudio.dataset.demo import open_or_create_demo

        setup = open_or_create_demo(target, progress=progress)
        project, created = setup.project, setup.created
    else:
        project = open_project(target)
    try:
        if model_path is None:
            model_path = default_model(project) or personal_model
        model = load_model(project, model_path)
        table = reload_table(project, annotator, model.model_id)
    except BaseException:
        project.close()
        raise
    return Workspace(str(target), project, model, table, created)


def reload_table(project: Project, annotator: str, model_id: int | None) -> ClipTable:
    with project.session() as session:
        return load_clip_table(session, annotator=annotator, model_id=model_id)


def model_scores(project: Project, model_id: int) -> dict[int, float]:
    with project.session() as session:
        return clip_scores(session, model_id)


@dataclass(frozen=True)
class Changes:
    """What other programs wrote since the window last looked."""

    events: list[tuple[int, int, str, str | None]]  # (event id, clip id, annotator, value), oldest first
    clips: int  # current clips in the project now: not what the window holds means someone imported
    newest_clip: int = 0  # the highest current clip id: a file replaced and re-imported keeps the count


def last_event_id(project: Project) -> int:
    from sqlalchemy import func, select

    from voicestudio.store.schema import LabelEvent

    with project.session() as session:
        return int(session.scalar(select(func.max(LabelEvent.id))) or 0)


def changes_since(project: Project, after_id: int) -> Changes:
    """Label events with an id above ``after_id``, and the project's current clips (count, newest id)."""
    from sqlalchemy import func, select

    from voicestudio.store import clips as clip_store
    from voicestudio.store.schema import Clip, LabelEvent

    with project.session() as session:
        events = session.execute(
            select(LabelEvent.id, LabelEvent.clip_id, LabelEvent.annotator, LabelEvent.value)
            .where(LabelEvent.id > after_id).order_by(LabelEvent.id)
        ).all()
        clips = clip_store.count_clips(session)  # current clips, as the window's table holds
        newest = session.scalar(clip_store.current_clips(select(func.max(Clip.id)).select_from(Clip)))
    return Changes([tuple(e) for e in events], int(clips or 0), int(newest or 0))
