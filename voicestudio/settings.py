"""The workstation's settings: a typed, versioned schema stored as JSON.

Window geometry and dock state are Qt's business (QSettings); everything else a
user chooses lives here, in ``settings.json`` in the user config folder. A file
from an older version is upgraded field by field; unknown fields and values of
the wrong type are dropped with the default kept, so a hand-edited or damaged
file never stops the window from opening.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from voicestudio.annotators import AnnotatorError, check_annotator
from voicestudio.files import write_atomically

SETTINGS_VERSION = 1
MAX_RECENT = 10


@dataclass
class Settings:
    version: int = SETTINGS_VERSION
    annotator: str = ""  # asked once, on the first label
    recent_projects: list[str] = field(default_factory=list)  # most recent first
    model_path: str = ""  # "" = the built-in detector
    threshold: float | None = None  # None = the model card's
    queue: str = "unlabelled"
    auto_advance: bool = True
    uncertain_margin: float = 0.15  # "uncertain" = score within this of the threshold
    path_map: str = ""  # STORED=LOCAL prefixes for a shared project's audio (see voicestudio.pathmap)
    # The spectrogram and MFCC views (View ▸ Spectrogram settings…; checked by voicestudio.ui.view_settings).
    spectrogram_max_hz: float = 8000.0
    spectrogram_fft: int = 512
    spectrogram_floor_db: float = -90.0
    spectrogram_top_db: float = 0.0
    colour_map: str = "inferno"
    mfcc_scale: str = "fixed"  # or "per-screen"

    def remember_project(self, target: str) -> None:
        target = str(target)
        self.recent_projects = [target] + [p for p in self.recent_projects if p != target]
        del self.recent_projects[MAX_RECENT:]

    @property
    def last_project(self) -> str | None:
        return self.recent_projects[0] if self.recent_projects else None


def default_annotator() -> str:
    """$VOICESTUDIO_ANNOTATOR, else the login name (what the CLI labels as, and the window suggests).

    The variable is returned as it is set, so a bad one is refused where it is used (``check_annotator``)
    rather than silently replaced; a login name that breaks the rule gives way to "annotator".
    """
    name = os.environ.get("VOICESTUDIO_ANNOTATOR", "")
    if name.strip(" "):  # as set, control characters included: check_annotator refuses them rather than strip them
        return name
    try:
        return check_annotator(getpass.getuser())
    except Exception:  # no user name on this system (containers without passwd), or not one to store
        return "annotator"


def settings_path() -> Path:
    import platformdirs

    return platformdirs.user_config_path("VoiceStudio", appauthor=False) / "settings.json"


def _valid(name: str, value, default) -> bool:
    if name == "queue":
        # The clip list's own names; imported here, not at the top, so the CLI's start-up stays free of numpy.
        from voicestudio.dataset.cliptable import QUEUE_NAMES

        return value in QUEUE_NAMES
    if name == "annotator":  # "" = not asked yet; a name from a hand-edited file must pass the rule
        return value == "" or _is_annotator(value)
    if name == "threshold":
        return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1)
    if name == "recent_projects":
        return isinstance(value, list) and all(isinstance(p, str) for p in value)
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, type(default))


def _is_annotator(value) -> bool:
    try:
        check_annotator(value)
    except AnnotatorError:
        return False
    return True


def _upgrade(data: dict) -> dict:
    """Bring an older file's fields to the current version (none so far: version 1 is the first)."""
    data["version"] = SETTINGS_VERSION
    return data


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings; defaults for anything missing, unreadable or invalid."""
    path = path or settings_path()
    settings = Settings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return settings
    if not isinstance(data, dict):
        return settings
    if not isinstance(data.get("version"), int) or data["version"] > SETTINGS_VERSION:
        return settings  # a newer app wrote it: do not guess at its meaning
    data = _upgrade(data)
    for f in fields(Settings):
        if f.name in data and _valid(f.name, data[f.name], getattr(settings, f.name)):
            setattr(settings, f.name, data[f.name])
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically: a crash mid-write leaves the previous file."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(asdict(settings), indent=2))
