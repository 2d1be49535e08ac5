"""Every window command declared once: id, text, keys, menu and when it is enabled.

The menus, the QActions with their shortcuts, the ``?`` overlay and the enabled
states are all built from ``COMMANDS``, so they can never disagree (napari's
``_qapp_model/qactions``). A command's handler is named by a dotted path from the
main window: its own methods, or a controller's (``"labels.human"``, ``"projects.refresh"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QWidget


@dataclass(frozen=True)
class WindowState:
    """What the enabled states depend on; the window rebuilds it when the project, clip or model changes."""

    has_project: bool = False
    has_clip: bool = False
    writable: bool = False  # the project file can be written (not a read-only folder)
    builtin_model: bool = False  # the installed model, whose card is never rewritten
    audio_output: bool = True


def always(state: WindowState) -> bool:
    return True


def has_project(state: WindowState) -> bool:
    return state.has_project


def has_clip(state: WindowState) -> bool:
    return state.has_project and state.has_clip


def has_writable_project(state: WindowState) -> bool:
    return state.has_project and state.writable


def can_play(state: WindowState) -> bool:
    return state.audio_output


@dataclass(frozen=True)
class Command:
    id: str
    text: str  # menu text, ``&`` marks the mnemonic; the overlay shows it without
    handler: str  # dotted attribute path from the main window to the callable
    keys: tuple[str, ...] = ()  # QKeySequence strings; the first is shown in menus
    menu: str | None = None  # the menu it sits in, None for keyboard-only
    section: str = ""  # a separator goes between sections of one menu
    enabled_when: Callable[[WindowState], bool] = always
    button_text: str | None = None  # shorter text for a tool button (the label panel's)
    checkable: bool = False

    @property
    def plain_text(self) -> str:
        return self.text.replace("&&", "\0").replace("&", "").replace("\0", "&")


MENUS = ("File", "Label", "View", "Model", "Help")

COMMANDS = (
    Command("new_project", "&New project…", "projects.choose_new", ("Ctrl+Shift+N",), "File", "project"),
    Command("open_project", "&Open project…", "projects.choose", ("Ctrl+O",), "File", "project"),
    Command("import_files", "&Import files…", "projects.choose_import_files", ("Ctrl+I",), "File", "import",
            has_writable_project),
    Command("import_folder", "Import a &folder…", "projects.choose_import_folder", (), "File", "import",
            has_writable_project),
    Command("import_labels", "Import &labels (CSV, Label Studio)…", "projects.choose_import_labels", (), "File", "import",
            has_writable_project),
    Command("export", "&Export the labelled set…", "projects.choose_export", ("Ctrl+E",), "File", "export", has_project),
    Command("export_labels", "Export la&bels (CSV, Label Studio)…", "projects.choose_export_labels", (), "File", "export",
            has_project),
    Command("path_map", "&Audio locations on this machine…", "projects.choose_path_map", (), "File", "repair"),
    Command("check_project", "C&heck the project…", "repair.choose_check", (), "File", "repair"),
    Command("recover_project", "Recover a dama&ged project…", "repair.choose_recover", (), "File", "repair"),
    Command("quit", "&Quit", "close", ("Ctrl+Q",), "File", "quit"),

    Command("label_human", "Label &human", "labels.human", ("H",), "Label", "label", has_clip, "Human (H)"),
    Command("label_nonhuman", "Label &non-human", "labels.nonhuman", ("N",), "Label", "label", has_clip,
            "Non-human (N)"),
    Command("label_unsure", "Label &unsure", "labels.unsure", ("U",), "Label", "label", has_clip, "Unsure (U)"),
    Command("undo_label", "Und&o your last label (a new event)", "labels.undo", ("Z", "Ctrl+Z"), "Label", "label",
            has_project, "Undo (Z)"),
    Command("redo_label", "&Redo what the last undo took back", "labels.redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Label",
            "label", has_project),
    Command("edit_note", "Write a no&te for the next label", "labels.edit_note", ("E",), "Label", "label", has_project),
    Command("next_clip", "Ne&xt clip in the queue", "next_clip", ("Right",), "Label", "move", has_project),
    Command("previous_clip", "&Previous clip", "previous_clip", ("Left",), "Label", "move", has_project),
    Command("suggest_regions", "&Suggest speech regions from the model", "regions.suggest", ("S",), "Label",
            "regions", has_clip),
    Command("next_suggestion", "Next unlabelled suggested re&gion", "regions.next_suggestion", ("J",), "Label",
            "regions", has_clip),
    Command("next_speech", "Next predicted speech region", "regions.next_speech", ("Ctrl+Right",), "Label",
            "regions", has_clip),
    Command("previous_speech", "Previous predicted speech region", "regions.previous_speech", ("Ctrl+Left",),
            "Label", "regions", has_clip),
    Command("clear_region", "&Clear your label on the region", "regions.clear", ("Delete",), "Label", "regions",
            has_clip),
    Command("auto_advance", "&Advance after labelling", "toggle_auto_advance", (), "Label", "options",
            checkable=True),

    Command("toggle_play", "&Play / pause", "toggle_play", ("Space",), "View", "listen", can_play),
    Command("toggle_region", "Select a &region (drag its edges)", "toggle_region", ("R",), "View", "listen",
            has_clip),
    Command("toggle_loop", "&Loop the region while playing", "toggle_loop", ("L",), "View", "listen",
            checkable=True),
    Command("play_faster", "Play &faster (pitch rises)", "play_faster", ("]",), "View", "listen", can_play),
    Command("play_slower", "Play &slower (pitch falls)", "play_slower", ("[",), "View", "listen", can_play),
    Command("zoom_in", "Zoom &in", "zoom_in", ("+", "="), "View", "zoom", has_clip),
    Command("zoom_out", "Zoom &out", "zoom_out", ("-",), "View", "zoom", has_clip),
    Command("zoom_fit", "Show the &whole clip", "zoom_fit", ("0",), "View", "zoom", has_clip),
    Command("pan_left", "Pan &left", "pan_left", ("Shift+Left",), "View", "zoom", has_clip),
    Command("pan_right", "Pan ri&ght", "pan_right", ("Shift+Right",), "View", "zoom", has_clip),
    Command("refresh", "&Refresh from the project", "projects.refresh", ("F5",), "View", "zoom", has_project),
    Command("spectrogram_settings", "Spectrogram se&ttings…", "clips.choose_view_settings", (), "View", "settings"),

    Command("open_model", "Open &model (.tflite)…", "models.choose", ("Ctrl+M",), "Model", "use", has_project),
    Command("builtin_model", "Use the &built-in model", "models.use_builtin", (), "Model", "use", has_project),
    Command("compare_models", "&Compare with another model…", "compare.show", (), "Model", "use", has_project),
    Command("train_model", "&Train from labels…", "training.choose", (), "Model", "train", has_writable_project),
    Command("inspect_model", "&Inspect a model…", "model_dock.raise_", ("Ctrl+Shift+M",), "Model", "look"),
    Command("inside", "Look insi&de: layers and occlusion map", "inside.show", ("Ctrl+Shift+I",), "Model", "look",
            has_clip),
    Command("devices", "Time models on &devices…", "devices_dock.raise_", ("Ctrl+Shift+D",), "Model", "device"),

    Command("show_shortcuts", "&Show or hide the shortcuts", "show_shortcuts", ("?", "F1"), "Help"),
)


def build_actions(window: QWidget, commands=COMMANDS) -> dict[str, QAction]:
    """One QAction per command, on the window so its keys work whichever panel has focus."""
    actions = {}
    for command in commands:
        action = QAction(command.text, window)
        if command.button_text:
            action.setIconText(command.button_text)
        action.setShortcuts([QKeySequence(k) for k in command.keys])
        action.setAutoRepeat(False)  # holding H must not label a run of clips
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(command.checkable)
        handler = attrgetter(command.handler)
        action.triggered.connect(lambda _=False, h=handler: h(window)())
        window.addAction(action)
        actions[command.id] = action
    return actions


def build_menus(bar: QMenuBar, actions: dict[str, QAction], commands=COMMANDS) -> dict[str, QMenu]:
    """The menu bar's menus in ``MENUS`` order, a separator between sections."""
    menus = {name: bar.addMenu(f"&{name}") for name in MENUS}
    sections: dict[str, str] = {}
    for command in commands:
        if command.menu is None:
            continue
        menu = menus[command.menu]
        if command.menu in sections and sections[command.menu] != command.section:
            menu.addSeparator()
        sections[command.menu] = command.section
        menu.addAction(actions[command.id])
    return menus


def update_enabled(actions: dict[str, QAction], state: WindowState, commands=COMMANDS) -> None:
    for command in commands:
        actions[command.id].setEnabled(command.enabled_when(state))
