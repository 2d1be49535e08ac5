"""Audio: decode, resample, features (STFT, mel, MFCC, window images), silence, segments, what the views draw.

Rules:
- Imports nothing of VoiceStudio but the shared helpers (``errors``, ``pathmap``, ``progress``):
  no project or store, no model, no dataset, and never Qt (tests/test_layers.py checks Qt).
- Arrays and frozen dataclasses in and out; ``features`` is the one feature implementation,
  numpy/scipy only (no numba, no librosa on the runtime path). Nothing here writes a file.
- ``scan`` finds the files under folders; ``decode`` probes and reads them.
"""
