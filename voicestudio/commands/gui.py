"""``voicestudio gui`` (and no command at all): open the workstation window."""

from __future__ import annotations


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    from voicestudio.ui.app import run as run_window  # the window's package: the one place Qt is imported

    return run_window(args)
