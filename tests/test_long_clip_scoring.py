"""Long clips are scored the way ``predict`` runs them: streamed a block at a time, one code path.

A recording imported as one clip (``--segment none``) is scored by the CLI in a subprocess; its
stored window probabilities equal the in-memory path's (a clip just past ``LONG_PART_S``) and
``predict``'s (two hours), and the scoring process's peak memory stays bounded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import select

import audiofiles
import hostile
from peakrss import run_measured
from voicestudio.model.detector import LONG_PART_S, Detector
from voicestudio.store import clips as clip_store
from voicestudio.store import predictions as prediction_store
from voicestudio.store.project import open_project
from voicestudio.store.schema import Model

MEMORY_BOUND = 400 * 1024 * 1024  # a clip of any length scores within this peak RSS


def voicestudio(*args, measure: bool = False) -> tuple[subprocess.CompletedProcess, int | None]:
    """Run the CLI in a subprocess; with ``measure``, also its peak RSS in bytes."""
    command = [sys.executable, "-m", "voicestudio", *map(str, args)]
    options = {"timeout": 900, "env": {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}}
    if measure:
        return run_measured(command, **options)
    return subprocess.run(command, capture_output=True, text=True, **options), None


def stored_prediction(db: Path) -> prediction_store.StoredPrediction:
    """The one clip's prediction from the one model."""
    with open_project(db) as project, project.session() as s:
        (clip,) = clip_store.list_clips(s)
        return prediction_store.get_prediction(s, clip.id, s.scalar(select(Model.id)))


def score_as_one_clip(recording: Path, model: Path, db: Path, *, measure: bool = False):
    imported, _ = voicestudio("--db", db, "import", "--segment", "none", recording)
    assert imported.returncode == 0 and imported.stdout.startswith("1 files added (1 clips)"), imported
    scored, peak = voicestudio("--db", db, "score", "--model", model, measure=measure)
    assert scored.returncode == 0 and scored.stdout.startswith("1 clips scored"), scored
    return stored_prediction(db), peak


def test_a_clip_past_the_block_length_scores_as_in_memory(tiny_model, tmp_path):
    """Just past ``LONG_PART_S``: streamed by score, the same windows and values as all at once."""
    recording = hostile.make_long_wav(tmp_path / "six-minutes.wav", hours=(LONG_PART_S + 61) / 3600, every_s=40)
    stored, _ = score_as_one_clip(recording, tiny_model, tmp_path / "p.vsproj")
    detector = Detector(tiny_model)
    assert detector.streams(recording)
    windows = detector.prepare_file(recording)  # the in-memory path, whole
    whole = detector.assemble(windows, detector.invoke_images(windows.images))
    np.testing.assert_array_equal(stored.window_starts_s, whole.window_starts_s)
    np.testing.assert_allclose(stored.window_probs, whole.window_probs, rtol=0, atol=1e-6)  # NaN = silent, alike
    assert 0 < np.isfinite(stored.window_probs).sum() < len(stored.window_probs)
    assert stored.clip_score == pytest.approx(whole.clip_score, abs=1e-6)


def write_two_hour_flac(path: Path, rate: int = 8000) -> Path:
    """Two hours of silence with a 2 s voice burst every minute, as one FLAC (a few MB, seconds to write)."""
    burst = audiofiles.speechlike(rate, 2.0, seed=7)
    minute = np.zeros(60 * rate, np.float32)
    minute[30 * rate:32 * rate] = burst
    with sf.SoundFile(path, "w", rate, 1, "PCM_16") as f:
        for _ in range(120):
            f.write(minute)
    return path


@pytest.mark.slow
def test_a_two_hour_clip_scores_in_bounded_memory(tiny_model, tmp_path):
    recording = write_two_hour_flac(tmp_path / "two-hours.flac")
    stored, peak = score_as_one_clip(recording, tiny_model, tmp_path / "p.vsproj", measure=True)
    decoded = 2 * 3600 * 16000 * 4  # the clip as float32 at the model's rate: 461 MB
    print(f"\n2-hour clip: score peak RSS {peak / 2**20:.0f} MiB (decoded whole at 16 kHz: {decoded / 2**20:.0f} MiB)")
    assert peak < MEMORY_BOUND, f"peak RSS {peak / 2**20:.0f} MiB"
    assert len(stored.window_probs) == 2 * 3600 * 2 - 1 and np.isfinite(stored.window_probs).sum() >= 120

    predicted, _ = voicestudio("--json", "predict", "--model", tiny_model, recording)
    assert predicted.returncode == 0, predicted.stderr
    (result,) = json.loads(predicted.stdout)["results"]
    probs = np.array([np.nan if w["probability"] is None else w["probability"] for w in result["windows"]])
    np.testing.assert_allclose(stored.window_probs, probs, rtol=0, atol=1e-5)  # predict's JSON rounds to 6 places
