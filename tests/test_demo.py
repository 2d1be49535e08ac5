from voicestudio.dataset.demo import SAMPLES_DIR, open_or_create_demo
from voicestudio.model.detector import Detector
from voicestudio.store import clips, predictions


def test_first_start_creates_scored_demo_project(tmp_path, tiny_model):
    target = tmp_path / "default.vsproj"
    setup = open_or_create_demo(target, detector_factory=lambda: Detector(tiny_model))
    assert setup.created and not setup.imported.failures
    n_samples = len([p for p in SAMPLES_DIR.iterdir() if p.suffix in (".ogg", ".oga")])
    assert n_samples >= 12 and setup.imported.files_added == n_samples
    assert setup.scored.scored == setup.imported.clips_added
    with setup.project.session() as s:
        assert clips.count_clips(s) == setup.imported.clips_added
    setup.project.close()
    again = open_or_create_demo(target, detector_factory=lambda: Detector(tiny_model))
    assert not again.created and again.imported is None
    again.project.close()


def test_demo_clips_have_licenses():
    listed = (SAMPLES_DIR / "LICENSES.md").read_text()
    for clip in SAMPLES_DIR.iterdir():
        if clip.suffix in (".ogg", ".oga"):
            assert f"| {clip.name} |" in listed
