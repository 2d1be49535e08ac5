"""The window on a project in a read-only folder: it opens and shows the clips; a label says read-only
(issue 14, item 15)."""

from PySide6.QtCore import Qt

from conftest import WAIT_MS
from test_project_access import read_only


def test_a_read_only_project_opens_and_a_label_says_read_only(qtbot, open_window, project_file):
    with read_only(project_file.parent):
        window = open_window(project_file)
        assert window.session.project.read_only and len(window.session.table) == 4
        qtbot.keyClick(window, Qt.Key.Key_H)
        qtbot.waitUntil(lambda: "read-only: cannot write to" in (window.last_error or ""), timeout=WAIT_MS)
        assert window.last_error == f"the label was not saved: read-only: cannot write to {project_file}"
        window.close()
