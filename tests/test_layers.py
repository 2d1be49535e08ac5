"""Layering: the core never imports Qt (it must run and be tested without a display); model never imports dataset."""

import ast
import pathlib
import subprocess
import sys

import voicestudio

CORE = ("audio", "model", "store", "dataset", "device")
FORBIDDEN = ("PySide6", "pyqtgraph", "voicestudio.ui", "shiboken6")
ROOT = pathlib.Path(voicestudio.__file__).parent


def core_modules():
    for package in CORE:
        yield from sorted((ROOT / package).rglob("*.py"))


def imported_names(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_core_sources_do_not_import_qt():
    offenders = [
        f"{path.relative_to(ROOT.parent)} imports {name}"
        for path in core_modules()
        if path.exists()
        for name in imported_names(path)
        if name.split(".")[0] in FORBIDDEN or name.startswith("voicestudio.ui")
    ]
    assert offenders == []


def command_modules() -> list[str]:
    return [".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
            for path in sorted((ROOT / "commands").glob("*.py"))]


# The only edges from the command line to the window's package: `gui` opens the window,
# `stats --plots` and `compare --plots` render the audit plots offscreen. All are imported inside the handler.
COMMANDS_TO_UI = {("commands/gui.py", "voicestudio.ui.app"), ("commands/stats.py", "voicestudio.ui.audit_plots"),
                  ("commands/compare.py", "voicestudio.ui.audit_plots")}


def test_commands_reach_the_ui_only_through_the_declared_edges():
    sources = [ROOT / "cli.py", *sorted((ROOT / "commands").glob("*.py"))]
    edges = {(str(path.relative_to(ROOT)), name) for path in sources for name in imported_names(path)
             if name.split(".")[0] in FORBIDDEN or name.startswith("voicestudio.ui")}
    assert edges == COMMANDS_TO_UI
    # No import by name behind this test's back: only the command table imports by name, and only commands.
    by_name = [str(path.relative_to(ROOT)) for path in sources if "importlib" in set(imported_names(path))]
    assert by_name == ["commands/__init__.py"]
    from voicestudio.commands import COMMANDS

    tables = [COMMANDS, *(getattr(info.load(), "ACTIONS", {}) for info in COMMANDS.values())]
    assert all(info.module.startswith("voicestudio.commands.") for table in tables for info in table.values())


def test_core_imports_with_qt_unavailable():
    """Import every core module in a process where Qt cannot be imported at all."""
    modules = [
        ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        for path in core_modules()
        if path.name != "__init__.py" and "migrations" not in path.parts
    ] + ["voicestudio.cli"] + command_modules()  # the window and the plots only inside `gui` and `stats --plots`
    code = (
        "import sys\n"
        "for name in ('PySide6', 'pyqtgraph', 'shiboken6'): sys.modules[name] = None\n"
        f"import importlib\nfor m in {modules!r}: importlib.import_module(m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def imports_of(path) -> set[str]:
    """Every module ``path`` imports, inside functions too; ``from voicestudio import x`` counts as ``voicestudio.x``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_model_never_imports_dataset():
    """``dataset`` may use ``model`` (scoring, the demo, the workspace), never the other way round."""
    offenders = [f"{path.relative_to(ROOT.parent)} imports {name}"
                 for path in sorted((ROOT / "model").rglob("*.py"))
                 for name in sorted(imports_of(path))
                 if name == "voicestudio.dataset" or name.startswith("voicestudio.dataset.")]
    assert offenders == []


def test_train_and_convert_do_not_import_each_other():
    """What they share (window images, converter set-up) lives below both: ``model.windows``, ``model.quantize``."""
    def reaches(importer: str, module: str) -> list[str]:
        return [name for name in imports_of(ROOT / "model" / f"{importer}.py")
                if name == f"voicestudio.model.{module}" or name.startswith(f"voicestudio.model.{module}.")]

    assert reaches("train", "convert") == []
    assert reaches("convert", "train") == []
