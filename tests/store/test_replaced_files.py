"""A file whose path came to hold other content: replaced, kept as history, relinked when found
again; only current files count. On SQLite and on a real PostgreSQL server (the partial unique
index on current paths works on both)."""

import pytest
from sqlalchemy.exc import IntegrityError

from voicestudio.dataset.cliptable import load_clip_table
from voicestudio.store import clips as clip_store
from voicestudio.store import labels as label_store
from voicestudio.store import predictions as prediction_store


def _file(session, path, sha):
    return clip_store.add_or_update_file(
        session, path=path, sha256=sha, size_bytes=100, mtime=1.0, format="WAV", subtype="PCM_16",
        sample_rate=16000, channels=1, frames=16000, duration_s=1.0, source_group="g")


def test_a_replaced_file_keeps_its_history_and_frees_its_path(project, make_clips):
    old_clip, other_clip = make_clips(project, n=2)
    with project.write() as s:
        old = clip_store.find_file_by_path(s, "/audio/f0.wav")
        label_store.add_label(s, old_clip, "ann", "human")
        model = prediction_store.register_model(s, "ab" * 32, "/m.tflite", {"name": "m"})
        prediction_store.save_prediction(s, old_clip, model.id, 0.9, 0.5, [0.0], [0.9])
        clip_store.replace_file(s, old.id)
        assert clip_store.count_labelled_clips(s, old.id) == 1
        new = _file(s, "/audio/f0.wav", "e" * 64)  # the new content at the same path
        new_clip = clip_store.add_clip(s, new.id, 0.0, 1.0)[0].id
    assert new.id != old.id and new_clip != old_clip
    with project.session() as s:
        assert [c.id for c in clip_store.list_clips(s)] == [new_clip, other_clip]
        assert clip_store.count_clips(s) == 2
        assert [c.id for c in clip_store.clips_for_path(s, "/audio/f0.wav")] == [new_clip]
        assert clip_store.find_file_by_path(s, "/audio/f0.wav").id == new.id
        assert clip_store.get_clip(s, old_clip) is None
        history = clip_store.get_clip(s, old_clip, include_replaced=True)
        assert history.replaced_at is not None and history.path == "/audio/f0.wav"
        # Kept: the label and the prediction, on the old recording's clip only.
        assert label_store.current_labels(s, "ann")[old_clip].value == "human"
        assert prediction_store.get_prediction(s, old_clip, model.id).clip_score == pytest.approx(0.9)
        assert [c.id for c in prediction_store.clips_to_score(s, model.id)] == [other_clip, new_clip]
        table = load_clip_table(s, model_id=model.id)
        assert list(table.ids) == [new_clip, other_clip] and not table.votes  # the window, queues, audit, export
    with pytest.raises(IntegrityError), project.write() as s:  # two current files at one path: the database refuses
        s.add(clip_store.AudioFile(path="/audio/f1.wav", sha256="d" * 64, size_bytes=100, mtime=1.0, format="WAV",
                                   sample_rate=16000, channels=1, frames=16000, duration_s=1.0))
        s.flush()


def test_a_replaced_recording_found_again_is_current_with_its_labels(project, make_clips):
    (clip,) = make_clips(project, n=1)
    with project.write() as s:
        record = clip_store.find_file_by_path(s, "/audio/f0.wav")
        label_store.add_label(s, clip, "ann", "nonhuman")
        clip_store.replace_file(s, record.id)
        _file(s, "/audio/f0.wav", "e" * 64)
        clip_store.relink_file(s, record.id, "/audio/old/f0.wav", mtime=5.0)
    with project.session() as s:
        found = clip_store.get_clip(s, clip)
        assert (found.path, found.replaced_at, found.mtime) == ("/audio/old/f0.wav", None, 5.0)
        assert clip_store.count_clips(s) == 1  # the new content has no clip yet
        assert label_store.current_labels(s, "ann")[clip].value == "nonhuman"


def test_other_content_written_at_a_current_path_never_takes_over_its_clips(project, make_clips):
    """As when another program imported the path meanwhile: the row is replaced, not updated."""
    (clip,) = make_clips(project, n=1)
    with project.write() as s:
        same = _file(s, "/audio/f0.wav", f"{0:064x}")  # the same content: brought up to date
        other = _file(s, "/audio/f0.wav", "e" * 64)
    assert same.id != other.id
    with project.session() as s:
        assert clip_store.get_clip(s, clip, include_replaced=True).replaced_at is not None
        assert clip_store.find_file_by_path(s, "/audio/f0.wav").id == other.id
