"""The typed, versioned settings file."""

import json

from voicestudio.settings import MAX_RECENT, SETTINGS_VERSION, Settings, load_settings, save_settings


def test_round_trip_and_recent_projects(tmp_path):
    path = tmp_path / "s.json"
    settings = Settings(annotator="ana", queue="uncertain", threshold=0.7)
    for i in range(MAX_RECENT + 3):
        settings.remember_project(f"/p/{i}.vsproj")
    settings.remember_project("/p/3.vsproj")
    save_settings(settings, path)
    loaded = load_settings(path)
    assert loaded == settings
    assert loaded.last_project == "/p/3.vsproj" and len(loaded.recent_projects) == MAX_RECENT
    assert json.loads(path.read_text())["version"] == SETTINGS_VERSION


def test_damaged_or_foreign_files_give_defaults_field_by_field(tmp_path):
    path = tmp_path / "s.json"
    assert load_settings(path) == Settings()  # missing
    path.write_text("{not json")
    assert load_settings(path) == Settings()
    path.write_text(json.dumps({"version": 1, "annotator": "ana", "queue": "bogus", "threshold": 7,
                                "auto_advance": "yes", "unknown": 1, "recent_projects": ["/a", 3]}))
    loaded = load_settings(path)
    assert loaded.annotator == "ana"
    assert (loaded.queue, loaded.threshold, loaded.auto_advance, loaded.recent_projects) == ("unlabelled", None, True, [])
    path.write_text(json.dumps({"version": SETTINGS_VERSION + 1, "annotator": "future"}))
    assert load_settings(path).annotator == ""  # written by a newer app: not guessed at


def test_every_queue_survives_a_restart(tmp_path):
    """Each queue the clip list offers is saved, then read back by a new process (as at the next start)."""
    import subprocess
    import sys

    from voicestudio.dataset.cliptable import QUEUE_NAMES

    files = {}
    for name in QUEUE_NAMES:
        files[name] = tmp_path / f"{name}.json"
        save_settings(Settings(queue=name), files[name])
    code = ("import json, sys\nfrom pathlib import Path\nfrom voicestudio.settings import load_settings\n"
            "print(json.dumps({name: load_settings(Path(p)).queue for name, p in json.loads(sys.argv[1]).items()}))")
    done = subprocess.run([sys.executable, "-c", code, json.dumps({k: str(v) for k, v in files.items()})],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {name: name for name in QUEUE_NAMES}
    assert {"mistakes", "conflicts", "tp", "fp", "fn", "tn"} <= set(QUEUE_NAMES)  # the ones once lost
