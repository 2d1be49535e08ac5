"""The time axis under the views: clock time (m:ss.s, h:mm:ss) instead of pyqtgraph's SI
prefixes, which read "1.84 ks" for half an hour into a recording."""

from __future__ import annotations

import pyqtgraph as pg

from voicestudio.dataset.cliptable import clock_text


def clock(seconds: float, spacing: float) -> str:
    """``seconds`` as a tick label, with as many decimals as ``spacing`` between ticks needs.

    Under a minute: plain seconds ("12.5"); under an hour: "m:ss(.s)"; beyond: "h:mm:ss(.s)".
    """
    decimals = next((d for d in range(4) if abs(spacing * 10**d - round(spacing * 10**d)) < 1e-6 * 10**d), 3)
    sign, rounded = "-" if seconds < 0 else "", round(abs(seconds), decimals)
    return sign + (f"{rounded:.{decimals}f}" if rounded < 60 else clock_text(rounded, decimals))


class TimeAxis(pg.AxisItem):
    def __init__(self, **kwargs):
        super().__init__("bottom", **kwargs)
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values, scale, spacing):
        return [clock(value * scale, spacing * scale) for value in values]
