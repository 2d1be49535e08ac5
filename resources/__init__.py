"""The assets VoiceStudio ships: the built-in models and their cards, the demo clips and
their licenses, the icons.

The folder sits at the top of the repository; the build maps it into the installed package
as ``voicestudio.resources`` (``package-dir`` in pyproject.toml, the datas in
packaging/voicestudio.spec), so a wheel, an editable install and the PyInstaller bundle all
find the files through :func:`resource_path`. Nothing else builds a path to them.
"""

from importlib.resources import files
from pathlib import Path


def resource_path(relative: str) -> Path:
    """Where the shipped file ``relative`` (e.g. ``"models/voice-detector.tflite"``) is on disk.

    A path even when the file is absent, so that callers can say which file is missing.
    """
    return Path(files(__name__).joinpath(relative))
