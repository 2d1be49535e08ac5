"""Score a project's clips with a detector and store the predictions.

Decoding and features of the next clips run on worker threads while the
interpreter (one lock inside the detector) works on the current one, so the
pipeline's time approaches the interpreter's. Results are written in batches,
one transaction per batch; a clip that fails (its file changed since import or
is gone, its audio, or the interpreter on its audio) is reported and the rest go
on. A clip longer than the detector's ``LONG_PART_S`` is predicted the way
``predict`` does it, streamed a block at a time, one such clip at a time: memory
stays bounded whatever the clip's length.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from voicestudio.audio.features import load_fast_fft
from voicestudio.audio.scan import FileProblem
from voicestudio.dataset import inflight
from voicestudio.dataset.sourcecheck import check_source
from voicestudio.errors import AudioError, ModelError
from voicestudio.model.detector import ClipWindows, Prediction
from voicestudio.progress import CancelToken, ProgressCallback, report, run_ahead
from voicestudio.store import clips as clip_store
from voicestudio.store import predictions as prediction_store
from voicestudio.store.project import Project

WRITE_BATCH = 64
BATCH_WINDOWS = 64  # windows per interpreter pass, gathered across clips


@dataclass
class PreparedClip:
    """A clip after the worker thread: its windows (short), its prediction (long), or why it failed."""

    job: clip_store.ClipRow
    windows: ClipWindows | None = None
    prediction: Prediction | None = None
    error: str | None = None


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


def register(project: Project, detector) -> int | None:
    """The detector's model row id (added on first use).

    A read-only project gets nothing added: None for a model it has never seen (no scores from it there).
    """
    if project.read_only:
        from voicestudio.store.models import find_model

        with project.session() as session:
            model = find_model(session, detector.sha256)
            return None if model is None else model.id
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

    streaming = threading.Lock()  # one long clip streamed at a time

    def prepare(job) -> PreparedClip:
        part = {"start_s": job.start_s, "end_s": job.end_s}
        source = check_source(job)  # other audio at the path now: its score would be stored on this clip
        if not source.ok:
            return PreparedClip(job, error=source.reason)
        try:
            if detector.streams(job.path, **part):
                with streaming:  # the window may be predicting the same recording: computed once
                    prediction = inflight.once(inflight.prediction_key(project, model_id, job.id),
                                               lambda: detector.predict_file(job.path, **part))
                return PreparedClip(job, prediction=prediction)
            return PreparedClip(job, windows=detector.prepare_file(job.path, **part))
        except (AudioError, ModelError) as exc:
            return PreparedClip(job, error=exc.reason)

    pending_writes = []
    ready: list[PreparedClip] = []  # short clips waiting for the interpreter

    def run_ready():
        """One interpreter pass over the windows of every ready clip (full batches across clips)."""
        for clip, active in zip(ready, detector.invoke_each([c.windows.images for c in ready])):
            if isinstance(active, ModelError):  # the interpreter failed on this clip's audio
                result.failures.append(FileProblem(clip.job.path, active.reason))
            else:
                pending_writes.append((clip.job.id, detector.assemble(clip.windows, active)))
        ready.clear()

    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="voicestudio-score") as pool:
        done = 0
        # A few clips ahead of the interpreter, never the whole project in memory.
        for job, future in run_ahead(pool, prepare, jobs, 4 * workers, cancel):
            clip = future.result()
            done += 1
            if clip.error is not None:
                result.failures.append(FileProblem(job.path, clip.error))
            elif clip.prediction is not None:
                pending_writes.append((job.id, clip.prediction))
            else:
                ready.append(clip)
            if sum(c.windows.n_active for c in ready) >= BATCH_WINDOWS:
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
