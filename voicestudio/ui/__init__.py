"""The window: the only package that imports Qt (PySide6) and pyqtgraph.

Rules:
- Drives the same core functions the command line calls (``dataset``, ``model``, ``device``,
  ``store``); what the window needs computed belongs in the core, not here. Never imports ``commands``.
- Core work runs off the main thread through ``tasks``; a result is applied on the main thread
  only while what it was computed for is still current.
- Each action is declared once in ``actions`` (menus, shortcuts, the ``?`` overlay, enabled states)
  and handled by a controller by job (``clip_control``, ``label_control``, ``project_control``,
  ``model_control``); ``main_window`` only assembles.
- State lives in the Qt-free ``dataset.session.Session``; every change returns a ``Changes`` value
  and ``MainWindow.apply_changes`` is the one place that updates the widgets from it.
"""
