"""``voicestudio`` command line: the same core functions the window uses.

Exit codes: 0 success, 1 failure, 2 usage. Errors are one line on stderr; the
traceback only with ``--debug``. ``--json`` output is documented in README.md
and kept stable. Heavy modules are imported inside the commands, so
``voicestudio --help`` and the window's start stay fast.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import traceback

from voicestudio import __version__
from voicestudio.errors import VoiceStudioError
from voicestudio.settings import default_annotator
from voicestudio.terminal import EscapingWriter, one_line

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(VoiceStudioError):
    """Arguments that parse but make no sense together."""


def _print_json(data) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, allow_nan=False)
    sys.stdout.write("\n")


def _open_project(args):
    """The project named by --db / $VOICESTUDIO_DB; the default one starts as the demo project."""
    from voicestudio.store.project import default_project_path, open_project, resolve_project_target

    target = resolve_project_target(args.db)
    if target == str(default_project_path()):
        from voicestudio.dataset.demo import open_or_create_demo

        setup = open_or_create_demo(target)
        if setup.created:
            print(f"voicestudio: created the default project {target} with the demo clips", file=sys.stderr)
        project = setup.project
    else:
        project = open_project(target)
    if project.damage is not None:  # found at open (not closed cleanly): reading goes on, writing will refuse
        from voicestudio.store.sqlite import damaged_message

        print(f"voicestudio: warning: {one_line(damaged_message(project.label, project.damage))}", file=sys.stderr)
    return project


# Commands ------------------------------------------------------------------

def _batch(args, label: str, work):
    """Run ``work(project, progress_bar)`` on the project, closing both whatever happens."""
    from voicestudio.progress import TerminalBar

    project = _open_project(args)
    bar = TerminalBar(label)
    try:
        return work(project, bar)
    finally:
        bar.close()
        project.close()


def _one_line(text) -> str:
    """A name, path or note on one line: newlines and other control characters escaped (they are legal in names)."""
    return one_line(text)


def _exit_with(failures) -> int:
    """One stderr line per failed file; exit 1 if any failed."""
    for problem in failures:
        print(f"voicestudio: {_one_line(problem.path)}: {_one_line(problem.reason)}", file=sys.stderr)
    return EXIT_FAILURE if failures else EXIT_OK


def cmd_import(args) -> int:
    from voicestudio.dataset.importer import SegmentRule, import_paths

    try:
        rule = SegmentRule.parse(args.segment)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    result = _batch(args, "importing", lambda project, bar: import_paths(project, args.paths, rule=rule, progress=bar))
    if args.json:
        _print_json(result.to_dict())
    else:
        print(
            f"{result.files_added} files added ({result.clips_added} clips), "
            f"{result.files_unchanged} unchanged, {result.files_relinked} relinked, "
            f"{len(result.duplicates)} duplicates, {len(result.skipped)} not audio, "
            f"{len(result.failures)} failed"
            + (f", {len(result.changed)} changed since import" if result.changed else "")
        )
        # Worth a word, not failures: the files were imported (or kept), so the exit code stays 0.
        for heading, problems in (("duplicate: ", result.duplicates), ("", result.changed),
                                  ("relinked: ", result.relinked), ("warning: ", result.warnings)):
            for problem in problems:
                print(f"{heading}{_one_line(problem.path)}: {_one_line(problem.reason)}")
    return _exit_with(result.failures)


def _load_detector(args):
    from voicestudio.model.detector import Detector

    return Detector(args.model, threads=args.threads)


def cmd_score(args) -> int:
    from voicestudio.dataset.scoring import score_project

    detector = _load_detector(args)
    result = _batch(args, "scoring", lambda project, bar: score_project(project, detector, rescore=args.rescore, progress=bar))
    if args.json:
        _print_json(result.to_dict())
    else:
        print(
            f"{result.scored} clips scored with {_one_line(detector.card.name)} "
            f"({result.already_scored} already had predictions, {len(result.failures)} failed) "
            f"in {result.elapsed_s:.1f} s"
        )
    return _exit_with(result.failures)


def _predict_targets(paths):
    """Files as given; folders walked, keeping what decodes or is named as audio."""
    from pathlib import Path

    from voicestudio.dataset.importer import AUDIO_SUFFIXES, FoundFile, scan

    for given in paths:
        if not Path(given).is_dir():
            yield str(given), True
            continue
        for found in scan([given]):
            if isinstance(found, FoundFile):
                yield str(found.path), found.path.suffix.lower() in AUDIO_SUFFIXES


def cmd_predict(args) -> int:
    from voicestudio.errors import AudioError, ModelError

    detector = _load_detector(args)
    results, failed = [], 0
    for path, must_be_audio in _predict_targets(args.files):
        try:
            prediction = detector.predict_file(path)
        except (AudioError, ModelError) as exc:  # the file's audio, or the model on that audio
            if isinstance(exc, AudioError) and not must_be_audio and "not an audio file" in exc.reason:
                continue  # a README or picture inside a folder: not ours to judge
            failed += 1
            print(f"voicestudio: {_one_line(path)}: {exc.reason}", file=sys.stderr)
            results.append({"path": str(path), "error": exc.reason})
            continue
        results.append({"path": str(path), **prediction_dict(prediction)})
        if not args.json:
            print(f"{_one_line(path)}\t{prediction.label}\t{prediction.clip_score:.3f}")
    if args.json:
        _print_json({"model": model_dict(detector), "results": results})
    return EXIT_FAILURE if failed else EXIT_OK


def model_dict(detector) -> dict:
    return {
        "path": str(detector.path),
        "sha256": detector.sha256,
        "name": detector.card.name,
        "threshold": detector.card.threshold,
    }


def prediction_dict(prediction) -> dict:
    """A prediction as JSON: silent windows have ``probability: null``."""
    return {
        "label": prediction.label,
        "score": round(float(prediction.clip_score), 6),
        "threshold": prediction.threshold,
        "windows": [
            {
                "start_s": round(float(start), 4),
                "probability": None if silent else round(float(prob), 6),
                "silent": bool(silent),
            }
            for start, prob, silent in zip(
                prediction.window_starts_s, prediction.window_probs, prediction.silent
            )
        ],
    }


def _annotator(args) -> str:
    """Who labels: --annotator, else $VOICESTUDIO_ANNOTATOR or the login name; a name breaking the rule is a usage error."""
    from voicestudio.annotators import AnnotatorError, check_annotator

    given = args.annotator is not None
    try:
        return check_annotator(args.annotator if given else default_annotator())
    except AnnotatorError as exc:
        raise UsageError(f"{'--annotator' if given else '$VOICESTUDIO_ANNOTATOR'}: {exc}") from None


def cmd_label(args) -> int:
    from voicestudio.dataset.interchange import import_labels
    from voicestudio.dataset.labels import apply_label, undo_last

    annotator = _annotator(args)
    project = _open_project(args)
    try:
        if args.undo:
            if args.clip or args.value or args.from_csv:
                raise UsageError("--undo takes no CLIP, VALUE or --from-csv")
            event = undo_last(project, annotator=annotator)
            if event is None:
                raise VoiceStudioError(f"{annotator} has no label left to undo")
        elif args.from_csv:
            if args.clip or args.value:
                raise UsageError("give either CLIP VALUE or --from-csv FILE, not both")
            result = import_labels(project, args.from_csv, format="csv", default_annotator=annotator)
            if args.json:
                _print_json(result.to_dict())
            else:
                print(f"{result.labelled} labels written, {result.unchanged} unchanged, {len(result.failures)} rows failed")
            for problem in result.failures:
                print(f"voicestudio: {_one_line(args.from_csv)}: {_one_line(problem)}", file=sys.stderr)
            return EXIT_FAILURE if result.failures else EXIT_OK
        elif not (args.clip and args.value):
            raise UsageError("label needs CLIP VALUE (or --from-csv FILE, or --undo)")
        else:
            event = apply_label(project, args.clip, args.value, annotator=annotator, note=args.note)
    finally:
        project.close()
    if args.json:
        _print_json(event)
    else:
        print(f"clip {event['clip_id']}: {event['value'] or 'cleared'} by {_one_line(event['annotator'])}")
    return EXIT_OK


def _consensus(args):
    from voicestudio.dataset.consensus import Consensus

    return Consensus(args.consensus, args.annotator, getattr(args, "include_unsure", False))


def _threshold_goals(args):
    from voicestudio.dataset.audit import DEFAULT_GOALS
    from voicestudio.dataset.metrics import ThresholdGoal

    try:
        return tuple(ThresholdGoal.parse(text) for text in args.pick) if args.pick else DEFAULT_GOALS
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def cmd_stats(args) -> int:
    from voicestudio.dataset.report import project_audit

    goals = _threshold_goals(args)
    if args.write_card and len(goals) != 1:
        raise UsageError("--write-card writes one threshold: give at most one --pick")
    detector = _load_detector(args)
    project = _open_project(args)
    try:
        result = project_audit(project, detector=detector, threshold=args.threshold,
                               consensus=_consensus(args), goals=goals)
    finally:
        project.close()
    audit = result.audit
    if args.write_card:
        from voicestudio.dataset.audit import write_threshold

        if audit.model is None:
            raise VoiceStudioError("the model has no scores in this project: run score first")
        card = write_threshold(detector, audit.model.picks[0], consensus=audit.consensus, source=project.label)
        print(f"voicestudio: threshold {audit.model.picks[0].threshold} written to {card}", file=sys.stderr)
    if args.plots:
        import importlib

        if audit.model is None:
            raise VoiceStudioError("nothing to plot: the model has no scores in this project (run score first)")

        # Drawn by the window's own plot code (Qt, offscreen): loaded by name, like the window.
        saved = importlib.import_module("voicestudio.ui.audit_plots").save_plots(audit, args.plots)
        print(f"voicestudio: wrote {', '.join(str(p) for p in saved)}", file=sys.stderr)
    if args.json:
        _print_json(result.to_dict())
    else:
        print_audit(audit, result.table)
    return EXIT_OK


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_audit(audit, table) -> None:
    print(f"clips: {audit.clips}, labelled: {audit.labelled} ({audit.consensus.describe()})")
    for label, count in audit.by_label.items():
        print(f"  {label}: {count}")
    for annotator, counts in audit.by_annotator.items():
        print(f"  {_one_line(annotator)}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    agree = audit.agreement
    if agree.multi_labelled:
        print(f"agreement over {agree.multi_labelled} clips with two or more annotators: "
              f"Fleiss' kappa {_fmt(agree.fleiss_kappa)}, {len(agree.conflicts)} clips in conflict")
        for pair in agree.pairs:
            if pair.clips:
                print(f"  {_one_line(pair.first)} / {_one_line(pair.second)}: {pair.clips} clips, {pair.observed:.1%} the same, "
                      f"Cohen's kappa {_fmt(pair.kappa)}, {len(pair.disagreements)} disagreements")
    m = audit.model
    if m is None:
        print(f"no scores from {_one_line(audit.model_name or 'the model')} in this project: run score to audit it")
        return
    c = m.confusion
    print(f"model {_one_line(audit.model_name)} at threshold {m.threshold:g} ({c.n} clips labelled human or nonhuman and scored):")
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
                  f"{_one_line(table.name(mistake.row))}")


def cmd_clips(args) -> int:
    from voicestudio.dataset.cliptable import QueueRequest
    from voicestudio.dataset.report import list_clips

    needs_model = args.queue not in ("all", "unlabelled", "conflicts")
    detector = _load_detector(args) if needs_model or args.model else None
    threshold = args.threshold if args.threshold is not None else (detector.card.threshold if detector else 0.5)
    try:
        request = QueueRequest(args.queue, threshold=threshold, consensus=_consensus(args))
        project = _open_project(args)
        try:
            rows = list_clips(project, queue=request, detector=detector, annotator=args.me, limit=args.limit)
        finally:
            project.close()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            score = f"\t{row['score']:.3f}" if row.get("score") is not None else ""
            print(f"{row['id']}\t{row['start_s']:.2f}-{row['end_s']:.2f}\t{row['label'] or '-'}{score}\t{_one_line(row['path'])}")
    return EXIT_OK


def cmd_export(args) -> int:
    from voicestudio.dataset.export import ExportOptions, export_dataset
    from voicestudio.dataset.splits import parse_fractions

    try:
        options = ExportOptions(
            layout=args.format, consensus=_consensus(args), fractions=parse_fractions(args.split),
            group_by=args.group_by, seed=args.seed, rate=args.rate, audio_format=args.audio_format,
            features=args.features, force=args.force, workers=args.workers,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    detector = _load_detector(args)
    result = _batch(args, "exporting", lambda project, bar: export_dataset(
        project, args.out, options, detector=detector, progress=bar))
    for stale in result.stale:
        print(f"voicestudio: {_one_line(stale.describe())}", file=sys.stderr)
    if args.json:
        _print_json(result.to_dict())
    else:
        counts = result.counts()
        through = "" if result.link is None else f" (the target of the link {result.link})"
        print(f"{len(result.written)} clips exported to {result.out}{through} in {result.elapsed_s:.1f} s: "
              + "; ".join(f"{split} " + ", ".join(f"{n} {label}" for label, n in c.items()) for split, c in counts.items()))
        if result.left_out:
            print("left out: " + ", ".join(f"{n} {why}" for why, n in sorted(result.left_out.items())))
    for failure in result.failures:
        print(f"voicestudio: {_one_line(failure.source)} (clip {failure.clip_id}): {_one_line(failure.reason)}",
              file=sys.stderr)
    return EXIT_FAILURE if result.failures else EXIT_OK


def cmd_labels(args) -> int:
    from voicestudio.dataset.interchange import export_labels, import_labels

    importer = _annotator(args) if args.action == "import" else None  # export's --annotator filters: any stored name
    project = _open_project(args)
    try:
        if args.action == "export":
            result = export_labels(project, args.file, format=args.format, annotator=args.annotator,
                                   force=args.force)
        else:
            result = import_labels(project, args.file, format=args.format, default_annotator=importer)
    finally:
        project.close()
    failures = getattr(result, "failures", [])
    if args.json:
        _print_json(result.to_dict())
    elif args.action == "export":
        print(f"{result.labels} labels of {result.clips} clips written to {result.path} ({result.format})")
    else:
        print(f"{result.labelled} labels written, {result.unchanged} unchanged, {len(failures)} failed")
    for problem in failures:
        print(f"voicestudio: {_one_line(args.file)}: {_one_line(problem)}", file=sys.stderr)
    return EXIT_FAILURE if failures else EXIT_OK


def cmd_train(args) -> int:
    from voicestudio.model.train import TrainConfig, train

    import contextlib

    config = TrainConfig(epochs=args.epochs, seed=args.seed)
    # Training logs (ours, Keras', the converter's) are progress: stderr, so stdout is the result.
    with contextlib.redirect_stdout(sys.stderr):
        result = train(args.data_dir, args.out, config=config, name=args.name)
    if args.json:
        _print_json({"model": str(result.model_path), "int8_model": str(result.int8_path),
                     "card": result.card})
    else:
        metrics = result.card["metrics"]
        held_out = metrics.get("test") or metrics["validation"]
        print(f"wrote {result.model_path} and {result.int8_path}: held-out ROC AUC {held_out['roc_auc']}, "
              f"balanced accuracy {held_out['balanced_accuracy']} at threshold {result.card['threshold']}")
    return EXIT_OK


def cmd_model(args) -> int:
    if args.action == "inspect":
        from voicestudio.model.inspect import inspect_model

        found = inspect_model(args.model)
        if args.json:
            _print_json(found.to_dict())
        else:
            print(found.text())
        return EXIT_OK
    import contextlib

    from voicestudio.model.convert import ConvertOptions, convert_model
    from voicestudio.progress import TerminalBar

    options = ConvertOptions(
        quantize=args.quantize, inputs=_names(args.inputs), outputs=_names(args.outputs), signature=args.signature,
        card=args.card, audio=args.audio, windows=args.windows, trust_code=args.trust_code)
    project = None if args.audio else _open_project(args)
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
        _print_json(result.to_dict())
    else:
        print(result.text())
    return _exit_with(result.failures)  # files the converted model failed on


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(n.strip() for n in (text or "").split(",") if n.strip())


def cmd_device(args) -> int:
    from voicestudio.device import registry

    project = _open_project(args)
    try:
        return _device_action(args, project, registry)
    finally:
        project.close()


def _device_action(args, project, registry) -> int:
    import shlex

    if args.action == "add":
        info = registry.add(project, args.name, args.uri, key_path=args.key, python_cmd=args.python,
                            workdir=args.workdir)
        if args.json:
            _print_json(info.to_dict())
        else:
            print(f"added {_one_line(info.name)} ({_one_line(info.uri)}); check it with: voicestudio device check {_one_line(info.name)}")
    elif args.action == "list":
        found = registry.devices(project)
        if args.json:
            _print_json([d.to_dict() for d in found])
        else:
            for d in found:
                arch = (d.check or {}).get("arch") or "not checked"
                python = shlex.join(d.python_cmd) if d.python_cmd else "python3"
                print(f"{_one_line(d.name)}\t{_one_line(d.uri)}\t{_one_line(arch)}\t{d.runs} runs\t"
                      f"python: {_one_line(python)}\tworkdir: {_one_line(d.workdir or 'default')}")
    elif args.action == "remove":
        registry.remove(project, args.name)
        print(f"removed {args.name} and its benchmark runs")
    elif args.action == "check":
        check = registry.run_check(project, args.name, trust_new_host=args.trust_new_host)
        if args.json:
            _print_json(check.to_dict())
        else:
            print(check.text())
        return EXIT_OK if check.tools else EXIT_FAILURE
    elif args.action == "bench":
        from voicestudio.device.bench import BenchRequest, bench_model, parse_threads
        from voicestudio.progress import TerminalBar

        request = BenchRequest(threads=parse_threads(args.threads), runs=args.runs, warmup=args.warmup,
                               tool=args.tool, runtime=args.runtime, timeout_s=args.timeout)
        bar = TerminalBar("benchmarking")
        try:
            result = bench_model(project, args.name, args.model, request, trust_new_host=args.trust_new_host,
                                 progress=bar)
        finally:
            bar.close()
        if args.json:
            _print_json(result.to_dict())
        else:
            print(result.text())
        return EXIT_FAILURE if result.failed else EXIT_OK
    elif args.action == "history":
        rows = registry.history(project, args.name, limit=args.limit)
        if args.json:
            _print_json([r.to_dict() for r in rows])
        else:
            for r in rows:
                timing = f"{r.avg_ms:.3f} ms" if r.avg_ms is not None else f"failed: {r.error}"
                print(f"{r.run_id}\t{r.started_at:%Y-%m-%d %H:%M}\t{_one_line(r.device)}\t{_one_line(r.model)}\t{r.tool}\t"
                      f"{r.threads} threads\t{timing}")
    elif args.action == "log":
        print(registry.raw_log(project, args.run_id), end="")
    return EXIT_OK


def cmd_db(args) -> int:
    from voicestudio.store.project import resolve_project_target

    target = resolve_project_target(getattr(args, "project", None) or args.db)
    if args.action in ("check", "recover"):
        from voicestudio.store import repair

        if args.action == "check":
            report = repair.check_project(target)
        else:
            report = repair.recover_project(target, args.out, force=args.force)
        if args.json:
            _print_json(report.to_dict())
        else:
            print(report.text())
        return EXIT_FAILURE if args.action == "check" and not report.ok else EXIT_OK

    from voicestudio.store.backup import backup_project

    report = backup_project(target, args.out, force=args.force)
    if args.json:
        _print_json({**report.__dict__, "path": str(report.path)})
    else:
        print(f"backed up {report.label_events} label events, {report.clips} clips of {report.files} files to "
              f"{report.path} ({report.size_bytes / 1e6:.1f} MB, integrity {report.integrity}, {report.duration_s:.2f} s)")
    return EXIT_OK


def cmd_selftest(args) -> int:
    from voicestudio.selftest import run_selftest

    return run_selftest()


def cmd_gui(args) -> int:
    import importlib

    # Loaded by name: only the window's own package imports Qt.
    return importlib.import_module("voicestudio.ui.app").run(args)


# Parser --------------------------------------------------------------------

def _common_options(in_command: bool) -> argparse.ArgumentParser:
    """--db/--json/--debug, accepted before or after the command.

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


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(in_command=True)
    parser = argparse.ArgumentParser(
        prog="voicestudio", parents=[_common_options(in_command=False)],
        description="Build and audit human-voice detection datasets and models. With no command, opens the workstation.",
    )
    parser.add_argument("--version", action="version", version=f"voicestudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name, func, help_text):
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    def model_options(p):
        p.add_argument("--model", help="a .tflite model (default: the built-in detector)")
        p.add_argument("--threads", type=int, default=None, help="interpreter threads (default: min(4, cores))")

    add("gui", cmd_gui, "open the workstation window")

    p = add("import", cmd_import, "import audio files and folders into the project")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--segment", default="auto", metavar="auto|none|silence|SECONDS",
                   help="split files into clips: auto (long files at silences), none, silence, or fixed SECONDS")

    p = add("score", cmd_score, "predict the clips that have no prediction from the model yet")
    model_options(p)
    p.add_argument("--rescore", action="store_true", help="score every clip again")

    p = add("predict", cmd_predict, "predict audio files and folders (no project needed)")
    p.add_argument("files", nargs="+", metavar="PATH")
    model_options(p)

    p = add("label", cmd_label, "label a clip human, nonhuman or unsure")
    p.add_argument("clip", nargs="?", help="clip id or audio file path")
    p.add_argument("value", nargs="?", help="human | nonhuman | unsure | clear")
    p.add_argument("--annotator", help="who is labelling (default: $VOICESTUDIO_ANNOTATOR or the login name)")
    p.add_argument("--note")
    p.add_argument("--from-csv", metavar="FILE", help="CSV with columns path,label[,annotator]")
    p.add_argument("--undo", action="store_true", help="undo the annotator's latest label (appends an undo event)")

    def consensus_options(p):
        p.add_argument("--consensus", choices=("latest", "majority", "unanimous"), default="latest",
                       help="which label counts when annotators differ (default: latest)")
        p.add_argument("--annotator", help="only this annotator's labels")

    p = add("stats", cmd_stats, "label counts, agreement between annotators, and the model against the labels")
    model_options(p)
    consensus_options(p)
    p.add_argument("--threshold", type=float, help="decision threshold (default: the model card's)")
    p.add_argument("--pick", action="append", metavar="GOAL",
                   help="suggest a threshold: best-f1, precision=P or recall=R (repeatable; default best-f1)")
    p.add_argument("--write-card", action="store_true", help="write the picked threshold into the model's card")
    p.add_argument("--plots", metavar="DIR", help="save ROC, PR, histogram and confusion plots as PNG in DIR")

    p = add("export", cmd_export, "export the labelled clips for training: audio, splits, manifest and dataset card")
    p.add_argument("out", metavar="OUT", help="target folder (must be empty, or an earlier export with --force); "
                   "a link to a folder is followed")
    p.add_argument("--format", choices=("folders", "csv", "hf"), default="folders",
                   help="folders: split/label/x.wav; csv: audio/ + manifest; hf: Hugging Face audiofolder")
    consensus_options(p)
    p.add_argument("--include-unsure", action="store_true", help="export unsure clips too (as an 'unsure' class)")
    p.add_argument("--split", default="0.8,0.1,0.1", metavar="TRAIN,VAL,TEST", help="split fractions (default 0.8,0.1,0.1)")
    p.add_argument("--group-by", choices=("source", "folder", "none"), default="source",
                   help="keep each recording (source) or folder together in one split (default: source)")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same split")
    p.add_argument("--rate", type=int, help="resample to this rate in Hz (default: each file's own, at most 32000)")
    p.add_argument("--audio-format", choices=("wav", "flac"), default="wav", help="16-bit PCM WAV (default) or FLAC")
    p.add_argument("--features", choices=("mfcc-npy", "mfcc-png"), help="also write MFCC per clip, with the model's feature spec")
    p.add_argument("--force", action="store_true", help="replace an earlier export in OUT (only if OUT holds nothing else)")
    p.add_argument("--workers", type=int, help="parallel writers (default: one per core)")
    model_options(p)

    p = add("labels", cmd_labels, "move labels in and out: CSV or Label Studio JSON")
    p.add_argument("action", choices=("export", "import"))
    p.add_argument("file", metavar="FILE", help=".csv or .json (Label Studio)")
    p.add_argument("--format", choices=("csv", "labelstudio"), help="default: from the file's suffix")
    p.add_argument("--annotator", help="export: only this annotator's labels; import: who rows without one are from")
    p.add_argument("--force", action="store_true", help="export: replace an existing FILE (never the project)")

    p = add("train", cmd_train, "train a detector on a folder-per-class set and convert it to .tflite (needs voicestudio[train])")
    p.add_argument("data_dir", metavar="DATA_DIR", help="human/ and nonhuman/ folders, optionally inside train/ val/ test/")
    p.add_argument("out", metavar="OUT.tflite")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default="voice-detector")

    p = add("model", cmd_model, "inspect a model, or convert a TensorFlow model to .tflite")
    model_sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = model_sub.add_parser("inspect", parents=[common], help="inputs, outputs, operators, parameters, metadata, card")
    q.add_argument("model", metavar="MODEL", help=".tflite, SavedModel folder, .keras/.h5 or frozen .pb")
    q = model_sub.add_parser("convert", parents=[common], help="convert to .tflite, compare with the source, write the card (needs voicestudio[train])")
    q.add_argument("source", metavar="SRC", help="SavedModel folder, .keras/.h5 file or frozen .pb GraphDef")
    q.add_argument("out", metavar="OUT.tflite")
    q.add_argument("--quantize", choices=("none", "float16", "dynamic", "int8"), default="none")
    q.add_argument("--inputs", metavar="NAMES", help="frozen GraphDef: input tensor name (see model inspect)")
    q.add_argument("--outputs", metavar="NAMES", help="frozen GraphDef: output tensor name")
    q.add_argument("--signature", help="SavedModel signature (default: serving_default)")
    q.add_argument("--card", metavar="CARD.json", help="card to start from (default: beside SRC, else the defaults)")
    q.add_argument("--audio", metavar="FOLDER", help="audio for int8 calibration and the check (default: the project's clips)")
    q.add_argument("--windows", type=int, default=300, help="feature windows to calibrate and compare on (default 300)")
    q.add_argument("--trust-code", action="store_true", help="allow Keras Lambda layers (they run code stored in the file)")

    p = add("device", cmd_device, "ARM devices: add, check, and time models on them")
    device_sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = device_sub.add_parser("add", parents=[common], help="add a device: adb://SERIAL or ssh://user@host[:port]")
    q.add_argument("name")
    q.add_argument("uri", metavar="URI")
    q.add_argument("--key", metavar="PATH", help="SSH private key (no passwords are stored)")
    q.add_argument("--python", metavar="CMD", help="the device's Python (default python3): split into arguments as a "
                   "shell would (e.g. 'env PYTHONPATH=/opt/lib python3'), each quoted; not run as a shell line")
    q.add_argument("--workdir", metavar="DIR", help="where models go on the device (default ~/.voicestudio, or /data/local/tmp/voicestudio on Android); "
                   "over SSH a leading ~ is the login home")
    device_sub.add_parser("list", parents=[common], help="the project's devices")
    q = device_sub.add_parser("remove", parents=[common], help="remove a device and its runs")
    q.add_argument("name")
    q = device_sub.add_parser("check", parents=[common], help="reachable? architecture, runtimes, benchmark_model")
    q.add_argument("name")
    q.add_argument("--trust-new-host", action="store_true", help="accept and record an SSH host key seen for the first time")
    q = device_sub.add_parser("bench", parents=[common], help="push a model and time it on the device")
    q.add_argument("name")
    q.add_argument("model", metavar="MODEL.tflite")
    q.add_argument("--threads", default="1", metavar="N,N,...", help="thread counts to time, e.g. 1,2,4 (default 1)")
    q.add_argument("--runs", type=int, default=50, help="timed runs (default 50)")
    q.add_argument("--warmup", type=int, default=5, help="warm-up runs (default 5)")
    q.add_argument("--tool", choices=("auto", "benchmark_model", "python"), default="auto",
                   help="auto: benchmark_model when the device has it, else the Python script")
    q.add_argument("--runtime", choices=("auto", "ai-edge-litert", "tflite-runtime"), default="auto",
                   help="the Python script's runtime (default: whichever imports, LiteRT first)")
    q.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per run (default 600)")
    q.add_argument("--trust-new-host", action="store_true", help="accept and record an SSH host key seen for the first time")
    q = device_sub.add_parser("history", parents=[common], help="benchmark runs, newest first")
    q.add_argument("name", nargs="?", help="one device (default: all)")
    q.add_argument("--limit", type=int)
    q = device_sub.add_parser("log", parents=[common], help="the raw log of a benchmark run")
    q.add_argument("run_id", type=int)

    p = add("db", cmd_db, "the project database itself")
    db_sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = db_sub.add_parser("backup", parents=[common], help="a consistent copy of a live SQLite project (others may keep labelling)")
    q.add_argument("out", metavar="OUT.vsproj")
    q.add_argument("--force", action="store_true", help="replace an existing OUT")
    q = db_sub.add_parser("check", parents=[common], help="is the project file damaged? (exit 1 if so)")
    q.add_argument("project", nargs="?", metavar="PROJECT", help="the project file (default: --db, $VOICESTUDIO_DB, ...)")
    q = db_sub.add_parser("recover", parents=[common],
                          help="copy every row that can still be read from a damaged project into a new one")
    q.add_argument("project", nargs="?", metavar="PROJECT", help="the damaged project (default: --db, ...)")
    q.add_argument("out", metavar="OUT.vsproj")
    q.add_argument("--force", action="store_true", help="replace an existing OUT")

    add("selftest", cmd_selftest, "check this installation headless: decode, features, model, project, window, export")

    p = add("clips", cmd_clips, "list clips with their current labels, or a review queue")
    p.add_argument("--queue", default="all", metavar="QUEUE",
                   help="all (default), unlabelled, uncertain, disagreements, mistakes, conflicts, or a confusion cell tp/fp/fn/tn")
    model_options(p)
    consensus_options(p)
    p.add_argument("--threshold", type=float, help="decision threshold (default: the model card's)")
    p.add_argument("--me", default=default_annotator(), help="whose unlabelled queue (default: you)")
    p.add_argument("--limit", type=int, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    All output goes through ``EscapingWriter`` (see ``voicestudio.terminal``):
    names and notes from files, models and devices cannot drive the terminal.
    """
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (EscapingWriter(s) if s is not None else None for s in streams)
    try:
        status = _run(argv)
        if sys.stdout is not None:
            sys.stdout.flush()  # a closed pipe shows here, not in Python's flush at exit
        return status
    except BrokenPipeError:
        return _reader_went_away(streams[0])
    finally:
        sys.stdout, sys.stderr = streams


def _reader_went_away(stdout) -> int:
    """The reader of our output closed it (``voicestudio clips | head -1``): stop quietly, as other tools do.

    As Python's documentation advises ("Note on SIGPIPE" in the signal module):
    stdout is pointed at devnull so that the flush at exit does not fail again,
    and SIGPIPE's default action is not restored. The status is the one a shell
    reports for a tool killed by SIGPIPE (128 + 13), not 1: nothing failed.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (captured in tests)
        pass
    return 128 + signal.SIGPIPE


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", cmd_gui)
    from voicestudio import pathmap

    try:
        pathmap.use(pathmap.PathMap.parse(args.path_map) if getattr(args, "path_map", None) else None)
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        print(f"voicestudio: error: --path-map: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return func(args)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"voicestudio: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except VoiceStudioError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"voicestudio: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("voicestudio: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise  # the reader went away: main() stops quietly
    except Exception as exc:  # a bug: say so in one line, trace with --debug
        if args.debug:
            traceback.print_exc()
        print(f"voicestudio: internal error: {type(exc).__name__}: {one_line(exc)} (run with --debug for details)",
              file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
