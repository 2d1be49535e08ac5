#!/usr/bin/env python3
"""Check a corpus made by build_corpus.py and describe it by numbers.

    python training/check_corpus.py /work/corpus [--per-file stats.csv]

Checks: every manifest row decodes with the stated sample rate and duration;
every audio file under human/ and nonhuman/ is in the manifest, in the folder of
its label and group; no source group holds both labels; no two files hold the
same audio. Then prints, per group: files, minutes, sample rates, channels,
durations, RMS and peak levels, and a crude "voicedness" (share of active
frames with a clear 70-400 Hz pitch and a non-flat spectrum). Files whose
numbers look wrong for their label (a human clip with almost no voiced frames,
a non-human clip that is voiced with speech-like pitch movement and syllable-rate
loudness changes) are listed for a human to check. Exit status 1 if a check fails.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

RATE = 16000


def describe(x: np.ndarray, sr: int) -> dict:
    """Level and voicing numbers of one clip (x: frames x channels, float)."""
    peak = float(np.abs(x).max())
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    clipped = float(np.mean(np.abs(x) >= 0.999))
    y = x.mean(axis=1)
    y = soxr.resample(y, sr, RATE) if sr != RATE else y
    y = y - y.mean()
    frame, hop = 512, 160
    if len(y) < frame:
        y = np.pad(y, (0, frame - len(y)))
    frames = np.lib.stride_tricks.sliding_window_view(y, frame)[::hop] * np.hanning(frame)
    energy = (frames ** 2).mean(axis=1)
    active = energy > max(energy.max() * 1e-3, 1e-9)
    spectrum = np.abs(np.fft.rfft(frames, 1024, axis=1)) ** 2 + 1e-12
    flatness = np.exp(np.log(spectrum).mean(axis=1)) / spectrum.mean(axis=1)
    ac = np.fft.irfft(spectrum, axis=1)[:, :frame]
    ac = ac / (ac[:, :1] + 1e-12)
    lo, hi = RATE // 400, RATE // 70
    strength = ac[:, lo:hi].max(axis=1)
    lag = ac[:, lo:hi].argmax(axis=1) + lo
    voiced = active & (strength > 0.5) & (flatness < 0.3)
    f0 = RATE / lag[voiced]
    pitch_spread = float(np.std(np.log(f0))) if voiced.sum() > 3 else 0.0
    envelope = np.sqrt(energy) - np.sqrt(energy).mean()
    mod = np.abs(np.fft.rfft(envelope, 4 * len(envelope))) ** 2
    mf = np.fft.rfftfreq(4 * len(envelope), hop / RATE)
    syllabic = float(mod[(mf > 2) & (mf < 8)].sum() / (mod[(mf > 0.5) & (mf < 30)].sum() + 1e-12))
    return {
        "rms_dbfs": 20 * np.log10(rms + 1e-12), "peak_dbfs": 20 * np.log10(peak + 1e-12), "clipped": clipped,
        "voiced": float(voiced[active].mean()) if active.any() else 0.0,
        "pitch_spread": pitch_spread, "syllabic": syllabic,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--per-file", type=Path, help="write every file's numbers to this CSV")
    args = parser.parse_args(argv)
    root = args.corpus
    problems: list[str] = []
    with open(root / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    listed = {row["path"] for row in rows}
    on_disk = {p.relative_to(root).as_posix() for label in ("human", "nonhuman")
               for p in (root / label).rglob("*") if p.is_file()}
    problems += [f"not in manifest: {p}" for p in sorted(on_disk - listed)]
    problems += [f"missing file: {p}" for p in sorted(listed - on_disk)]

    group_labels = defaultdict(set)
    digests: dict[str, str] = {}
    stats = []
    for row in rows:
        path = root / row["path"]
        parts = Path(row["path"]).parts
        group_labels[row["source_group"]].add(row["label"])
        if parts[0] != row["label"] or parts[1] != row["source_group"]:
            problems.append(f"{row['path']}: folder does not match label/group {row['label']}/{row['source_group']}")
        try:
            x, sr = sf.read(str(path), always_2d=True, dtype="float32")
        except Exception as exc:
            problems.append(f"{row['path']}: does not decode ({exc})")
            continue
        if sr != int(row["sample_rate"]) or abs(len(x) / sr - float(row["duration_s"])) > 0.002:
            problems.append(f"{row['path']}: rate/duration differ from the manifest")
        digest = hashlib.sha256(np.round(x * 32767).astype("<i2").tobytes() + str(sr).encode()).hexdigest()
        if digest in digests:
            problems.append(f"{row['path']}: same audio as {digests[digest]}")
        digests[digest] = row["path"]
        stats.append({**row, "channels": x.shape[1], **describe(x, sr)})
    problems += [f"group {g} has both labels" for g, labels in group_labels.items() if len(labels) > 1]

    if args.per_file:
        with open(args.per_file, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(stats[0]))
            writer.writeheader()
            writer.writerows({k: (round(v, 4) if isinstance(v, float) else v) for k, v in s.items()} for s in stats)

    groups = defaultdict(list)
    for s in stats:
        groups[(s["label"], s["source_group"])].append(s)
    print(f"{'label':8} {'group':32} {'files':>5} {'min':>6} {'rates':17} {'ch':4} "
          f"{'dur min/med/max s':>18} {'rms med':>7} {'peak max':>8} {'voiced med':>10}")
    for (label, group), members in sorted(groups.items()):
        d = np.array([float(s["duration_s"]) for s in members])
        rates = ",".join(sorted({str(int(s["sample_rate"]) // 1000) + "k" for s in members}))
        channels = ",".join(sorted({str(s["channels"]) for s in members}))
        print(f"{label:8} {group:32} {len(members):>5} {d.sum() / 60:>6.2f} {rates:17} {channels:4} "
              f"{d.min():>6.2f}/{np.median(d):>5.2f}/{d.max():>5.2f} "
              f"{np.median([s['rms_dbfs'] for s in members]):>7.1f} {max(s['peak_dbfs'] for s in members):>8.1f} "
              f"{np.median([s['voiced'] for s in members]):>10.2f}")
    for label in ("human", "nonhuman"):
        members = [s for s in stats if s["label"] == label]
        if members:
            v = np.array([s["voiced"] for s in members])
            print(f"{label}: {len(members)} files, {sum(float(s['duration_s']) for s in members) / 60:.1f} min, "
                  f"voiced share p10/p50/p90 {np.percentile(v, 10):.2f}/{np.median(v):.2f}/{np.percentile(v, 90):.2f}, "
                  f"near-silent (rms < -60 dBFS) {sum(s['rms_dbfs'] < -60 for s in members)}, "
                  f"clipping (>0.1% samples at full scale) {sum(s['clipped'] > 0.001 for s in members)}")

    odd_human = [s for s in stats if s["label"] == "human" and s["voiced"] < 0.2]
    speechy = [s for s in stats if s["label"] == "nonhuman" and s["package"] != "synthetic"
               and s["voiced"] > 0.6 and 0.08 < s["pitch_spread"] < 0.5 and s["syllabic"] > 0.45]
    print(f"\nhuman clips with few voiced frames (check by ear): {len(odd_human)}")
    for s in odd_human:
        print(f"  {s['path']}  voiced={s['voiced']:.2f} rms={s['rms_dbfs']:.1f} dur={s['duration_s']}")
    print(f"non-human clips with speech-like numbers (check by ear): {len(speechy)}")
    for s in speechy:
        print(f"  {s['path']}  voiced={s['voiced']:.2f} pitch_spread={s['pitch_spread']:.2f} "
              f"syllabic={s['syllabic']:.2f} dur={s['duration_s']}")
    print(f"\n{len(problems)} problems")
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
