"""The app's log: a rotating file in the user log folder (platformdirs), never in the way.

The window logs what goes wrong (and Qt's own messages, see ``ui/crash.py``) here, so
a crash dialog can point at one file an analyst can send. Five files of 2 MB at most.
A log folder that cannot be written leaves logging on stderr: a read-only home never
stops the app.
"""

from __future__ import annotations

import logging
import logging.handlers
import platform
import sys
from pathlib import Path

LOG_FILE = "voicestudio.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 4
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_dir() -> Path:
    import platformdirs

    return platformdirs.user_log_path("VoiceStudio", appauthor=False)


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Send the root logger to the rotating log file; its path, or None when it cannot be written."""
    from voicestudio import __version__

    root = logging.getLogger()
    root.setLevel(level)
    path = log_dir() / LOG_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    except OSError as exc:
        handler, path = logging.StreamHandler(sys.stderr), None
        print(f"voicestudio: cannot write the log in {log_dir()} ({exc.strerror or exc}); logging to stderr",
              file=sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    for old in [h for h in root.handlers if getattr(h, "voicestudio", False)]:
        root.removeHandler(old)
        old.close()
    handler.voicestudio = True  # ours: replaced, not doubled, if set up again
    root.addHandler(handler)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # a line per plugin at every open
    logging.getLogger("voicestudio").info(
        "VoiceStudio %s starting (%s, Python %s, %s)", __version__,
        "frozen" if getattr(sys, "frozen", False) else "from source", platform.python_version(), platform.platform())
    return path
