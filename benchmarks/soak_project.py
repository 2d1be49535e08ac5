"""Soak test: several processes work on one project while files change and processes are killed.

Run: python benchmarks/soak_project.py [--seconds 600] [--workers 4] [--files 40] [--seed 0]

The project lives inside the folder it imports (``dataset/project.vsproj`` beside the audio),
as people keep it. ``--workers`` threads each run real ``voicestudio`` processes, one after
another, picked at random: import of that folder, label (by clip id), label import (CSV),
score, export and ``db backup``. About one process in ``--kill-rate`` is SIGKILLed at a random
moment, and a replacer thread re-records files under them (new content at the same path,
sometimes keeping the old recording under another name, as people do).

Every audio file's content comes from this script, so it knows the class of every SHA-256 it
wrote. A label is acknowledged when its command exits 0. Afterwards it checks:
  - ``PRAGMA integrity_check`` is ok;
  - every acknowledged label is in the project (lost = 0);
  - every label sits on a clip whose file record has content of that class (mislabelled = 0):
    a record never changes content under its labels;
  - every current file record that matches its file on disk (size and mtime) has its hash;
  - a final export writes every clip under the class of its source (manifest checked), and no
    ``.partial`` folder is left behind;
  - every backup that was acknowledged passes ``integrity_check``.
It prints the numbers and exits 1 when any check fails. ``tests/test_soak.py`` runs a short
version in CI.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE = 16000
CLASSES = ("human", "nonhuman")


# Audio whose class the script knows --------------------------------------------------------

def synth(kind: str, seed: int, seconds: float) -> np.ndarray:
    """A unique signal of a class: voiced formant-like pulses (human) or tones and noise (nonhuman)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(SAMPLE_RATE * seconds)) / SAMPLE_RATE
    if kind == "human":
        f0 = rng.uniform(100, 220) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(2, 5) * t))
        phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
        y = sum(np.sin(k * phase) / k for k in range(1, 12))
        y *= 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(3, 6) * t) ** 2  # syllable rhythm
    else:
        y = np.sin(2 * np.pi * rng.uniform(200, 4000) * t) + rng.normal(0, 0.3, t.size)
    y = 0.3 * y / np.max(np.abs(y))
    return y.astype(np.float32)


@dataclass
class Contents:
    """Every content this run wrote: SHA-256 -> class."""

    classes: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: int = 0

    def write(self, path: Path, kind: str, rng: random.Random) -> None:
        """Write new content of ``kind`` at ``path`` atomically (a new inode, as editors save)."""
        with self.lock:
            self.counter += 1
            seed = self.counter
        y = synth(kind, seed * 7919 + rng.randrange(1 << 20), rng.uniform(0.6, 2.5))
        tmp = path.with_name(f".{path.name}.soak-tmp")
        sf.write(tmp, y, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        digest = sha256_of(tmp)
        with self.lock:
            self.classes[digest] = kind
        os.replace(tmp, path)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Running voicestudio ------------------------------------------------------------------------

@dataclass
class Outcome:
    op: str
    code: int | None  # None: killed by us
    stderr: str


class Runner:
    """Starts ``voicestudio`` processes on the project and kills some of them."""

    def __init__(self, db: Path, kill_rate: int, seed: int):
        self.db = db
        self.kill_rate = kill_rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.env = dict(os.environ, VOICESTUDIO_ANNOTATOR="soak", PYTHONUNBUFFERED="1")

    def run(self, op: str, *args: str, killable: bool = True, timeout_s: float = 300) -> Outcome:
        with self.lock:
            kill_after = self.rng.uniform(0.05, 2.5) if killable and self.rng.randrange(self.kill_rate) == 0 else None
        cmd = [sys.executable, "-m", "voicestudio", "--db", str(self.db), *args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        try:
            out, err = proc.communicate(timeout=kill_after if kill_after is not None else timeout_s)
        except subprocess.TimeoutExpired:
            if kill_after is None:
                proc.kill()
                out, err = proc.communicate()
                return Outcome(op, -1, f"timed out after {timeout_s} s\n{err}")
            proc.send_signal(signal.SIGKILL)
            out, err = proc.communicate()
            return Outcome(op, None, err)
        if proc.returncode < 0:  # killed, but not by us
            return Outcome(op, proc.returncode, err)
        return Outcome(op, proc.returncode, err)


# The workload -------------------------------------------------------------------------------

@dataclass
class Soak:
    root: Path
    args: argparse.Namespace
    contents: Contents = field(default_factory=Contents)
    acked: list[tuple[int, str, str]] = field(default_factory=list)  # (clip id, annotator, value)
    backups: list[Path] = field(default_factory=list)
    ops: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)  # (op, first error line, numbers masked) of exit-1 runs
    busy_paths: set[Path] = field(default_factory=set)  # in a CSV being imported: not replaced meanwhile
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def dataset(self) -> Path:
        return self.root / "dataset"

    @property
    def db(self) -> Path:
        return self.dataset / "project.vsproj"

    def audio_files(self) -> list[Path]:
        return sorted(p for p in self.dataset.rglob("*.wav") if not p.name.startswith("."))

    def setup(self, rng: random.Random) -> None:
        for i in range(self.args.files):
            folder = self.dataset / f"speaker{i % 4}"
            folder.mkdir(parents=True, exist_ok=True)
            self.contents.write(folder / f"take{i:03d}.wav", CLASSES[i % 2], rng)
        (self.root / "exports").mkdir()
        (self.root / "backups").mkdir()
        (self.root / "csv").mkdir()

    # What the project holds, read as any other SQLite reader would.
    def clips(self) -> list[tuple[int, str]]:
        conn = sqlite3.connect(f"{self.db.as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(audio_files)")}
            current = " WHERE f.replaced_at IS NULL" if "replaced_at" in columns else ""
            return conn.execute(f"SELECT c.id, f.sha256 FROM clips c JOIN audio_files f ON f.id = c.file_id{current}").fetchall()
        finally:
            conn.close()

    def op_import(self, runner: Runner, rng: random.Random, worker: int) -> Outcome:
        return runner.run("import", "import", str(self.dataset))

    def op_label(self, runner: Runner, rng: random.Random, worker: int) -> Outcome | None:
        known = [(clip, sha) for clip, sha in self.clips() if sha in self.contents.classes]
        if not known:
            return None
        clip, sha = rng.choice(known)
        value, annotator = self.contents.classes[sha], f"soak{worker}"
        outcome = runner.run("label", "label", str(clip), value, "--annotator", annotator)
        if outcome.code == 0:
            with self.lock:
                self.acked.append((clip, annotator, value))
        return outcome

    def op_label_import(self, runner: Runner, rng: random.Random, worker: int) -> Outcome | None:
        """A CSV of what the annotator heard in files on disk, imported while those files stay put."""
        with self.lock:
            free = [p for p in self.audio_files() if p not in self.busy_paths]
            chosen = rng.sample(free, min(len(free), 5))
            self.busy_paths.update(chosen)
        try:
            rows = []
            for path in chosen:
                try:
                    value = self.contents.classes.get(sha256_of(path))
                except FileNotFoundError:
                    continue
                if value:
                    rows.append((str(path), value, f"csv{worker}"))
            if not rows:
                return None
            sheet = self.root / "csv" / f"labels-{worker}-{rng.randrange(1 << 30)}.csv"
            with open(sheet, "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows([("path", "label", "annotator"), *rows])
            return runner.run("label-import", "labels", "import", str(sheet))
        finally:
            with self.lock:
                self.busy_paths.difference_update(chosen)

    def op_score(self, runner: Runner, rng: random.Random, worker: int) -> Outcome:
        return runner.run("score", "score")

    def op_export(self, runner: Runner, rng: random.Random, worker: int) -> Outcome:
        out = self.root / "exports" / f"w{worker}"
        return runner.run("export", "export", str(out), "--force", "--workers", "1")

    def op_backup(self, runner: Runner, rng: random.Random, worker: int) -> Outcome:
        out = self.root / "backups" / f"w{worker}-{rng.randrange(1 << 30)}.vsproj"
        outcome = runner.run("backup", "db", "backup", str(out))
        if outcome.code == 0:
            with self.lock:
                self.backups.append(out)
        return outcome

    def worker(self, index: int, runner: Runner, deadline: float) -> None:
        rng = random.Random(self.args.seed * 1000 + index)
        operations = [(self.op_label, 5), (self.op_import, 2), (self.op_label_import, 2),
                      (self.op_score, 1), (self.op_export, 1), (self.op_backup, 1)]
        functions, weights = zip(*operations)
        while time.monotonic() < deadline:
            outcome = rng.choices(functions, weights)[0](runner, rng, index)
            if outcome is not None:
                self.record(outcome)

    def record(self, outcome: Outcome) -> None:
        kind = "killed" if outcome.code is None else "ok" if outcome.code == 0 else "failed"
        with self.lock:
            self.ops[(outcome.op, kind)] += 1
            if kind == "failed":
                lines = [line for line in outcome.stderr.splitlines() if line.startswith("voicestudio:")]
                reason = re.sub(r"/\S+|\d+", "#", lines[0] if lines else outcome.stderr.strip()[:200])
                self.reasons[(outcome.op, reason)] += 1
            if kind == "failed" and outcome.code != 1:
                # 1 is a reported failure (a file replaced mid-read, a busy project); anything
                # else (a crash, an internal error, a timeout) is a problem.
                self.problems.append(f"{outcome.op} exited {outcome.code}: {outcome.stderr.strip()[-400:]}")
            elif kind == "failed" and "internal error" in outcome.stderr:
                self.problems.append(f"{outcome.op}: {outcome.stderr.strip()[-400:]}")

    def replacer(self, deadline: float) -> None:
        """Re-record files under the workers: new content at a path, sometimes keeping the old take."""
        rng = random.Random(self.args.seed * 1000 + 999)
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(0.5, 2.0))
            with self.lock:
                candidates = [p for p in self.audio_files() if p not in self.busy_paths]
                if not candidates:
                    continue
                path = rng.choice(candidates)
                self.busy_paths.add(path)
            try:
                if rng.random() < 0.3:  # keep the old recording under another name
                    os.replace(path, path.with_name(f"{path.stem}-old{rng.randrange(1000)}.wav"))
                self.contents.write(path, rng.choice(CLASSES), rng)
                with self.lock:
                    self.ops[("replace", "ok")] += 1
            finally:
                with self.lock:
                    self.busy_paths.discard(path)


# The checks ---------------------------------------------------------------------------------

def integrity(path: Path) -> str:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def check(soak: Soak, runner: Runner) -> dict:
    figures: dict = {}
    failures: list[str] = []
    verdict = integrity(soak.db)
    if verdict != "ok":
        failures.append(f"integrity_check: {verdict}")
    conn = sqlite3.connect(f"{soak.db.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        events = conn.execute(
            "SELECT e.clip_id, e.annotator, e.value, f.sha256 FROM label_events e "
            "JOIN clips c ON c.id = e.clip_id JOIN audio_files f ON f.id = c.file_id").fetchall()
        columns = {row[1] for row in conn.execute("PRAGMA table_info(audio_files)")}
        current = " WHERE replaced_at IS NULL" if "replaced_at" in columns else ""
        files = conn.execute(f"SELECT path, sha256, size_bytes, mtime FROM audio_files{current}").fetchall()
    finally:
        conn.close()
    present = Counter((clip, annotator, value) for clip, annotator, value, _ in events)
    wanted = Counter(soak.acked)
    lost = sum((wanted - present).values())
    mislabelled = [(clip, annotator, value) for clip, annotator, value, sha in events
                   if value is not None and soak.contents.classes.get(sha) not in (None, value)]
    stale = []
    for path, sha, size, mtime in files:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        if (st.st_size, st.st_mtime) == (size, mtime) and sha256_of(Path(path)) != sha:
            stale.append(path)
    figures.update(labels_acknowledged=len(soak.acked), label_events=len(events), lost=lost,
                   mislabelled=len(mislabelled), file_records_with_wrong_hash=len(stale))
    if lost:
        failures.append(f"{lost} acknowledged labels are missing")
    if mislabelled:
        failures.append(f"{len(mislabelled)} labels sit on audio of the other class, e.g. {mislabelled[:3]}")
    if stale:
        failures.append(f"{len(stale)} file records do not match their unchanged files, e.g. {stale[:3]}")
    bad_backups = [str(p) for p in soak.backups if integrity(p) != "ok"]
    if bad_backups:
        failures.append(f"backups failing integrity_check: {bad_backups[:3]}")
    figures["backups_checked"] = len(soak.backups)

    # One export with nothing killed: every clip under its source's class, no partial folder left.
    final = soak.root / "exports" / "final"
    outcome = runner.run("export", "export", str(final), "--workers", "1", killable=False)
    if outcome.code not in (0, 1):
        failures.append(f"final export exited {outcome.code}: {outcome.stderr.strip()[-400:]}")
    exported = wrong = 0
    manifest = final / "manifest.csv"
    if manifest.is_file():
        with open(manifest, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                exported += 1
                if soak.contents.classes.get(row["source_sha256"]) not in (None, row["label"]):
                    wrong += 1
    else:
        failures.append("the final export wrote no manifest")
    partial = [p.name for p in (soak.root / "exports").iterdir() if ".partial" in p.name]
    figures.update(final_export_clips=exported, exported_under_wrong_class=wrong, partial_folders_left=len(partial))
    if wrong:
        failures.append(f"{wrong} exported clips under the wrong class")
    if partial:
        failures.append(f"partial export folders left: {partial[:3]}")
    figures["failures"] = failures
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="how long the workers run")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--files", type=int, default=40, help="audio files at the start")
    parser.add_argument("--kill-rate", type=int, default=5, help="about one process in N is SIGKILLed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary folder)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="vs-soak-") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        soak = Soak(root, args)
        soak.setup(random.Random(args.seed))
        runner = Runner(soak.db, args.kill_rate, args.seed)
        first = runner.run("import", "import", str(soak.dataset), killable=False)
        if first.code != 0:
            print(f"the first import failed ({first.code}): {first.stderr.strip()}", file=sys.stderr)
            return 1
        started = time.monotonic()
        deadline = started + args.seconds
        threads = [threading.Thread(target=soak.worker, args=(i, runner, deadline)) for i in range(args.workers)]
        threads.append(threading.Thread(target=soak.replacer, args=(deadline,)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        figures = {
            "seconds": round(time.monotonic() - started, 1),
            "workers": args.workers,
            "operations": sum(n for (op, kind), n in soak.ops.items() if op != "replace"),
            "killed": sum(n for (op, kind), n in soak.ops.items() if kind == "killed"),
            "files_replaced": soak.ops[("replace", "ok")],
            "by_operation": {f"{op} {kind}": n for (op, kind), n in sorted(soak.ops.items())},
            "why_exit_1": {f"{op}: {reason}": n for (op, reason), n in soak.reasons.most_common(12)},
            **check(soak, runner),
        }
        failures = figures["failures"] + soak.problems
        figures["failures"] = failures
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            if key != "failures":
                print(f"{key}: {value}")
        for failure in failures:
            print(f"FAIL: {failure}")
        print("soak: ok" if not failures else f"soak: {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
