"""The command table (issue 15): one module per command, loaded only when it runs.

Scenarios run ``voicestudio`` in subprocesses on a real SQLite project over real
audio files: ``--help`` imports no command, ``label --from-csv`` is ``labels
import``, ``--annotator`` keeps its three meanings apart, ``stats --plots``
writes PNGs, and the command the export dialog shows parses back to its options.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest

import audiofiles
from voicestudio.cli import build_parser
from voicestudio.commands import COMMANDS
from voicestudio.commands.export import export_options
from voicestudio.dataset.consensus import Consensus
from voicestudio.dataset.export import ExportOptions
from voicestudio.dataset.importer import import_paths
from voicestudio.store.project import open_project

SR = 16000


def voicestudio(*args: str, env=None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicestudio", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "VOICESTUDIO_ANNOTATOR": "kim", **(env or {})})


# The real entry point in a fresh process, reporting which modules it ended up with. (Not
# ``python -X importtime``: it does not see modules imported with importlib, as the table does.)
MODULES_AFTER = """
import json, sys
from voicestudio.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.__stderr__)
"""


def imported_modules(*args: str) -> set[str]:
    """The modules ``voicestudio ARGS`` imports."""
    done = subprocess.run([sys.executable, "-c", MODULES_AFTER, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "usage: voicestudio" in done.stdout, done.stderr[-2000:]
    return set(json.loads(done.stderr.splitlines()[-1]))


@pytest.fixture
def project(tmp_path):
    """A project file with three one-clip files: hello (voice), dog (noise), beep (tone)."""
    audio = tmp_path / "audio"
    audiofiles.write(audio / "hello.wav", audiofiles.speechlike(SR, 1.0), SR)
    audiofiles.write(audio / "dog.wav", audiofiles.noise(SR, 1.0), SR)
    audiofiles.write(audio / "beep.wav", audiofiles.tone(SR, 1.0), SR)
    db = tmp_path / "p.vsproj"
    with open_project(db) as opened:  # the set-up, not the scenario: in this process
        assert import_paths(opened, [audio]).clips_added == 3
    return db


def write_rows(path, rows) -> str:
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return str(path)


# The table ---------------------------------------------------------------------------------------

def command_modules() -> set[str]:
    return {info.module for info in COMMANDS.values()}


def test_help_lists_every_command_and_imports_none_of_them():
    modules = imported_modules("--help")
    assert modules & command_modules() == set()
    assert not {"numpy", "sqlalchemy", "PySide6"} & modules
    done = voicestudio("--help")
    assert done.returncode == 0 and all(f"    {name} " in done.stdout for name in COMMANDS), done.stdout


def test_a_command_imports_its_own_module_only():
    assert imported_modules("stats", "--help") & command_modules() == {"voicestudio.commands.stats"}
    assert imported_modules("device", "log", "--help") & command_modules() == {"voicestudio.commands.device"}


def test_every_command_and_action_has_its_parser(capsys):
    """The table and the parser agree; every entry loads, parses its own --help, and lives in commands/."""
    parser = build_parser()
    listed = next(a for a in parser._actions if a.dest == "command").choices
    assert list(listed) == list(COMMANDS)
    for name, info in COMMANDS.items():
        command = info.load()
        actions = getattr(command, "ACTIONS", {})
        assert info.module.startswith("voicestudio.commands.")
        assert hasattr(command, "run") != bool(actions), name  # a handler, or actions with handlers
        for argv in ([name], *([name, action] for action in actions)):
            with pytest.raises(SystemExit) as stopped:
                parser.parse_args([*argv, "--help"])
            assert stopped.value.code == 0
        for action in actions.values():
            assert action.module == info.module and callable(action.load().run)
    assert "usage: voicestudio" in capsys.readouterr().out


def test_unknown_command_and_action_are_usage_errors():
    done = voicestudio("frobnicate")
    assert done.returncode == 2 and "invalid choice: 'frobnicate'" in done.stderr
    done = voicestudio("device", "explode")
    assert done.returncode == 2 and "invalid choice: 'explode'" in done.stderr


# The export dialog's command ---------------------------------------------------------------------

EXPORTS = [
    ExportOptions(),
    ExportOptions(layout="hf", consensus=Consensus("majority", "Anne Marie", True), fractions=(0.7, 0.2, 0.1),
                  group_by="folder", seed=7, rate=22050, audio_format="flac", features="mfcc-png", force=True,
                  workers=3),
    ExportOptions(layout="csv", consensus=Consensus("unanimous"), fractions=(1.0, 0.0, 0.0), group_by="none",
                  features="mfcc-npy"),
]


@pytest.mark.parametrize("options", EXPORTS)
def test_export_command_parses_back_to_the_same_options(options):
    db = "/tmp/it's a project/p.vsproj"
    argv = shlex.split(options.command(db))
    assert argv[0] == "voicestudio"
    args = build_parser(commands=("export",)).parse_args(argv[1:])  # the parser `voicestudio export` runs
    assert (args.command, args.db, args.out) == ("export", db, "OUT")
    assert export_options(args) == options


def test_the_shown_export_command_runs(project, tmp_path):
    """Copied from the dialog into a terminal, OUT replaced by a folder: the same export is made."""
    assert voicestudio("--db", str(project), "label", str(tmp_path / "audio" / "hello.wav"), "human").returncode == 0
    assert voicestudio("--db", str(project), "label", str(tmp_path / "audio" / "dog.wav"), "nonhuman").returncode == 0
    options = ExportOptions(layout="csv", fractions=(1.0, 0.0, 0.0), seed=3)
    argv = [str(tmp_path / "out") if word == "OUT" else word for word in shlex.split(options.command(str(project)))]
    done = voicestudio(*argv[1:])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2 clips exported to") and "train 1 human, 1 nonhuman" in done.stdout
    assert options.command(str(project)).split("OUT", 1)[1] in (tmp_path / "out" / "README.md").read_text()


# One import of label rows ------------------------------------------------------------------------

def test_label_from_csv_is_labels_import(project, tmp_path):
    """The same sheet through both commands: the same lines, the same exit code, the same labels."""
    audio = tmp_path / "audio"
    sheet = write_rows(tmp_path / "rows.csv", [
        ["path", "label", "annotator"],
        [str(audio / "hello.wav"), "human", "bea"],
        [str(audio / "dog.wav"), "nonhuman", ""],
        [str(audio / "nowhere.wav"), "human", ""],
        [str(audio / "beep.wav"), "maybe", ""],
    ])
    other = tmp_path / "copy.vsproj"
    shutil.copy(project, other)
    by_label = voicestudio("--db", str(project), "label", "--from-csv", sheet)
    by_labels = voicestudio("--db", str(other), "labels", "import", sheet, "--format", "csv")
    assert by_label.returncode == by_labels.returncode == 1
    assert by_label.stdout == by_labels.stdout == "2 labels written, 0 unchanged, 2 failed\n"
    assert by_label.stderr == by_labels.stderr and by_label.stderr.count("rows.csv: line") == 2
    rows = [json.loads(voicestudio("--json", "--db", str(db), "clips").stdout) for db in (project, other)]
    assert rows[0] == rows[1] and sorted(r["label"] or "-" for r in rows[0]) == ["-", "human", "nonhuman"]

    # Again: nothing new, the bad rows still named; the JSON form is the same too.
    again = [voicestudio("--json", "--db", str(project), "label", "--from-csv", sheet),
             voicestudio("--json", "--db", str(other), "labels", "import", sheet)]
    assert again[0].stdout == again[1].stdout and json.loads(again[0].stdout)["unchanged"] == 2


def test_label_modes_exclude_each_other_without_writing(project, tmp_path):
    sheet = write_rows(tmp_path / "rows.csv", [[str(tmp_path / "audio" / "hello.wav"), "human"]])
    for argv, reason in ((["--undo", "1"], "--undo takes no CLIP"), (["1", "human", "--from-csv", sheet], "not both"),
                         (["1"], "label needs CLIP VALUE")):
        done = voicestudio("--db", str(project), "label", *argv)
        assert done.returncode == 2 and reason in done.stderr.splitlines()[-1], done.stderr
    assert json.loads(voicestudio("--json", "--db", str(project), "stats").stdout)["labelled"] == 0


# --annotator: who labels, a filter, the default of rows without one ------------------------------

def test_annotator_keeps_its_three_meanings(project, tmp_path):
    audio = tmp_path / "audio"
    db = ("--db", str(project))
    # Who labels.
    assert voicestudio(*db, "label", str(audio / "hello.wav"), "human", "--annotator", "ann").returncode == 0
    # Import: who the rows without an annotator are from (a row naming one keeps it).
    sheet = write_rows(tmp_path / "rows.csv", [["path", "label", "annotator"],
                                               [str(audio / "dog.wav"), "nonhuman", ""],
                                               [str(audio / "beep.wav"), "nonhuman", "cy"]])
    assert voicestudio(*db, "labels", "import", sheet, "--annotator", "bea").returncode == 0
    stats = json.loads(voicestudio("--json", *db, "stats").stdout)
    assert stats["annotators"] == {"ann": {"human": 1}, "bea": {"nonhuman": 1}, "cy": {"nonhuman": 1}}
    # Export and stats: a filter, only that annotator's labels.
    out = tmp_path / "bea.csv"
    assert voicestudio(*db, "labels", "export", str(out), "--annotator", "bea").returncode == 0
    with open(out, newline="") as f:
        exported = [row for row in csv.DictReader(f)]
    assert [(row["annotator"], row["label"]) for row in exported] == [("bea", "nonhuman")]
    only_bea = json.loads(voicestudio("--json", *db, "stats", "--annotator", "bea").stdout)
    assert (only_bea["labelled"], only_bea["labels"]) == (1, {"nonhuman": 1})
    # A filter names any stored label; a new label's author must follow the rule.
    assert voicestudio(*db, "labels", "export", str(tmp_path / "none.csv"), "--annotator", "nobody").returncode == 0
    bad = voicestudio(*db, "labels", "import", sheet, "--annotator", "x\ny")
    assert bad.returncode == 2 and bad.stderr.splitlines()[-1].startswith("voicestudio: error: --annotator:")


def test_each_annotator_option_says_what_it_means():
    helps = {argv: voicestudio(*argv, "--help").stdout for argv in
             (("label",), ("labels", "import"), ("labels", "export"), ("stats",), ("export",), ("clips",))}
    flat = {argv: " ".join(text.split()) for argv, text in helps.items()}
    assert "--annotator NAME who is labelling" in flat[("label",)]
    assert "--annotator NAME who the rows without an annotator are from" in flat[("labels", "import")]
    for argv in (("labels", "export"), ("stats",), ("export",), ("clips",)):
        assert "--annotator NAME a filter" in flat[argv], argv


# stats --plots: the declared edge to the UI ------------------------------------------------------

def test_stats_plots_writes_pngs(project, tmp_path, tiny_model):
    audio = tmp_path / "audio"
    db = ("--db", str(project))
    for name, value in (("hello", "human"), ("dog", "nonhuman"), ("beep", "nonhuman")):
        assert voicestudio(*db, "label", str(audio / f"{name}.wav"), value).returncode == 0
    assert voicestudio(*db, "score", "--model", str(tiny_model)).returncode == 0
    done = voicestudio(*db, "stats", "--model", str(tiny_model), "--plots", str(tmp_path / "plots"),
                       env={"QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert "predicted human" in done.stdout and "voicestudio: wrote " in done.stderr
    for name in ("confusion", "roc", "pr", "histogram"):
        assert (tmp_path / "plots" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
