"""Start the workstation: the QApplication, the settings and the main window.

The window is shown before anything slow happens; the project (the last one,
the demo project on first start, or ``--db``) opens on a worker right after.
"""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from voicestudio.resources import resource_path
from voicestudio.settings import load_settings
from voicestudio.ui.main_window import MainWindow

# Set by benchmarks/bench_ui.py: the launcher's time.time() at spawn. The window
# then prints when it became visible and when its first clip was drawn, and quits.
STARTUP_CLOCK_ENV = "VOICESTUDIO_STARTUP_CLOCK"
ICON = resource_path("icons/voicestudio.png")


def project_to_open(cli_value, settings) -> str:
    """``--db`` or $VOICESTUDIO_DB, else the last project, else the default (demo) project."""
    from voicestudio.store.project import ENV_VAR, default_project_path

    if cli_value or os.environ.get(ENV_VAR, "").strip():
        from voicestudio.store.project import resolve_project_target

        return resolve_project_target(cli_value)
    last = settings.last_project
    if last and ("://" in last or os.path.exists(last)):
        return last
    return str(default_project_path())


def make_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("VoiceStudio")
    app.setApplicationName("VoiceStudio")
    # The installed desktop entry's id (packaging/linux/): Wayland shells match windows to it
    app.setDesktopFileName("org.voicestudio.VoiceStudio")
    app.setWindowIcon(QIcon(str(ICON)))
    return app


def run(args) -> int:
    from voicestudio.logs import setup_logging
    from voicestudio.ui import crash

    app = make_app()
    reporter = crash.install(setup_logging())
    settings = load_settings()
    target = project_to_open(getattr(args, "db", None), settings)  # a bad --db is a usage error, not a crash
    try:
        window = MainWindow(settings)
        window.show()
    except Exception:  # no window yet: the dialog is the only way to tell (no console on Windows)
        reporter(*sys.exc_info())
        return 1
    QTimer.singleShot(0, lambda: window.open_project(target))
    clock = os.environ.get(STARTUP_CLOCK_ENV)
    if clock:
        _report_startup(window, float(clock))
    return app.exec()


def _report_startup(window: MainWindow, spawned_at: float) -> None:
    def elapsed() -> float:
        return time.time() - spawned_at

    QTimer.singleShot(0, lambda: print(f"visible {elapsed():.3f}", flush=True))

    def drawn(_clip_id):
        print(f"first clip {elapsed():.3f}", flush=True)
        window.close()

    window.clip_shown.connect(drawn)
