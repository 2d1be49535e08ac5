"""Labels survive SIGKILL: a child labels continuously (through the CLI, and in the real
window offscreen) and is killed at a random moment, many times; every label it had
acknowledged is in the project afterwards, and the file passes PRAGMA integrity_check."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from test_concurrent_annotators import make_project

TESTS = Path(__file__).resolve().parent
KILLS = {"cli": 20, "window": 10}


def run_and_kill(command: list[str], rng: random.Random, first_ack_timeout: float = 60.0) -> list[str]:
    """Start ``command``, let it acknowledge labels for a random while, SIGKILL it; its ACK lines."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(TESTS.parent)}
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    acks: list[str] = []
    first = threading.Event()

    def read() -> None:
        for line in child.stdout:
            if line.startswith("ACK"):
                acks.append(line.split(maxsplit=1)[1].strip())
                first.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert first.wait(first_ack_timeout), "the child never acknowledged a label"
        time.sleep(rng.uniform(0.05, 1.0))  # a random moment: mid-transaction, mid-commit, between labels
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        reader.join(10)
    return list(acks)


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.mark.slow
def test_cli_labels_survive_sigkill(tmp_path, capsys):
    path = tmp_path / "kills.vsproj"
    clip_ids = make_project(path)
    rng = random.Random(1)
    acknowledged = 0
    for kill in range(KILLS["cli"]):
        annotator = f"k{kill}"
        acks = run_and_kill([sys.executable, str(TESTS / "label_worker.py"), str(path), annotator, str(kill),
                             "100000", *map(str, clip_ids)], rng)
        with sqlite3.connect(path) as conn:
            stored = {(str(clip), value, note.split("-")[1]) for clip, value, note in conn.execute(
                "SELECT clip_id, value, note FROM label_events WHERE annotator = ?", (annotator,))}
        assert {tuple(a.split()) for a in acks} <= stored  # ACK <clip> <value> <round>
        assert integrity(path) == "ok"
        acknowledged += len(acks)
    with capsys.disabled():
        print(f"\nCLI: {KILLS['cli']} kills survived, {acknowledged} acknowledged labels, 0 lost")


@pytest.mark.slow
def test_window_labels_survive_sigkill(tmp_path, capsys):
    path = tmp_path / "window-kills.vsproj"
    make_project(path)
    rng = random.Random(2)
    acknowledged = 0
    for _ in range(KILLS["window"]):
        acks = run_and_kill([sys.executable, str(TESTS / "window_worker.py"), str(path)], rng)
        with sqlite3.connect(path) as conn:
            stored = {(str(i), str(clip), value) for i, clip, value in conn.execute(
                "SELECT id, clip_id, value FROM label_events WHERE annotator = 'window'")}
        assert {tuple(a.split()) for a in acks} <= stored  # ACK <event> <clip> <value>
        assert integrity(path) == "ok"
        acknowledged += len(acks)
    with capsys.disabled():
        print(f"\nwindow: {KILLS['window']} kills survived, {acknowledged} acknowledged labels, 0 lost")
