"""The workstation's budgets, each against a named peer measured in the same run.

Run: python benchmarks/bench_ui.py [--runs 5]   (offscreen Qt unless a display is set)

  launch:     spawn -> main window visible, vs a bare PySide6 QMainWindow with one
              pyqtgraph plot (the floor any PySide6 + pyqtgraph app pays). Budget 1.5 s.
  10 s clip:  click -> waveform, spectrogram, MFCC and prediction drawn (decode, features,
              detector run and stored, repaint), vs librosa.load + STFT + MFCC alone
              (no drawing, no model). Budget 150 ms.
  label:      H pressed -> event durable in SQLite -> next clip drawn. Budget 100 ms.
  1 h file:   click -> first screen of a one-hour recording drawn, vs librosa.load of
              the file (what a viewer that loads everything pays first). Budget 2 s.
  1 h track:  a one-hour recording never scored, opened -> its whole prediction track
              shown, vs `voicestudio predict` of the same file in a fresh process.
              Budget 5 s and 1.5x predict.
  selection:  50 rows selected, N pressed -> all 50 labels durable and shown, vs the same 50
              labels written one by one through the core (one transaction each). Budget 1 s.
  region:     a span dragged on a 10-minute recording, H pressed -> the region's label durable
              and drawn on every view, vs the same region labelled through the core (one
              transaction). Budget 100 ms, as for a label.
  100k list:  project of 100,000 clips -> list filled, then a page scroll repainted, vs a
              QStandardItemModel holding the same rows. Smooth = a page under 16 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import numpy as np  # noqa: E402

import audiofiles  # noqa: E402

SR = 16000


def median(values) -> float:
    return statistics.median(values)


def line(name: str, ours: float, peer_name: str, peer: float, budget: float | None) -> None:
    verdict = "" if budget is None else (" within budget" if ours <= budget else " OVER BUDGET")
    budget_text = "" if budget is None else f" (budget {budget * 1000:.0f} ms)"
    print(f"{name:<11} {ours * 1000:8.1f} ms{budget_text}{verdict}; {peer_name} {peer * 1000:.1f} ms: "
          f"ratio {ours / peer:.2f}")


# Launch ----------------------------------------------------------------------------

BARE_APP = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
import pyqtgraph as pg
t0 = float(sys.argv[1])
app = QApplication([])
w = QMainWindow(); w.setCentralWidget(pg.PlotWidget()); w.show()
QTimer.singleShot(0, lambda: (print(f"visible {time.time() - t0:.3f}", flush=True), app.quit()))
app.exec()
"""


def spawn_until(argv: list[str], marker: str, env: dict) -> float:
    spawned = time.time()
    env = dict(env, VOICESTUDIO_STARTUP_CLOCK=str(spawned))
    process = subprocess.Popen(argv + ([str(spawned)] if "-c" in argv else []), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env=env)
    seconds = None
    for text in process.stdout:
        if text.startswith(marker):
            seconds = float(text.split()[-1])
    process.wait(timeout=120)
    if seconds is None:
        raise RuntimeError(f"{argv[0]} never printed {marker!r}")
    return seconds


def bench_launch(runs: int, home: Path) -> None:
    env = dict(os.environ, XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
    app = [sys.executable, "-m", "voicestudio"]
    spawn_until(app, "first clip", env)  # first start creates and scores the demo project: not timed
    ours = [spawn_until(app, "visible", env) for _ in range(runs)]
    first_clip = [spawn_until(app, "first clip", env) for _ in range(runs)]
    bare = [spawn_until([sys.executable, "-c", BARE_APP], "visible", env) for _ in range(runs)]
    line("launch", median(ours), "bare PySide6+pyqtgraph window", median(bare), 1.5)
    print(f"{'':<11} first clip drawn after {median(first_clip) * 1000:.0f} ms (demo project)")


# In-process budgets ------------------------------------------------------------------

def make_project(folder: Path, files: dict[str, np.ndarray], segment: str = "auto") -> Path:
    from voicestudio.dataset.importer import SegmentRule, import_paths
    from voicestudio.store.project import open_project

    audio = folder / "audio"
    audio.mkdir(parents=True)
    for name, samples in files.items():
        audiofiles.write(audio / name, samples, SR)
    target = folder / "bench.vsproj"
    with open_project(target) as project:
        import_paths(project, [audio], rule=SegmentRule.parse(segment))
    return target


def open_window(qapp, target: Path, home: Path):
    from voicestudio.settings import Settings
    from voicestudio.ui.main_window import MainWindow

    window = MainWindow(Settings(annotator="bench", auto_advance=True, queue="all"),
                        settings_file=home / "settings.json")
    window.resize(1400, 860)
    window.show()
    opened = []
    window.project_opened.connect(opened.append)
    window.open_project(str(target))
    wait(qapp, lambda: opened and window.clips.loaded is not None)
    return window


def wait(qapp, condition, timeout_s: float = 120.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        qapp.processEvents()
        time.sleep(0.0005)
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not met")


def time_until_drawn(qapp, window, action, clip_id_wanted) -> float:
    """Seconds from ``action()`` until that clip is shown and the window repainted."""
    shown = []
    window.clip_shown.connect(shown.append)
    started = time.perf_counter()
    action()
    wait(qapp, lambda: clip_id_wanted() in shown)
    window.repaint()
    elapsed = time.perf_counter() - started
    window.clip_shown.disconnect(shown.append)
    return elapsed


def bench_clip_and_label(qapp, runs: int, home: Path) -> None:
    import librosa
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    files = {f"clip{i:02d}.wav": audiofiles.speechlike(SR, 10.0, seed=i) for i in range(2 * runs + 2)}
    target = make_project(home / "ten", files)
    window = open_window(qapp, target, home)
    model = window.clip_list.model
    # 10 s clips never opened before: decode, features, prediction computed and stored, drawn.
    clip_times = []
    for row in range(1, runs + 1):
        clip_times.append(time_until_drawn(qapp, window, lambda r=row: window.clip_list.select_row(r),
                                           lambda r=row: model.clip_id(r)))
    paths = sorted((home / "ten" / "audio").iterdir())
    peer = []
    for path in paths[:runs]:
        started = time.perf_counter()
        y, sr = librosa.load(path, sr=SR)
        np.abs(librosa.stft(y, n_fft=512, hop_length=160, win_length=400, window="hamming")) ** 2
        librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20, n_fft=512, hop_length=160, win_length=400, window="hamming",
                             n_mels=40)
        peer.append(time.perf_counter() - started)
    line("10 s clip", median(clip_times), "librosa load+STFT+MFCC (no drawing, no model)", median(peer), 0.150)

    # Label -> next clip drawn (the next one was prefetched while this one was looked at).
    label_times = []
    for _ in range(runs):
        current = window.clip_list.current_row()
        qapp.processEvents()
        time.sleep(0.3)  # an annotator listens before deciding; prefetch happens meanwhile
        qapp.processEvents()
        label_times.append(time_until_drawn(qapp, window, lambda: QTest.keyClick(window, Qt.Key.Key_H),
                                            lambda c=current: model.clip_id(c + 1)))
    line("label→next", median(label_times), "the 10 s clip opened cold", median(clip_times), 0.100)
    close(qapp, window)


def bench_hour(qapp, home: Path) -> None:
    import librosa

    hour = np.tile(audiofiles.speechlike(SR, 60.0, seed=7), 60)
    target = make_project(home / "hour", {"hour.wav": hour}, segment="none")
    path = home / "hour" / "audio" / "hour.wav"
    window = open_window(qapp, target, home)  # opening selects the recording: time a second open
    window.clips.cache.clear()
    window.session.current_clip_id = None
    ours = time_until_drawn(qapp, window, lambda: window.show_clip(window.clip_list.model.clip_id(0)),
                            lambda: window.clip_list.model.clip_id(0))
    started = time.perf_counter()
    librosa.load(path, sr=None)
    peer = time.perf_counter() - started
    line("1 h file", ours, "librosa.load of the file", peer, 2.0)
    close(qapp, window)

    # The whole prediction track of an hour no model has scored yet (a project of its own).
    fresh = make_project(home / "hour-track", {"hour.wav": hour}, segment="none")
    started = time.perf_counter()
    window = open_window(qapp, fresh, home)
    wait(qapp, lambda: window.clips.loaded is not None and window.clips.loaded.prediction is not None)
    window.repaint()
    track = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "voicestudio", "predict", str(home / "hour-track" / "audio" / "hour.wav")],
                   check=True, capture_output=True)
    predict = time.perf_counter() - started
    line("1 h track", track, "voicestudio predict of the file (fresh process)", predict, 5.0)
    close(qapp, window)


def bench_detail_settings(home: Path) -> None:
    """Scrolling a 1 h, 32 kHz recording: detail of one range (a 30 s screen and half a screen
    each side) with the widest spectrogram settings against the default ones."""
    from voicestudio.audio.display import ViewSettings, load_detail
    from voicestudio.audio.features import FeatureSpec, load_fast_fft

    load_fast_fft()
    path = audiofiles.write(home / "hour32k.wav", np.tile(audiofiles.speechlike(32000, 60.0, seed=7), 60), 32000)

    def detail_time(view) -> float:
        times = []
        for i in range(9):
            start = 600.0 + 37.0 * i
            began = time.perf_counter()
            load_detail(path, 0.0, start, start + 60.0, FeatureSpec(), view)
            times.append(time.perf_counter() - began)
        return median(times)

    line("1 h scroll", detail_time(ViewSettings(max_hz=16000.0, n_fft=2048)), "default 8 kHz / 512 settings",
         detail_time(ViewSettings()), 0.12)


def bench_selection(qapp, home: Path) -> None:
    from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt
    from PySide6.QtTest import QTest

    from voicestudio.dataset.labels import label_clip

    files = {f"short{i:03d}.wav": audiofiles.speechlike(SR, 1.0, seed=i) for i in range(110)}
    target = make_project(home / "selection", files)
    window = open_window(qapp, target, home)
    model, view = window.clip_list.model, window.clip_list.view
    written = []
    window.label_written.connect(written.append)
    selection = QItemSelection(model.index(0, 0), model.index(49, 0))
    view.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                 | QItemSelectionModel.SelectionFlag.Rows)
    started = time.perf_counter()
    QTest.keyClick(view, Qt.Key.Key_N)
    wait(qapp, lambda: len(written) == 50)
    window.repaint()
    ours = time.perf_counter() - started
    project, ids = window.session.project, [model.clip_id(r) for r in range(50, 100)]
    started = time.perf_counter()
    for clip_id in ids:
        label_clip(project, clip_id, "nonhuman", annotator="bench-peer")
    peer = time.perf_counter() - started
    line("selection", ours, "50 labels written one by one (core)", peer, 1.0)
    close(qapp, window)


def bench_region(qapp, home: Path, runs: int) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from voicestudio.dataset.regions import label_region

    recording = np.tile(audiofiles.speechlike(SR, 60.0, seed=5), 10)
    target = make_project(home / "region", {"ten-minutes.wav": recording}, segment="none")
    window = open_window(qapp, target, home)
    views, times = window.views, []
    written = []
    window.label_written.connect(written.append)
    for run in range(runs):
        start = 30.0 + 20.0 * run
        views._span_dragged(start, start + 3.0, True)  # what a drag ends with
        drawn_before = len(views.regions)
        began = time.perf_counter()
        QTest.keyClick(window, Qt.Key.Key_H)
        wait(qapp, lambda: len(written) == run + 1 and len(views.regions) > drawn_before)
        window.repaint()
        times.append(time.perf_counter() - began)
    project, file_id = window.session.project, window.clips.loaded.clip.file_id
    peer = []
    for run in range(runs):
        began = time.perf_counter()
        label_region(project, file_id, 400.0 + 10.0 * run, 403.0 + 10.0 * run, "human", annotator="bench-peer")
        peer.append(time.perf_counter() - began)
    line("region", median(times), "the same region labelled through the core", median(peer), 0.1)
    close(qapp, window)


def bench_list(qapp, home: Path) -> None:
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QTableView
    from sqlalchemy import insert

    from voicestudio.store.project import open_project
    from voicestudio.store.schema import AudioFile, Clip

    n = 100_000
    target = home / "big.vsproj"
    with open_project(target) as project, project.write() as s:
        s.execute(insert(AudioFile), [dict(path=f"/audio/speaker{i % 300:03d}/clip{i:06d}.wav", sha256=f"{i:064x}",
                                           size_bytes=1, mtime=1.0, format="WAV", sample_rate=SR, channels=1,
                                           frames=SR, duration_s=1.0) for i in range(n)])
        s.execute(insert(Clip), [dict(file_id=i + 1, start_s=0.0, end_s=1.0) for i in range(n)])
    from voicestudio.settings import Settings
    from voicestudio.ui.main_window import MainWindow

    window = MainWindow(Settings(annotator="bench", queue="all"), settings_file=home / "settings.json")
    window.resize(1400, 860)
    window.show()
    opened = []
    window.project_opened.connect(opened.append)
    started = time.perf_counter()
    window.open_project(str(target))
    wait(qapp, lambda: opened)
    load = time.perf_counter() - started
    ours = page_scroll(qapp, window.clip_list.view)

    rows = [(f"clip{i:06d}.wav", "1.0 s", "", "", "", "") for i in range(n)]
    started = time.perf_counter()
    standard = QStandardItemModel(n, 6)
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            standard.setItem(r, c, QStandardItem(value))
    build = time.perf_counter() - started
    view = QTableView()
    view.setModel(standard)
    view.resize(430, 800)
    view.show()
    peer = page_scroll(qapp, view)
    line("100k list", load, "QStandardItemModel filled with the rows", build, None)
    line("page scroll", ours, "QStandardItemModel page scroll", peer, 0.016)
    view.deleteLater()
    close(qapp, window)


def page_scroll(qapp, view, pages: int = 200) -> float:
    bar = view.verticalScrollBar()
    qapp.processEvents()
    times = []
    for page in range(pages):
        started = time.perf_counter()
        bar.setValue(int(bar.maximum() * page / pages))
        view.viewport().repaint()
        times.append(time.perf_counter() - started)
    return median(times)


def close(qapp, window) -> None:
    import gc

    window.close()
    window.deleteLater()
    qapp.processEvents()
    gc.collect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--list-only", action="store_true", help="only the 100,000-clip list")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["XDG_CONFIG_HOME"] = str(home / "config")
        os.environ["XDG_DATA_HOME"] = str(home / "data")
        if not args.list_only:
            bench_launch(args.runs, home)
        from voicestudio.ui.app import make_app

        qapp = make_app()
        if not args.list_only:
            bench_clip_and_label(qapp, args.runs, home)
            bench_hour(qapp, home)
            bench_detail_settings(home)
            bench_selection(qapp, home)
            bench_region(qapp, home, args.runs)
        bench_list(qapp, home)


if __name__ == "__main__":
    main()
