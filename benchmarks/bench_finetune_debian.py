"""The proof of issue 19: fine-tuning on a project of real sounds the built-in model never heard beats it.

Run: python benchmarks/bench_finetune_debian.py [--work DIR] [--human 110] [--seed 0] [--epochs 10]

The package: Debian's ``tuxpaint-stamps-default`` (Tux Paint's stamp collection, GPL-2+ /
CC licences in its debian/copyright). It is in neither ``training/sources.py`` (which has
``tuxpaint-data``, Tux Paint's own interface sounds: another package) nor
``training/external_set.csv``. It holds both kinds of sound:

- ``<stamp>_desc_<lang>.ogg``: a stamp's description read aloud by a volunteer in one of
  eleven languages: **human**;
- ``<stamp>.ogg`` in animals/, household/, vehicles/, town/, hobbies/, food/, space/ and
  naturalforces/: the stamp's own sound (animal calls, a kettle, a toilet, a camera, an
  engine, music): **nonhuman**;
- left out as not checkable by name: symbols/ (letters and numbers, which may be spoken),
  seasonal/ (a Santa hat, Halloween cackles), military/ and symbols/faces.

The labelling rule above is applied to file names only (no listening; it is the rule an
analyst would type). Every nonhuman sound is used and ``--human`` descriptions are drawn
(seeded) across languages and stamps. Each file is one clip (import ``--segment none``).
The project is split as ``export`` splits it (by source file, 80/10/10, seed ``--seed``);
``train_from_project`` fine-tunes the built-in model; ``voicestudio compare builtin NEW``
then judges both on the test split: ROC AUC, balanced accuracy at each model's own card
threshold, McNemar's exact p. A caveat printed with the figures: a language's descriptions
are read by few voices, so test speakers are heard in training too (the split groups by file).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import subprocess
import sys
import time
from pathlib import Path

PACKAGE = "tuxpaint-stamps-default"
STAMPS = "usr/share/tuxpaint/stamps"
NONHUMAN_FOLDERS = ("animals", "household", "vehicles", "town", "hobbies", "food", "space", "naturalforces")


def fetch(work: Path) -> Path:
    """The package unpacked in ``work`` (downloaded once with apt-get)."""
    root = work / PACKAGE
    if (root / STAMPS).is_dir():
        return root
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", PACKAGE], cwd=work, check=True)
    deb = sorted(work.glob(f"{PACKAGE}_*.deb"))[-1]
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def label_of(relative: str) -> str | None:
    """The rule: a description read aloud is human; a stamp's own sound in a sound folder is nonhuman."""
    name = relative.rsplit("/", 1)[-1]
    if "_desc" in name:
        return "human"
    if relative.split("/", 1)[0] in NONHUMAN_FOLDERS:
        return "nonhuman"
    return None  # symbols/, seasonal/, military/: not checkable by name


def choose(root: Path, n_human: int, seed: int) -> dict[Path, str]:
    stamps = root / STAMPS
    labelled = {p: label_of(p.relative_to(stamps).as_posix()) for p in sorted(stamps.rglob("*.ogg"))}
    nonhuman = [p for p, label in labelled.items() if label == "nonhuman"]
    human = [p for p, label in labelled.items() if label == "human"]
    random.Random(seed).shuffle(human)
    return {**{p: "nonhuman" for p in nonhuman}, **{p: "human" for p in human[:n_human]}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/voicestudio-finetune-work"))
    parser.add_argument("--human", type=int, default=110, help="descriptions drawn (every nonhuman sound is used)")
    parser.add_argument("--seed", type=int, default=0, help="the draw, the split and the training seed")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()

    from voicestudio.dataset.importer import SegmentRule, import_paths
    from voicestudio.dataset.labels import label_clips
    from voicestudio.dataset.project_training import train_from_project
    from voicestudio.store import clips as clip_store
    from voicestudio.store.project import open_project

    root = fetch(args.work)
    chosen = choose(root, args.human, args.seed)
    run = args.work / f"run-seed{args.seed}"
    db = run / "stamps.vsproj"
    if db.exists():
        for path in [db, *run.glob("stamps.vsproj-*")]:
            path.unlink()
    run.mkdir(parents=True, exist_ok=True)
    project = open_project(db)
    imported = import_paths(project, sorted(chosen), rule=SegmentRule.parse("none"))
    with project.session() as session:
        rows = clip_store.list_clips(session)
    by_label = {"human": [], "nonhuman": []}
    for row in rows:
        by_label[chosen[Path(row.path)]].append(row.id)
    for label, ids in by_label.items():
        label_clips(project, ids, label, annotator="filename-rule")
    print(f"{PACKAGE}: {len(rows)} clips imported ({len(imported.failures)} failures), {len(by_label['human'])} "
          f"human, {len(by_label['nonhuman'])} nonhuman (labelled by file name)")

    out = run / "stamps.models" / "stamps-tuned.tflite"
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # the converter's own prints
        result = train_from_project(project, out, epochs=args.epochs, seed=args.seed,
                                    progress=lambda p: print(f"  {p.message}", file=sys.stderr)
                                    if p.message.startswith("epoch") else None)
    elapsed = time.perf_counter() - started
    project.close()
    print(f"fine-tuned in {elapsed:.0f} s: {len(result.epochs)} epochs, kept epoch "
          f"{result.card['training']['epoch_kept']}; split {result.counts}")
    test, base = result.metrics["test"], result.metrics["base"]["test"]
    print(f"  card (threshold chosen on validation for both): new AUC {test['roc_auc']} bal.acc "
          f"{test['balanced_accuracy']}; built-in AUC {base['roc_auc']} bal.acc {base['balanced_accuracy']}")

    compared = subprocess.run([sys.executable, "-m", "voicestudio", "--db", str(db), "--json", "compare", "builtin",
                               str(out), "--seed", str(args.seed)], capture_output=True, text=True)
    if compared.returncode != 0:
        print(f"compare failed: {compared.stderr.strip().splitlines()[-1:]}")
        return 1
    report = json.loads(compared.stdout)
    a, b, m = report["a"], report["b"], report["mcnemar"]
    print(f"voicestudio compare builtin {out.name} (test split, {report['clips']} clips: {report['human']} human, "
          f"{report['nonhuman']} nonhuman)")
    for tag, r in (("A built-in", a), ("B fine-tuned", b)):
        print(f"  {tag:<13} AUC {r['roc_auc']:.4f}  balanced accuracy {r['balanced_accuracy']:.4f} at its card "
              f"threshold {r['threshold']:g}  confusion {r['confusion']}")
    print(f"  McNemar: {m['sentence']} (p = {m['p_value']:.4g})")
    print("  caveat: each language's descriptions are read by few voices; the split groups by file, so test "
          "speakers are also heard in training")
    return 0


if __name__ == "__main__":
    sys.exit(main())
