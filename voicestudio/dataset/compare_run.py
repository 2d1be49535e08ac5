"""The window's model comparison as one job: load model B, ``compare_models`` the window's model A
against it, and read both models' stored scores for the clip list's two score columns.

The window runs ``run_comparison`` on a worker (progress, Cancel) and only shows what it
returns; the models offered as B are the project's registered ones (``model_choices``).
Nothing here imports Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicestudio.dataset.cliptable import ComparedModels
from voicestudio.dataset.compare import Comparison, compare_models
from voicestudio.dataset.consensus import Consensus
from voicestudio.dataset.scoring import register
from voicestudio.errors import VoiceStudioError
from voicestudio.progress import CancelToken, ProgressCallback
from voicestudio.store.models import list_models
from voicestudio.store.predictions import clip_scores
from voicestudio.store.project import Project


@dataclass(frozen=True)
class ModelOption:
    """A model the project knows (it scored clips or was timed), offered as B."""

    name: str
    path: str
    sha256: str
    version: str | None = None

    @property
    def text(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name


def model_choices(project: Project, *, leave_out: str | None = None) -> list[ModelOption]:
    """The project's registered models whose file is on this machine, newest first, without the one
    whose SHA-256 is ``leave_out`` (model A)."""
    with project.session() as session:
        rows = [(m.name, m.path, m.sha256, m.version) for m in list_models(session)]
    return [ModelOption(name, path, sha, version) for name, path, sha, version in reversed(rows)
            if sha != leave_out and Path(path).is_file()]


@dataclass(frozen=True)
class CompareRequest:
    model_b: str  # a .tflite file
    split: str = "test"  # or "all" (compare.SPLITS)
    consensus: Consensus = Consensus()
    speed: bool = True  # time both per window on this machine
    speed_runs: int = 100


@dataclass(frozen=True)
class CompareOutcome:
    request: CompareRequest
    comparison: Comparison
    columns: ComparedModels  # both models' scores for every clip they scored, for the clip list


def run_comparison(project: Project, detector_a, request: CompareRequest, *,
                   progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> CompareOutcome:
    """Model A (a loaded Detector) against the model at ``request.model_b``: whichever lacks scores is
    scored first. Raises VoiceStudioError when B cannot load, is A itself, the scoring is cancelled, or
    no clip can be compared."""
    from voicestudio.model.detector import Detector

    if detector_a is None:
        raise VoiceStudioError("no model A: the window has no model loaded")
    try:
        detector_b = Detector(request.model_b)
    except (VoiceStudioError, OSError, ValueError) as exc:
        raise VoiceStudioError(f"could not load the model {request.model_b}: {exc}") from exc
    if detector_b.sha256 == detector_a.sha256:
        raise VoiceStudioError(f"{Path(request.model_b).name} is the model the window uses (A): choose another B")
    comparison = compare_models(project, detector_a, detector_b, consensus=request.consensus, split=request.split,
                                speed=request.speed, speed_runs=request.speed_runs, progress=progress, cancel=cancel)
    with project.session() as session:
        scores = [{} if model_id is None else clip_scores(session, model_id)
                  for model_id in (register(project, detector_a), register(project, detector_b))]
    columns = ComparedModels(comparison.a.name, comparison.b.name, comparison.a.threshold, comparison.b.threshold,
                             scores[0], scores[1], frozenset(int(c) for c in comparison.clip_ids))
    return CompareOutcome(request, comparison, columns)
