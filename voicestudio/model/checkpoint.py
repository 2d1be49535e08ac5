"""TensorFlow training checkpoints: find one, look inside it, read a variable.

A training run leaves a folder like::

    run/checkpoint                          the state file: which step is the latest
    run/model.ckpt-7.index                  variable names -> where their values are
    run/model.ckpt-7.data-00000-of-00001    the values (one file per shard)
    run/model.ckpt-7.meta                   the graph (TF1 ``Saver`` only)

``locate_checkpoint`` finds the files (without TensorFlow, so a missing piece is one clear
line instead of TensorFlow's long error); ``inspect_checkpoint`` lists the variables by scope
with their moving averages and optimizer slots, and the ``.meta`` graph's likely inputs and
outputs; ``variable_values`` shows one variable. Freezing one to a ``.pb`` is ``model/freeze.py``.

Both kinds work: TF1 name-based checkpoints (``tf.compat.v1.train.Saver``) and TF2 object-based
ones (``tf.train.Checkpoint``, which hold ``_CHECKPOINTABLE_OBJECT_GRAPH`` and no graph).
TensorFlow is imported only inside the functions that need it (``tf_source.tensorflow()``).
"""

from __future__ import annotations

import difflib
import glob
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from math import isfinite, prod
from pathlib import Path

import numpy as np

from voicestudio.errors import ModelError
from voicestudio.terminal import one_line

STATE_FILE = "checkpoint"  # tf.train.get_checkpoint_state's file
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"  # present in TF2 object-based checkpoints only
TF2_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
TF2_SLOT_MARK = "/.OPTIMIZER_SLOT/"
EMA_SUFFIX = "/ExponentialMovingAverage"  # tf.train.ExponentialMovingAverage's average_name
TF1_SLOTS = re.compile(r"(Adam|AdamW|LazyAdam|Momentum|RMSProp|Adagrad|AdagradDA|ProximalAdagrad|Adadelta|Ftrl"
                       r"|Adamax|Nadam)(_\d+)?")
TF1_OPTIMIZER_STATE = re.compile(r"beta[12]_power(_\d+)?")  # Adam's accumulators, beside the variables
COUNTERS = {"global_step", "save_counter"}
VARIABLE_OPS = {"VariableV2", "Variable", "VarHandleOp"}
SMALL_VARIABLE = 64  # elements printed in full by variable_values; larger ones are summarised
FIRST_VALUES = 8  # entries shown of a large variable
TRAINING_SCOPES = ("gradients/", "save/")  # nodes under these are never a model's output

_STEP = re.compile(r"-(\d+)$")
_DATA = re.compile(r"\.data-(\d{5})-of-(\d{5})$")


# Locating -----------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckpointFiles:
    """One checkpoint's files, all checked to exist (``meta`` may be None: TF2, or saved without it)."""

    prefix: Path  # run/model.ckpt-7: the name TensorFlow takes
    step: int | None  # from the prefix's -N suffix
    index: Path
    data: tuple[Path, ...]  # every shard
    meta: Path | None
    steps: tuple[int, ...]  # every step with an .index in the folder
    state_file: Path | None  # the folder's ``checkpoint`` file, if any


@dataclass(frozen=True)
class _State:
    latest: Path | None
    listed: tuple[Path, ...]


def is_checkpoint(path) -> bool:
    """Whether ``path`` looks like a checkpoint: a folder with a state file or ``.index`` files,
    a prefix whose ``.index`` exists, or one of its ``.index``/``.meta``/``.data-*`` files."""
    path = Path(path)
    if path.is_dir():
        return (path / STATE_FILE).is_file() or any(path.glob("*.index"))
    if path.is_file() and (path.suffix in (".index", ".meta") or _DATA.search(path.name)):
        return True
    return Path(f"{path}.index").is_file()


def locate_checkpoint(path, step: int | None = None) -> CheckpointFiles:
    """The checkpoint at ``path`` (a folder, a prefix or one of its files); ``step`` picks another step."""
    path = Path(path)
    if path.is_dir():
        prefix = _prefix_in_folder(path, step)
    else:
        if not is_checkpoint(path):
            if path.is_file():
                raise ModelError(path, "not a checkpoint: give its folder, its prefix (run/model.ckpt-7) or its "
                                       ".index file")
            if not _data_files(_prefix_of(path)):
                raise ModelError(path, "no such checkpoint (no file or folder, and no .index beside it)")
        prefix = _prefix_of(path)
        if step is not None and step != _step_of(prefix):
            prefix = _prefix_for_step(prefix.parent, step, _read_state(prefix.parent), base=_base_of(prefix))
    return _checked_files(prefix)


def _prefix_of(path: Path) -> Path:
    name = path.name
    for suffix in (".index", ".meta"):
        if name.endswith(suffix):
            return path.with_name(name[: -len(suffix)])
    match = _DATA.search(name)
    return path.with_name(name[: match.start()]) if match else path


def _step_of(prefix: Path) -> int | None:
    match = _STEP.search(prefix.name)
    return int(match.group(1)) if match else None


def _base_of(prefix: Path) -> str:
    return _STEP.sub("", prefix.name)


def _present(folder: Path) -> dict[Path, int | None]:
    """Every prefix with an ``.index`` in ``folder``, with its step."""
    found = {_prefix_of(p): None for p in sorted(folder.glob("*.index"))}
    return {p: _step_of(p) for p in found}


def _steps_text(present: dict[Path, int | None]) -> str:
    steps = sorted({s for s in present.values() if s is not None})
    if steps:
        return "steps present: " + ", ".join(map(str, steps))
    return "checkpoints present: " + (", ".join(p.name for p in present) or "none")


def _read_state(folder: Path) -> _State | None:
    """The state file (a text protobuf ``CheckpointState``), read without TensorFlow."""
    state_file = folder / STATE_FILE
    if not state_file.is_file():
        return None
    latest, listed = None, []
    try:
        text = state_file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ModelError(state_file, f"cannot read ({exc.strerror or exc})") from None
    for key, quoted in re.findall(r'^\s*(model_checkpoint_path|all_model_checkpoint_paths)\s*:\s*"(.*)"\s*$',
                                  text, re.MULTILINE):
        found = _resolve(folder, _unescape(quoted))
        if key == "model_checkpoint_path":
            latest = found
        else:
            listed.append(found)
    return _State(latest, tuple(listed))


def _unescape(quoted: str) -> str:
    # Text-format strings are C-escaped; paths rarely hold escapes, but Windows paths hold backslashes.
    return quoted.encode("latin-1", "backslashreplace").decode("unicode_escape") if "\\" in quoted else quoted


def _resolve(folder: Path, name: str) -> Path:
    # A Saver writes absolute paths: a run folder that was moved or copied must read its own files,
    # never the ones it was copied from, so every entry is taken as a name in this folder.
    return folder / Path(name.replace("\\", "/")).name


def _prefix_in_folder(folder: Path, step: int | None) -> Path:
    state = _read_state(folder)
    present = _present(folder)
    if step is not None:
        return _prefix_for_step(folder, step, state, base=None)
    if state is not None and state.latest is not None:
        if Path(f"{state.latest}.index").is_file():
            return state.latest
        step_text = f"step {_step_of(state.latest)} " if _step_of(state.latest) is not None else ""
        raise ModelError(folder, f"its checkpoint state file points at {step_text}({state.latest.name}), whose "
                                 f".index is not there ({_steps_text(present)}; pick one with --step)")
    if not present:
        raise ModelError(folder, "no checkpoint here: no 'checkpoint' state file and no .index files")
    if len(present) == 1:
        return next(iter(present))
    stepped = [p for p, s in present.items() if s is not None]
    if not stepped:
        raise ModelError(folder, f"several checkpoints ({', '.join(p.name for p in present)}): give one's prefix")
    return max(stepped, key=lambda p: present[p])


def _prefix_for_step(folder: Path, step: int, state: _State | None, base: str | None) -> Path:
    present = _present(folder)
    candidates = [p for p in (state.listed if state else ()) if _step_of(p) == step and Path(f"{p}.index").is_file()]
    candidates += [p for p, s in present.items() if s == step and p not in candidates]
    if base is not None:
        candidates = [p for p in candidates if _base_of(p) == base] or candidates
    if not candidates:
        raise ModelError(folder, f"no step {step} here ({_steps_text(present)})")
    return candidates[0]


def _data_files(prefix: Path) -> list[Path]:
    return sorted(p for p in prefix.parent.glob(f"{glob.escape(prefix.name)}.data-*") if _DATA.search(p.name))


def _checked_files(prefix: Path) -> CheckpointFiles:
    index = Path(f"{prefix}.index")
    if not index.is_file():
        raise ModelError(prefix, f"missing {index.name} (the checkpoint's index of its variables)")
    shards = _header_shards(index)
    present_data = _data_files(prefix)
    if shards is None:
        counts = Counter(int(_DATA.search(p.name).group(2)) for p in present_data)
        shards = counts.most_common(1)[0][0] if counts else None
    if shards is None:
        raise ModelError(prefix, f"missing its data file {prefix.name}.data-00000-of-00001 (no .data-* shard "
                                 f"beside {index.name})")
    wanted = [prefix.with_name(f"{prefix.name}.data-{i:05d}-of-{shards:05d}") for i in range(shards)]
    missing = [p.name for p in wanted if not p.is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ModelError(prefix, f"missing data shard{'s' * (len(missing) > 1)} {shown} (of {shards})")
    meta = Path(f"{prefix}.meta")
    return CheckpointFiles(prefix=prefix, step=_step_of(prefix), index=index, data=tuple(wanted),
                           meta=meta if meta.is_file() else None,
                           steps=tuple(sorted({s for s in _present(prefix.parent).values() if s is not None})),
                           state_file=(prefix.parent / STATE_FILE) if (prefix.parent / STATE_FILE).is_file() else None)


def _header_shards(index: Path) -> int | None:
    """The shard count in the ``.index`` header (a LevelDB table whose first entry, key "", is a
    ``BundleHeaderProto``), or None when the first block cannot be read without TensorFlow."""
    try:
        with open(index, "rb") as f:
            head = f.read(256)
    except OSError:
        return None
    block = head if head[:2] == b"\0\0" else _snappy_first_literal(head)
    try:
        if block is None or block[:2] != b"\0\0":  # shared 0, key length 0: the header entry
            return None
        length, pos = _varint(block, 2)
        if pos + length > len(block):
            return None
        value, pos = block[pos:pos + length], 0
        while pos < len(value):
            tag, pos = _varint(value, pos)
            if tag & 7 == 0:
                number, pos = _varint(value, pos)
                if tag >> 3 == 1:  # num_shards
                    return number if number > 0 else None
            elif tag & 7 == 2:
                size, pos = _varint(value, pos)
                pos += size
            else:
                return None
    except IndexError:
        return None
    return None


def _snappy_first_literal(data: bytes) -> bytes | None:
    """The opening literal of a Snappy-compressed block (the header entry is in it: nothing precedes it to copy)."""
    try:
        _, pos = _varint(data, 0)
        tag = data[pos]
        if tag & 3:
            return None
        length = tag >> 2
        pos += 1
        if length >= 60:
            extra = length - 59
            length = int.from_bytes(data[pos:pos + extra], "little")
            pos += extra
        return data[pos:pos + length + 1]
    except IndexError:
        return None


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise IndexError("varint too long")


# Reading -------------------------------------------------------------------------------

def checkpoint_reader(files: CheckpointFiles):
    from voicestudio.model.tf_source import _first_line, tensorflow

    tf = tensorflow()
    try:
        return tf, tf.train.load_checkpoint(str(files.prefix))
    except Exception as exc:
        raise ModelError(files.prefix, f"TensorFlow cannot read the checkpoint ({_first_line(exc)})") from None


def readable_name(key: str) -> str:
    """``dense/kernel`` for a TF2 key ``dense/kernel/.ATTRIBUTES/VARIABLE_VALUE``; TF1 keys are names already."""
    return key[: -len(TF2_VALUE_SUFFIX)] if key.endswith(TF2_VALUE_SUFFIX) else key


def _role(name: str, names: set[str]) -> tuple[str, str | None]:
    """(role, the variable it belongs to) of a readable name: see ``CheckpointVariable.role``."""
    if name.endswith(EMA_SUFFIX) and name[: -len(EMA_SUFFIX)] in names:
        return "moving average", name[: -len(EMA_SUFFIX)]
    if TF2_SLOT_MARK in name:
        owner = name.split(TF2_SLOT_MARK)[0]
        return "optimizer", owner if owner in names else None
    base, _, last = name.rpartition("/")
    if base in names and TF1_SLOTS.fullmatch(last):
        return "optimizer", base
    if name.startswith("optimizer/") or TF1_OPTIMIZER_STATE.fullmatch(name):
        return "optimizer", None
    if name in COUNTERS:
        return "counter", None
    return "variable", None


@dataclass(frozen=True)
class CheckpointVariable:
    name: str  # readable: dense/kernel
    key: str  # as stored in the checkpoint (TF2 adds /.ATTRIBUTES/VARIABLE_VALUE)
    shape: tuple[int, ...]
    dtype: str
    elements: int
    bytes: int
    # "variable" (a parameter), "moving average" (an ExponentialMovingAverage shadow), "optimizer"
    # (a slot such as Adam's, or the optimizer's own state), "counter" (global_step, save_counter)
    role: str = "variable"
    of: str | None = None  # moving averages and slots: the variable they shadow

    @property
    def scope(self) -> str:
        return (self.of or self.name).rpartition("/")[0]


@dataclass(frozen=True)
class ScopeTotal:
    scope: str  # "" is the top level
    variables: int  # parameters only: moving averages, slots and counters are not counted
    elements: int
    bytes: int


def _variables(tf, reader) -> tuple[list[CheckpointVariable], bool]:
    """Every entry but the object graph, each beside its owner; and whether the checkpoint is TF2."""
    shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    object_based = OBJECT_GRAPH_KEY in shapes
    keys = [k for k in shapes if k != OBJECT_GRAPH_KEY]
    names = {readable_name(k) for k in keys}
    found = []
    for key in keys:
        name, dtype = readable_name(key), tf.dtypes.as_dtype(dtypes[key])
        elements = int(prod(shapes[key]))
        role, owner = _role(name, names)
        found.append(CheckpointVariable(name, key, tuple(int(d) for d in shapes[key]), dtype.name, elements,
                                        elements * (dtype.size or 0), role, owner))
    order = {"variable": 0, "counter": 0, "moving average": 1, "optimizer": 2}
    found.sort(key=lambda v: (v.scope, v.of or v.name, order[v.role], v.name))
    return found, object_based


def _scope_totals(variables: list[CheckpointVariable]) -> list[ScopeTotal]:
    totals: dict[str, list[int]] = {}
    for v in variables:
        entry = totals.setdefault(v.scope, [0, 0, 0])
        if v.role == "variable":
            entry[0] += 1
            entry[1] += v.elements
            entry[2] += v.bytes
    return [ScopeTotal(scope, *numbers) for scope, numbers in totals.items()]


def likely_graph_io(graph_def) -> tuple[list[str], list[str]]:
    """``guess_graph_io`` narrowed for a training graph: outputs are computed from a placeholder (through
    data edges: the training step's control edges reach everything) and are not the gradients or the saver."""
    from voicestudio.model.tf_source import guess_graph_io

    likely_in, likely_out = guess_graph_io(graph_nodes(graph_def))
    inputs_of = {n.name: [i.split(":")[0] for i in n.input if not i.startswith("^")] for n in graph_def.node}
    fed: dict[str, bool] = {name: True for name in likely_in}

    def from_placeholder(name: str) -> bool:
        stack, seen = [name], set()
        while stack:
            current = stack.pop()
            if fed.get(current):
                return True
            if current in seen:
                continue
            seen.add(current)
            stack.extend(inputs_of.get(current, ()))
        return False

    outputs = [n for n in likely_out if not n.startswith(TRAINING_SCOPES) and from_placeholder(n)]
    return likely_in, outputs


@dataclass
class CheckpointInspection:
    path: str
    prefix: str
    step: int | None
    format: str  # "TF1 name-based" or "TF2 object-based"
    steps: list[int]  # every step present in the folder
    size_bytes: int  # the index and data files
    variables: list[CheckpointVariable]  # grouped by scope, moving averages and slots after their variable
    scopes: list[ScopeTotal]
    parameters: int  # elements of the variables (not their moving averages, slots or counters)
    parameter_bytes: int
    moving_averages: int  # variables with an ExponentialMovingAverage shadow (freeze --ema uses them)
    meta: str | None = None  # the .meta graph, if any
    inputs: list = field(default_factory=list)  # TensorSpecInfo: placeholders
    outputs: list = field(default_factory=list)  # TensorSpecInfo: computed from a placeholder, read by nothing
    nodes: list = field(default_factory=list)  # NodeInfo of every node of the .meta graph
    kind: str = field(default="checkpoint", init=False)

    def to_dict(self) -> dict:
        data = asdict(self)
        for entry, v in zip(data["variables"], self.variables):
            entry["scope"] = v.scope
        return data

    def text(self) -> str:
        from voicestudio.model.inspect import human_size
        from voicestudio.model.tf_source import shape_text

        steps = f" (steps present: {', '.join(map(str, self.steps))})" if len(self.steps) > 1 else ""
        lines = [self.path,
                 f"  {self.format} checkpoint {self.prefix}"
                 + (f", step {self.step}" if self.step is not None else "") + steps
                 + f", {human_size(self.size_bytes)}"]
        roles = Counter(v.role for v in self.variables)
        summary = (f"  {roles['variable']} variables, {self.parameters:,} parameters "
                   f"({human_size(self.parameter_bytes)})")
        if self.moving_averages:
            summary += f"; moving averages of {self.moving_averages} (freeze --ema uses them)"
        if roles["optimizer"]:
            summary += f"; {roles['optimizer']} optimizer entries"
        lines.append(summary)
        totals = {s.scope: s for s in self.scopes}
        scope = None
        for v in self.variables:
            if v.scope != scope:
                scope, total = v.scope, totals[v.scope]
                lines.append(f"  {scope + '/' if scope else '(top level)'}: " + (
                    f"{total.variables} variables, {total.elements:,} parameters ({human_size(total.bytes)})"
                    if total.variables else "no parameters"))
            text = f"{v.name}  {v.dtype}  {shape_text(v.shape)}"
            if v.role == "variable":
                lines.append(f"    {text}  {v.elements:,} ({human_size(v.bytes)})")
            elif v.of is None:
                lines.append(f"    {text}  [{v.role}]")
            else:
                lines.append(f"      {v.name}  [{v.role} of {v.of}]")
        if self.meta is not None:
            ops = Counter(n.op for n in self.nodes)
            shown = ", ".join(f"{op} {n}" for op, n in ops.most_common(8)) + (", ..." if len(ops) > 8 else "")
            lines.append(f"  graph {Path(self.meta).name}: {len(self.nodes)} nodes: {shown}")
            for role, specs in (("input", self.inputs), ("output", self.outputs)):
                lines += [f"  {role} {i}: {s.name}  {s.dtype}  {shape_text(s.shape)}" for i, s in enumerate(specs)]
            lines.append("  freeze or convert it with --outputs from the outputs above (every node is in --json)")
        elif self.format.startswith("TF2"):
            lines.append("  no graph: a TF2 checkpoint holds values only (convert the SavedModel or Keras model "
                         "it was trained as)")
        else:
            lines.append("  no .meta graph beside it: its variables can be read, not frozen")
        return "\n".join(one_line(line) for line in lines)  # values from files never forge a line


def inspect_checkpoint(path, step: int | None = None) -> CheckpointInspection:
    """The checkpoint at ``path`` (folder, prefix, or one of its files): variables by scope, and its graph."""
    files = locate_checkpoint(path, step)
    tf, reader = checkpoint_reader(files)
    variables, object_based = _variables(tf, reader)
    params = [v for v in variables if v.role == "variable"]
    found = CheckpointInspection(
        path=str(path), prefix=str(files.prefix), step=files.step,
        format="TF2 object-based" if object_based else "TF1 name-based", steps=list(files.steps),
        size_bytes=sum(p.stat().st_size for p in (files.index, *files.data)), variables=variables,
        scopes=_scope_totals(variables), parameters=sum(v.elements for v in params),
        parameter_bytes=sum(v.bytes for v in params),
        moving_averages=sum(v.role == "moving average" for v in variables))
    if files.meta is not None:
        meta = read_meta(tf, files)
        found.meta, found.nodes = str(files.meta), graph_nodes(meta.graph_def)
        likely_in, likely_out = likely_graph_io(meta.graph_def)
        found.inputs, found.outputs = _specs(tf, meta.graph_def, likely_in), _specs(tf, meta.graph_def, likely_out)
    return found


def read_meta(tf, files: CheckpointFiles):
    meta = tf.compat.v1.MetaGraphDef()
    try:
        meta.ParseFromString(files.meta.read_bytes())
    except Exception:
        raise ModelError(files.meta, "not a MetaGraphDef (cannot parse the protobuf)") from None
    return meta


def graph_nodes(graph_def) -> list:
    from voicestudio.model.tf_source import NodeInfo

    return [NodeInfo(n.name, n.op, tuple(i.split(":")[0].lstrip("^") for i in n.input)) for n in graph_def.node]


def _specs(tf, graph_def, names: list[str]) -> list:
    """Shapes as TensorFlow infers them on import (a .meta graph stores few); the node's attributes if it cannot."""
    from voicestudio.model.tf_source import TensorSpecInfo, node_spec

    try:
        graph = tf.Graph()
        with graph.as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
        tensors = [graph.get_tensor_by_name(f"{name}:0") for name in names]
        return [TensorSpecInfo(t.name, _dims(t.shape), t.dtype.name) for t in tensors]
    except Exception:
        by_name = {n.name: n for n in graph_def.node}
        return [node_spec(tf, by_name[name]) for name in names]


def _dims(shape) -> tuple | None:
    return None if shape.rank is None else tuple(shape.as_list())


# One variable's values -------------------------------------------------------------------

@dataclass(frozen=True)
class ValueSummary:
    min: float | None  # None: not a finite number
    max: float | None
    mean: float | None
    std: float | None
    first: list  # the first few entries, flattened


@dataclass
class VariableValues:
    prefix: str
    name: str
    key: str
    dtype: str
    shape: tuple[int, ...]
    elements: int
    values: list | None  # every value, nested like the shape (SMALL_VARIABLE elements or fewer)
    summary: ValueSummary | None  # larger variables

    def to_dict(self) -> dict:
        return _json_safe(asdict(self))

    def text(self) -> str:
        from voicestudio.model.tf_source import shape_text

        lines = [f"{self.name}  {self.dtype}  {shape_text(self.shape)}  ({self.prefix})"]
        if self.values is not None:
            text = np.array2string(np.asarray(self.values), separator=", ", threshold=SMALL_VARIABLE + 1)
            lines += ["  " + line for line in text.splitlines() if line.strip()]
        else:
            s = self.summary
            lines.append(f"  {self.elements:,} values: min {_g(s.min)}, max {_g(s.max)}, mean {_g(s.mean)}, "
                         f"std {_g(s.std)}")
            lines.append(f"  first {len(s.first)}: " + ", ".join(_g(x) for x in s.first))
        return "\n".join(one_line(line) for line in lines)


def _g(x) -> str:
    return "nan" if x is None else f"{x:.6g}" if isinstance(x, float) else str(x)


def _json_safe(value):
    """NaN and infinity as null: JSON has no words for them."""
    if isinstance(value, float):
        return value if isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def variable_values(path, name: str, step: int | None = None) -> VariableValues:
    """One variable of the checkpoint: small ones whole, large ones summarised."""
    files = locate_checkpoint(path, step)
    tf, reader = checkpoint_reader(files)
    variables, _ = _variables(tf, reader)
    by_name = {v.name: v for v in variables} | {v.key: v for v in variables}
    if name not in by_name:
        close = difflib.get_close_matches(name, [v.name for v in variables], n=5, cutoff=0.5)
        hint = f"closest: {', '.join(close)}" if close else f"it has {len(variables)} (see: voicestudio model inspect)"
        raise ModelError(files.prefix, f"no variable {name!r} ({hint})")
    v = by_name[name]
    array = np.asarray(reader.get_tensor(v.key))
    found = VariableValues(str(files.prefix), v.name, v.key, v.dtype, v.shape, v.elements, None, None)
    if array.size <= SMALL_VARIABLE or not np.issubdtype(array.dtype, np.number):
        found.values = array.tolist() if array.dtype != object else [str(x) for x in array.ravel()]
    else:
        data = array.astype(np.float64).ravel()
        finite = data[np.isfinite(data)]
        stats = [float(f(finite)) if len(finite) else None for f in (np.min, np.max, np.mean, np.std)]
        found.summary = ValueSummary(*stats, first=array.ravel()[:FIRST_VALUES].tolist())
    return found
