"""A minimal grayscale PNG writer (zlib + struct), so the core needs no imaging library."""

from __future__ import annotations

import struct
import zlib

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def gray_png(pixels: np.ndarray) -> bytes:
    """An 8-bit grayscale PNG of a (height, width) uint8 array."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim != 2 or not pixels.size:
        raise ValueError(f"a grayscale image needs a non-empty 2-D array, not shape {pixels.shape}")
    height, width = pixels.shape
    rows = np.hstack([np.zeros((height, 1), np.uint8), pixels])  # filter type 0 before each row
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + _chunk(b"IEND", b""))


def scaled_to_bytes(values: np.ndarray) -> np.ndarray:
    """Linear map of the array's own range onto 0..255 (a flat array becomes mid-grey)."""
    values = np.asarray(values, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-12:
        return np.full(values.shape, 128, np.uint8)
    return np.round((values - low) / (high - low) * 255).astype(np.uint8)
