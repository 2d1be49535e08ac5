"""Score a project's clips with a detector and store the predictions.

Decoding and features of the next clips run on worker threads while the
interpreter (one lock inside the detector) works on the current one, so the
pipeline's time approaches the interpreter's. Results are written in batches,
one transaction per batch; a clip that fails is reported and the rest go on.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from voicestudio.audio.features import load_fast_fft
from voicestudio.dataset.importer import FileProblem
from voicestudio.errors import AudioError
from voicestudio.progress import CancelToken, ProgressCallback, report, run_ahead
from voicestudio.store import clips as clip_store
from voicestudio.store import predictions as prediction_store
from voicestudio.store.project import Project

WRITE_BATCH = 64
BATCH_WINDOWS = 64  # windows per interpreter pass, gathered across clips


@dataclass
class ScoreReport:
    model_sha256: str
    scored: int = 0
    already_scored: int = 0
    failures: list[FileProblem] = field(default_factory=list)
    elapsed_s: float = 0.0
    cancelled: bool = False

    def to_dict(self) -> dict:
        return {
            "model_sha256": self.model_sha256,
            "scored": self.scored,
            "already_scored": self.already_scored,
            "failures": [vars(p) for p in self.failures],
            "elapsed_s": round(self.elapsed_s, 3),
            "cancelled": self.cancelled,
        }


def register(project: Project, detector) -> int:
    """The detector's model row id (added on first use)."""
    with project.write() as session:
        return prediction_store.register_model(
            session, detector.sha256, str(detector.path), detector.card.to_dict()
        ).id


def score_project(
    project: Project,
    detector,
    *,
    rescore: bool = False,
    workers: int = 2,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ScoreReport:
    started = time.perf_counter()
    load_fast_fft()  # a batch job: pay the scipy import once, every clip gains
    result = ScoreReport(detector.sha256)
    model_id = register(project, detector)
    with project.session() as session:
        jobs = prediction_store.clips_to_score(session, model_id, rescore=rescore)
        result.already_scored = clip_store.count_clips(session) - len(jobs)

    def prepare(job):
        try:
            return job, detector.prepare_file(job.path, start_s=job.start_s, end_s=job.end_s), None
        except AudioError as exc:
            return job, None, exc.reason

    pending_writes = []
    ready = []  # prepared clips waiting for the interpreter

    def run_ready():
        """One interpreter pass over the windows of every ready clip (full batches across clips)."""
        if not ready:
            return
        probs = detector.invoke_images(np.concatenate([w.images for _, w in ready]))
        offset = 0
        for job, windows in ready:
            pending_writes.append((job.id, detector.assemble(windows, probs[offset:offset + windows.n_active])))
            offset += windows.n_active
        ready.clear()

    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="voicestudio-score") as pool:
        done = 0
        # A few clips ahead of the interpreter, never the whole project in memory.
        for _, future in run_ahead(pool, prepare, jobs, 4 * workers, cancel):
            job, windows, error = future.result()
            done += 1
            if error is not None:
                result.failures.append(FileProblem(job.path, error))
            else:
                ready.append((job, windows))
            if sum(w.n_active for _, w in ready) >= BATCH_WINDOWS:
                run_ready()
            if len(pending_writes) >= WRITE_BATCH:
                result.scored += _write(project, model_id, pending_writes)
            report(progress, done, len(jobs), job.path)
        run_ready()
        result.cancelled = cancel is not None and cancel.is_set() and done < len(jobs)
    result.scored += _write(project, model_id, pending_writes)
    result.elapsed_s = time.perf_counter() - started
    return result


def _write(project: Project, model_id: int, pending: list) -> int:
    if not pending:
        return 0
    with project.write() as session:
        for clip_id, p in pending:
            prediction_store.save_prediction(
                session, clip_id, model_id, p.clip_score, p.threshold, p.window_starts_s, p.window_probs
            )
    written = len(pending)
    pending.clear()
    return written
