"""Two and four annotators labelling one project at once, each in its own process, through
the CLI: on a SQLite file and on a real PostgreSQL server. Nothing is lost, nobody sees
"database is locked", and the agreement figures are those of the labels they gave."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from voicestudio.cli import main
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store.project import open_project

WORKER = Path(__file__).with_name("label_worker.py")
CLIPS = 12


def make_project(target) -> list[int]:
    with open_project(target) as project:
        with project.write() as s:
            ids = []
            for i in range(CLIPS):
                f = clip_store.add_or_update_file(
                    s, path=f"/team/audio/{i:02d}.wav", sha256=f"{i:064x}", size_bytes=100, mtime=1.0, format="WAV",
                    subtype="PCM_16", sample_rate=16000, channels=1, frames=16000, duration_s=1.0, source_group="g")
                ids.append(clip_store.add_clip(s, f.id, 0.0, 1.0)[0].id)
    return ids


def start_workers(target: str, writers: int, rounds: int, clip_ids: list[int]) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, str(WORKER), target, f"ann{w}", str(w), str(rounds),
                              *map(str, clip_ids)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for w in range(writers)]


def finish(workers: list[subprocess.Popen]) -> dict[str, list[tuple[int, str]]]:
    """Each annotator's acknowledged (clip, value), in order; fails on any failure."""
    acked = {}
    for w, process in enumerate(workers):
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, f"worker {w}: {out[-2000:]} {err[-2000:]}"
        lines = out.splitlines()
        assert not [line for line in lines if line.startswith("FAIL")]
        acked[f"ann{w}"] = [(int(c), v) for _, c, v, _ in (line.split() for line in lines if line.startswith("ACK"))]
    return acked


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target(request, tmp_path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("pg_server").new_database()
    return str(tmp_path / "team.vsproj")


@pytest.mark.parametrize("writers, rounds", [(2, 120), (4, 80)])
def test_annotators_at_once_lose_nothing_and_agree_as_labelled(target, writers, rounds, capsys):
    clip_ids = make_project(target)
    acked = finish(start_workers(target, writers, rounds, clip_ids))
    assert all(len(a) == rounds for a in acked.values())

    expected = {who: dict(events) for who, events in acked.items()}  # the last value per clip wins
    with open_project(target) as project:
        with project.session() as s:
            for who, events in acked.items():
                history = [e for c in clip_ids for e in label_store.label_history(s, c, who)]
                assert len(history) == len(events)  # every acknowledged label, and nothing else
                assert sorted(e.note for e in history) == sorted(f"{who}-{i}" for i in range(rounds))
                current = {c: cur.value for c, cur in label_store.current_labels(s, who).items()}
                assert current == expected[who]

    assert main(["--db", target, "--json", "stats"]) == 0
    agreement = json.loads(capsys.readouterr().out)["agreement"]
    pairs = {tuple(p["annotators"]): p for p in agreement["pairs"]}
    for first, second in combinations(sorted(expected), 2):
        shared = sorted(set(expected[first]) & set(expected[second]))
        a, b = [expected[first][c] for c in shared], [expected[second][c] for c in shared]
        pair = pairs[first, second]
        assert pair["clips"] == len(shared)
        assert pair["observed"] == pytest.approx(sum(x == y for x, y in zip(a, b)) / len(shared), abs=1e-4)
        if len(set(a) | set(b)) > 1:
            assert pair["cohen_kappa"] == pytest.approx(cohen_kappa_score(a, b), abs=1e-4)
