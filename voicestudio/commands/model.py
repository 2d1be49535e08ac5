"""``voicestudio model inspect|convert``: what is inside a model; a TensorFlow model converted to .tflite."""

from __future__ import annotations

import contextlib
import sys

from voicestudio.commands import CommandInfo, add_actions
from voicestudio.commands.shared import EXIT_OK, exit_with, open_project, print_json


def add_arguments(parser) -> None:
    add_actions(parser, ACTIONS)


class Inspect:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("model", metavar="MODEL", help=".tflite, SavedModel folder, .keras/.h5 or frozen .pb")

    @staticmethod
    def run(args) -> int:
        from voicestudio.model.inspect import inspect_model

        found = inspect_model(args.model)
        if args.json:
            print_json(found.to_dict())
        else:
            print(found.text())
        return EXIT_OK


class Convert:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("source", metavar="SRC", help="SavedModel folder, .keras/.h5 file or frozen .pb GraphDef")
        parser.add_argument("out", metavar="OUT.tflite")
        parser.add_argument("--quantize", choices=("none", "float16", "dynamic", "int8"), default="none")
        parser.add_argument("--inputs", metavar="NAMES", help="frozen GraphDef: input tensor name (see model inspect)")
        parser.add_argument("--outputs", metavar="NAMES", help="frozen GraphDef: output tensor name")
        parser.add_argument("--signature", help="SavedModel signature (default: serving_default)")
        parser.add_argument("--card", metavar="CARD.json", help="card to start from (default: beside SRC, else the defaults)")
        parser.add_argument("--audio", metavar="FOLDER", help="audio for int8 calibration and the check (default: the project's clips)")
        parser.add_argument("--windows", type=int, default=300, help="feature windows to calibrate and compare on (default 300)")
        parser.add_argument("--trust-code", action="store_true", help="allow Keras Lambda layers (they run code stored in the file)")

    @staticmethod
    def run(args) -> int:
        from voicestudio.model.convert import ConvertOptions, convert_model
        from voicestudio.progress import TerminalBar

        options = ConvertOptions(
            quantize=args.quantize, inputs=_names(args.inputs), outputs=_names(args.outputs), signature=args.signature,
            card=args.card, audio=args.audio, windows=args.windows, trust_code=args.trust_code)
        project = None if args.audio else open_project(args)
        bar = TerminalBar("converting")
        try:
            # TensorFlow and its converter print progress on stdout: keep stdout for the result.
            with contextlib.redirect_stdout(sys.stderr):
                result = convert_model(args.source, args.out, options, project=project, progress=bar)
        finally:
            bar.close()
            if project is not None:
                project.close()
        if args.json:
            print_json(result.to_dict())
        else:
            print(result.text())
        return exit_with(result.failures)  # files the converted model failed on


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for n in (text or "").split(",") if n.strip())


ACTIONS = {
    "inspect": CommandInfo(__name__, "inputs, outputs, operators, parameters, metadata, card", "Inspect"),
    "convert": CommandInfo(__name__, "convert to .tflite, compare with the source, write the card (needs voicestudio[train])",
                           "Convert"),
}
