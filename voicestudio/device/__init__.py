"""Devices: transports (adb, ssh), checks and on-device benchmarks, parsers of their output.

Rules:
- May import ``model`` (check and inspect a model, read its card), ``store`` (the device registry
  and its runs) and the shared helpers; never ``dataset``, ``audio`` or Qt (tests/test_layers.py checks Qt).
- Every remote call has a timeout and quotes what reaches a remote shell; an unknown SSH host
  key is never accepted silently; every benchmark run keeps its raw log, failed ones too.
"""
