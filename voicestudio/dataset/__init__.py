"""Datasets: importing audio into a project, scoring it, labels, clip loading, audit, export, the demo project.

Rules:
- May import ``audio``, ``model``, ``store`` and the shared helpers; never ``device``, ``commands``
  or Qt (tests/test_layers.py checks Qt). ``model`` never imports this package.
- Database writes go through ``store`` functions inside ``Project.write()``; queries here only read.
- These are the core functions both faces call: synchronous, returning their results (dataclasses,
  mostly) for the CLI to print and the window to apply on its main thread.
"""
