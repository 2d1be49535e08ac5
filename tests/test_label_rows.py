"""One bad label row or task fails alone, and annotator names follow one rule from every source.

The scenarios run ``voicestudio`` in subprocesses on a real SQLite project over real audio files;
the fuzz tests feed the parsers a few hundred generated bad rows and tasks between good ones.
"""

import csv
import json
import os
import random
import sqlite3
import subprocess
import sys
from contextlib import closing

import pytest

import audiofiles
from voicestudio.dataset.importer import SegmentRule, import_paths
from voicestudio.dataset.interchange import import_labels
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store.project import open_project
from voicestudio.store.schema import LabelEvent

SR = 16000
FORGED = "eve\nvoicestudio: error: forged"


@pytest.fixture
def studio(tmp_path):
    """A project file: hello.wav and dog.wav one clip each, meeting.wav in three 2 s clips."""
    audio = tmp_path / "audio"
    audiofiles.write(audio / "hello.wav", audiofiles.speechlike(SR, 1.0), SR)
    audiofiles.write(audio / "dog.wav", audiofiles.noise(SR, 1.0), SR)
    audiofiles.write(audio / "long" / "meeting.wav", audiofiles.speechlike(SR, 6.0, seed=3), SR)
    with open_project(tmp_path / "p.vsproj") as project:  # the set-up, not the scenario: in this process
        import_paths(project, [audio / "hello.wav", audio / "dog.wav"])
        import_paths(project, [audio / "long"], rule=SegmentRule.parse("2"))
    return Studio(tmp_path / "p.vsproj", audio)


class Studio:
    def __init__(self, db, audio):
        self.db, self.audio = db, audio
        self.hello, self.dog, self.meeting = (str(audio / n) for n in ("hello.wav", "dog.wav", "long/meeting.wav"))

    def run(self, *args, env=None):
        return subprocess.run([sys.executable, "-m", "voicestudio", "--db", str(self.db), *args], capture_output=True,
                              text=True, timeout=180, env={**os.environ, "VOICESTUDIO_ANNOTATOR": "kim", **(env or {})})

    def votes(self) -> dict[tuple[str, float, str], str]:
        """{(file name, clip start, annotator): current value}, read from the project file."""
        with open_project(self.db) as project, project.session() as s:
            where = {c.id: (os.path.basename(c.path), round(c.start_s)) for c in clip_store.list_clips(s)}
            return {(*where[clip], who): value for clip, by in label_store.labels_by_annotator(s).items()
                    for who, value in by.items()}

    def annotators(self) -> set[str]:
        with closing(sqlite3.connect(self.db)) as db:
            return {who for (who,) in db.execute("SELECT DISTINCT annotator FROM label_events")}


def choice(audio, label="human", **annotation):
    return {"data": {"audio": audio}, "annotations": [{**annotation, "result": [
        {"type": "choices", "from_name": "label", "to_name": "audio", "value": {"choices": [label]}}]}]}


def region(audio, start, end, label="human", **annotation):
    return {"data": {"audio": audio}, "annotations": [{**annotation, "result": [
        {"type": "labels", "from_name": "segment", "to_name": "audio",
         "value": {"start": start, "end": end, "labels": [label]}}]}]}


def check_failures(done, failed_places, written):
    """Exit 1, the summary counts, one stderr line naming each failed row or task, nothing else."""
    assert done.returncode == 1, done.stderr
    assert f"{written} labels written" in done.stdout and f"{len(failed_places)} failed" in done.stdout, done.stdout
    lines = done.stderr.splitlines()
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert len(lines) == len(failed_places), done.stderr
    for line, place in zip(lines, failed_places):
        assert line.startswith("voicestudio: ") and f": {place}: " in line, (place, line)


def test_one_bad_label_studio_task_fails_alone_and_the_rest_is_imported(studio, tmp_path):
    """The issue's cases, each in its own task between good ones; the file is imported with the CLI."""
    tasks = [
        choice(studio.hello, completed_by={"email": "ann@lab"}),                  # 1 good
        choice(studio.dog, "Noise", completed_by={"email": " "}),                 # 2 blank email
        region(studio.meeting, "@BIG@", 3.0),                                     # 3 a 400-digit start
        region(studio.meeting, 2.0, "@INF@"),                                     # 4 end 1e400
        region(studio.meeting, "@NAN@", 4.0),                                     # 5 NaN
        region(studio.meeting, "two", 4.0),                                       # 6 a string where a number belongs
        choice(studio.dog, completed_by={"email": {"name": "bob"}}),              # 7 a nested dict where a string belongs
        {"data": {"audio": studio.meeting}, "annotations": [{"result": [          # 8 a missing field
            {"type": "labels", "value": {"start": 2.0, "labels": ["human"]}}]}]},
        choice(studio.dog, completed_by=True),                                    # 9
        choice(studio.dog, completed_by=[1, 2]),                                  # 10
        choice(studio.dog, completed_by={"email": FORGED}),                       # 11 a forged line
        region(studio.meeting, "@HUGE@", 4.0),                                    # 12 beyond Python's int limit
        choice("http://[::1/dog.wav"),                                            # 13 not a URL urllib can split
        choice(studio.dog, completed_by=10**150),                                 # 14 a user number too long for a name
        region(studio.meeting, 4.0, 6.0, "Speech", completed_by=7),               # 15 good
    ]
    for number, task in enumerate(tasks, start=1):
        task["id"] = number
    text = (json.dumps(tasks).replace('"@BIG@"', "9" * 400).replace('"@INF@"', "1e400")
            .replace('"@NAN@"', "NaN").replace('"@HUGE@"', "7" * 5000))
    (tmp_path / "ls.json").write_text(text)
    done = studio.run("labels", "import", str(tmp_path / "ls.json"))
    check_failures(done, [f"task {n}" for n in range(2, 15)], written=2)
    reasons = done.stderr.splitlines()
    assert "completed_by: an annotator name is required" in reasons[0]
    assert "region start '" + "9" * 39 in reasons[1] and "too large" in reasons[1]
    assert "end 'inf' is not a finite number" in reasons[2] and "'nan' is not a finite" in reasons[3]
    assert "must be a number of seconds, not 'two'" in reasons[4]
    assert "must be text, not dict" in reasons[5] and "start and end" in reasons[6]
    assert "not bool" in reasons[7] and "not list" in reasons[8]
    assert "contains the control character U+000A" in reasons[9] and "\\n" in reasons[9]
    assert "neither a path nor a URL" in reasons[11] and "characters long (at most 100)" in reasons[12]
    assert studio.votes() == {("hello.wav", 0, "ann@lab"): "human", ("meeting.wav", 4, "labelstudio-user-7"): "human"}


def test_one_bad_csv_row_fails_alone_and_the_rest_is_imported(studio, tmp_path):
    rows = [
        ("path", "start_s", "end_s", "annotator", "label", "note"),
        (studio.hello, "", "", "zoe", "human", "fine"),                      # line 2 good
        (studio.meeting, "9" * 400, "3", "zoe", "human", ""),                # 3 a 400-digit start
        (studio.meeting, "2", "1e400", "zoe", "human", ""),                  # 4
        (studio.meeting, "nan", "4", "zoe", "human", ""),                    # 5
        (studio.meeting, "2", "four", "zoe", "human", ""),                   # 6
        (studio.dog, "", "", FORGED, "nonhuman", ""),                        # 7-8 a quoted newline in a name
        (studio.dog, "", "", "\x1b]0;owned\x07", "nonhuman", ""),            # 9 terminal escapes
        (studio.dog, "", "", "x" * 101, "nonhuman", ""),                     # 10 too long
        ("~no-such-user-vs/dog.wav", "", "", "zoe", "nonhuman", ""),         # 11
        (studio.dog, "", "", "zoe", "x" * 200_000, ""),                      # 12 over the csv module's field limit
        (studio.meeting, "2", "4", "zoe", "nonhuman", ""),                   # 13 good
        (studio.dog, "", "", "   ", "nonhuman", ""),                         # 14 good: blank = the default annotator
    ]
    with open(tmp_path / "rows.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    done = studio.run("labels", "import", str(tmp_path / "rows.csv"))
    check_failures(done, [f"line {n}" for n in (3, 4, 5, 6, 7, 9, 10, 11, 12)], written=3)
    reasons = done.stderr.splitlines()
    assert "start_s '" + "9" * 39 in reasons[0] and "not a finite number" in reasons[0]
    assert "end_s must be a number of seconds, not 'four'" in reasons[3] and "U+000A" in reasons[4] and "U+001B" in reasons[5]
    assert "101 characters long" in reasons[6] and "no such user" in reasons[7] and "field limit" in reasons[8]
    assert studio.votes() == {("hello.wav", 0, "zoe"): "human", ("meeting.wav", 2, "zoe"): "nonhuman",
                              ("dog.wav", 0, "kim"): "nonhuman"}
    # The same file through 'label --from-csv': the same rows fail, the rest is already there.
    again = studio.run("label", "--from-csv", str(tmp_path / "rows.csv"))
    assert again.returncode == 1 and "0 labels written, 3 unchanged, 9 failed" in again.stdout, again.stdout


def test_a_forged_annotator_is_not_stored_and_forges_no_line_in_stats(studio, tmp_path):
    """The issue's case: ``"eve\\nvoicestudio: error: forged"`` was stored and printed as a line of its own."""
    (tmp_path / "forged.json").write_text(json.dumps([
        choice(studio.hello, completed_by={"email": FORGED}), choice(studio.dog, "Noise", completed_by={"email": "ann"})]))
    done = studio.run("labels", "import", str(tmp_path / "forged.json"))
    check_failures(done, ["task 1"], written=1)
    assert studio.annotators() == {"ann"}  # nothing stored for the forged row
    stats = studio.run("stats")
    assert stats.returncode == 0, stats.stderr
    output = (stats.stdout + stats.stderr).splitlines()
    assert not any(line.startswith("voicestudio: error") for line in output), output
    assert not any("eve" in line for line in output)


def test_a_bad_annotator_option_is_a_usage_error_and_stores_nothing(studio, tmp_path):
    (tmp_path / "one.csv").write_text(f"path,label\n{studio.hello},human\n")

    def refused(args, name, env=None):
        done = studio.run(*args, *(["--annotator", name] if env is None else []), env=env)
        assert done.returncode == 2, (args, done.stderr)
        lines = [line for line in done.stderr.splitlines() if line.startswith("voicestudio:")]  # after the usage
        assert lines == [lines[0]] and lines[0].startswith(
            f"voicestudio: error: {'--annotator' if env is None else '$VOICESTUDIO_ANNOTATOR'}: "), done.stderr

    for args in (["label", studio.hello, "human"], ["label", "--from-csv", str(tmp_path / "one.csv")],
                 ["label", "--undo"], ["labels", "import", str(tmp_path / "one.csv")]):
        refused(args, FORGED)
    for name in ["\x1b[2J", "tab\there", "del\x7f", "c1\x85", "rtl\u202eevil", " ", "x" * 101]:
        refused(["label", studio.hello, "human"], name)
    for name in ["\x1b[2J", "x" * 101]:
        refused(["label", studio.hello, "human"], name, env={"VOICESTUDIO_ANNOTATOR": name})
    assert studio.annotators() == set()


def test_names_stored_before_the_rule_are_still_read_and_exported(studio, tmp_path):
    """An older project may hold names the rule now refuses: reading, stats and export go on; re-importing the
    export refuses those rows alone."""
    assert studio.run("label", studio.hello, "human", "--annotator", "ann").returncode == 0
    with open_project(studio.db) as project, project.write() as s:  # as a version without the rule wrote them
        clip = min(c.id for c in clip_store.list_clips(s))
        s.add_all([LabelEvent(clip_id=clip, annotator=who, value="nonhuman") for who in (FORGED, "\x1b[31mred", "x" * 300)])
    for args in (["stats"], ["clips"], ["labels", "export", str(tmp_path / "old.csv")],
                 ["labels", "export", str(tmp_path / "old.json")], ["--json", "stats"]):
        done = studio.run(*args)
        assert done.returncode == 0 and "internal error" not in done.stderr, (args, done.stderr)
        assert not any(line.startswith("voicestudio: error: forged") for line in done.stdout.splitlines())  # escaped
    with open_project(studio.db) as project, project.session() as s:
        assert [e.annotator for e in label_store.label_history(s, clip, FORGED)] == [FORGED]
        assert label_store.current_labels(s, "x" * 300)[clip].value == "nonhuman"
    with open_project(tmp_path / "other.vsproj") as project:
        import_paths(project, [studio.audio / "hello.wav"])
    other = Studio(tmp_path / "other.vsproj", studio.audio)
    for name, place in (("old.csv", "line"), ("old.json", "task")):
        done = other.run("labels", "import", str(tmp_path / name))
        assert done.returncode == 1 and "internal error" not in done.stderr, done.stderr
        assert len(done.stderr.splitlines()) == 3 and all(f": {place} " in line for line in done.stderr.splitlines())
    assert other.annotators() == {"ann"}


# Fuzzing -------------------------------------------------------------------------------------

# Values that are never a valid annotator, a number of seconds, a label or a reference to audio.
BAD_NAMES = [" ", "\t", {"x": 1}, True, False, [1, 2], [], 1.5, "a\nb", "\x1b[2J", "\x00", "\x7f", "\x9b31m",
             "\u2028", "\u202eevil", "\ud800", "x" * 101, "é" * 101, 10**120, -10**120]
BAD_SECONDS = ["@BIG@", "@HUGE@", "@INF@", "@NINF@", "@NAN@", "two", "", " ", "1,5", {"s": 1}, [1.0], True, None,
               -1.0, "-0.5"]
BAD_LABELS = [[], ["human", "nonhuman"], [1], "human", [{"x": 1}], ["maybe"], None, ["None"], ["clear"], [True],
              ["x" * 5000]]
BAD_AUDIO = [{"x": 1}, "", "http://[bad/a.wav", "file://", "/data/upload/3/", 7, None, ["a.wav"], "/" + "a" * 100_000]


def _ls_bad_task(rng: random.Random, studio) -> dict:
    """A task with one or two faults, each of which alone makes it fail."""
    task = region(studio.meeting, 2.0, 4.0, completed_by={"email": "fuzz"}) if rng.random() < 0.5 \
        else choice(studio.hello, completed_by={"email": "fuzz"})
    annotation = task["annotations"][0]
    result = annotation["result"][0]
    faults = {
        "annotator": lambda: annotation.update(completed_by=rng.choice(
            [rng.choice(BAD_NAMES), {"email": rng.choice(BAD_NAMES)}, {"username": rng.choice(BAD_NAMES)}])),
        "label": lambda: result["value"].update({result["type"]: rng.choice(BAD_LABELS)}),
        "value": lambda: result.update(value=rng.choice([None, "human", [1], 3])),
        "audio": lambda: task.update(data=rng.choice([{"audio": rng.choice(BAD_AUDIO)}, None, [], "x"])),
        "annotations": lambda: task.update(annotations=rng.choice([{"result": []}, "x", 3])),
    }
    if result["type"] == "labels":
        faults["start"] = lambda: result["value"].update(start=rng.choice(BAD_SECONDS))
        faults["end"] = lambda: result["value"].update(end=rng.choice(BAD_SECONDS + [1.0, 2.0]))
        faults["missing"] = lambda: result["value"].pop(rng.choice(["start", "end"]))
    for fault in sorted(rng.sample(sorted(faults), rng.choice([1, 1, 2])), key=lambda f: f == "value"):
        faults[fault]()  # ("value" replaces the object the other faults change: last)
    return task


def _json_text(tasks: list) -> str:
    """JSON with the numbers ``json.dumps`` cannot write: 400 and 5000 digits, 1e400, -1e400, NaN."""
    return (json.dumps(tasks).replace('"@BIG@"', "9" * 400).replace('"@HUGE@"', "8" * 5000)
            .replace('"@INF@"', "1e400").replace('"@NINF@"', "-1e400").replace('"@NAN@"', "NaN"))


def test_fuzzed_label_studio_tasks_fail_alone(studio, tmp_path):
    rng = random.Random(14)
    tasks, bad = [], []
    for i in range(300):
        good = i % 2 == 0
        task = choice(studio.dog, completed_by={"email": f"good-{i}"}) if good else _ls_bad_task(rng, studio)
        task["id"] = i + 1
        tasks.append(task)
        if not good:
            bad.append(f"task {i + 1}")
    (tmp_path / "fuzz.json").write_text(_json_text(tasks))
    with open_project(studio.db) as project:
        result = import_labels(project, tmp_path / "fuzz.json", default_annotator="kim")
    assert result.labelled == 150 and result.unchanged == 0
    assert [f.split(":")[0] for f in result.failures] == bad, result.failures
    assert max(len(f) for f in result.failures) < 5000  # values are cut, not echoed whole
    assert all(f.isprintable() for f in result.failures), [f for f in result.failures if not f.isprintable()]
    assert studio.annotators() == {f"good-{i}" for i in range(0, 300, 2)}
    # The same file through the CLI: the same failures, one line each, and nothing new written.
    done = studio.run("labels", "import", str(tmp_path / "fuzz.json"))
    assert done.returncode == 1 and "0 labels written, 150 unchanged, 150 failed" in done.stdout, done.stdout
    assert "internal error" not in done.stderr and len(done.stderr.splitlines()) == 150


def _csv_bad_row(rng: random.Random, studio) -> list[str]:
    """path,start_s,end_s,annotator,label,note with one or two faults."""
    row = [studio.meeting, "2", "4", "fuzz", "human", "note"] if rng.random() < 0.5 \
        else [studio.hello, "", "", "fuzz", "human", "note"]
    text_names = [n for n in BAD_NAMES if isinstance(n, str) and n.strip() and n != "\ud800"]
    faults = {
        "path": lambda: row.__setitem__(0, rng.choice(["~no-such-user-vs/x.wav", "/nowhere/x.wav", "x\nvoicestudio",
                                                        "/" + "p" * 100_000])),
        "start": lambda: row.__setitem__(1, rng.choice(["9" * 400, "nan", "inf", "-1", "two", "1e400", "0x10"])),
        "end": lambda: row.__setitem__(2, rng.choice(["9" * 400, "-inf", "NaN", "1", "x" * 300, "2"])),
        "annotator": lambda: row.__setitem__(3, rng.choice(text_names)),
        "label": lambda: row.__setitem__(4, rng.choice(["maybe", "", "x" * 300, "hu man", "\x1b[31m"])),
        "field": lambda: row.__setitem__(5, "n" * 140_000),  # beyond the csv module's field limit
    }
    for fault in rng.sample(sorted(faults), rng.choice([1, 1, 2])):
        faults[fault]()
    return row


def test_fuzzed_csv_rows_fail_alone(studio, tmp_path):
    rng = random.Random(8)
    bad = []
    with open(tmp_path / "fuzz.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["path", "start_s", "end_s", "annotator", "label", "note"])
        line = 2
        for i in range(300):
            row = [studio.dog, "", "", f"good-{i}", "nonhuman", ""] if i % 2 == 0 else _csv_bad_row(rng, studio)
            if i % 2:
                bad.append(f"line {line}")
            out.writerow(row)
            line += 1 + sum(cell.count("\n") for cell in row)
    with open_project(studio.db) as project:
        result = import_labels(project, tmp_path / "fuzz.csv", default_annotator="kim")
    assert result.labelled == 150
    assert [f.split(":")[0] for f in result.failures] == bad, result.failures
    assert max(len(f) for f in result.failures) < 5000  # values are cut, not echoed whole
    assert studio.annotators() == {f"good-{i}" for i in range(0, 300, 2)}
    done = studio.run("labels", "import", str(tmp_path / "fuzz.csv"))
    assert done.returncode == 1 and "0 labels written, 150 unchanged, 150 failed" in done.stdout, done.stdout
    assert "internal error" not in done.stderr and len(done.stderr.splitlines()) == 150


def test_the_window_settings_and_the_default_annotator_follow_the_rule(tmp_path, monkeypatch):
    """A hand-edited settings file with a bad name is asked again (""); a bad login name gives way to "annotator"."""
    from voicestudio import settings

    path = tmp_path / "settings.json"
    for bad in (FORGED, "\x1b[2J", "x" * 101, " ", {"email": "ann"}, True, ["ann"]):
        path.write_text(json.dumps({"version": 1, "annotator": bad, "queue": "all"}))
        loaded = settings.load_settings(path)
        assert (loaded.annotator, loaded.queue) == ("", "all")  # only the bad field falls back
    path.write_text(json.dumps({"version": 1, "annotator": "Zoë"}))
    assert settings.load_settings(path).annotator == "Zoë"
    monkeypatch.delenv("VOICESTUDIO_ANNOTATOR", raising=False)
    monkeypatch.setattr(settings.getpass, "getuser", lambda: "login\x1b[2J")
    assert settings.default_annotator() == "annotator"
    monkeypatch.setattr(settings.getpass, "getuser", lambda: "kim")
    assert settings.default_annotator() == "kim"
    monkeypatch.setenv("VOICESTUDIO_ANNOTATOR", "  ")
    assert settings.default_annotator() == "kim"  # blank counts as unset
