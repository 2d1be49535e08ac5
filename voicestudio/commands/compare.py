"""``voicestudio compare MODEL_A MODEL_B``: two detectors on the project's labelled clips (the test split
by default): ROC AUC, average precision, balanced accuracy and confusion at each model's own threshold,
McNemar's exact test, and the clips where they disagree.

``--plots DIR`` writes ``roc.png`` and ``pr.png``, both models on each with their areas in the legend,
drawn offscreen by the Audit panel's own plot code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from voicestudio.commands.shared import UsageError, batch, consensus, consensus_options, exit_with, print_json
from voicestudio.errors import VoiceStudioError

BUILTIN = "builtin"


def add_arguments(parser) -> None:
    for name in ("model_a", "model_b"):
        parser.add_argument(name, metavar=name.upper(), help=f"a .tflite model, or {BUILTIN} for the built-in detector")
    consensus_options(parser)
    parser.add_argument("--split", choices=("test", "all"), default="test",
                        help="the clips the export puts in its test split (default), or every labelled clip")
    parser.add_argument("--seed", type=int, default=0, help="the export's split seed (default 0, as export's)")
    parser.add_argument("--threads", type=int, default=None, help="interpreter threads (default: min(4, cores))")
    parser.add_argument("--speed", action="store_true", help="also time both models per window on this machine")
    parser.add_argument("--plots", metavar="DIR", help="save ROC and PR curves of both models as PNG in DIR")


def load_model(reference: str, threads: int | None):
    from voicestudio.model.detector import Detector

    return Detector(None if reference == BUILTIN else reference, threads=threads)


def run(args) -> int:
    from voicestudio.dataset.compare import compare_models

    model_a, model_b = load_model(args.model_a, args.threads), load_model(args.model_b, args.threads)
    if model_a.sha256 == model_b.sha256:
        raise UsageError("MODEL_A and MODEL_B are the same model (same SHA-256): nothing to compare")
    comparison = batch(args, "scoring", lambda project, bar: compare_models(
        project, model_a, model_b, consensus=consensus(args), split=args.split, seed=args.seed, speed=args.speed,
        progress=bar))
    if args.plots:
        save_comparison_plots(comparison, args.plots)
    if args.json:
        print_json(comparison.to_dict())
    else:
        print(comparison.text())
    return exit_with(comparison.failures)  # clips a model could not score: named, left out, exit 1


def save_comparison_plots(comparison, folder) -> list[Path]:
    from voicestudio.ui.audit_plots import save_curves  # Qt (offscreen), imported only for --plots

    curves = {"roc": [], "pr": []}
    for letter, result in (("A", comparison.a), ("B", comparison.b)):
        curves["roc"].append((f"{letter}: {result.name}", result.roc))
        curves["pr"].append((f"{letter}: {result.name}", result.pr))
    try:
        saved = [save_curves(Path(folder) / f"{kind}.png", kind, named) for kind, named in curves.items()]
    except OSError as exc:
        raise VoiceStudioError(f"{folder}: cannot write the plots ({exc.strerror or exc})") from None
    print(f"voicestudio: wrote {', '.join(str(p) for p in saved)}", file=sys.stderr)
    return saved
