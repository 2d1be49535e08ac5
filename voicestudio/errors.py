"""Errors the user sees.

Every failure that comes from the user's data or environment (a corrupt file, a
model of the wrong shape, a database that is not a project) is raised as a
``VoiceStudioError`` whose ``str()`` is one clear line naming the thing and the
reason. The CLI prints that line; anything else is a bug and shows a traceback
only with ``--debug``.
"""

from __future__ import annotations

import sys


class VoiceStudioError(Exception):
    """A failure with a message fit to show a user as it is."""


class AudioError(VoiceStudioError):
    """A file could not be decoded as audio (or its audio is unusable)."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class MissingExtraError(VoiceStudioError):
    """An optional dependency is needed for this action."""

    def __init__(self, what: str, extra: str, package: str):
        if getattr(sys, "frozen", False):  # the packaged app: nothing can be pip-installed into it
            super().__init__(f"{what} needs '{package}', which the packaged VoiceStudio leaves out: "
                             f"use VoiceStudio installed with pip install 'voicestudio[{extra}]'")
        else:
            super().__init__(f"{what} needs the optional package '{package}': pip install 'voicestudio[{extra}]'")


class ModelError(VoiceStudioError):
    """A model file or its card is unusable."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class NoModelError(VoiceStudioError):
    """No model was given and no default model is installed."""


class ProjectError(VoiceStudioError):
    """A project database cannot be opened or used."""
