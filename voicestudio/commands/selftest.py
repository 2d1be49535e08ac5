"""``voicestudio selftest``: check this installation headless."""

from __future__ import annotations


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    from voicestudio.selftest import run_selftest

    return run_selftest()
