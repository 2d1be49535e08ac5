"""The detector against real .tflite models whose output is a known function of the input."""

import threading
from dataclasses import replace

import numpy as np
import pytest

import audiofiles
import tinymodels
from voicestudio.audio.features import FeatureSpec, features, pad_to_window, silent_windows, window_images, window_starts
from voicestudio.audio.resample import resample
from voicestudio.errors import ModelError, NoModelError
from voicestudio.model.card import ModelCard, load_card
from voicestudio.model.detector import MAX_BATCH, Detector, clip_score

SR = 16000


def expected(samples, spec=FeatureSpec()):
    """Window probabilities (NaN where silent) computed with numpy from the model's definition."""
    samples = pad_to_window(samples, spec)
    frames = features(samples, spec)
    starts = window_starts(len(frames), spec)
    silent = silent_windows(samples, starts, spec)
    probs = np.full(len(starts), np.nan)
    probs[~silent] = tinymodels.expected_mean_model(window_images(frames, starts[~silent], spec))
    return probs, silent


def clip_with_silence():
    loud = audiofiles.speechlike(SR, 2.0)
    return np.concatenate([loud, np.zeros(SR * 2, np.float32), audiofiles.noise(SR, 1.3)])


def random_images(n, seed=0):
    return np.random.default_rng(seed).normal(-10, 10, (n, 100, 20)).astype(np.float32)


class CountingInterpreter:
    """Wraps an interpreter and counts re-allocations."""

    def __init__(self, inner):
        self.inner, self.allocations = inner, 0

    def allocate_tensors(self):
        self.allocations += 1
        return self.inner.allocate_tensors()

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_probabilities_are_the_models_function_of_the_features(models):
    samples = clip_with_silence()
    prediction = Detector(models["dynamic"]).predict_samples(samples, SR)
    probs, silent = expected(samples)
    assert prediction.silent.tolist() == silent.tolist() and silent.any() and not silent.all()
    np.testing.assert_allclose(prediction.window_probs[~silent], probs[~silent], rtol=1e-4)
    assert np.isnan(prediction.window_probs[silent]).all()
    assert prediction.window_probs.dtype == np.float32 and prediction.silent.dtype == bool
    assert 0.05 < np.nanmin(probs) and np.nanmax(probs) < 0.95  # the test model is not saturated
    assert prediction.clip_score == pytest.approx(np.nanmax(probs), rel=1e-4)
    assert prediction.label == ("human" if prediction.clip_score >= 0.5 else "nonhuman")
    assert prediction.n_windows == len(probs)
    assert prediction.window_starts_s[:3].tolist() == [0.0, 0.5, 1.0]


@pytest.mark.parametrize("variant", ["fixed", "fixed4", "dyntime", "nhw_softmax", "nocard"])
def test_batched_unbatched_layouts_and_defaults_agree(models, variant):
    samples = clip_with_silence()
    reference = Detector(models["dynamic"]).predict_samples(samples, SR)
    other = Detector(models[variant])
    assert other.batch_capable == (variant not in ("fixed", "fixed4"))
    np.testing.assert_allclose(other.predict_samples(samples, SR).window_probs, reference.window_probs, rtol=1e-4)


def test_model_without_card_gets_the_defaults(models):
    detector = Detector(models["nocard"])
    assert detector.card.feature_spec == FeatureSpec() and detector.card.name.endswith("defaults)")


@pytest.mark.parametrize("variant", ["dynamic", "fixed", "fixed4"])
@pytest.mark.parametrize("n", [1, 3, 64, 65, 150])
def test_any_number_of_windows(models, variant, n):
    images = random_images(n, seed=n)
    probs = Detector(models[variant]).invoke_images(images)
    assert probs.shape == (n,) and probs.dtype == np.float32
    np.testing.assert_allclose(probs, tinymodels.expected_mean_model(images), rtol=1e-4)


def test_batches_reuse_their_allocation(models):
    detector = Detector(models["dynamic"])
    spy = detector._interpreter = CountingInterpreter(detector._interpreter)
    for _ in range(3):
        detector.invoke_images(random_images(150))  # 64 + 64 + 22 padded to 64
    assert spy.allocations == 1 and detector._allocated == MAX_BATCH
    detector.invoke_images(random_images(40))  # same bucket (64): no re-allocation
    detector.invoke_images(random_images(5))  # bucket 8
    detector.invoke_images(random_images(7))
    assert spy.allocations == 2
    assert len(detector.invoke_images(np.empty((0, 100, 20), np.float32))) == 0
    with pytest.raises(ValueError, match="images must be"):
        detector.invoke_images(random_images(2)[:, :50])


def test_fixed_batch_model_is_never_resized(models):
    detector = Detector(models["fixed4"])
    spy = detector._interpreter = CountingInterpreter(detector._interpreter)
    detector.invoke_images(random_images(9))
    assert spy.allocations == 0 and not detector.batch_capable


def test_one_detector_shared_by_threads(models):
    detector = Detector(models["dynamic"])
    inputs = [random_images(n, seed=n) for n in (1, 5, 17, 64, 100, 3, 33, 2)]
    results, errors = {}, []

    def work(i):
        try:
            for _ in range(5):
                results[i] = detector.invoke_images(inputs[i])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i, images in enumerate(inputs):
        np.testing.assert_allclose(results[i], tinymodels.expected_mean_model(images), rtol=1e-4)


def test_int8_model_is_close_to_float(models):
    detector = Detector(models["int8"])
    assert np.dtype(detector._input["dtype"]) == np.int8 and np.dtype(detector._output["dtype"]) == np.int8
    samples = np.concatenate([audiofiles.speechlike(SR, 3.0), audiofiles.tone(SR, 1.0, 1000), audiofiles.noise(SR, 1.0)])
    float_probs = Detector(models["dynamic"]).predict_samples(samples, SR).window_probs
    int8_probs = detector.predict_samples(samples, SR).window_probs
    np.testing.assert_allclose(int8_probs, float_probs, atol=0.02)


def test_resampled_input_at_44100(models):
    detector = Detector(models["dynamic"])
    at_44k = audiofiles.speechlike(44100, 2.0)
    prediction = detector.predict_samples(at_44k, 44100)
    probs, silent = expected(resample(at_44k, 44100, SR))
    assert prediction.n_windows == 3 == len(probs)
    np.testing.assert_allclose(prediction.window_probs, probs, rtol=1e-4)


def test_short_clip_is_padded_to_one_window(models):
    detector = Detector(models["dynamic"])
    clip = audiofiles.tone(SR, 0.3)
    short = detector.predict_samples(clip, SR)
    assert short.n_windows == 1 and not short.silent[0]
    padded = np.zeros(SR, np.float32)
    padded[: len(clip)] = clip
    np.testing.assert_allclose(short.window_probs, expected(padded)[0], rtol=1e-4)
    empty = detector.predict_samples(np.zeros(0, np.float32), SR)
    assert empty.n_windows == 1 and empty.silent[0] and empty.clip_score == 0.0


def test_all_silent_clip_is_not_run(models):
    detector = Detector(models["dynamic"])
    spy = detector._interpreter = CountingInterpreter(detector._interpreter)
    calls = []
    spy.invoke = lambda: calls.append(1)
    quiet = detector.predict_samples(np.full(SR * 3, 1e-5, np.float32), SR)  # -100 dBFS
    assert quiet.silent.all() and np.isnan(quiet.window_probs).all() and calls == []
    assert quiet.clip_score == 0.0 and quiet.label == "nonhuman" and quiet.n_windows == 5


def test_samples_are_checked_and_integer_pcm_scaled(models):
    detector = Detector(models["dynamic"])
    clip = audiofiles.speechlike(SR, 1.5)
    as_int16 = np.round(clip * 32767).astype(np.int16)
    np.testing.assert_allclose(detector.predict_samples(as_int16, SR).window_probs,
                               detector.predict_samples(clip, SR).window_probs, rtol=1e-3)
    with pytest.raises(ValueError, match="mono"):
        detector.predict_samples(np.stack([clip, clip], axis=1), SR)
    with pytest.raises(ValueError, match="NaN"):
        detector.predict_samples(np.full(SR, np.nan, np.float32), SR)


def test_predict_file_reads_a_part(models, tmp_path):
    path = audiofiles.write(tmp_path / "a.wav", clip_with_silence(), SR)
    detector = Detector(models["dynamic"])
    whole = detector.predict_file(path)
    part = detector.predict_file(path, start_s=0.0, end_s=2.0)
    assert part.n_windows == 3 and whole.n_windows > part.n_windows
    np.testing.assert_allclose(part.window_probs[0], whole.window_probs[0], rtol=1e-4)
    assert whole.model_sha256 == detector.sha256 and len(detector.sha256) == 64


def test_clip_score_rules_and_threshold(models):
    probs = np.array([0.1, np.nan, 0.9, 0.5], np.float32)
    assert clip_score(probs, "max") == pytest.approx(0.9)
    assert clip_score(probs, "mean") == pytest.approx(0.5)
    assert clip_score(probs, "top2_mean") == pytest.approx(0.7)
    assert clip_score(np.array([0.4], np.float32), "top2_mean") == pytest.approx(0.4)
    assert clip_score(np.array([np.nan]), "max") == 0.0
    samples = audiofiles.speechlike(SR, 3.0)
    base = load_card(models["dynamic"].with_suffix(".json"))
    probs = Detector(models["dynamic"]).predict_samples(samples, SR).window_probs
    for rule in ("mean", "top2_mean"):
        card = replace(base, clip_score=rule, threshold=1.0)
        prediction = Detector(models["dynamic"], card=card).predict_samples(samples, SR)
        assert prediction.clip_score == pytest.approx(clip_score(probs, rule), rel=1e-5)
        assert prediction.label == "nonhuman" and prediction.threshold == 1.0
    low = Detector(models["dynamic"], card=replace(base, threshold=0.0)).predict_samples(samples, SR)
    assert low.label == "human"


@pytest.mark.parametrize("name,message", [
    ("wrong_shape", r"input shape \[-1, 50, 20, 1\] contradicts its card \(NHWC \[-1, 100, 20, 1\]"),
    ("two_outputs", "has 2 outputs"),
    ("two_inputs", "has 2 inputs"),
    ("int_output", "output is int32; expected float32 or quantised int8/uint8"),
    ("three_classes", "3 values per window"),
    ("per_frame", r"output shape \[1, 100, 1\] is not one row per window"),
])
def test_broken_models_are_refused_clearly(models, name, message):
    with pytest.raises(ModelError, match=message) as exc:
        Detector(models[name])
    assert str(models[name]) in str(exc.value) and "\n" not in str(exc.value)


def test_card_contradicting_the_layout_is_refused(models):
    with pytest.raises(ModelError, match=r"\[-1, 100, 20, 1\] contradicts its card \(NHW \[-1, 100, 20\]"):
        Detector(models["dynamic"], card=ModelCard(input_layout="NHW"))
    with pytest.raises(ModelError, match="contradicts its card"):
        Detector(models["dynamic"], card=ModelCard(feature_spec=FeatureSpec(n_mfcc=13)))
    with pytest.raises(ModelError, match="1 values per window but its card says softmax"):
        Detector(models["dynamic"], card=ModelCard(output="softmax"))


def test_output_that_is_not_a_probability(models):
    detector = Detector(models["logits"])  # the card says sigmoid; the model gives logits
    with pytest.raises(ModelError, match="not a probability"):
        detector.invoke_images(np.full((2, 100, 20), 100.0, np.float32))


def test_model_without_card_and_unusual_shape_is_refused(models, tmp_path):
    target = tmp_path / "odd.tflite"
    target.write_bytes(models["wrong_shape"].read_bytes())  # no card beside it
    with pytest.raises(ModelError, match=r"no model card and the input shape \[-1, 50, 20, 1\] does not fit the defaults"):
        Detector(target)
    target = tmp_path / "classes.tflite"
    target.write_bytes(models["three_classes"].read_bytes())
    with pytest.raises(ModelError, match=r"no model card and the output shape \[1, 3\] does not fit the defaults"):
        Detector(target)


def test_bad_sibling_card_names_the_card(models, tmp_path):
    target = tmp_path / "m.tflite"
    target.write_bytes(models["dynamic"].read_bytes())
    target.with_suffix(".json").write_text('{"threshold": 7}')
    with pytest.raises(ModelError, match="threshold") as exc:
        Detector(target)
    assert "m.json" in str(exc.value)


def test_no_default_model_says_so(monkeypatch, tmp_path):
    import voicestudio.model.detector as detector_module

    monkeypatch.setattr(detector_module, "DEFAULT_MODEL", tmp_path / "absent.tflite")
    with pytest.raises(NoModelError, match="built-in voice detector is not installed.*--model"):
        Detector()


def test_builds_are_deterministic(tmp_path):
    first = tinymodels.build_mean_model(tmp_path / "a")
    second = tinymodels.build_mean_model(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()


def test_long_parts_are_streamed_with_the_same_result(models, tmp_path, monkeypatch):
    import audiofiles
    from voicestudio.model import detector as detector_module

    sr = 22050  # resampled to the model's rate on the way, in blocks
    voice = audiofiles.speechlike(sr, 7.3, seed=3)
    quiet = np.zeros(int(sr * 4.1), np.float32)
    audiofiles.write(tmp_path / "long.wav", np.concatenate([voice, quiet, voice * 0.3, quiet, voice]), sr)
    d = Detector(models["dynamic"])
    whole = d.assemble(*(lambda w: (w, d.invoke_images(w.images)))(d.prepare_file(tmp_path / "long.wav", start_s=0.37)))
    monkeypatch.setattr(detector_module, "LONG_PART_S", 2.0)  # many blocks, windows across every seam
    streamed = d.predict_file(tmp_path / "long.wav", start_s=0.37)
    assert np.array_equal(streamed.window_starts_s, whole.window_starts_s)
    assert np.array_equal(streamed.silent, whole.silent) and streamed.silent.any() and not streamed.silent.all()
    np.testing.assert_allclose(streamed.window_probs, whole.window_probs, rtol=0, atol=1e-6)
    assert streamed.clip_score == pytest.approx(whole.clip_score, abs=1e-6)


# A failure stays with its clip ------------------------------------------------------------

def fragile_images(spec=FeatureSpec()):
    """Window images the fragile model takes (a tone at a normal level) and fails on (the same tone at -40 dBFS)."""
    def images(samples):
        frames = features(samples, spec)
        return window_images(frames, window_starts(len(frames), spec), spec)

    return images(audiofiles.tone(SR, 2.0, 1000, level=0.3)), images(audiofiles.tone(SR, 2.0, 1000, level=0.01))


def test_an_interpreter_failure_is_a_one_line_model_error(models):
    detector = Detector(models["fragile"])
    good, bad = fragile_images()
    for _ in range(3):  # LiteRT's reporter appends each failure to the next message: still one failure's line
        with pytest.raises(ModelError) as caught:
            detector.invoke_images(bad)
        assert caught.value.reason.count("failed to invoke") == 1 and "\n" not in caught.value.reason
        assert caught.value.reason.startswith("the model failed on this audio (") and "DIV" in caught.value.reason
    # The interpreter goes on working after a failure, with the float model's values.
    np.testing.assert_allclose(detector.invoke_images(good), tinymodels.expected_mean_model(good), atol=0.02)


def test_padding_rows_never_fail_a_batch(models):
    """A batch of 3 runs as 4: the padding row repeats a real one (all-zero int8 rows fail a DIV)."""
    good, _ = fragile_images()
    probs = Detector(models["fragile"]).invoke_images(good[:3])
    np.testing.assert_allclose(probs, tinymodels.expected_mean_model(good[:3]), atol=0.02)


def test_invoke_each_keeps_a_failure_with_its_group(models):
    detector = Detector(models["fragile"])
    good, bad = fragile_images()
    first, failed, last = detector.invoke_each([good[:2], bad, good[2:]])
    assert isinstance(failed, ModelError) and "DIV" in failed.reason
    np.testing.assert_allclose(np.concatenate([first, last]), tinymodels.expected_mean_model(good), atol=0.02)
    # All good: one pass, split back into the groups.
    together = detector.invoke_each([good[:1], good[1:]])
    assert [len(g) for g in together] == [1, len(good) - 1]
    assert detector.invoke_each([]) == []


def test_streams_says_which_parts_predict_file_streams(models, tmp_path, monkeypatch):
    from voicestudio.model import detector as detector_module

    audiofiles.write(tmp_path / "a.wav", audiofiles.tone(SR, 3.0), SR)
    d = Detector(models["dynamic"])
    monkeypatch.setattr(detector_module, "LONG_PART_S", 2.0)
    assert d.streams(tmp_path / "a.wav") and d.streams(tmp_path / "a.wav", start_s=0.5, end_s=99.0)
    assert not d.streams(tmp_path / "a.wav", start_s=1.5) and not d.streams(tmp_path / "a.wav", end_s=2.0)
    assert not d.streams(tmp_path / "missing.wav", start_s=0.0, end_s=1.0)  # known short: the file is not opened
