"""Train/val/test splits that are stratified by label and grouped by source.

Every item belongs to a group (a recording, a folder, a speaker); a group goes
wholly to one split, so no recording is heard in training and in testing. Within
that constraint each split gets close to its share of every label.

The assignment depends only on the items' labels, their group names and the
seed: the same project and seed give the same split on any machine.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence

SPLIT_NAMES = ("train", "val", "test")


def parse_fractions(text: str) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` (train, val, test; missing ones are 0) as fractions summing to 1."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"bad split {text!r}: give train,val,test fractions such as 0.8,0.1,0.1") from None
    return check_fractions(values)


def check_fractions(values: Sequence[float]) -> tuple[float, float, float]:
    values = list(values) + [0.0] * (3 - len(values))
    if len(values) != 3 or any(v < 0 for v in values) or not values[0] > 0:
        raise ValueError(f"bad split {values}: up to three non-negative fractions, train first and above 0")
    total = sum(values)
    if abs(total - 1.0) > 1e-6:
        if abs(total - 100.0) < 1e-6:  # percentages
            values = [v / 100 for v in values]
        else:
            raise ValueError(f"split fractions must sum to 1, not {total:g}")
    return tuple(values)


def _order_key(seed: int, group: str) -> bytes:
    return hashlib.blake2b(f"{seed}\0{group}".encode(), digest_size=8).digest()


def assign_splits(labels: Sequence[str], groups: Sequence[str], fractions: Sequence[float], seed: int = 0) -> list[str]:
    """The split of each item (same order as ``labels``).

    Groups are taken in an order fixed by a hash of the seed and their name.
    First every split with a share gets one group of each label, as long as the
    label has enough groups to go round (smallest splits first, so a small test
    set is never left without one class). Then each remaining group goes to the
    split whose label counts are furthest below target, weighing each label by
    its share of the group and of the whole set.
    """
    if len(labels) != len(groups):
        raise ValueError("labels and groups must be the same length")
    fractions = check_fractions(fractions)
    open_splits = [i for i, f in enumerate(fractions) if f > 0]
    members: dict[str, Counter] = defaultdict(Counter)
    for label, group in zip(labels, groups):
        members[group][label] += 1
    totals = Counter(labels)
    target = {(s, label): fractions[s] * n for s in open_splits for label, n in totals.items()}
    filled: Counter = Counter()
    split_of: dict[str, int] = {}

    def place(group: str, split: int) -> None:
        split_of[group] = split
        for label, n in members[group].items():
            filled[split, label] += n

    order = sorted(members, key=lambda g: _order_key(seed, g))
    main_label = {g: members[g].most_common(1)[0][0] for g in order}
    for label in sorted(totals):
        candidates = [g for g in order if main_label[g] == label]
        if len(candidates) < len(open_splits):
            continue
        for split in sorted(open_splits, key=lambda s: fractions[s]):
            if not filled[split, label]:
                place(next(g for g in candidates if g not in split_of), split)

    for group in order:
        if group in split_of:
            continue
        size = sum(members[group].values())

        def need(split: int) -> float:
            return sum(n / size * (target[split, label] - filled[split, label]) / totals[label]
                       for label, n in members[group].items())

        place(group, max(open_splits, key=need))  # max keeps the first on ties: train before val
    return [SPLIT_NAMES[split_of[group]] for group in groups]
