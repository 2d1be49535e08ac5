"""The real window, offscreen, labelling clip after clip as fast as the keyboard would.

python tests/window_worker.py PROJECT

Opens the main window on PROJECT (annotator "window"), then labels the current clip
human or non-human in turn, advancing after each. Every label the window reports as
written (``label_written``: it is in the database) is printed ``ACK <event> <clip> <value>``.
Runs until killed.
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer  # noqa: E402

from voicestudio.settings import Settings  # noqa: E402
from voicestudio.ui.app import make_app  # noqa: E402
from voicestudio.ui.main_window import MainWindow  # noqa: E402


def main(project: str) -> int:
    app = make_app()
    folder = Path(tempfile.mkdtemp(prefix="window-worker-"))
    window = MainWindow(Settings(annotator="window", queue="all"), settings_file=folder / "settings.json")
    window.show()
    turn = [0]

    def written(event: dict) -> None:
        print(f"ACK {event['event_id']} {event['clip_id']} {event['value']}", flush=True)

    def label_next() -> None:
        if window.clips.loaded is None or window.labels.write_in_flight:
            return
        turn[0] += 1
        (window.labels.human if turn[0] % 2 else window.labels.nonhuman)()

    window.label_written.connect(written)
    timer = QTimer(interval=5)
    timer.timeout.connect(label_next)
    timer.start()
    window.open_project(project)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
