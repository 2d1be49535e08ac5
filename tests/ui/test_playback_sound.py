"""Playback into a real PulseAudio server: what the analyst hears, recorded and counted.

A throwaway PulseAudio daemon with a null sink runs per test (its own runtime folder);
the window runs as its own process on the offscreen platform with that server as its
output, and Space is pressed twice, as an analyst listens to a clip twice. ``parec``
records the sink's monitor, and the recording must hold two separate sounds. (The
first play once raised a TypeError from every state change and the player never learnt
it had finished.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from components import require

WINDOW_SCRIPT = r"""
import sys
from pathlib import Path
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from voicestudio.settings import Settings
from voicestudio.ui.app import make_app
from voicestudio.ui.main_window import MainWindow

app = make_app()
window = MainWindow(Settings(annotator="listener"), settings_file=Path(sys.argv[2]))
window.show()
window.open_project(sys.argv[1])
events = []


def wait(condition, then, limit_s=20.0, started=[None]):
    import time
    started[0] = started[0] or time.monotonic()
    if condition():
        started[0] = None
        then()
    elif time.monotonic() - started[0] > limit_s:
        print("timed out", events, flush=True)
        app.exit(2)
    else:
        QTimer.singleShot(20, lambda: wait(condition, then, limit_s, started))


def press_space():
    QTest.keyClick(window, Qt.Key.Key_Space)
    events.append("space")


def first():
    if not window.player.available:
        print("no output:", window.player.unavailable_reason, flush=True)
        app.exit(3)
        return
    press_space()
    wait(lambda: window.player.playing, lambda: wait(lambda: not window.player.playing, pause_then_again))


def pause_then_again():
    events.append("ended")
    QTimer.singleShot(1500, second)


def second():
    press_space()
    wait(lambda: window.player.playing, lambda: wait(lambda: not window.player.playing, done))


def done():
    events.append("ended")
    print("events", " ".join(events), flush=True)
    QTimer.singleShot(300, app.quit)


def loop():
    QTest.keyClick(window, Qt.Key.Key_R)  # a region over the middle third
    QTest.keyClick(window, Qt.Key.Key_L)  # loop it
    press_space()
    QTimer.singleShot(4000, stop_loop)


def stop_loop():
    events.append(f"looping={window.player.playing}")
    press_space()
    print("events", " ".join(events), flush=True)
    QTimer.singleShot(300, app.quit)


def faster_then_first():
    for _ in range(3):  # 1x -> 1.25x -> 1.5x -> 2x
        QTest.keyClick(window, Qt.Key.Key_BracketRight)
    events.append(f"speed={window.player.speed:g}")
    first()


MODES = {"loop": loop, "fast": faster_then_first}
wait(lambda: window.clips.loaded is not None, MODES.get(sys.argv[3] if sys.argv[3:] else "", first))
sys.exit(app.exec())
"""


@pytest.fixture
def pulse_server(tmp_path):
    """A PulseAudio daemon with a null sink ``testsink``; yields the environment that reaches it."""
    found = all(shutil.which(p) for p in ("pulseaudio", "pactl", "parec"))
    require("PulseAudio", found, "apt-get install pulseaudio pulseaudio-utils")
    run = tmp_path / "pulse-run"
    run.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(run), "PULSE_RUNTIME_PATH": str(run / "pulse"),
           "HOME": str(tmp_path), "PULSE_SERVER": f"unix:{run / 'pulse' / 'native'}"}
    daemon = subprocess.Popen(
        ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--system=false", "--disallow-exit",
         "-L", "module-null-sink sink_name=testsink", "-L", "module-native-protocol-unix"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while subprocess.run(["pactl", "set-default-sink", "testsink"], env=env, capture_output=True).returncode:
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"PulseAudio did not start: {daemon.stderr.read().decode()[-500:]}")
            time.sleep(0.2)
        yield env
    finally:
        daemon.terminate()
        daemon.wait(10)


def separate_sounds(path: Path) -> list[float]:
    """Peak RMS of each sound in a recording (100 ms frames above -60 dBFS; gaps under 0.5 s merged)."""
    samples, rate = sf.read(path, dtype="float32", always_2d=True)
    frame = rate // 10
    mono = samples.mean(axis=1)[: len(samples) // frame * frame].reshape(-1, frame)
    rms = np.sqrt((mono**2).mean(axis=1))
    sounds, quiet, current = [], 99, 0.0
    for value in rms:
        if value > 1e-3:
            if quiet >= 5 and current:
                sounds.append(current)
                current = 0.0
            current = max(current, float(value))
            quiet = 0
        else:
            quiet += 1
    return sounds + ([current] if current else [])


def play_and_record(pulse_server, tmp_path, *mode: str):
    """Open a 0.6 s tone in the real window with ``mode``'s key presses; the window's output and
    what reached the sink, recorded."""
    from voicestudio.dataset.importer import import_paths
    from voicestudio.store.project import open_project

    rate = 16000
    t = np.arange(int(0.6 * rate)) / rate
    clips = tmp_path / "clips"
    clips.mkdir()
    sf.write(clips / "tone.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)
    project = tmp_path / "listen.vsproj"
    with open_project(project) as opened:
        import_paths(opened, [clips])

    env = {**pulse_server, "QT_QPA_PLATFORM": "offscreen"}
    recording = tmp_path / "heard.wav"
    recorder = subprocess.Popen(["parec", "-d", "testsink.monitor", "--file-format=wav", str(recording)], env=env)
    try:
        window = subprocess.run([sys.executable, "-c", WINDOW_SCRIPT, str(project), str(tmp_path / "settings.json"),
                                 *mode], env=env, capture_output=True, text=True, timeout=120)
        time.sleep(0.5)
    finally:
        recorder.terminate()
        recorder.wait(10)
    assert window.returncode == 0, window.stdout + window.stderr[-2000:]
    assert "TypeError" not in window.stderr
    return window.stdout, recording


def test_space_twice_plays_the_clip_twice(pulse_server, tmp_path):
    out, recording = play_and_record(pulse_server, tmp_path)
    assert "events space ended space ended" in out
    sounds = separate_sounds(recording)
    assert len(sounds) == 2, sounds
    assert all(0.05 < peak < 0.5 for peak in sounds), sounds  # the tone at 0.3 amplitude (RMS 0.21)


def test_r_and_l_loop_the_region_until_space(pulse_server, tmp_path):
    out, recording = play_and_record(pulse_server, tmp_path, "loop")
    assert "events space looping=True space" in out  # still playing after 4 s of a 0.2 s region
    samples, rate = sf.read(recording, dtype="float32", always_2d=True)
    frame = rate // 10
    mono = samples.mean(axis=1)[: len(samples) // frame * frame].reshape(-1, frame)
    sounding = np.count_nonzero(np.sqrt((mono**2).mean(axis=1)) > 1e-3) / 10
    assert sounding >= 1.5, sounding  # seconds of sound from a 0.2 s region (the server takes ~1.5 s to start)


def test_double_speed_plays_in_half_the_time_an_octave_up(pulse_server, tmp_path):
    out, recording = play_and_record(pulse_server, tmp_path, "fast")
    assert "events speed=2 space ended space ended" in out
    samples, rate = sf.read(recording, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    loud = np.flatnonzero(np.abs(mono) > 0.05)
    assert len(loud)
    # The 440 Hz tone comes out at 880 Hz (a plain rate change: the README says so) ...
    spectrum = np.abs(np.fft.rfft(mono[loud[0]:loud[0] + rate // 10]))
    assert abs(np.argmax(spectrum) * 10 - 880) <= 20
    # ... and each play of the 0.6 s clip lasts about 0.3 s.
    frame = rate // 50
    frames = mono[: len(mono) // frame * frame].reshape(-1, frame)
    sounding_s = np.count_nonzero(np.sqrt((frames**2).mean(axis=1)) > 1e-3) / 50
    assert 0.4 <= sounding_s <= 0.9, sounding_s  # two plays of ~0.3 s (1.2 s at normal speed)
