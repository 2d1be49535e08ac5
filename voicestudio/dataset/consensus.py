"""Which label counts for a clip when several annotators labelled it.

A clip's votes are each annotator's current label, ``{annotator: (event id,
value)}`` (the ``ClipTable.votes`` form). The rules:

- ``latest``: the most recent label of anyone (what the window shows);
- ``majority``: the value most annotators chose; a tie gives no label;
- ``unanimous``: the value every annotator chose; any difference gives none.

``annotator`` restricts the votes to one person first. Unsure counts as a
vote like any other, and a clip whose resolved label is unsure is left out
unless ``include_unsure``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

CONSENSUS_RULES = ("latest", "majority", "unanimous")

Votes = dict[str, tuple[int, str]]


@dataclass(frozen=True)
class Consensus:
    rule: str = "latest"
    annotator: str | None = None
    include_unsure: bool = False

    def __post_init__(self):
        if self.rule not in CONSENSUS_RULES:
            raise ValueError(f"consensus must be one of {', '.join(CONSENSUS_RULES)}, not {self.rule!r}")

    def resolve(self, votes: Votes) -> str | None:
        """The clip's label under this rule, or None (no label, a tie, or unsure left out)."""
        if self.annotator is not None:
            votes = {self.annotator: votes[self.annotator]} if self.annotator in votes else {}
        if not votes:
            return None
        if self.rule == "latest":
            value = max(votes.values())[1]
        else:
            counts = Counter(value for _, value in votes.values()).most_common()
            if self.rule == "unanimous":
                value = counts[0][0] if len(counts) == 1 else None
            else:
                value = counts[0][0] if len(counts) == 1 or counts[0][1] > counts[1][1] else None
        if value == "unsure" and not self.include_unsure:
            return None
        return value

    def describe(self) -> str:
        """In words, for reports and dataset cards."""
        if self.annotator:
            text = f"{self.annotator}'s label"
        else:
            text = {"latest": "most recent label of any annotator",
                    "majority": "label most annotators chose (ties left out)",
                    "unanimous": "label every annotator chose (any difference left out)"}[self.rule]
        return text + ("; unsure clips included" if self.include_unsure else "; unsure clips left out")


def consensus_codes(table, consensus: Consensus) -> np.ndarray:
    """Per row of a ``ClipTable``: the label code the rule gives (NO_LABEL where none)."""
    from voicestudio.dataset.cliptable import CODES, NO_LABEL, UNSURE

    if consensus == Consensus("latest", None, True):
        return table.label.copy()  # the table's own column already is this rule
    if consensus == Consensus():
        codes = table.label.copy()
        codes[codes == UNSURE] = NO_LABEL
        return codes
    codes = np.full(len(table), NO_LABEL, np.int8)
    for row, votes in table.votes.items():
        codes[row] = CODES[consensus.resolve(votes)]
    return codes
