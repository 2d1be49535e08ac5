"""File ▸ Check the project… and Recover a damaged project… in the real window (issue 14, item 15)."""

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from conftest import WAIT_MS
from test_repair import FILES, damage, make_project, query


def menu_action(window, text: str) -> QAction:
    return next(a for a in window.findChildren(QAction) if a.text() == text)


def test_check_names_the_damage_and_offers_recovery(qtbot, open_window, project_file, tmp_path, monkeypatch):
    path = tmp_path / "damaged.vsproj"
    make_project(path)
    index = next(name for (name,) in query(path, "SELECT name FROM sqlite_master WHERE type = 'index' "
                                                 "AND tbl_name = 'label_events' AND sql IS NOT NULL"))
    damage(path, index)  # reads by id still work; the first write of an open checks the file and refuses
    window = open_window(project_file)
    window.open_project(str(path))
    qtbot.waitUntil(lambda: "the project is damaged" in (window.last_error or ""), timeout=WAIT_MS)
    assert "db check / db recover" in window.last_error and window.session.project.label == str(project_file)

    out = tmp_path / "recovered.vsproj"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    with qtbot.waitSignal(window.repair.checked, timeout=WAIT_MS) as checked:
        menu_action(window, "C&heck the project…").trigger()
    assert not checked.args[0].ok
    assert window.repair.box.isVisible() and f"{path}: damaged" in window.repair.box.text()

    recover = next(b for b in window.repair.box.buttons() if b.text() == "Recover…")
    with qtbot.waitSignal(window.repair.recovered, timeout=WAIT_MS) as recovered:
        recover.click()
    assert recovered.args[0].path == out
    assert query(out, "SELECT count(*) FROM label_events") == [(FILES,)]  # only the index was damaged


def test_a_project_too_damaged_to_open_is_recovered_and_opened(qtbot, open_window, project_file, tmp_path,
                                                                monkeypatch):
    window = open_window(project_file)
    path = tmp_path / "damaged.vsproj"
    make_project(path)
    damage(path, "label_events")
    window.open_project(str(path))
    qtbot.waitUntil(lambda: "the project is damaged" in (window.last_error or ""), timeout=WAIT_MS)
    assert window.session.project.label == str(project_file)  # the open project stays

    out = tmp_path / "recovered.vsproj"
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    with qtbot.waitSignal(window.repair.recovered, timeout=WAIT_MS) as recovered:
        menu_action(window, "Recover a dama&ged project…").trigger()
    events = next(t for t in recovered.args[0].tables if t.table == "label_events")
    assert events.recovered + events.lost == FILES and events.lost > 0
    assert f"label_events: {events.recovered} rows recovered" in window.repair.box.text()

    open_button = next(b for b in window.repair.box.buttons() if b.text() == "Open the recovered project")
    with qtbot.waitSignal(window.project_opened, timeout=WAIT_MS):
        open_button.click()
    assert window.session.project.label == str(out)
    assert len(window.session.table) == FILES
