"""``voicestudio model inspect|convert|freeze|tensors|use``: what is inside a model; a TensorFlow model
converted to .tflite; a training checkpoint frozen to a .pb graph; what a model computes on some audio;
the project's default model."""

from __future__ import annotations

import contextlib
import sys

from voicestudio.commands import CommandInfo, add_actions
from voicestudio.commands.shared import EXIT_OK, exit_with, open_project, opened_project, print_json


def add_arguments(parser) -> None:
    add_actions(parser, ACTIONS)


class Inspect:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("model", metavar="MODEL", help=".tflite, SavedModel folder, .keras/.h5, frozen .pb, or a "
                                                           "training checkpoint (its folder or prefix)")
        parser.add_argument("--step", type=int, metavar="N", help="checkpoint: this step instead of the latest")
        parser.add_argument("--values", metavar="NAME", help="checkpoint: one variable's values")

    @staticmethod
    def run(args) -> int:
        from voicestudio.model.inspect import inspect_model

        if args.values is not None:
            from voicestudio.model.checkpoint import variable_values

            found = variable_values(args.model, args.values, step=args.step)
        else:
            found = inspect_model(args.model, step=args.step)
        if args.json:
            print_json(found.to_dict())
        else:
            print(found.text())
        return EXIT_OK


class Use:
    """The project's default model, for everyone who opens it (the window's Compare ▸ Use B for the project)."""

    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("model", metavar="MODEL", nargs="?",
                            help="a .tflite model, or builtin for the built-in detector (none: show the current one)")

    @staticmethod
    def run(args) -> int:
        from voicestudio.dataset.workspace import adopt_model, default_model

        with opened_project(args) as project:
            if args.model is not None:
                adopt_model(project, None if args.model == "builtin" else args.model)
            path = default_model(project)
            label = project.label
        if args.json:
            print_json({"project": label, "default_model": path})
        else:
            print(f"{label}: {'the built-in detector' if path is None else path} scores, audits and exports "
                  "when no --model is given, and the window opens on it")
        return EXIT_OK


class Convert:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("source", metavar="SRC", help="SavedModel folder, .keras/.h5 file, frozen .pb GraphDef "
                                                          "or training checkpoint (folder or prefix)")
        parser.add_argument("out", metavar="OUT.tflite")
        parser.add_argument("--quantize", choices=("none", "float16", "dynamic", "int8"), default="none")
        parser.add_argument("--inputs", metavar="NAMES", help="frozen GraphDef: input tensor name (see model inspect); "
                                                              "checkpoint: needed only with several placeholders")
        parser.add_argument("--outputs", metavar="NAMES", help="frozen GraphDef or checkpoint: output tensor name")
        parser.add_argument("--signature", help="SavedModel signature (default: serving_default)")
        parser.add_argument("--card", metavar="CARD.json", help="card to start from (default: beside SRC, else the defaults)")
        parser.add_argument("--audio", metavar="FOLDER", help="audio for int8 calibration and the check (default: the project's clips)")
        parser.add_argument("--windows", type=int, default=300, help="feature windows to calibrate and compare on (default 300)")
        parser.add_argument("--trust-code", action="store_true", help="allow Keras Lambda layers (they run code stored in the file)")
        _checkpoint_options(parser)

    @staticmethod
    def run(args) -> int:
        from voicestudio.model.convert import ConvertOptions, convert_model
        from voicestudio.progress import TerminalBar

        options = ConvertOptions(
            quantize=args.quantize, inputs=_names(args.inputs), outputs=_names(args.outputs), signature=args.signature,
            card=args.card, audio=args.audio, windows=args.windows, trust_code=args.trust_code, ema=args.ema,
            step=args.step)
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


class Freeze:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("checkpoint", metavar="CKPT", help="training checkpoint: its folder, prefix or .index/.meta file")
        parser.add_argument("out", metavar="OUT.pb")
        parser.add_argument("--outputs", metavar="NAME[,NAME]", required=True,
                            help="the graph's output nodes or tensors (see model inspect CKPT)")
        _checkpoint_options(parser)

    @staticmethod
    def run(args) -> int:
        from voicestudio.model.freeze import freeze

        # TensorFlow prints on stdout: keep stdout for the result.
        with contextlib.redirect_stdout(sys.stderr):
            result = freeze(args.checkpoint, args.out, _names(args.outputs), ema=args.ema, step=args.step)
        if args.json:
            print_json(result.to_dict())
        else:
            print(result.text())
        return EXIT_OK


def _checkpoint_options(parser) -> None:
    parser.add_argument("--ema", action="store_true",
                        help="checkpoint: freeze the variables' moving averages (ExponentialMovingAverage) instead of their raw values")
    parser.add_argument("--step", type=int, metavar="N", help="checkpoint: this step instead of the latest")


class Tensors:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("model", metavar="MODEL", help=".tflite, .keras/.h5, frozen .pb or a training checkpoint")
        parser.add_argument("audio", metavar="AUDIO", help="an audio file: its feature windows are what the model runs on")
        parser.add_argument("--tensor", action="append", default=[], metavar="NAME",
                            help="a tensor to read (repeatable; a unique part of its name will do)")
        parser.add_argument("--start", type=float, metavar="S",
                            help="only the window covering S seconds (default: every window)")
        parser.add_argument("--input", metavar="NAME", help="a TensorFlow graph with several placeholders: the input")
        parser.add_argument("--out", metavar="DIR", help="write each tensor read as DIR/NAME.npy (windows first)")
        parser.add_argument("--step", type=int, metavar="N", help="a checkpoint: this step (default: the latest)")
        parser.add_argument("--ema", action="store_true", help="a checkpoint: the moving averages' values")

    @staticmethod
    def run(args) -> int:
        from voicestudio.model.readout import read_tensors, save_values

        with contextlib.redirect_stdout(sys.stderr):  # TensorFlow prints on stdout: keep it for the result
            readout = read_tensors(args.model, args.audio, args.tensor, start_s=args.start, input_name=args.input,
                                   step=args.step, ema=args.ema)
        written = save_values(readout, args.out) if args.out else []
        if args.json:
            data = readout.to_dict()
            data["written"] = [str(p) for p in written]
            print_json(data)
        else:
            print(readout.text())
            if written:
                print(f"wrote {len(written)} files to {args.out}")
        return EXIT_OK


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for n in (text or "").split(",") if n.strip())


ACTIONS = {
    "inspect": CommandInfo(__name__, "inputs, outputs, operators, parameters, metadata, card; a checkpoint's "
                                     "variables and graph", "Inspect"),
    "convert": CommandInfo(__name__, "convert to .tflite, compare with the source, write the card (needs voicestudio[train])",
                           "Convert"),
    "freeze": CommandInfo(__name__, "a training checkpoint's graph with its variables as constants, as a .pb "
                                    "(needs voicestudio[train])", "Freeze"),
    "tensors": CommandInfo(__name__, "the model's tensors and their values on an audio file", "Tensors"),
    "use": CommandInfo(__name__, "the project's default model (builtin, or a .tflite): shown, or set for everyone",
                       "Use"),
}
