#!/usr/bin/env python3
"""Build the bootstrap corpus for the default human-voice model.

    python training/build_corpus.py --work /work/corpus-work --out /work/corpus

Human voice: ktuberling-data (words read by volunteers in ~20 languages), plus
the few spoken clips found in the other packages. Non-human: gcompris-qt-data
(sounds read out of its Qt .rcc bundles), minetest-data, sound-theme-freedesktop,
tuxpaint-data, tuxtype-data, and seeded synthetic noise (white, pink, brown,
mains hum, clicks, tones, sweeps, instrument-like notes). Sounds that might hold a voice are left out of
both classes (see sources.py and README.md).

Packages are fetched with ``apt-get download`` and unpacked with ``dpkg -x``
into --work, where they stay cached: a rerun downloads nothing. The --out folder
is rebuilt on every run:

    OUT/human/<group>/<file>       OUT/nonhuman/<group>/<file>
    OUT/manifest.csv               path,label,source_group,package,license,duration_s,sample_rate
    OUT/provenance.json            per package: version, licenses, counts, exclusions, ...

Original files are copied unchanged; identical recordings (same decoded audio)
are kept once. Files that cannot be decoded are reported and skipped.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shutil
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import debsrc  # noqa: E402
import sources  # noqa: E402
import synth  # noqa: E402

FIELDS = ("path", "label", "source_group", "package", "license", "duration_s", "sample_rate")
SYNTHETIC = "synthetic"
SYNTHETIC_LICENSE = "CC0-1.0"


def audio_digest(samples: np.ndarray, sr: int) -> str:
    """Hash of the decoded audio (16-bit), so re-encoded copies of one recording match."""
    pcm = np.round(np.clip(samples, -1, 1) * 32767).astype("<i2")
    return hashlib.sha256(f"{sr}:{pcm.shape}".encode() + pcm.tobytes()).hexdigest()


def prepare_out(out: Path) -> None:
    """Empty the output folder, refusing to touch a folder this script did not make."""
    if out.exists() and any(out.iterdir()) and not (out / "manifest.csv").exists():
        sys.exit(f"{out}: exists, is not empty and has no manifest.csv; refusing to overwrite it")
    for name in ("human", "nonhuman"):
        shutil.rmtree(out / name, ignore_errors=True)
    for name in ("manifest.csv", "provenance.json"):
        (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def unique_target(out: Path, label: str, group: str, name: str, taken: set) -> Path:
    target = out / label / group / name
    stem, suffix, k = target.stem, target.suffix, 1
    while target in taken:
        k += 1
        target = target.with_name(f"{stem}-{k}{suffix}")
    taken.add(target)
    return target


def file_license(package: str, item: sources.Item, copyright: debsrc.Copyright | None) -> str:
    if item.license:  # known for the file itself (tuxtype's README_SOUNDS, an OpenTTD catalogue's titles)
        return item.license
    if package in sources.FREE_TEXT_LICENSES:
        return sources.FREE_TEXT_LICENSES[package]
    if copyright and copyright.machine_readable:
        return copyright.license_for(item.license_path) or "unknown (file not listed in debian/copyright)"
    return "see copyright file"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True, help="cache folder for .deb files and unpacked packages")
    parser.add_argument("--out", type=Path, required=True, help="corpus folder (rebuilt on every run)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic sounds (default 0)")
    parser.add_argument("--synth-per-kind", type=int, default=30, help="synthetic clips per noise type (default 30)")
    parser.add_argument("--refresh", action="store_true", help="download a package again if apt has a newer version")
    parser.add_argument("--instrument-notes", action="store_true",
                        help="add the recorded notes of fluid-soundfont-gm as non-human (not in the default corpus)")
    parser.add_argument("--hard-negatives", action="store_true",
                        help="add the recorded instruments, weapons and vehicles of sources.HARD_NEGATIVES "
                             "(not in the default corpus)")
    args = parser.parse_args(argv)
    packages = [*sources.PACKAGES, *(sources.HARD_NEGATIVES if args.hard_negatives else ()),
                *(sources.INSTRUMENT_NOTES if args.instrument_notes else ())]
    work, out = args.work.resolve(), args.out.resolve()
    work.mkdir(parents=True, exist_ok=True)
    prepare_out(out)

    rows: list[dict] = []
    taken: set[Path] = set()
    seen: dict[str, dict] = {}  # audio digest -> manifest row kept
    provenance: dict = {"packages": {}, "synthetic": {}, "skipped": [], "duplicates": [], "label_conflicts": []}

    def skip(where: str, why: str) -> None:
        print(f"SKIP {where}: {why}")
        provenance["skipped"].append({"file": where, "reason": why})

    for name in packages:
        try:
            package = debsrc.fetch(name, work, refresh=args.refresh)
        except Exception as exc:  # never abort the whole build for one package
            package = debsrc.Package(name, error=f"{type(exc).__name__}: {exc}")
        info = {"apt_candidate": package.candidate, "version": package.version}
        provenance["packages"][name] = info
        if package.error:
            print(f"MISSING {name}: {package.error}")
            info["error"] = package.error
            continue
        copyright = debsrc.read_copyright(package.root, name)
        info.update({
            "deb": package.deb.name,
            "deb_sha256": hashlib.sha256(package.deb.read_bytes()).hexdigest(),
            "copyright_file": f"/usr/share/doc/{name}/copyright (inside the .deb)",
            "copyright_format": ("machine-readable (DEP-5)" if copyright and copyright.machine_readable
                                 else "free text" if copyright else "missing"),
            "licenses_declared": copyright.licenses if copyright else [],
            "excluded": [], "moved_to_human": [],
        })
        if name == "tuxtype-data" and copyright:
            info["licenses_declared"] = ["GPL-2", *sorted(set(sources.TUXTYPE_LICENSES.values()))]
        try:
            items = sources.collect(name, package.root, work, package.version)
        except Exception as exc:
            skip(name, f"could not list its sounds: {type(exc).__name__}: {exc}")
            continue
        for item in items:
            if item.label is None:
                info["excluded"].append({"file": item.origin, "reason": item.note})
                continue
            if item.label == sources.HUMAN and name != "ktuberling-data" and name not in sources.VOICE_PACKAGES:
                info["moved_to_human"].append({"file": item.origin, "group": item.group, "reason": item.note})
            try:
                samples, sr = sf.read(str(item.file), dtype="float32", always_2d=True)
            except Exception as exc:
                why = str(exc).split(": ")[-1].strip() or type(exc).__name__  # drop libsndfile's repeated path
                skip(f"{name}:{item.origin}", f"soundfile cannot decode it ({why})")
                continue
            if len(samples) == 0:
                skip(f"{name}:{item.origin}", "no audio frames")
                continue
            if not np.any(samples):
                skip(f"{name}:{item.origin}", "digital silence (all samples zero)")
                continue
            digest = audio_digest(samples, sr)
            if digest in seen:
                kept = seen[digest]
                provenance["duplicates"].append({"file": f"{name}:{item.origin}", "same_audio_as": kept["path"]})
                if kept["label"] != item.label:
                    provenance["label_conflicts"].append({"file": f"{name}:{item.origin}", "label": item.label,
                                                          "kept": kept["path"], "kept_label": kept["label"]})
                    print(f"WARNING label conflict: {name}:{item.origin} ({item.label}) has the same audio "
                          f"as {kept['path']}")
                continue
            target = unique_target(out, item.label, item.group, sources.corpus_name(item), taken)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item.file, target)
            row = {"path": target.relative_to(out).as_posix(), "label": item.label, "source_group": item.group,
                   "package": name, "license": file_license(name, item, copyright),
                   "duration_s": round(len(samples) / sr, 3), "sample_rate": sr}
            rows.append(row)
            seen[digest] = row

    # Synthetic non-human sounds, one group per kind.
    for kind in synth.KINDS:
        group = f"{SYNTHETIC}-{kind}"
        for index in range(args.synth_per_kind * synth.WEIGHT.get(kind, 1)):
            samples, sr, _ = synth.make(kind, index, args.seed)
            target = out / sources.NONHUMAN / group / f"{kind}-{index:03d}.flac"
            target.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(target), samples, sr, subtype="PCM_16")
            rows.append({"path": target.relative_to(out).as_posix(), "label": sources.NONHUMAN,
                         "source_group": group, "package": SYNTHETIC, "license": SYNTHETIC_LICENSE,
                         "duration_s": round(len(samples) / sr, 3), "sample_rate": sr})
    provenance["synthetic"] = {
        "generator": "training/synth.py", "seed": args.seed, "per_kind": args.synth_per_kind,
        "kinds": list(synth.KINDS), "sample_rates": list(synth.RATES), "license": SYNTHETIC_LICENSE,
    }

    with open(out / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)

    # Counts per package and label.
    stats: dict = defaultdict(lambda: {"files": 0, "seconds": 0.0, "groups": set()})
    licenses_used: dict = defaultdict(Counter)
    for row in rows:
        for key in ((row["package"], row["label"]), ("TOTAL", row["label"])):
            s = stats[key]
            s["files"] += 1
            s["seconds"] += row["duration_s"]
            s["groups"].add(row["source_group"])
        licenses_used[row["package"]][row["license"]] += 1
    for package in [*packages, SYNTHETIC]:
        target = provenance["packages"].get(package) if package != SYNTHETIC else provenance["synthetic"]
        if target is None:
            continue
        target["licenses_of_files_used"] = dict(licenses_used.get(package, {}))
        target["license"] = "; ".join(sorted(licenses_used.get(package, {})))  # one-line summary
        target["counts"] = {
            label: {"files": s["files"], "duration_s": round(s["seconds"], 1), "minutes": round(s["seconds"] / 60, 2),
                    "groups": sorted(s["groups"])}
            for (pkg, label), s in sorted(stats.items()) if pkg == package
        }
    provenance["totals"] = {
        label: {"files": s["files"], "minutes": round(s["seconds"] / 60, 2), "groups": len(s["groups"])}
        for (pkg, label), s in sorted(stats.items()) if pkg == "TOTAL"
    }
    # Flat views (read by train_default.py for the model card).
    provenance["counts"] = {f"{label}/{pkg}": {"files": s["files"], "minutes": round(s["seconds"] / 60, 2)}
                            for (pkg, label), s in sorted(stats.items()) if pkg != "TOTAL"}
    provenance["groups"] = {label: t["groups"] for label, t in provenance["totals"].items()}
    (out / "provenance.json").write_text(json.dumps(provenance, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    # Summary table.
    print()
    print(f"{'label':9} {'package':25} {'groups':>6} {'files':>6} {'minutes':>8}")
    for label in (sources.HUMAN, sources.NONHUMAN):
        for package in [*packages, SYNTHETIC, "TOTAL"]:
            s = stats.get((package, label))
            if s:
                print(f"{label:9} {package:25} {len(s['groups']):>6} {s['files']:>6} {s['seconds'] / 60:>8.1f}")
    excluded = sum(len(p.get("excluded", [])) for p in provenance["packages"].values())
    missing = [p for p, i in provenance["packages"].items() if i.get("error")]
    print(f"excluded as possible voice: {excluded}; duplicates dropped: {len(provenance['duplicates'])}; "
          f"skipped: {len(provenance['skipped'])}; label conflicts: {len(provenance['label_conflicts'])}"
          + (f"; MISSING packages: {', '.join(missing)}" if missing else ""))
    print(f"wrote {out / 'manifest.csv'} and {out / 'provenance.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
