"""Audio files and clips."""

import pytest

from voicestudio.store import clips, labels


def test_adding_clips_is_idempotent(project, make_clips):
    first = make_clips(project)
    assert make_clips(project) == first
    with project.write() as s:
        file_id = clips.find_file_by_path(s, "/audio/f0.wav").id
        result = clips.add_clips(s, file_id, [(0.0, 1.0), (1.0, 2.0), (1.0000000001, 2.0)])
        spans = result.ids
        assert spans[0] == first[0] and spans[1] == spans[2] and result.added == 1
        assert clips.add_clips(s, file_id, [(1.0, 2.0), (0.0, 1.0)]) == clips.ClipsAdded([spans[1], spans[0]], 0)
        assert clips.add_clip(s, file_id, 1.0, 2.0) == (s.get(clips.Clip, spans[1]), False)
        with pytest.raises(ValueError, match="start < end"):
            clips.add_clip(s, file_id, 2.0, 1.0)
    with project.session() as s:
        assert clips.count_clips(s) == 4
        assert [(c.start_s, c.end_s) for c in clips.clips_for_path(s, "/audio/f0.wav")] == [(0.0, 1.0), (1.0, 2.0)]


def test_get_clip_with_its_file(project, make_clips):
    (clip,) = make_clips(project, 1)
    with project.session() as s:
        row = clips.get_clip(s, clip)
        assert (row.path, row.start_s, row.end_s, row.duration_s, row.source_group) == ("/audio/f0.wav", 0.0, 1.0, 1.0, "g")
        assert clips.get_file(s, row.file_id).sample_rate == 16000
        assert clips.get_clip(s, 999) is None


def test_files_are_found_by_hash_and_relinked(project, make_clips):
    (clip,) = make_clips(project, 1)
    with project.write() as s:
        (found,) = clips.find_files_by_sha(s, f"{0:064x}".upper())
        clips.relink_file(s, found.id, "/moved/f0.wav", mtime=2.0)
    with project.session() as s:
        row = clips.get_clip(s, clip)
        assert row.path == "/moved/f0.wav" and clips.get_file(s, row.file_id).mtime == 2.0
    with project.write() as s:
        with pytest.raises(ValueError, match="absolute"):
            clips.relink_file(s, found.id, "relative.wav")
        with pytest.raises(ValueError, match="no audio file"):
            clips.relink_file(s, 999, "/x.wav")
        with pytest.raises(ValueError, match="absolute"):
            clips.add_or_update_file(s, path="f.wav", sha256="0" * 64)
        with pytest.raises(ValueError, match="64 hex"):
            clips.add_or_update_file(s, path="/f.wav", sha256="xyz")


def test_list_and_count_with_filters(project, make_clips):
    a = make_clips(project, 2, prefix="/data/anna/a", group="anna")
    b = make_clips(project, 3, prefix="/data/bo_b/b", group="bob")
    with project.write() as s:
        labels.add_label(s, a[0], "ann", "human")
        labels.add_label(s, b[0], "ann", "human")
        labels.add_label(s, b[0], "ann", None)  # cleared: back in ann's queue
        labels.add_label(s, b[1], "bob", "nonhuman")
    with project.session() as s:
        assert [c.id for c in clips.list_clips(s)] == a + b
        assert [c.id for c in clips.list_clips(s, limit=2, offset=1)] == [a[1], b[0]]
        assert [c.id for c in clips.list_clips(s, source_group="bob")] == b
        assert [c.id for c in clips.list_clips(s, path_prefix="/data/bo_")] == b  # "_" is not a wildcard
        assert clips.count_clips(s, path_prefix="/data/bo%") == 0
        assert [c.id for c in clips.list_clips(s, unlabelled_by="ann")] == [a[1], b[0], b[1], b[2]]
        assert [c.id for c in clips.list_clips(s, unlabelled=True)] == [a[1], b[0], b[2]]
        assert clips.count_clips(s, unlabelled=True, source_group="bob") == 2
        assert clips.count_clips(s, file_id=clips.get_clip(s, a[0]).file_id) == 1
