"""One atomic write (``voicestudio.files.write_atomically``): random temp name, whole content, nothing left behind.

Every whole-file write goes through it: settings, model cards, trained models,
label exports (``voicestudio.outputs.write_output_file``, which adds the
refusal to replace a file without --force).
"""

import errno
import os
import threading

import pytest

from voicestudio import files
from voicestudio.files import write_atomically
from voicestudio.model.card import ModelCard, load_card, save_card
from voicestudio.outputs import write_output_file
from voicestudio.settings import Settings, load_settings, save_settings


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_text_and_bytes_replace_the_content_whole(tmp_path):
    target = tmp_path / "out.json"
    write_atomically(target, b"x" * 100_000)
    write_atomically(target, "kort, blåbær\n")  # text is UTF-8, and a shorter file leaves nothing of the longer one
    assert target.read_bytes() == "kort, blåbær\n".encode("utf-8")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # like any new file, not mkstemp's 0600
    assert names(tmp_path) == ["out.json"]


def test_no_fixed_temp_name_two_writers_to_one_path_do_not_collide(tmp_path):
    target = tmp_path / "model.json"
    seen = []

    def rename_after_a_second_writer(tmp, path):
        seen.append(tmp.name)
        write_atomically(path, b"second")  # another writer while the first one's temp file is still there
        seen.extend(n for n in names(tmp_path) if n != "model.json")
        os.replace(tmp, path)

    write_atomically(target, b"first", rename=rename_after_a_second_writer)
    assert target.read_bytes() == b"first"  # the first writer's file, whole: its temp file was never touched
    assert seen[0].startswith(".model.json.") and seen[0].endswith(".tmp") and seen[1:] == [seen[0]]
    assert names(tmp_path) == ["model.json"]

    payloads = [bytes([65 + n]) * (20_000 + n) for n in range(8)]

    def writer(data):
        for _ in range(25):
            write_atomically(target, data)

    threads = [threading.Thread(target=writer, args=(data,)) for data in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read_bytes() in payloads and names(tmp_path) == ["model.json"]


class Unwritable:
    """Data whose write raises half way (``f.write`` takes only bytes)."""


@pytest.mark.parametrize("failure", ["data", "fsync", "rename"])
def test_a_failed_write_keeps_the_old_file_and_removes_the_temp_file(tmp_path, monkeypatch, failure):
    target = tmp_path / "settings.json"
    target.write_text("old")
    rename = None
    data = b"new"
    if failure == "data":
        data = Unwritable()
    elif failure == "fsync":
        def disk_full(fd):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "fsync", disk_full)
    else:
        def refuse(tmp, path):
            assert tmp.exists()
            raise PermissionError(errno.EACCES, "Permission denied")

        rename = refuse
    with pytest.raises((TypeError, OSError)):
        write_atomically(target, data, rename=rename)
    assert target.read_text() == "old" and names(tmp_path) == ["settings.json"]


def test_folder_is_synced_after_the_rename(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(files, "fsync_folder", lambda folder: synced.append((folder, (folder / "f").exists())))
    write_atomically(tmp_path / "f", b"1")
    assert synced == [(tmp_path, True)]


def test_output_file_without_replace_keeps_a_file_that_appeared(tmp_path):
    target = tmp_path / "labels.csv"
    write_output_file(target, "a\n", replace=False)
    with pytest.raises(FileExistsError):
        write_output_file(target, "b\n", replace=False)
    write_output_file(target, "c\n", replace=True)
    assert target.read_text() == "c\n" and names(tmp_path) == ["labels.csv"]


def test_settings_and_cards_use_it(tmp_path, monkeypatch):
    save_settings(Settings(queue="conflicts"), tmp_path / "s.json")
    save_card(ModelCard(name="old"), tmp_path / "m.json")
    calls = []
    real = files.write_atomically

    def spy(path, data, **kwargs):
        calls.append(path.name)
        real(path, data, **kwargs)

    monkeypatch.setattr("voicestudio.settings.write_atomically", spy)
    monkeypatch.setattr("voicestudio.model.card.write_atomically", spy)
    save_settings(Settings(queue="unlabelled"), tmp_path / "s.json")
    save_card(ModelCard(name="new"), tmp_path / "m.json")
    assert calls == ["s.json", "m.json"]
    assert load_settings(tmp_path / "s.json").queue == "unlabelled" and load_card(tmp_path / "m.json").name == "new"
    assert names(tmp_path) == ["m.json", "s.json"]
