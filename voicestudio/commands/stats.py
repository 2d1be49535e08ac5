"""``voicestudio stats``: label counts, agreement between annotators, and the model against the labels.

``--plots DIR`` draws with the window's own plot code (``voicestudio.ui.audit_plots``,
offscreen), so a plot in a report is the plot on screen: the one edge from
the commands to the UI besides ``gui`` (tests/test_layers.py allows exactly these).
"""

from __future__ import annotations

import sys

from voicestudio.commands.shared import (EXIT_OK, UsageError, consensus, consensus_options, load_detector,
                                         model_options, opened_project, print_json)
from voicestudio.errors import VoiceStudioError
from voicestudio.terminal import one_line


def add_arguments(parser) -> None:
    model_options(parser, project=True)
    consensus_options(parser)
    parser.add_argument("--threshold", type=float, help="decision threshold (default: the model card's)")
    parser.add_argument("--pick", action="append", metavar="GOAL",
                        help="suggest a threshold: best-f1, precision=P or recall=R (repeatable; default best-f1)")
    parser.add_argument("--write-card", action="store_true", help="write the picked threshold into the model's card")
    parser.add_argument("--plots", metavar="DIR", help="save ROC, PR, histogram and confusion plots as PNG in DIR")


def run(args) -> int:
    from voicestudio.dataset.report import project_audit

    goals = threshold_goals(args)
    if args.write_card and len(goals) != 1:
        raise UsageError("--write-card writes one threshold: give at most one --pick")
    with opened_project(args) as project:
        detector = load_detector(args, project)
        result = project_audit(project, detector=detector, threshold=args.threshold,
                               consensus=consensus(args), goals=goals)
    audit = result.audit
    if args.write_card:
        from voicestudio.dataset.audit import write_threshold

        if audit.model is None:
            raise VoiceStudioError("the model has no scores in this project: run score first")
        card = write_threshold(detector, audit.model.picks[0], consensus=audit.consensus, source=project.label)
        print(f"voicestudio: threshold {audit.model.picks[0].threshold} written to {card}", file=sys.stderr)
    if args.plots:
        save_audit_plots(audit, args.plots)
    if args.json:
        print_json(result.to_dict())
    else:
        print_audit(audit, result.table)
    return EXIT_OK


def save_audit_plots(audit, folder) -> None:
    """``--plots DIR`` (also ``evaluate``'s): the Audit panel's plots, rendered offscreen."""
    if audit.model is None:
        raise VoiceStudioError("nothing to plot: the model has no scores in this project (run score first)")
    from voicestudio.ui.audit_plots import save_plots  # Qt (offscreen), imported only for --plots

    saved = save_plots(audit, folder)
    print(f"voicestudio: wrote {', '.join(str(p) for p in saved)}", file=sys.stderr)


def threshold_goals(args):
    from voicestudio.dataset.audit import DEFAULT_GOALS
    from voicestudio.metrics import ThresholdGoal

    try:
        return tuple(ThresholdGoal.parse(text) for text in args.pick) if args.pick else DEFAULT_GOALS
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_audit(audit, table) -> None:
    print(f"clips: {audit.clips}, labelled: {audit.labelled} ({audit.consensus.describe()})")
    for label, count in audit.by_label.items():
        print(f"  {label}: {count}")
    for annotator, counts in audit.by_annotator.items():
        print(f"  {one_line(annotator)}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    agree = audit.agreement
    if agree.multi_labelled:
        print(f"agreement over {agree.multi_labelled} clips with two or more annotators: "
              f"Fleiss' kappa {_fmt(agree.fleiss_kappa)}, {len(agree.conflicts)} clips in conflict")
        for pair in agree.pairs:
            if pair.clips:
                print(f"  {one_line(pair.first)} / {one_line(pair.second)}: {pair.clips} clips, {pair.observed:.1%} the same, "
                      f"Cohen's kappa {_fmt(pair.kappa)}, {len(pair.disagreements)} disagreements")
    m = audit.model
    if m is None:
        print(f"no scores from {one_line(audit.model_name or 'the model')} in this project: run score to audit it")
        return
    c = m.confusion
    print(f"model {one_line(audit.model_name)} at threshold {m.threshold:g} ({c.n} clips labelled human or nonhuman and scored):")
    print("              predicted human  predicted nonhuman")
    print(f"  human       {c.tp:>15}  {c.fn:>18}")
    print(f"  nonhuman    {c.fp:>15}  {c.tn:>18}")
    print(f"  precision {_fmt(c.precision)}, recall {_fmt(c.recall)}, F1 {_fmt(c.f1)}, "
          f"balanced accuracy {_fmt(c.balanced_accuracy)}; ROC AUC {_fmt(m.roc.area)}, average precision {_fmt(m.pr.area)}")
    if m.labelled_unscored:
        print(f"  ({m.labelled_unscored} labelled clips have no prediction from this model: run score)")
    for pick in m.picks:
        if pick.threshold is None:
            print(f"  threshold for {pick.goal}: {pick.reason}")
        else:
            pc = pick.confusion
            print(f"  threshold for {pick.goal}: {pick.threshold:g} (precision {_fmt(pc.precision)}, "
                  f"recall {_fmt(pc.recall)}, F1 {_fmt(pc.f1)})")
    if m.mistakes:
        print(f"most confident mistakes (of {len(m.mistakes)}):")
        for mistake in m.mistakes[:10]:
            print(f"  clip {mistake.clip_id}\t{mistake.cell}\tlabel {mistake.label}\tscore {mistake.score:.3f}\t"
                  f"{one_line(table.name(mistake.row))}")
