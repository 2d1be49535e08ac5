"""Datasets: importing audio into a project, scoring it, labels from outside the window, reports, the demo project."""
