"""The Qt binding itself: PySide6 releases that corrupt reference counts are kept out."""

import sys

from PySide6.QtWidgets import QWidget


def test_void_calls_keep_none_alive(qapp):
    """PySide6 6.12.0 drops a reference to None per void call: fatal on Python 3.11 (pyproject pins it out)."""
    widget = QWidget()
    before = sys.getrefcount(None)
    for _ in range(1000):
        widget.hide()
    assert sys.getrefcount(None) - before > -100
