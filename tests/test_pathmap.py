"""Path prefix maps: one shared project, its audio in a different place on each machine."""

import pytest

from voicestudio import pathmap
from voicestudio.pathmap import PathMap
from voicestudio.settings import Settings, save_settings, settings_path


def test_prefixes_map_both_ways_on_whole_components():
    m = PathMap.parse("/mnt/team=/Volumes/team; /mnt/team/archive = /Volumes/archive\n")
    assert m.local("/mnt/team/audio/x.wav") == "/Volumes/team/audio/x.wav"
    assert m.local("/mnt/team/archive/2019/y.wav") == "/Volumes/archive/2019/y.wav"  # the longest prefix wins
    assert m.local("/mnt/teammate/z.wav") == "/mnt/teammate/z.wav"  # not a component match
    assert m.local("/elsewhere/a.wav") == "/elsewhere/a.wav"
    assert m.stored("/Volumes/team/audio/x.wav") == "/mnt/team/audio/x.wav"
    assert m.stored(m.local("/mnt/team/é t/ü.wav")) == "/mnt/team/é t/ü.wav"


def test_windows_drives_and_separators():
    m = PathMap.parse("/mnt/team/audio=Z:\\audio")
    assert m.local("/mnt/team/audio/day 1/x.wav") == "Z:\\audio\\day 1\\x.wav"
    assert m.stored("Z:\\audio\\day 1\\x.wav") == "/mnt/team/audio/day 1/x.wav"


@pytest.mark.parametrize("text", ["/mnt/team", "=/x", "/x=", "a=b;=c"])
def test_malformed_maps_are_refused(text):
    with pytest.raises(ValueError, match="STORED_PREFIX=LOCAL_PREFIX"):
        PathMap.parse(text)


def test_the_active_map_comes_from_the_environment_then_the_settings(monkeypatch):
    monkeypatch.setattr(pathmap, "_active", None)
    monkeypatch.delenv(pathmap.ENV_VAR, raising=False)
    assert not pathmap.active()
    pathmap.use(None)
    save_settings(Settings(path_map="/srv/a=/home/me/a"), settings_path())
    assert pathmap.active().local("/srv/a/x.wav") == "/home/me/a/x.wav"
    pathmap.use(None)
    monkeypatch.setenv(pathmap.ENV_VAR, "/srv/a=/data/a")
    assert pathmap.active().local("/srv/a/x.wav") == "/data/a/x.wav"
    pathmap.use(None)
