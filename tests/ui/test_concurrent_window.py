"""The window open on a project while other annotators (other processes) label it."""

from __future__ import annotations

import subprocess
import sys

from test_concurrent_annotators import finish, start_workers

from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store.project import open_project

WAIT_MS = 30000


def shown_votes(window) -> dict[tuple[int, str], str]:
    table = window.session.table
    return {(int(table.ids[row]), who): value for row, votes in table.votes.items() for who, (_, value) in votes.items()}


def stored_votes(path) -> dict[tuple[int, str], str]:
    with open_project(path) as project, project.session() as s:
        return {(c, cur.annotator): cur.value for c, cur in label_store.current_labels(s).items()} | {
            (c, who): cur.value for who in ("ann0", "ann1", "tester")
            for c, cur in label_store.current_labels(s, who).items()}


def test_labels_from_other_processes_appear_without_a_restart(qtbot, open_window, project_file, clip_folder):
    window = open_window(project_file)
    with open_project(project_file) as project, project.session() as s:
        ids = [row.id for row in clip_store.list_clips(s)]
    window.labels.human()  # the window's own annotator labels too, meanwhile
    qtbot.waitUntil(lambda: not window.labels.write_in_flight, timeout=WAIT_MS)
    finish(start_workers(str(project_file), 2, 40, ids))
    expected = stored_votes(project_file)
    qtbot.waitUntil(lambda: shown_votes(window) == expected, timeout=WAIT_MS)  # polled, no F5
    assert {who for _, who in expected} == {"ann0", "ann1", "tester"}

    # Clips imported by another process: the list grows on its own.
    extra = clip_folder.parent / "more"
    extra.mkdir()
    (extra / "e.wav").write_bytes((clip_folder / "b-tone.wav").read_bytes()[:-100] + b"\0" * 100)
    done = subprocess.run([sys.executable, "-m", "voicestudio", "--db", str(project_file), "import", str(extra)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    qtbot.waitUntil(lambda: len(window.session.table) == len(ids) + 1, timeout=WAIT_MS)
    window.projects.refresh()  # F5 reads everything again and changes nothing
    qtbot.wait(300)
    assert shown_votes(window) == stored_votes(project_file)


def test_the_window_on_a_postgresql_project(qtbot, open_window, pg_server, clip_folder):
    from voicestudio.dataset.importer import import_paths

    url = pg_server.new_database()
    with open_project(url) as project:
        assert import_paths(project, [clip_folder]).clips_added == 4
    window = open_window(url)
    with qtbot.waitSignal(window.label_written, timeout=WAIT_MS) as written:
        window.labels.human()
    with open_project(url) as project, project.session() as s:
        current = label_store.current_labels(s, "tester")
    assert current[written.args[0]["clip_id"]].value == "human"
    finish(start_workers(url, 2, 10, [int(i) for i in window.session.table.ids]))
    qtbot.waitUntil(lambda: {who for votes in window.session.table.votes.values() for who in votes} == {"tester", "ann0", "ann1"},
                    timeout=WAIT_MS)


def test_audio_locations_set_in_the_window(qtbot, open_window, project_file, clip_folder, tmp_path):
    """The audio moved (another machine's share): the window finds it through a path map."""
    import shutil

    from voicestudio import pathmap
    from voicestudio.settings import load_settings

    elsewhere = tmp_path / "share" / "clips"
    shutil.copytree(clip_folder, elsewhere)
    shutil.rmtree(clip_folder)
    window = open_window(project_file, wait_clip=False)
    qtbot.waitUntil(lambda: window.session.current_clip_id is not None, timeout=WAIT_MS)
    assert not window.projects.set_path_map("no equals sign") and "STORED_PREFIX=LOCAL_PREFIX" in window.last_error
    with qtbot.waitSignal(window.clip_shown, timeout=WAIT_MS):
        assert window.projects.set_path_map(f"{clip_folder}={elsewhere}")
    assert window.clips.loaded is not None and window.clips.loaded.clip.path.startswith(str(clip_folder))  # stored form kept
    assert load_settings(tmp_path / "settings.json").path_map == f"{clip_folder}={elsewhere}"
    pathmap.use(None)
