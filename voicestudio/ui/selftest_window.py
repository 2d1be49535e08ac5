"""The selftest's window step: the real main window, offscreen, each view drawn once."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QTimer

WAIT_MS = 60000


def _wait(signal, ready, what: str) -> None:
    """Run the event loop until ``ready()``, re-checked whenever ``signal`` fires; RuntimeError after WAIT_MS."""
    if ready():
        return
    loop = QEventLoop()

    def check(*_) -> None:
        if ready():
            loop.quit()

    signal.connect(check)
    QTimer.singleShot(WAIT_MS, loop.quit)
    loop.exec()
    signal.disconnect(check)
    if not ready():
        raise RuntimeError(f"{what} did not happen within {WAIT_MS // 1000} s")


def _check_drawn(widget, name: str, folder: Path) -> None:
    image = widget.grab().toImage()
    if image.isNull() or image.width() < 50 or image.height() < 50:
        raise RuntimeError(f"the {name} drew nothing")
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    if len(colours) < 3:
        raise RuntimeError(f"the {name} is blank")
    image.save(str(folder / f"{name.replace(' ', '-')}.png"))


def render_views(project_path: Path, workdir: Path) -> str:
    from voicestudio.settings import Settings
    from voicestudio.ui.app import make_app
    from voicestudio.ui.main_window import MainWindow

    # Window state goes to the temporary folder, not the user's settings.
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(workdir))
    app = make_app()
    window = MainWindow(Settings(annotator="selftest", queue="all"), settings_file=workdir / "settings.json")
    window.resize(1280, 800)
    window.show()
    try:
        window.open_project(str(project_path))
        _wait(window.clip_shown, lambda: window.clips.loaded is not None, "drawing the first clip")
        views = window.views
        _wait(window.clip_shown, lambda: views.spec_image.image is not None and views.mfcc_image.image is not None,
              "drawing the spectrogram and MFCC")
        if views.wave_curve.getData()[0] is None and views.envelope_curve.getData()[0] is None:
            raise RuntimeError("the waveform view has no data")
        _check_drawn(views.graphics, "clip views", workdir)
        for dock in (window.label_dock, window.audit_dock, window.model_dock, window.devices_dock):
            dock.raise_()
            app.processEvents()
            _check_drawn(dock.widget(), f"{dock.windowTitle()} panel", workdir)
        drawn = "waveform, spectrogram, MFCC and prediction; label, audit, model and devices panels"
    finally:
        window.close()
        app.processEvents()
    return drawn
