"""Draw VoiceStudio's icon and write it as PNG, Windows .ico and macOS .icns.

Run: python packaging/make_icons.py   (writes resources/icons/)

The icon is drawn with Qt (a waveform over a spectrogram-coloured tile), so there is no
binary source to keep. .ico and .icns both accept PNG-compressed images, which is what
is written: a 6-byte ICONDIR plus 16-byte entries, and 'icns' + per-size 'icNN' chunks.
"""

from __future__ import annotations

import math
import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QGuiApplication, QImage, QLinearGradient, QPainter, QPainterPath, QPen  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "resources" / "icons"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_TYPES = {b"icp4": 16, b"icp5": 32, b"icp6": 64, b"ic07": 128, b"ic08": 256, b"ic09": 512, b"ic10": 1024}


def draw(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    tile = QRectF(size * 0.04, size * 0.04, size * 0.92, size * 0.92)
    gradient = QLinearGradient(tile.topLeft(), tile.bottomLeft())
    gradient.setColorAt(0.0, QColor("#2b1055"))
    gradient.setColorAt(0.55, QColor("#7b2d8e"))
    gradient.setColorAt(1.0, QColor("#f28c28"))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(gradient)
    p.drawRoundedRect(tile, size * 0.2, size * 0.2)
    # A voice-like waveform: a carrier under a syllable-shaped envelope.
    path = QPainterPath()
    left, right, middle = tile.left() + size * 0.1, tile.right() - size * 0.1, tile.center().y()
    steps = 240
    for i in range(steps + 1):
        t = i / steps
        envelope = math.sin(math.pi * t) ** 1.5 * (0.55 + 0.45 * math.sin(3 * math.pi * t) ** 2)
        y = middle - envelope * size * 0.3 * math.sin(2 * math.pi * 9 * t)
        point = QPointF(left + t * (right - left), y)
        path.moveTo(point) if i == 0 else path.lineTo(point)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(QPen(QColor("#e8f4ff"), max(1.0, size * 0.045), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                  Qt.PenJoinStyle.RoundJoin))
    p.drawPath(path)
    p.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data)


def ico(sizes=ICO_SIZES) -> bytes:
    images = [png_bytes(draw(s)) for s in sizes]
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries, blobs = b"", b""
    for s, blob in zip(sizes, images):
        entries += struct.pack("<BBBBHHII", s % 256, s % 256, 0, 0, 1, 32, len(blob), offset + len(blobs))
        blobs += blob
    return header + entries + blobs


def icns() -> bytes:
    chunks = b"".join(kind + struct.pack(">I", 8 + len(blob)) + blob
                      for kind, blob in ((k, png_bytes(draw(s))) for k, s in ICNS_TYPES.items()))
    return b"icns" + struct.pack(">I", 8 + len(chunks)) + chunks


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (QImage text needs it)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "voicestudio.png").write_bytes(png_bytes(draw(256)))
    (OUT / "voicestudio.ico").write_bytes(ico())
    (OUT / "voicestudio.icns").write_bytes(icns())
    print(f"wrote voicestudio.png, .ico and .icns in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
