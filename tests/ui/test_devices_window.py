"""The window's model and devices panels, against the real SSH server and aarch64 Python."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPlainTextEdit

from voicestudio.device.ssh import known_hosts_path
from voicestudio.model.detector import DEFAULT_MODEL

WAIT_MS = 120000


def test_model_panel_inspects_the_current_model_and_others(qtbot, open_window, project_file, tmp_path):
    window = open_window(project_file)
    panel = window.model_panel
    with qtbot.waitSignal(panel.inspected, timeout=WAIT_MS) as shown:
        window.model_dock.raise_()
    found = shown.args[0]
    assert found.path == str(DEFAULT_MODEL) and found.inputs[0].shape_signature == (-1, 100, 20, 1)
    titles = [panel.tree.topLevelItem(i).text(0) for i in range(panel.tree.topLevelItemCount())]
    assert titles[:3] == ["File", "Inputs", "Outputs"] and titles[3].startswith("Operators (")
    assert "Card" in titles and "Metadata" in titles
    operators = panel.tree.topLevelItem(3)
    assert {operators.child(i).text(0) for i in range(operators.childCount())} == {op.name for op in found.operators}

    bad = tmp_path / "broken.tflite"
    bad.write_bytes(b"\0\0\0\0TFL3" + b"\xff" * 40)
    panel.inspect(str(bad))
    qtbot.waitUntil(lambda: panel.path_label.text().startswith("⚠"), timeout=WAIT_MS)
    assert "truncated or corrupt" in panel.path_label.text() and panel.tree.topLevelItemCount() == 0
    assert not panel.copy_button.isEnabled()


def test_devices_panel_adds_trusts_checks_benches_and_charts(qtbot, open_window, project_file, sshd, arm_python,
                                                            tmp_path):
    window = open_window(project_file)
    panel = window.devices_panel
    window.devices_dock.raise_()
    asked = []
    panel.confirm_trust = lambda exc: asked.append(exc.fingerprint) or True  # the user accepts the dialog

    panel.add(name="board", uri=f"ssh://{sshd.user}@127.0.0.1:{sshd.port}", key_path=str(sshd.key_path),
              python_cmd=arm_python.command, workdir=str(tmp_path / "device"))
    # Not devices_shown: the list read when the project opened may still arrive first.
    qtbot.waitUntil(lambda: panel.selected_device() == "board", timeout=WAIT_MS)
    assert panel.table.rowCount() == 1
    assert panel.table.item(0, 2).text() == "not checked"

    with qtbot.waitSignal(panel.check_finished, timeout=WAIT_MS) as checked:
        qtbot.mouseClick(panel.check_button, Qt.MouseButton.LeftButton)
    assert asked == [sshd.host_fingerprint]  # shown once, recorded once trusted
    assert sshd.host_fingerprint.split(":")[0] and known_hosts_path().is_file()
    assert checked.args[0].arch == "aarch64"
    qtbot.waitUntil(lambda: panel.table.item(0, 2).text() == "aarch64", timeout=WAIT_MS)
    assert panel.table.item(0, 3).text() == "python:tflite-runtime"

    panel.threads.setText("1,2")
    panel.runs.setValue(3)
    panel.warmup.setValue(1)
    with qtbot.waitSignal(panel.bench_finished, timeout=WAIT_MS) as benched:
        qtbot.mouseClick(panel.bench_button, Qt.MouseButton.LeftButton)
    report = benched.args[0]
    assert [r.status for r in report.runs] == ["ok", "ok"] and report.model == str(DEFAULT_MODEL)
    qtbot.waitUntil(lambda: panel.history.rowCount() == 2, timeout=WAIT_MS)
    assert {panel.history.item(r, 4).text() for r in range(2)} == {"1", "2"}
    assert panel.history.item(0, 9).text() == "ok" and float(panel.history.item(0, 5).text()) > 0
    assert list(panel.chart.bars) == ["voice-detector"]  # one model, a bar per thread count
    assert len(panel.chart.bars["voice-detector"].opts["x"]) == 2
    assert len(asked) == 1  # the key is known now

    panel.show_log(panel.history_rows[0].run_id)
    qtbot.waitUntil(lambda: getattr(panel, "log_dialog", None) is not None, timeout=WAIT_MS)
    assert "VOICESTUDIO_BENCH" in panel.log_dialog.findChild(QPlainTextEdit).toPlainText()

    # A bad thread list is an error in the panel, nothing runs.
    panel.threads.setText("two")
    panel.run_bench("board")
    assert "--threads takes numbers" in panel.status.text()
    window.grab().save(str(tmp_path / "devices.png"))


def test_an_untrusted_key_connects_nothing(qtbot, open_window, project_file, sshd, tmp_path):
    window = open_window(project_file)
    panel = window.devices_panel
    panel.confirm_trust = lambda exc: False
    with qtbot.waitSignal(panel.devices_shown, timeout=WAIT_MS):
        panel.add(name="b", uri=f"ssh://{sshd.user}@127.0.0.1:{sshd.port}", key_path=str(sshd.key_path))
    panel.check_device("b")
    qtbot.waitUntil(lambda: "not trusted" in panel.status.text(), timeout=WAIT_MS)
    assert not known_hosts_path().exists()


@pytest.fixture(autouse=True)
def _tidy_dialogs(qapp):
    yield
    for widget in qapp.topLevelWidgets():
        if widget.windowTitle().startswith("Run "):
            widget.close()


def test_add_device_dialog_keeps_what_was_typed_and_selects_the_new_device(qtbot, open_window, project_file):
    """Issue 17, item 19: a refused address is shown in the dialog (which stays, with the typing);
    the device added is the one selected afterwards; an empty chart shows no fractional threads."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QDialogButtonBox

    window = open_window(project_file)
    panel = window.devices_panel
    panel.add(name="first", uri="adb://first-serial")
    # Not devices_shown: the list read when the project opened may still arrive first.
    qtbot.waitUntil(lambda: panel.selected_device() == "first", timeout=WAIT_MS)
    assert panel.chart.getAxis("bottom")._tickLevels == [[]]
    seen = {}

    def fill_in():
        dialog = panel.add_dialog
        dialog.name.setText("phone")
        dialog.uri.setText("telnet://phone")  # not a device address
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "ssh://user@host" in dialog.error.text(), timeout=WAIT_MS)
        seen["refused"] = (dialog.isVisible(), dialog.name.text(), dialog.uri.text())
        dialog.uri.setText("adb://R58M123")
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, fill_in)
    with qtbot.waitSignal(panel.devices_shown, timeout=WAIT_MS):
        panel.add_device()  # modal until the device is stored
    assert seen["refused"] == (True, "phone", "telnet://phone")
    qtbot.waitUntil(lambda: panel.selected_device() == "phone", timeout=WAIT_MS)
