"""Models: the interpreter loader (runtime), the model card, the detector, inspect, convert, train.

Rules:
- May import ``audio``, ``store`` (convert reads the project's clips) and the shared helpers
  (``errors``, ``files``, ``metrics``, ``splits``, ``progress``, ``resources``, ``terminal``);
  never ``dataset``, ``device`` or Qt. ``dataset`` imports ``model``, not back (tests/test_layers.py).
- ``train`` and ``convert`` never import each other: what they share lives below both
  (``windows``: a clip's window images; ``quantize``: the converter set-up).
- TensorFlow is imported only inside functions (the ``train`` extra).
"""
