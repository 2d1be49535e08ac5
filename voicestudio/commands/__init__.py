"""One module per CLI command: its arguments and its handler side by side.

``COMMANDS`` is the table of the command line (pip's ``commands/__init__.py``
is the model): name -> where the command lives and a one-line summary. A
command's module is imported only when that command runs, so ``voicestudio
--help`` and the window's start stay fast. Commands with actions (``device``,
``model``, ``db``, ``labels``) dispatch through a table of the same kind.

A command is an object (a module, or a class for an action) with
``add_arguments(parser)`` and ``run(args) -> int`` (the exit status); a
command with actions has no ``run`` of its own.

Rules:
- Arguments and handler only: a handler opens the project, calls core functions and prints
  what they return; anything the window also needs lives in the core, since only ``cli.py``
  imports this package.
- Heavy imports (numpy, the store, the model) happen inside the handlers.
- The only imports of ``voicestudio.ui`` are ``gui`` (the window) and ``stats --plots`` (the
  audit plots rendered offscreen); tests/test_layers.py holds both edges to exactly that.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class CommandInfo:
    """Where a command lives: ``module`` (imported on use) and, for an action, the class in it."""

    module: str
    summary: str
    attribute: str | None = None  # None: the module itself is the command

    def load(self):
        found = importlib.import_module(self.module)
        return getattr(found, self.attribute) if self.attribute else found


COMMANDS: dict[str, CommandInfo] = {
    "gui": CommandInfo("voicestudio.commands.gui", "open the workstation window"),
    "import": CommandInfo("voicestudio.commands.import_audio", "import audio files and folders into the project"),
    "score": CommandInfo("voicestudio.commands.score", "predict the clips that have no prediction from the model yet"),
    "predict": CommandInfo("voicestudio.commands.predict", "predict audio files and folders (no project needed)"),
    "label": CommandInfo("voicestudio.commands.label", "label a clip human, nonhuman or unsure"),
    "stats": CommandInfo("voicestudio.commands.stats",
                         "label counts, agreement between annotators, and the model against the labels"),
    "evaluate": CommandInfo("voicestudio.commands.evaluate",
                            "a model on a folder-per-class set (no project needed): the metrics of stats"),
    "compare": CommandInfo("voicestudio.commands.compare", "two models on the project's labelled clips: which is better"),
    "export": CommandInfo("voicestudio.commands.export",
                          "export the labelled clips for training: audio, splits, manifest and dataset card"),
    "labels": CommandInfo("voicestudio.commands.labels", "move labels in and out: CSV or Label Studio JSON"),
    "train": CommandInfo("voicestudio.commands.train",
                         "train a detector on a folder-per-class set and convert it to .tflite (needs voicestudio[train])"),
    "model": CommandInfo("voicestudio.commands.model", "inspect, freeze or convert a model (checkpoints too); "
                                                       "its tensors on audio; the project's default model"),
    "device": CommandInfo("voicestudio.commands.device", "ARM devices: add, check, and time models on them"),
    "db": CommandInfo("voicestudio.commands.db", "the project database itself"),
    "selftest": CommandInfo("voicestudio.commands.selftest",
                            "check this installation headless: decode, features, model, project, window, export"),
    "clips": CommandInfo("voicestudio.commands.clips", "list clips with their current labels, or a review queue"),
}


def common_options(in_command: bool) -> argparse.ArgumentParser:
    """--db/--json/--debug/--path-map, accepted before or after the command.

    In a command's parser the defaults are suppressed, or they would overwrite
    values given before the command (``voicestudio --json stats``).
    """
    default = {"default": argparse.SUPPRESS} if in_command else {}
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="project database: a file path or SQLAlchemy URL (default: $VOICESTUDIO_DB, else the default project)", **default)
    common.add_argument("--json", action="store_true", help="machine-readable output on stdout", **default)
    common.add_argument("--debug", action="store_true", help="show full tracebacks", **default)
    common.add_argument("--path-map", metavar="STORED=LOCAL[;...]",
                        help="where a shared project's audio is on this machine (default: $VOICESTUDIO_PATH_MAP, "
                             "else the settings)", **default)
    return common


def add_commands(subparsers, table: dict[str, CommandInfo], *, load=lambda name: True, describe: bool = True,
                 add_help: bool = True) -> None:
    """A parser per entry of ``table``; the arguments and handler only of those ``load(name)`` accepts.

    The others get their summary alone (enough for the list in ``--help``) and
    their module is not imported.
    """
    common = common_options(in_command=True)
    for name, info in table.items():
        texts = {"help": info.summary, **({"description": info.summary} if describe else {})}
        parser = subparsers.add_parser(name, parents=[common], add_help=add_help, **texts)
        if load(name):
            command = info.load()
            command.add_arguments(parser)
            if hasattr(command, "run"):  # else its actions set it (see add_actions)
                parser.set_defaults(run=command.run)


def add_actions(parser: argparse.ArgumentParser, table: dict[str, CommandInfo]) -> None:
    """Second-level commands (``device add``, ``model inspect``, ...) from a table of actions."""
    add_commands(parser.add_subparsers(dest="action", metavar="ACTION", required=True), table, describe=False)
