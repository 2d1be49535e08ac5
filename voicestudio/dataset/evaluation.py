"""A model checked on a folder-per-class set, with no project of the user's: ``voicestudio evaluate``.

The set goes through the same path as a project — import, a label per file from
its class folder, scoring, the audit — in a temporary project that is deleted
afterwards, so the figures, threshold picks and plots are exactly those of
``stats`` and of the window's Audit panel.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from voicestudio.dataset.importer import SegmentRule, import_paths
from voicestudio.dataset.report import DEFAULT_GOALS, ProjectAudit, project_audit
from voicestudio.dataset.scoring import score_project
from voicestudio.errors import VoiceStudioError
from voicestudio.model.train import find_labelled_files
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store.project import open_project

FOLDER_ANNOTATOR = "class-folder"  # who "labelled" the files: the folder they sit in


@dataclass
class Evaluation:
    report: ProjectAudit
    split: str | None  # the split evaluated (None: the whole set)
    files: int
    problems: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): not evaluated


def choose_files(data_dir, split: str | None):
    """The labelled files of ``data_dir``; with splits, ``split`` (default: test)."""
    found = find_labelled_files(data_dir)
    splits = {f.split for f in found if f.split is not None}
    if splits:
        split = split or "test"
        if split not in splits:
            raise VoiceStudioError(f"{data_dir}: has no {split}/ split (it has {', '.join(sorted(splits))})")
        found = [f for f in found if f.split == split]
    elif split is not None:
        raise VoiceStudioError(f"{data_dir}: has no splits, only class folders: leave out --split")
    if not found:
        raise VoiceStudioError(f"{data_dir}: no audio under human/ or nonhuman/")
    return found, (split if splits else None)


def evaluate_folder(data_dir, detector, *, split: str | None = None, threshold: float | None = None,
                    goals=DEFAULT_GOALS, progress=None) -> Evaluation:
    files, split = choose_files(data_dir, split)
    with tempfile.TemporaryDirectory(prefix="voicestudio-evaluate-") as tmp, \
            open_project(Path(tmp) / "evaluate.vsproj") as project:
        imported = import_paths(project, [f.path for f in files], rule=SegmentRule(mode="none"), progress=progress)
        problems = [(p.path, p.reason) for p in imported.failures]
        with project.write() as session:
            for f in files:
                found = clip_store.clips_for_path(session, str(Path(f.path).absolute()))
                for clip in found:
                    label_store.add_label(session, clip.id, FOLDER_ANNOTATOR, f.label)
        scored = score_project(project, detector, progress=progress)
        problems += [(p.path, p.reason) for p in scored.failures]
        report = project_audit(project, detector=detector, threshold=threshold, goals=goals)
    return Evaluation(report, split, len(files), problems)
