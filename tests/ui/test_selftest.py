"""voicestudio selftest: every step passes here, and the first failure stops it with exit 1."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from voicestudio.selftest import STEPS, Step, run_selftest


def test_selftest_passes_in_a_fresh_process(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        env[var] = str(tmp_path / var)
    done = subprocess.run([sys.executable, "-m", "voicestudio", "selftest"], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("voicestudio ") and "selftest" in lines[0]
    assert [line.split()[1] for line in lines[1:-1]] == [step.name for step in STEPS]
    assert all(line.startswith("ok   ") for line in lines[1:-1]) and lines[-1] == "selftest passed"
    assert "voice-detector on ai-edge-litert" in done.stdout and "label, audit, model and devices panels" in done.stdout
    # Nothing of the user's is touched: no settings, window state or default project.
    assert not any((tmp_path / var / "VoiceStudio").exists() for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"))


def test_the_first_failure_stops_the_selftest():
    ran = []

    def fine(ctx):
        ran.append("fine")
        return "fine"

    def broken(ctx):
        raise FileNotFoundError("voice-detector.tflite is not in the bundle")

    out = io.StringIO()
    steps = (Step("first", fine), Step("model", broken), Step("after", fine))
    assert run_selftest(out, steps) == 1
    text = out.getvalue().splitlines()
    assert text[1].startswith("ok   first") and text[2] == (
        "FAIL model     FileNotFoundError: voice-detector.tflite is not in the bundle")
    assert ran == ["fine"] and len(text) == 3
