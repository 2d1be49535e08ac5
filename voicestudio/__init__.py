"""VoiceStudio: build and audit human-voice detection datasets and models.

Importing the package is cheap on purpose (no numpy, no Qt): the CLI and the
window import only what each command needs.
"""

__version__ = "0.1.0"
