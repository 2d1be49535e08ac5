"""The model panel: what is inside a model, like Netron's properties pane.

Shows ``model.inspect`` for the window's current model, or any ``.tflite`` file,
TensorFlow source or training checkpoint the user opens, as a tree (file, inputs, outputs,
operators with counts, parameters, metadata, signatures, card; a checkpoint's scopes with their
variables, moving averages and optimizer slots, and its graph). Reading runs on a worker thread.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QGridLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from voicestudio.model.checkpoint import CheckpointInspection
from voicestudio.model.inspect import TfliteInspection, human_size, inspect_model
from voicestudio.model.tf_source import shape_text


class ModelPanel(QWidget):
    inspected = Signal(object)  # the inspection now shown

    def __init__(self, tasks, current_model, parent=None):
        """``current_model()`` gives the window's model file (or None)."""
        super().__init__(parent)
        self.tasks = tasks
        self.current_model = current_model
        self.inspection = None
        self._wanted: str | None = None

        self.path_label = QLabel("no model inspected")
        self.path_label.setWordWrap(True)
        current = QPushButton("Current model")
        current.setToolTip("Inspect the model the window scores with")
        current.clicked.connect(self.inspect_current)
        open_file = QPushButton("Open…")
        open_file.setToolTip("Inspect a .tflite file, a Keras file, a frozen GraphDef or a checkpoint's .index file")
        open_file.clicked.connect(self._choose_file)
        open_folder = QPushButton("Folder…")
        open_folder.setToolTip("Inspect a SavedModel folder or a training run's checkpoint folder")
        open_folder.clicked.connect(self._choose_folder)
        self.copy_button = QPushButton("Copy as text")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(lambda: QApplication.clipboard().setText(self.inspection.text()))
        buttons = QGridLayout()  # two by two: narrow enough beside the views on a 1280-pixel screen
        for index, button in enumerate((current, open_file, open_folder, self.copy_button)):
            buttons.addWidget(button, index // 2, index % 2)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Property", "Value"])
        self.tree.setAlternatingRowColors(True)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.path_label)
        layout.addWidget(self.tree, 1)

    # Choosing ---------------------------------------------------------------------
    def inspect_current(self) -> None:
        path = self.current_model()
        if path:
            self.inspect(str(path))

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Inspect a model", str(Path.home()),
                                              "Models (*.tflite *.keras *.h5 *.pb *.index *.meta);;All files (*)")
        if path:
            self.inspect(path)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Inspect a SavedModel or checkpoint folder", str(Path.home()))
        if path:
            self.inspect(path)

    def inspect(self, path: str) -> None:
        """Read ``path`` on a worker; the newest request wins."""
        self._wanted = path
        self.copy_button.setEnabled(False)
        self.path_label.setText(f"Reading {path}…")
        self.tasks.submit(inspect_model, path, on_done=lambda found: self._show(path, found),
                          on_error=lambda exc: self._failed(path, exc))

    def _failed(self, path: str, exc) -> None:
        if path == self._wanted:
            self.path_label.setText(f"⚠ {exc}")
            self.tree.clear()
            self.copy_button.setEnabled(False)

    # Showing ------------------------------------------------------------------------
    def _show(self, path: str, found) -> None:
        if path != self._wanted:
            return  # an older request
        self.inspection = found
        self.path_label.setText(found.path)
        self.path_label.setToolTip(found.path)
        self.tree.clear()
        if isinstance(found, TfliteInspection):
            self._fill_tflite(found)
        elif isinstance(found, CheckpointInspection):
            self._fill_checkpoint(found)
        else:
            self._fill_source(found)
        self.tree.expandToDepth(0)
        self.tree.resizeColumnToContents(0)
        self.copy_button.setEnabled(True)
        self.inspected.emit(found)

    def _section(self, title: str, rows: list[tuple[str, str]]) -> QTreeWidgetItem:
        item = QTreeWidgetItem(self.tree, [title, ""])
        for key, value in rows:
            child = QTreeWidgetItem(item, [key, value])
            child.setToolTip(1, value)
        return item

    def _fill_tflite(self, m: TfliteInspection) -> None:
        self._section("File", [("size", human_size(m.size_bytes)), ("sha256", m.sha256),
                               ("format", f"TFLite schema v{m.schema_version}"), ("description", m.description),
                               ("subgraphs", str(m.subgraphs)), ("tensors", str(m.tensors)),
                               ("parameters", f"{m.parameters:,} ({human_size(m.weight_bytes)} of constants)")])
        for title, tensors in (("Inputs", m.inputs), ("Outputs", m.outputs)):
            section = self._section(title, [])
            for t in tensors:
                item = QTreeWidgetItem(section, [t.name, f"{t.dtype} {list(t.shape)}"])
                rows = [("index", str(t.index)), ("shape", str(list(t.shape))),
                        ("shape signature", str(list(t.shape_signature))), ("type", t.dtype)]
                if t.quantization is not None:
                    rows.append(("quantization", t.quantization.describe()))
                for key, value in rows:
                    QTreeWidgetItem(item, [key, value])
        self._section(f"Operators ({m.operator_total})",
                      [(op.name, f"{op.count}   (version {', '.join(map(str, op.versions))})") for op in m.operators])
        if m.metadata:
            self._section("Metadata", list(m.metadata.items()))
        if m.signatures:
            self._section("Signatures", [(s.key, f"{', '.join(s.inputs)} → {', '.join(s.outputs)}")
                                         for s in m.signatures])
        if m.card is not None:
            card = m.card
            rows = [(key, str(card[key])) for key in ("name", "version", "labels", "positive_label", "threshold",
                                                      "input_layout", "output", "clip_score", "quantization",
                                                      "created_at") if key in card]
            rows += [(f"feature {k}", str(v)) for k, v in (card.get("feature_spec") or {}).items()]
            self._section("Card", rows)
        else:
            self._section("Card", [("", m.card_error or "none: the documented defaults apply if the shapes fit")])

    def _fill_source(self, s) -> None:
        rows = [("kind", s.kind.replace("_", " "))]
        if s.signatures:
            rows.append(("signatures", ", ".join(s.signatures)))
        if s.parameters is not None:
            rows.append(("parameters", f"{s.parameters:,}"))
        self._section("Source", rows)
        self._section("Inputs", [(t.name, f"{t.dtype} {shape_text(t.shape)}") for t in s.inputs])
        self._section("Outputs", [(t.name, f"{t.dtype} {shape_text(t.shape)}") for t in s.outputs])
        if s.nodes:
            self._section(f"Nodes ({len(s.nodes)})", [(n.name, n.op) for n in s.nodes])

    def _fill_checkpoint(self, c: CheckpointInspection) -> None:
        roles = {role: sum(v.role == role for v in c.variables) for role in ("variable", "moving average", "optimizer")}
        self._section("Checkpoint", [
            ("format", c.format), ("prefix", c.prefix), ("step", "" if c.step is None else str(c.step)),
            ("steps present", ", ".join(map(str, c.steps))), ("size", human_size(c.size_bytes)),
            ("parameters", f"{c.parameters:,} in {roles['variable']} variables ({human_size(c.parameter_bytes)})"),
            ("moving averages", f"{c.moving_averages} (freeze --ema restores them)" if c.moving_averages else "none"),
            ("optimizer entries", str(roles["optimizer"])),
        ])
        totals = {s.scope: s for s in c.scopes}
        variables = QTreeWidgetItem(self.tree, [f"Variables ({roles['variable']})", ""])
        scopes: dict[str, QTreeWidgetItem] = {}
        owners: dict[str, QTreeWidgetItem] = {}
        for v in c.variables:
            if v.scope not in scopes:
                total = totals[v.scope]
                scopes[v.scope] = QTreeWidgetItem(variables, [
                    f"{v.scope}/" if v.scope else "(top level)",
                    f"{total.variables} variables, {total.elements:,} parameters" if total.variables else ""])
            shape = f"{v.dtype} {shape_text(v.shape)}"
            if v.of is not None and v.of in owners:  # a moving average or slot, under its variable
                QTreeWidgetItem(owners[v.of], [v.name.rpartition("/")[2], f"{v.role} · {shape}"])
                continue
            value = f"{shape} · {v.elements:,}" if v.role == "variable" else f"{shape} · {v.role}"
            item = QTreeWidgetItem(scopes[v.scope], [v.name.rpartition("/")[2], value])
            item.setToolTip(0, v.name)
            owners[v.name] = item
        if c.meta is not None:
            self._section("Inputs", [(t.name, f"{t.dtype} {shape_text(t.shape)}") for t in c.inputs])
            self._section("Outputs", [(t.name, f"{t.dtype} {shape_text(t.shape)}") for t in c.outputs])
            self._section(f"Graph nodes ({len(c.nodes)})", [(n.name, n.op) for n in c.nodes])
        else:
            self._section("Graph", [("", "no .meta graph: the values can be read, not frozen")])
