"""The export dialog's "same export from a terminal" line parses back, through the real parser, to its options."""

import shlex
from pathlib import Path

from voicestudio.cli import build_parser
from voicestudio.commands.export import export_options
from voicestudio.dataset.consensus import Consensus


def parsed(text: str):
    argv = shlex.split(text)
    assert argv[0] == "voicestudio"
    return build_parser(commands=("export",)).parse_args(argv[1:])


def test_the_dialogs_command_is_the_dialogs_export(qtbot, tmp_path):
    from voicestudio.ui.export_dialog import ExportDialog

    project = str(tmp_path / "it's my project.vsproj")
    dialog = ExportDialog(project, ["ann", "Bea Smith"], Consensus(), None)
    qtbot.addWidget(dialog)
    args = parsed(dialog.command.text())  # the defaults as shown
    assert (args.db, Path(args.out)) == (project, dialog.target())
    assert export_options(args) == dialog.options()

    # Every choice changed: the line follows, and still says the same export.
    dialog.folder.setText(str(tmp_path / "out folder; rm -rf ~"))
    dialog.layout_box.setCurrentIndex(dialog.layout_box.findData("hf"))
    dialog.consensus_box.setCurrentIndex(dialog.consensus_box.findData("majority"))
    dialog.annotator_box.setCurrentIndex(dialog.annotator_box.findData("Bea Smith"))
    dialog.include_unsure.setChecked(True)
    for box, value in zip(dialog.fractions, (0.7, 0.2, 0.1)):
        box.setValue(value)
    dialog.group_box.setCurrentIndex(dialog.group_box.findData("folder"))
    dialog.seed.setValue(42)
    dialog.rate_box.setCurrentText("22050")
    dialog.audio_box.setCurrentIndex(dialog.audio_box.findData("flac"))
    dialog.features_box.setCurrentIndex(dialog.features_box.findData("mfcc-png"))
    dialog.force.setChecked(True)
    args = parsed(dialog.command.text())
    assert Path(args.out) == tmp_path / "out folder; rm -rf ~"
    assert export_options(args) == dialog.options()
    assert dialog.options().force and dialog.options().consensus == Consensus("majority", "Bea Smith", True)
