"""The demo project: what a fresh install opens on.

On first start with no project, the default project is created, the demo
clips shipped in ``resources/samples`` are imported and scored with the
built-in detector, so the first screen has something real to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voicestudio.dataset.importer import ImportReport, import_paths
from voicestudio.dataset.scoring import ScoreReport, score_project
from voicestudio.progress import ProgressCallback
from voicestudio.resources import resource_path
from voicestudio.store.project import Project, open_project

SAMPLES_DIR = resource_path("samples")


@dataclass
class DemoSetup:
    project: Project
    created: bool
    imported: ImportReport | None = None
    scored: ScoreReport | None = None


def open_or_create_demo(target, *, detector_factory=None, progress: ProgressCallback | None = None) -> DemoSetup:
    """Open ``target``; if it did not exist, fill it with the demo clips and their predictions.

    ``detector_factory`` builds the detector (default: the built-in model);
    without a model the clips are imported but not scored.
    """
    target = Path(target)
    if target.exists() and target.stat().st_size > 0:
        return DemoSetup(open_project(target), created=False)
    project = open_project(target)
    setup = DemoSetup(project, created=True)
    setup.imported = import_paths(project, [SAMPLES_DIR], progress=progress)
    if detector_factory is None:
        from voicestudio.model.detector import DEFAULT_MODEL, Detector

        detector_factory = (lambda: Detector()) if DEFAULT_MODEL.exists() else None
    if detector_factory is not None:
        setup.scored = score_project(project, detector_factory(), progress=progress)
    return setup
