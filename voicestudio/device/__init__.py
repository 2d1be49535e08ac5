"""Devices: transports (adb, ssh), checks and on-device benchmarks."""
