"""Splits: every group in one split, label shares kept in each, the same for the same seed."""

from collections import Counter

import pytest

from voicestudio.dataset.consensus import Consensus
from voicestudio.dataset.safenames import safe_stem, unique_names
from voicestudio.splits import assign_splits, parse_fractions


def corpus(n_groups=60, seed=0):
    """Recordings of 1-12 clips; a third human, some recordings with both labels."""
    import random

    rng = random.Random(seed)
    labels, groups = [], []
    for g in range(n_groups):
        for _ in range(rng.randint(1, 12)):
            human = (g % 3 == 0) if rng.random() < 0.9 else (g % 3 != 0)
            labels.append("human" if human else "nonhuman")
            groups.append(f"/audio/rec{g}.wav")
    return labels, groups


def test_groups_never_span_splits_and_labels_are_stratified():
    labels, groups = corpus()
    splits = assign_splits(labels, groups, (0.7, 0.15, 0.15), seed=1)
    split_of = {}
    for group, split in zip(groups, splits):
        assert split_of.setdefault(group, split) == split
    total = Counter(labels)
    for split, share in (("train", 0.7), ("val", 0.15), ("test", 0.15)):
        for label in total:
            got = sum(1 for l, s in zip(labels, splits) if l == label and s == split)
            assert got == pytest.approx(share * total[label], abs=max(6, 0.05 * total[label])), (split, label)


def test_same_seed_same_split_other_seed_other_split():
    labels, groups = corpus()
    first = assign_splits(labels, groups, (0.8, 0.1, 0.1), seed=4)
    assert assign_splits(labels, groups, (0.8, 0.1, 0.1), seed=4) == first
    assert assign_splits(labels, groups, (0.8, 0.1, 0.1), seed=5) != first
    # Order of the items does not matter, only who they are.
    order = sorted(range(len(labels)), key=lambda i: groups[i][::-1])
    shuffled = assign_splits([labels[i] for i in order], [groups[i] for i in order], (0.8, 0.1, 0.1), seed=4)
    assert [shuffled[order.index(i)] for i in range(len(labels))] == first


def test_small_sets_still_give_every_split_both_classes():
    labels = ["human"] * 4 + ["nonhuman"] * 4
    splits = assign_splits(labels, [f"g{i}" for i in range(8)], (0.8, 0.1, 0.1), seed=0)
    for split in ("train", "val", "test"):
        assert {l for l, s in zip(labels, splits) if s == split} == {"human", "nonhuman"}


def test_zero_fractions_and_ungrouped():
    labels = ["human", "nonhuman"] * 10
    splits = assign_splits(labels, [str(i) for i in range(20)], (0.5, 0.5, 0.0), seed=0)
    assert Counter(splits) == {"train": 10, "val": 10}


@pytest.mark.parametrize("text, expected", [("0.8,0.1,0.1", (0.8, 0.1, 0.1)), ("80,10,10", (0.8, 0.1, 0.1)),
                                            ("0.9,0.1", (0.9, 0.1, 0.0)), ("1", (1.0, 0.0, 0.0))])
def test_parse_fractions(text, expected):
    assert parse_fractions(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["0.8,0.3", "a,b", "0,1", "-0.1,1.1", "0.5,0.2,0.2,0.1"])
def test_bad_fractions_are_refused(text):
    with pytest.raises(ValueError):
        parse_fractions(text)


def votes(*pairs):
    return {who: (i, value) for i, (who, value) in enumerate(pairs)}


@pytest.mark.parametrize("rule, clip, expected", [
    ("latest", votes(("a", "human"), ("b", "nonhuman")), "nonhuman"),
    ("majority", votes(("a", "human"), ("b", "nonhuman"), ("c", "human")), "human"),
    ("majority", votes(("a", "human"), ("b", "nonhuman")), None),  # a tie
    ("majority", votes(("a", "human"), ("b", "unsure"), ("c", "unsure")), None),  # unsure wins, left out
    ("unanimous", votes(("a", "human"), ("b", "human")), "human"),
    ("unanimous", votes(("a", "human"), ("b", "unsure")), None),
    ("latest", votes(("a", "human"), ("b", "unsure")), None),
    ("latest", {}, None),
])
def test_consensus_rules(rule, clip, expected):
    assert Consensus(rule).resolve(clip) == expected


def test_consensus_of_one_annotator_and_with_unsure():
    clip = votes(("a", "human"), ("b", "unsure"))
    assert Consensus("latest", annotator="a").resolve(clip) == "human"
    assert Consensus("latest", annotator="z").resolve(clip) is None
    assert Consensus("latest", include_unsure=True).resolve(clip) == "unsure"
    with pytest.raises(ValueError):
        Consensus("mean")


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "etc_passwd"), ("a/b\\c", "a_b_c"), ("..", "clip"), ("", "clip"), (" . ", "clip"),
    ("CON", "_CON"), ("nul.tar", "_nul.tar"), ("voix d'été", "voix_d_été"), ("x\x00y\n", "x_y"),
    ("a:b*c?d\"e<f>g|h", "a_b_c_d_e_f_g_h"), (".hidden", "hidden"),
])
def test_safe_stem(name, expected):
    assert safe_stem(name) == expected


def test_safe_stem_limits_bytes_not_characters():
    stem = safe_stem("é" * 500)
    assert len(stem.encode()) <= 120 and set(stem) == {"é"}


def test_unique_names_ignore_case():
    assert unique_names(["a", "A", "a", "b", "a-2"]) == ["a", "A-2", "a-3", "b", "a-2-2"]
