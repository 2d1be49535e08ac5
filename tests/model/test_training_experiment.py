"""training/experiment.py: the cached windows train exactly the model train_default.py's path trains."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_train import tiny_set
from voicestudio.model.card import CLIP_SCORES
from voicestudio.model.detector import Detector
from voicestudio.errors import VoiceStudioError
from voicestudio.model.train import LabelledFile, TrainConfig, WindowSet, split_training_files, window_weights

REPO = Path(__file__).resolve().parents[2]


def test_group_balance_weighs_small_groups_up_and_keeps_the_classes_even():
    files = [LabelledFile(Path(f"{g}.wav"), label, g) for g, label in
             (("big", "human"), ("small", "human"), ("noise", "nonhuman"))]
    file_index = np.array([0] * 90 + [1] * 10 + [2] * 20)
    labels = np.array([1] * 100 + [0] * 20)
    windows = WindowSet(np.zeros((120, 1, 1), np.float32), labels, file_index, files)

    plain = window_weights(windows, 0.0)
    assert np.allclose(plain[labels == 1].sum(), plain[labels == 0].sum())  # as class_weight did
    assert np.allclose(plain[:100], plain[0])  # every human window alike

    balanced = window_weights(windows, 1.0)
    assert np.isclose(balanced[:90].sum(), balanced[90:100].sum())  # each group the same share
    assert np.isclose(balanced[labels == 1].sum(), balanced[labels == 0].sum())
    assert np.isclose(balanced.sum(), len(labels))

    half = window_weights(windows, 0.5)
    assert half[90] / half[0] == pytest.approx(3.0)  # sqrt(90 / 10)


def test_train_groups_go_to_training_and_never_move_another_group():
    def clips(groups):
        return [LabelledFile(Path(f"{label}/{g}/{i}.wav"), label, f"{label}-{g}") for label in ("human", "nonhuman")
                for g in groups for i in range(3)]

    files = clips(range(12))
    drawn = {f.path: f.split for f in split_training_files(files, TrainConfig())}
    held_out = sorted({f.group for f in files if drawn[f.path] != "train"})
    assert held_out
    # A group pinned to training leaves the draw: the others get the split they would have without it.
    pinned = split_training_files(files, TrainConfig(train_groups=(held_out[0],)))
    without = {f.path: f.split for f in split_training_files([f for f in files if f.group != held_out[0]],
                                                             TrainConfig())}
    assert {f.path: f.split for f in pinned} == {**without, **{f.path: "train" for f in files
                                                              if f.group == held_out[0]}}
    # New sources added and pinned to training leave every old group where it was.
    new_groups = tuple(f"{label}-{g}" for label in ("human", "nonhuman") for g in (12, 13, 14))
    grown = split_training_files(clips(range(15)), TrainConfig(train_groups=new_groups))
    for f in grown:
        assert f.split == drawn.get(f.path, "train")
    with pytest.raises(VoiceStudioError, match="no source group named human-typo"):
        split_training_files(files, TrainConfig(train_groups=("human-typo",)))
    # Data already split on disk keeps its split; pinning a group there would be ignored, so it is refused.
    presplit = [LabelledFile(f.path, f.label, f.group, drawn[f.path]) for f in files]
    assert split_training_files(presplit, TrainConfig()) == presplit
    with pytest.raises(VoiceStudioError, match="already split into train/val/test"):
        split_training_files(presplit, TrainConfig(train_groups=(held_out[0],)))


@pytest.mark.slow
def test_cached_windows_train_the_same_model_as_the_uncached_path(tmp_path):
    corpus = tiny_set(tmp_path / "corpus", per_class=16)
    script = REPO / "training" / "experiment.py"
    settings = ["--augment-copies", "1", "--seed", "2"]
    cache = tmp_path / "cache.npz"
    subprocess.run([sys.executable, str(script), "prepare", "--corpus", str(corpus), "--out", str(cache), *settings],
                   check=True, cwd=REPO, capture_output=True)
    cached = tmp_path / "cached" / "models" / "voice-detector.tflite"
    subprocess.run([sys.executable, str(script), "train", str(cache), "--corpus", str(corpus), "--out", str(cached),
                    "--epochs", "2", "--batch-size", "16", *settings], check=True, cwd=REPO, capture_output=True)

    sys.path.insert(0, str(REPO / "training"))
    from robust_graph import train_robust

    direct = tmp_path / "direct" / "voice-detector.tflite"
    config = TrainConfig(epochs=2, seed=2, augment_copies=1, group_balance=0.5, batch_size=16, learning_rate=4e-3)
    train_robust(corpus, direct, config, name="voice-detector")

    cards = [json.loads(p.with_suffix(".json").read_text()) for p in (cached, direct)]
    assert cards[0]["metrics"] == cards[1]["metrics"]
    assert cards[0]["clip_score"] in CLIP_SCORES and cards[0]["training"]["group_balance"] == 0.5
    assert cards[0]["metrics"]["validation"]["clip_rules"].keys() == {"max", "top2_mean"}
    clip = corpus / "human" / "speaker1" / "u1.wav"
    for name in ("voice-detector.tflite", "voice-detector-int8.tflite"):
        a, b = (Detector(p.with_name(name)).predict_file(clip) for p in (cached, direct))
        assert np.allclose(a.window_probs, b.window_probs, atol=1e-5, equal_nan=True)
    line = json.loads((tmp_path / "cached" / "experiments.jsonl").read_text().splitlines()[-1])
    assert line["settings"]["group_balance"] == 0.5 and line["clip_score"] == cards[0]["clip_score"]

    # --from-keras: the models and cards of a network trained already, without fitting again
    again = tmp_path / "again" / "models" / "voice-detector.tflite"
    subprocess.run([sys.executable, str(script), "train", str(cache), "--corpus", str(corpus), "--out", str(again),
                    "--from-keras", str(cached.with_suffix(".keras")), *settings], check=True, cwd=REPO,
                   capture_output=True)
    assert json.loads(again.with_suffix(".json").read_text())["metrics"] == cards[0]["metrics"]
    a, b = (Detector(p).predict_file(clip) for p in (cached, again))
    assert np.allclose(a.window_probs, b.window_probs, atol=1e-6, equal_nan=True)

    # several: averaged; a float .tflite comes back as its network (here the same one twice: the mean is itself)
    twice = tmp_path / "twice" / "models" / "voice-detector.tflite"
    subprocess.run([sys.executable, str(script), "train", str(cache), "--corpus", str(corpus), "--out", str(twice),
                    "--from-keras", str(cached), str(cached.with_suffix(".keras")), *settings], check=True,
                   cwd=REPO, capture_output=True)
    training = json.loads(twice.with_suffix(".json").read_text())["training"]
    assert [n["file"] for n in training["averaged"]] == ["voice-detector.tflite", "voice-detector.keras"]
    assert training["averaged"][0]["augment_copies"] == 1 and training["averaged"][1]["epochs"] == 12
    assert training["networks"] == 2
    c = Detector(twice).predict_file(clip)
    assert np.allclose(a.window_probs, c.window_probs, atol=1e-5, equal_nan=True)


@pytest.mark.slow
def test_two_networks_are_averaged_in_one_file_that_runs_everywhere_and_rebuilds_for_fine_tuning(tmp_path):
    """--networks 2: two networks trained apart (seeds 3 and 4), their mean in one .tflite; the int8 float
    front keeps old operator versions; the fine-tuning rebuild of the pair equals the file."""
    import tensorflow as tf

    from voicestudio.audio.features import FeatureSpec
    from voicestudio.audio.decode import load_audio
    from voicestudio.model.windows import clip_windows
    from voicestudio.model.from_tflite import keras_probabilities, rebuild_from_tflite
    from voicestudio.model.robust import normalisation_layer

    sys.path.insert(0, str(REPO / "training"))
    from robust_graph import operator_versions, train_robust

    corpus = tiny_set(tmp_path / "corpus", per_class=16)
    out = tmp_path / "pair" / "voice-detector.tflite"
    config = TrainConfig(epochs=2, seed=3, augment_copies=0, batch_size=16, networks=2)
    result = train_robust(corpus, out, config, name="voice-detector")
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["networks"] == 2 and len(card["training"]["epochs_run"]) == 2
    assert result.card["metrics"] == card["metrics"]

    normalisation_layer()
    pair = tf.keras.models.load_model(out.with_suffix(".keras"))
    members = [pair.get_layer("member_0"), pair.get_layer("member_1")]
    clip = corpus / "human" / "speaker1" / "u1.wav"
    detector = Detector(out, threads=1)
    images = np.concatenate([clip_windows(load_audio(p, sample_rate=16000).samples, FeatureSpec()) for p in
                             (clip, corpus / "nonhuman" / "hiss" / "n1.wav")])
    each = [keras_probabilities(m, images) for m in members]
    assert np.max(np.abs(each[0] - each[1])) > 1e-3  # two different networks...
    assert np.allclose(detector.invoke_images(images), (each[0] + each[1]) / 2, atol=1e-5)  # ...averaged

    rebuilt = rebuild_from_tflite(out, images)  # raises unless it equals the file within 1e-4
    assert len([layer for layer in rebuilt.layers if isinstance(layer, tf.keras.layers.Dense)]) == 2

    int8 = out.with_name("voice-detector-int8.tflite")
    versions, min_runtime = operator_versions(int8)
    assert min_runtime == "1.14.0" and versions["ADD"] and versions["FULLY_CONNECTED"]
    assert Detector(int8).predict_file(clip).clip_score >= 0.0



@pytest.mark.slow
def test_networks_fitted_apart_and_averaged_equal_the_networks_trained_in_one_go(tmp_path):
    """experiment.py train --networks 2 --network I, then --from-keras: the model --networks 2 writes."""
    corpus = tiny_set(tmp_path / "corpus", per_class=12)
    script = REPO / "training" / "experiment.py"
    settings = ["--corpus", str(corpus), "--augment-copies", "0", "--seed", "5"]
    cache = tmp_path / "cache.npz"
    run = [sys.executable, str(script)]
    subprocess.run([*run, "prepare", "--out", str(cache), *settings], check=True, cwd=REPO, capture_output=True)
    fit = [*run, "train", str(cache), "--epochs", "2", "--batch-size", "16", *settings]
    together = tmp_path / "together" / "models" / "voice-detector.tflite"
    subprocess.run([*fit, "--networks", "2", "--out", str(together)], check=True, cwd=REPO, capture_output=True)
    apart = tmp_path / "apart" / "models" / "voice-detector.tflite"
    for i in (0, 1):
        subprocess.run([*fit, "--networks", "2", "--network", str(i), "--out", str(apart)], check=True, cwd=REPO,
                       capture_output=True)
    networks = [str(apart.with_name(f"voice-detector-network{i}.keras")) for i in (0, 1)]
    subprocess.run([*fit, "--out", str(apart), "--from-keras", *networks], check=True, cwd=REPO, capture_output=True)

    clip = corpus / "human" / "speaker1" / "u1.wav"
    a, b = (Detector(p).predict_file(clip) for p in (together, apart))
    assert np.allclose(a.window_probs, b.window_probs, atol=1e-5, equal_nan=True)
    assert json.loads(apart.with_suffix(".json").read_text())["training"]["networks"] == 2

    refused = subprocess.run([*fit, "--networks", "2", "--network", "2", "--out", str(apart)], cwd=REPO,
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "0 <= I < N" in refused.stderr

    # FILE.tflite#I: each network taken back out of the averaged file (here in the other order) averages
    # to the same model, and the card keeps each network's recipe from the file's card
    swapped = tmp_path / "swapped" / "models" / "voice-detector.tflite"
    subprocess.run([*fit, "--out", str(swapped), "--from-keras", f"{together}#1", f"{together}#0"], check=True,
                   cwd=REPO, capture_output=True)
    c = Detector(swapped).predict_file(clip)
    assert np.allclose(a.window_probs, c.window_probs, atol=1e-5, equal_nan=True)
    averaged = json.loads(swapped.with_suffix(".json").read_text())["training"]["averaged"]
    assert [r["file"] for r in averaged] == ["voice-detector.tflite#1", "voice-detector.tflite#0"]
    refused = subprocess.run([*fit, "--out", str(swapped), "--from-keras", f"{together}#2"], cwd=REPO,
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "averages 2 network(s); there is no network #2" in refused.stderr

    # the cache remembers how its variants were made: another augmentation is refused, not mixed in
    for setting in ("--cartoon-speed", "--voice-pitch"):
        refused = subprocess.run([*fit, setting, "0.3", "--out", str(apart)], cwd=REPO, capture_output=True, text=True)
        assert refused.returncode != 0 and f"prepared with {setting} 0.0, not 0.3" in refused.stderr
    refused = subprocess.run([*fit, "--train-group", "human/speaker2", "--out", str(apart)], cwd=REPO,
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "prepared with --train-group (none), not human/speaker2" in refused.stderr

    # distillation: the pair as the teacher of one network; its targets mix the pair's scores in
    distilled = tmp_path / "distilled" / "models" / "voice-detector.tflite"
    subprocess.run([*fit, "--teacher", str(together), "--distil", "0.5", "--out", str(distilled)], check=True,
                   cwd=REPO, capture_output=True)
    card = json.loads(distilled.with_suffix(".json").read_text())
    assert card["training"]["distil"] == 0.5 and card["training"]["teacher"] == "voice-detector.tflite"
    assert Detector(distilled).predict_file(clip).clip_score >= 0.0


@pytest.mark.slow
def test_log_mel_windows_train_a_model_that_costs_what_the_mfcc_one_costs_after_its_first_layer(tmp_path):
    """--feature logmel: 40 log-mel bands, strided to the MFCC image's 20 in the first convolution, so
    every later layer is the MFCC network's; the card says what the detector must compute."""
    import tensorflow as tf

    from voicestudio.model.robust import normalisation_layer

    corpus = tiny_set(tmp_path / "corpus", per_class=12)
    script = REPO / "training" / "experiment.py"
    settings = ["--corpus", str(corpus), "--augment-copies", "0", "--seed", "1"]
    cache = tmp_path / "logmel.npz"
    run = [sys.executable, str(script)]
    subprocess.run([*run, "prepare", "--out", str(cache), "--feature", "logmel", *settings], check=True, cwd=REPO,
                   capture_output=True)
    assert np.load(cache)["train_images"].shape[1:] == (100, 40)
    out = tmp_path / "logmel" / "models" / "voice-detector.tflite"
    fit = [*run, "train", str(cache), "--epochs", "2", "--batch-size", "16", "--out", str(out), *settings]
    refused = subprocess.run(fit, cwd=REPO, capture_output=True, text=True)  # an MFCC run on log-mel windows
    assert refused.returncode != 0 and "prepared with --feature logmel, not mfcc" in refused.stderr
    refused = subprocess.run([*fit, "--spec", "n_mfcc=13"], cwd=REPO, capture_output=True, text=True)
    assert "prepared with --n-mfcc 20, not 13, --feature logmel, not mfcc" in refused.stderr
    subprocess.run([*fit, "--feature", "logmel"], check=True, cwd=REPO, capture_output=True)

    card = json.loads(out.with_suffix(".json").read_text())
    assert card["feature_spec"]["feature"] == "logmel" and card["feature_spec"]["n_mels"] == 40
    normalisation_layer()
    model = tf.keras.models.load_model(out.with_suffix(".keras"))
    first = next(layer for layer in model.layers if isinstance(layer, tf.keras.layers.Conv2D))
    assert first.strides == (2, 2) and first.output.shape[1:3] == (50, 20)  # the MFCC network's map from here on
    clip = corpus / "human" / "speaker1" / "u1.wav"
    for name in ("voice-detector.tflite", "voice-detector-int8.tflite"):
        detector = Detector(out.with_name(name))
        assert detector.spec.feature == "logmel"
        assert 0.0 <= detector.predict_file(clip).clip_score <= 1.0


@pytest.mark.slow
def test_a_half_window_network_scores_both_halves_of_the_window_in_one_file_that_runs_everywhere(tmp_path):
    """--half: a 0.5 s network on each half of the 1 s window, the higher averaged with the 1 s network's
    score, in one graph: it scores as the two networks do, its int8 build keeps old operator versions and
    fails on no input, and the fine-tuning rebuild equals the file with the half network still one network."""
    import tensorflow as tf

    from voicestudio.audio.decode import load_audio
    from voicestudio.audio.features import FeatureSpec
    from voicestudio.errors import ModelError
    from voicestudio.model.from_tflite import keras_probabilities, rebuild_from_tflite
    from voicestudio.model.robust import build_robust_model, coefficient_scale, normalisation_layer
    from voicestudio.model.windows import clip_windows

    sys.path.insert(0, str(REPO / "training"))
    from robust_graph import hostile_audio, load_network, operator_versions

    corpus = tiny_set(tmp_path / "corpus", per_class=12)
    run = [sys.executable, str(REPO / "training" / "experiment.py")]
    settings = ["--corpus", str(corpus), "--augment-copies", "0", "--seed", "1"]
    halves = ["--spec", "window_s=0.5", "--spec", "window_hop_s=0.25"]
    one, half = tmp_path / "1s.npz", tmp_path / "half.npz"
    for cache, spec in ((one, []), (half, halves)):
        subprocess.run([*run, "prepare", "--out", str(cache), *spec, *settings], check=True, cwd=REPO,
                       capture_output=True)
    fit = ["--epochs", "2", "--batch-size", "16", "--networks", "1", "--network", "0"]
    subprocess.run([*run, "train", str(one), "--out", str(tmp_path / "full.tflite"), *fit, *settings],
                   check=True, cwd=REPO, capture_output=True)
    full_net, half_net = tmp_path / "full-network0.keras", tmp_path / "half-network0.keras"
    # The half network as initialised, its batch norm statistics those of the half-length windows (a few
    # steps on 24 clips leave them near their start, so every window scores alike; the graph is what is
    # tested here): its scores differ between the halves, so which one counts shows
    tf.keras.utils.set_random_seed(5)
    windows = np.load(half)["train_images"]
    network = build_robust_model(FeatureSpec(window_s=0.5, window_hop_s=0.25), 8, coefficient_scale(windows))
    for layer in network.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            layer.momentum = 0.0  # one training-mode pass sets the moving statistics to these windows'
    network(windows[..., None], training=True)
    network.save(half_net)
    images = np.concatenate([clip_windows(load_audio(p, sample_rate=16000).samples, FeatureSpec()) for p in
                             (corpus / "human" / "speaker1" / "u1.wav", corpus / "nonhuman" / "hiss" / "n1.wav",
                              corpus / "nonhuman" / "beep" / "n2.wav")])
    normalisation_layer()
    out = tmp_path / "two-scale" / "models" / "voice-detector.tflite"
    refused = subprocess.run([*run, "train", str(one), "--out", str(out), "--half", str(half_net), *settings],
                             cwd=REPO, capture_output=True, text=True)
    assert refused.returncode != 0 and "--half goes with --from-keras" in refused.stderr
    subprocess.run([*run, "train", str(one), "--out", str(out), "--from-keras", str(full_net), "--half",
                    str(half_net), *settings], check=True, cwd=REPO, capture_output=True)
    training = json.loads(out.with_suffix(".json").read_text())["training"]
    assert training["half_windows"]["file"] == half_net.name
    fitted = training["averaged"][0]  # as --network 0 wrote beside the network, not this run's settings
    assert "--network 0" in fitted["built_by"] and fitted["epochs"] == 2 and fitted["batch_size"] == 16

    networks = [tf.keras.models.load_model(p) for p in (full_net, half_net)]
    first, second = (keras_probabilities(networks[1], part) for part in (images[:, :50], images[:, 50:]))
    assert np.max(np.abs(first - second)) > 1e-2  # the halves score apart...
    expected = (keras_probabilities(networks[0], images) + np.maximum(first, second)) / 2
    assert np.allclose(Detector(out, threads=1).invoke_images(images), expected, atol=1e-5)  # ...the higher counts

    int8 = out.with_name("voice-detector-int8.tflite")
    versions, min_runtime = operator_versions(int8)
    assert min_runtime == "1.14.0" and versions["STRIDED_SLICE"] == [1] and versions["MAXIMUM"]  # slice in float
    detector = Detector(int8, threads=1)
    for name, audio in hostile_audio().items():
        probabilities = detector.invoke_images(clip_windows(audio, FeatureSpec()))
        assert np.all(np.isfinite(probabilities)) and np.all((0 <= probabilities) & (probabilities <= 1)), name

    rebuilt = rebuild_from_tflite(out, images)  # raises unless it equals the file within 1e-4
    heads = [layer for layer in rebuilt.layers if isinstance(layer, tf.keras.layers.Dense)]
    assert len(heads) == 2  # the half network once, called on both halves
    assert rebuilt.count_params() < sum(n.count_params() for n in networks)  # batch norm folded, nothing doubled
    assert np.allclose(keras_probabilities(load_network(Path(f"{out}#0"), images), images),
                       keras_probabilities(networks[0], images), atol=1e-4)
    with pytest.raises(ModelError, match="half of the window"):
        load_network(Path(f"{out}#1"), images)


def test_distillation_targets_mix_the_teachers_scores_with_the_labels():
    from voicestudio.errors import VoiceStudioError
    from voicestudio.model.train import TrainingData, training_targets

    files = [LabelledFile(Path("a.wav"), "human", "a"), LabelledFile(Path("b.wav"), "nonhuman", "b")]
    windows = WindowSet(np.zeros((4, 1, 1), np.float32), np.array([1, 1, 0, 0]), np.array([0, 0, 1, 1]), files)
    data = TrainingData({}, windows, windows, None, teacher=np.array([0.9, 0.1, 0.2, 0.0], np.float32))
    assert training_targets(data, TrainConfig()).tolist() == [1, 1, 0, 0]  # no distillation: the labels
    # a human clip's silent window (the teacher's 0.1) is no longer fitted to "voice" with full weight
    assert training_targets(data, TrainConfig(distil=0.5)) == pytest.approx([0.95, 0.55, 0.1, 0.0])
    with pytest.raises(VoiceStudioError, match="teacher"):
        training_targets(TrainingData({}, windows, windows, None), TrainConfig(distil=0.5))


def test_keep_last_keeps_the_last_epochs_weights_and_the_default_the_best_validation_aucs(tmp_path):
    """TrainConfig.keep_last: a validation set of unheard sources may peak at epoch 1 (issue 16)."""
    from voicestudio.audio.features import FeatureSpec
    from voicestudio.model.train import fit_network, prepare_data

    corpus = tiny_set(tmp_path / "corpus", per_class=12)
    spec = FeatureSpec()
    for keep_last in (False, True):
        config = TrainConfig(epochs=4, batch_size=8, augment_copies=0, seed=3, learning_rate=4e-3,
                             keep_last=keep_last)
        data = prepare_data(corpus, spec, config, report=lambda *_: None)
        model, history = fit_network(data, spec, config, report=lambda *_: None)
        loss = model.evaluate(data.val.images[..., None], data.val.labels.astype(np.float32), verbose=0)[0]
        kept = len(history["val_auc"]) - 1 if keep_last else int(np.argmax(history["val_auc"]))
        assert len(set(history["val_loss"])) > 1  # the epochs' weights differ: which one was kept shows
        assert loss == pytest.approx(history["val_loss"][kept], rel=1e-4, abs=1e-5)
