"""``voicestudio predict --segments``: where the speech is in each file, as merged time spans.

Printed as ``path<TAB>start<TAB>end<TAB>score`` lines, JSON (``--json`` or
``--output-format json``), or a file format other tools open (CSV, RTTM, an
Audacity label track, a Praat TextGrid), to stdout or one file per recording
with ``--output-dir``. A file that fails is reported and the rest go on.
"""

from __future__ import annotations

import sys
from pathlib import Path

from voicestudio.commands.shared import EXIT_FAILURE, EXIT_OK, UsageError, print_json
from voicestudio.dataset import segment_files as files
from voicestudio.terminal import one_line

SPEECH_LABEL = "speech"


def run(args, detector, targets) -> int:
    from voicestudio.audio.decode import probe
    from voicestudio.errors import AudioError, ModelError
    from voicestudio.model.segments import speech_segments

    fmt = args.output_format or ("json" if args.json else None)
    targets = list(targets)
    if fmt in files.PER_RECORDING and not args.output_dir and len(targets) > 1:
        raise UsageError(f"--output-format {fmt} describes one recording: give --output-dir DIR for several files")
    threshold = detector.card.threshold
    results, failed = [], 0
    for path, must_be_audio in targets:
        try:
            duration_s = probe(path).duration_s
            prediction = detector.predict_file(path)
        except (AudioError, ModelError) as exc:
            if isinstance(exc, AudioError) and not must_be_audio and "not an audio file" in exc.reason:
                continue
            failed += 1
            print(f"voicestudio: {one_line(path)}: {exc.reason}", file=sys.stderr)
            results.append({"path": str(path), "error": exc.reason})
            continue
        found = speech_segments(prediction.window_starts_s, prediction.window_probs, detector.spec.window_s,
                                threshold, duration_s=duration_s, min_speech_s=args.min_speech,
                                min_silence_s=args.min_silence, pad_s=args.pad)
        results.append({"path": str(path), "duration_s": round(duration_s, 3),
                        "segments": [{"start_s": s.start_s, "end_s": s.end_s, "score": s.peak} for s in found]})
        if fmt is None:
            for s in found:
                print(f"{one_line(path)}\t{s.start_s:.3f}\t{s.end_s:.3f}\t{s.peak:.3f}")
    ok = [r for r in results if "error" not in r]
    if args.output_dir:
        _write_each(ok, fmt or "csv", Path(args.output_dir), threshold, force=args.force)
    elif fmt == "json":
        print_json({"threshold": threshold, "min_speech_s": args.min_speech, "min_silence_s": args.min_silence,
                    "pad_s": args.pad, "window_s": detector.spec.window_s, "hop_s": detector.spec.window_hop_s,
                    "results": results})
    elif fmt is not None and ok:
        sys.stdout.write(render(fmt, ok))
    return EXIT_FAILURE if failed else EXIT_OK


def _spans(result) -> list[files.Span]:
    return [files.Span(s["start_s"], s["end_s"], SPEECH_LABEL, s["score"]) for s in result["segments"]]


def render(fmt: str, results: list[dict]) -> str:
    if fmt == "csv":
        return files.to_csv({r["path"]: _spans(r) for r in results})
    if fmt == "rttm":
        return files.to_rttm({r["path"]: _spans(r) for r in results})
    (result,) = results  # the per-recording formats: one at a time
    if fmt == "audacity":
        return files.to_audacity(_spans(result))
    return files.to_textgrid(_spans(result), result["duration_s"])


def _write_each(results: list[dict], fmt: str, folder: Path, threshold: float, *, force: bool) -> None:
    """One file per recording, named after it; an existing one is replaced only with ``--force``."""
    import json

    from voicestudio.outputs import check_output_file, write_output_file

    folder.mkdir(parents=True, exist_ok=True)
    for result in results:
        target = folder / (Path(result["path"]).stem + files.SUFFIXES[fmt])
        text = json.dumps({"threshold": threshold, **result}, indent=2) + "\n" if fmt == "json" else \
            render(fmt, [result])
        write_output_file(check_output_file(target, force=force), text.encode("utf-8"), replace=force)
        print(f"{one_line(result['path'])}: {len(result['segments'])} segments -> {one_line(str(target))}")
