"""A trainable Keras model rebuilt from a float ``.tflite`` of the built-in detector's family.

The built-in model ships only as ``.tflite``; fine-tuning it needs its weights back in
Keras. The file is read with ``voicestudio.model.flatbuffer`` (no interpreter: a delegate
would hide the weights) and must be this graph (once, or several times on the same input
with the outputs averaged by ADD and MUL by a constant; or the two-scale graph of
``robust.two_scale``: STRIDED_SLICE of the window's halves, one network on both, MAXIMUM):

- MEAN over frames, SUB, MUL by a constant: the coefficient normalisation
  (``robust.normalisation_layer``), of the input or of a slice of its frames;
- CONV_2D and DEPTHWISE_CONV_2D with fused RELU6/RELU, batch norm folded into their
  bias (the rebuilt convolutions keep that bias and have no BatchNormalization: the
  network is the trained one, layer for layer);
- MEAN over frames and coefficients (global average pooling), FULLY_CONNECTED, LOGISTIC.

TFLite stores convolution kernels OHWI and depthwise kernels 1HWC; Keras wants HWIO and
HWC1. An operator whose weights are tensors an earlier one used (the converter stores a network
called twice once) is that operator's Keras layer called again, so the rebuilt half network stays one
network when it is fine-tuned. ``rebuild_from_tflite`` checks its work: the Keras model's output must equal the
``.tflite``'s on the images given (real feature images) within ``MAX_ABS_DIFF``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicestudio.errors import ModelError
from voicestudio.model.flatbuffer import FlatBufferError, Table
from voicestudio.model.tflite_names import BUILTIN_OPERATORS

MAX_ABS_DIFF = 1e-4
HEAD = "p_human_"  # the rebuilt networks' sigmoid Dense layers are named HEAD + their place in the file
FLOAT32, INT32 = 0, 2
ACTIVATIONS = {0: None, 1: "relu", 3: "relu6"}  # TFLite's ActivationFunctionType codes we rebuild
PADDINGS = {0: "same", 1: "valid"}


@dataclass(frozen=True)
class Op:
    """One operator of the graph: its name, tensor indices and options table."""

    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: Table | None


class FlatModel:
    """The main subgraph of a ``.tflite``: operators in order and constant tensors as numpy arrays."""

    def __init__(self, path: Path):
        self.path = path
        buf = path.read_bytes()
        try:
            model = Table.root(buf)
            codes = [self._op_name(code) for code in model.tables(1)]
            graph = model.tables(2)[0]
            self._buffers = model.tables(4)
            self._tensors = graph.tables(0)
            self.inputs = graph.scalars(1, "i")
            self.outputs = graph.scalars(2, "i")
            self.ops = [Op(codes[op.scalar(0, "I", 0)], op.scalars(1, "i"), op.scalars(2, "i"), op.table(4))
                        for op in graph.tables(3)]
        except (FlatBufferError, IndexError) as exc:
            raise ModelError(path, f"is not a readable .tflite ({exc})") from None
        self._buf = buf

    @staticmethod
    def _op_name(code: Table) -> str:
        number = max(code.scalar(3, "i", 0), code.scalar(0, "b", 0))
        return BUILTIN_OPERATORS[number] if 0 <= number < len(BUILTIN_OPERATORS) else f"BUILTIN_{number}"

    def tensor_type(self, index: int) -> int:
        return self._tensors[index].scalar(1, "b", 0)

    def shape(self, index: int) -> tuple[int, ...]:
        return tuple(self._tensors[index].scalars(0, "i"))

    def constant(self, index: int) -> np.ndarray | None:
        """The tensor's stored value, or None when it is computed at run time."""
        tensor = self._tensors[index]
        buffer = self._buffers[tensor.scalar(2, "I", 0)]
        data = buffer.bytes(0)
        if not data and buffer.scalar(1, "Q", 0):  # stored outside the flatbuffer (models over 2 GB)
            start = buffer.scalar(1, "Q", 0)
            data = self._buf[start:start + buffer.scalar(2, "Q", 0)]
        if not data:
            return None
        dtype = {FLOAT32: np.float32, INT32: np.int32}.get(self.tensor_type(index))
        if dtype is None:
            raise ModelError(self.path, f"constant tensor {index} has type code {self.tensor_type(index)}, not float32")
        return np.frombuffer(data, dtype).reshape(self.shape(index)).copy()


def float_twin(path: Path) -> Path:
    """Where the float model of an int8 build usually is (``m-int8.tflite`` -> ``m.tflite``)."""
    stem = path.stem[:-len("-int8")] if path.stem.endswith("-int8") else path.stem + "-float"
    return path.with_name(stem + path.suffix)


def _refuse(path: Path, reason: str) -> ModelError:
    return ModelError(path, f"cannot be fine-tuned: {reason}")


def _options(op: Op, fields: dict[str, tuple[int, str, int]]) -> dict[str, int]:
    if op.options is None:
        return {name: default for name, (_, _, default) in fields.items()}
    return {name: op.options.scalar(slot, fmt, default) for name, (slot, fmt, default) in fields.items()}


CONV_FIELDS = {"padding": (0, "b", 0), "stride_w": (1, "i", 1), "stride_h": (2, "i", 1), "activation": (3, "b", 0),
               "dilation_w": (4, "i", 1), "dilation_h": (5, "i", 1)}
DEPTHWISE_FIELDS = {"padding": (0, "b", 0), "stride_w": (1, "i", 1), "stride_h": (2, "i", 1),
                    "multiplier": (3, "i", 1), "activation": (4, "b", 0), "dilation_w": (5, "i", 1),
                    "dilation_h": (6, "i", 1)}
DENSE_FIELDS = {"activation": (0, "b", 0)}
REDUCER_FIELDS = {"keep_dims": (0, "B", 0)}
WEIGHTED = {"CONV_2D": CONV_FIELDS, "DEPTHWISE_CONV_2D": DEPTHWISE_FIELDS, "FULLY_CONNECTED": DENSE_FIELDS}
SLICE_FIELDS = {"begin_mask": (0, "i", 0), "end_mask": (1, "i", 0), "ellipsis_mask": (2, "i", 0),
                "new_axis_mask": (3, "i", 0), "shrink_axis_mask": (4, "i", 0), "offset": (5, "B", 0)}


def _activation_layer(layers, code: int, path: Path, where: str):
    if code not in ACTIVATIONS:
        raise _refuse(path, f"{where} has fused activation code {code} (only RELU and RELU6 are rebuilt)")
    kind = ACTIVATIONS[code]
    return None if kind is None else layers.ReLU(6.0 if kind == "relu6" else None)


def _check_float(flat: FlatModel, path: Path) -> None:
    names = {op.name for op in flat.ops}
    quantised = names & {"QUANTIZE", "DEQUANTIZE"} or any(
        flat.tensor_type(i) not in (FLOAT32, INT32) for op in flat.ops for i in op.inputs + op.outputs if i >= 0)
    if quantised:
        twin = float_twin(path)
        raise _refuse(path, f"it is quantised (int8); fine-tune its float twin {twin.name}"
                      + ("" if twin.is_file() else " (not beside it)"))


NORMALISATION = "its normalisation is not x - mean over frames, times a constant"
ADD_FIELDS = MUL_FIELDS = {"activation": (0, "b", 0)}


def _frame_position(value: int, size: int) -> int:
    """A slice's begin or end as a frame index (negative: from the end, as Python counts)."""
    return min(max(value + size if value < 0 else value, 0), size)


def _frame_crop(flat: FlatModel, op: Op, shape: tuple[int, ...], path: Path, where: str) -> tuple[int, int]:
    """A STRIDED_SLICE of the input's frames as (frames cut at the start, frames cut at the end)."""
    o = _options(op, SLICE_FIELDS)
    begin, end, strides = (flat.constant(t) for t in op.inputs[1:4])
    if (any(v is None for v in (begin, end, strides)) or o["ellipsis_mask"] or o["new_axis_mask"]
            or o["shrink_axis_mask"] or o["offset"] or np.any(strides != 1)):
        raise _refuse(path, f"{where} is not a slice of the window's frames")
    kept = [(0 if o["begin_mask"] >> axis & 1 else _frame_position(int(begin[axis]), size),
             size if o["end_mask"] >> axis & 1 else _frame_position(int(end[axis]), size))
            for axis, size in enumerate(shape)]
    if any(kept[axis] != (0, size) for axis, size in enumerate(shape) if axis != 1) or kept[1][0] >= kept[1][1]:
        raise _refuse(path, f"{where} slices more than the window's frames")
    return kept[1][0], shape[1] - kept[1][1]


def rebuild_keras(path):
    """The Keras model equal to the float ``.tflite`` at ``path`` (unchecked: see ``rebuild_from_tflite``).

    Operators are rebuilt in the file's order, each from tensors rebuilt before it, so several
    networks on the same input come back as they are: the built-in pair is two networks whose
    outputs an ADD and a MUL by 0.5 average (the converter shares their MEAN and SUB); the
    two-scale graph slices the window's halves, runs one network on both and takes their MAXIMUM.
    """
    from voicestudio.model.robust import normalisation_layer
    from voicestudio.model.train import _tf

    tf = _tf()
    layers = tf.keras.layers
    path = Path(path)
    flat = FlatModel(path)
    if len(flat.inputs) != 1 or len(flat.outputs) != 1:
        raise _refuse(path, f"it has {len(flat.inputs)} inputs and {len(flat.outputs)} outputs, not one each")
    _check_float(flat, path)
    if not flat.ops or flat.ops[0].name not in ("MEAN", "STRIDED_SLICE"):
        raise _refuse(path, "it does not start with the MEAN, SUB, MUL normalisation of the built-in family "
                      f"(it starts {', '.join(op.name for op in flat.ops[:3])})")
    source = flat.inputs[0]
    frames, coeffs, channels = flat.shape(source)[1:]
    inputs = layers.Input((frames, coeffs, channels), name="features")
    values: dict = {source: inputs}  # tensor index -> the Keras tensor rebuilt for it
    images = {source}  # the input and slices of its frames: what a normalisation starts from
    frame_means, centred = {}, {}  # the normalisation's MEAN and SUB outputs -> the image they are of
    shared: dict = {}  # (operator, weight tensors) -> its Keras layer, for a network called twice
    normalisations: dict = {}  # scale tensor -> its normalisation layer
    consumers = {t: op for op in flat.ops for t in op.inputs}
    with_sigmoid = set()  # FULLY_CONNECTED outputs whose LOGISTIC is folded into the Dense layer
    for i, op in enumerate(flat.ops):
        where = f"operator {i} ({op.name})"
        weights = [None if t < 0 else flat.constant(t) for t in op.inputs[1:]]
        first, out = op.inputs[0], op.outputs[0]
        if op.name == "STRIDED_SLICE" and first == source:  # the two-scale graph's halves of the window
            cut = _frame_crop(flat, op, flat.shape(source), path, where)
            values[out] = layers.Cropping2D((cut, (0, 0)))(inputs)
            images.add(out)
            continue
        if op.name == "MEAN" and first in images:  # the normalisation: x - mean over frames, times constants
            if weights[0] is None or weights[0].ravel().tolist() != [1]:
                raise _refuse(path, NORMALISATION)
            frame_means[out] = first
            continue
        if op.name == "SUB":
            if frame_means.get(op.inputs[1], -1) != first:
                raise _refuse(path, NORMALISATION)
            centred[out] = first
            continue
        if op.name == "MUL" and first in centred:
            if weights[0] is None:
                raise _refuse(path, "its normalisation scale is not a constant")
            if op.inputs[1] not in normalisations:
                name = "normalise" if not normalisations else f"normalise_{len(normalisations) + 1}"
                normalisations[op.inputs[1]] = normalisation_layer()(weights[0].reshape(-1), name=name)
            values[out] = normalisations[op.inputs[1]](values[centred[first]])
            continue
        if first not in values or first in images:
            raise _refuse(path, f"{where} takes a tensor no rebuilt operator gives")
        x = values[first]
        key = (op.name, op.inputs[1:], tuple(_options(op, WEIGHTED[op.name]).items())) if op.name in WEIGHTED else None
        if key in shared:  # the same network again (the two-scale graph's half network)
            layer, activation = shared[key]
            x = layer(x)
            values[out] = x if activation is None else activation(x)
            if layer.get_config().get("activation") == "sigmoid":
                with_sigmoid.add(out)
            continue
        if op.name == "CONV_2D":
            o = _options(op, CONV_FIELDS)
            kernel, bias = weights[0], weights[1] if len(weights) > 1 else None
            conv = layers.Conv2D(kernel.shape[0], kernel.shape[1:3], strides=(o["stride_h"], o["stride_w"]),
                                 padding=PADDINGS[o["padding"]], dilation_rate=(o["dilation_h"], o["dilation_w"]))
            x, layer = conv(x), conv
            conv.set_weights([kernel.transpose(1, 2, 3, 0),
                              np.zeros(kernel.shape[0], np.float32) if bias is None else bias])
            activation = _activation_layer(layers, o["activation"], path, where)
        elif op.name == "DEPTHWISE_CONV_2D":
            o = _options(op, DEPTHWISE_FIELDS)
            kernel, bias = weights[0], weights[1] if len(weights) > 1 else None
            if o["multiplier"] != 1:
                raise _refuse(path, f"{where} has depth multiplier {o['multiplier']}, not 1")
            conv = layers.DepthwiseConv2D(kernel.shape[1:3], strides=(o["stride_h"], o["stride_w"]),
                                          padding=PADDINGS[o["padding"]],
                                          dilation_rate=(o["dilation_h"], o["dilation_w"]))
            x, layer = conv(x), conv
            conv.set_weights([kernel[0][..., None],
                              np.zeros(kernel.shape[-1], np.float32) if bias is None else bias])
            activation = _activation_layer(layers, o["activation"], path, where)
        elif op.name == "MEAN":
            axes = weights[0]
            if axes is None or sorted(axes.ravel().tolist()) != [1, 2] or _options(op, REDUCER_FIELDS)["keep_dims"]:
                raise _refuse(path, f"{where} is not a global average pooling")
            x = layers.GlobalAveragePooling2D()(x)
            x = layers.Dropout(0.3)(x)  # as the built-in was trained; inactive when predicting
            activation = None
        elif op.name == "FULLY_CONNECTED":
            kernel, bias = weights[0], weights[1] if len(weights) > 1 else None
            logistic = getattr(consumers.get(out), "name", None) == "LOGISTIC"
            dense = layers.Dense(kernel.shape[0], activation="sigmoid" if logistic else None,
                                 name=f"{HEAD}{len(with_sigmoid)}" if logistic else None)
            x, layer = dense(x), dense
            if logistic:
                with_sigmoid.add(out)
            dense.set_weights([kernel.T, np.zeros(kernel.shape[0], np.float32) if bias is None else bias])
            activation = _activation_layer(layers, _options(op, DENSE_FIELDS)["activation"], path, where)
        elif op.name == "LOGISTIC" and first in with_sigmoid:
            activation = None  # folded into its Dense layer
        elif op.name == "ADD" and op.inputs[1] in values:  # the pair's average: ADD, then MUL by 0.5
            x = layers.Add()([x, values[op.inputs[1]]])
            activation = _activation_layer(layers, _options(op, ADD_FIELDS)["activation"], path, where)
        elif op.name == "MAXIMUM" and op.inputs[1] in values:  # the two-scale graph's higher half
            x = layers.Maximum()([x, values[op.inputs[1]]])
            activation = None
        elif op.name == "MUL" and weights[0] is not None and weights[0].size == 1:
            x = layers.Rescaling(float(weights[0].ravel()[0]))(x)
            activation = _activation_layer(layers, _options(op, MUL_FIELDS)["activation"], path, where)
        else:
            raise _refuse(path, f"{where} is not one this family uses (CONV_2D, DEPTHWISE_CONV_2D, MEAN, "
                          "FULLY_CONNECTED, LOGISTIC; ADD and MUL by a constant to average networks; "
                          "STRIDED_SLICE and MAXIMUM of the two-scale graph)")
        values[out] = x if activation is None else activation(x)
        if key is not None:
            shared[key] = (layer, activation)
    if flat.outputs[0] not in values:
        raise _refuse(path, "no rebuilt operator gives the model's output")
    return tf.keras.Model(inputs, values[flat.outputs[0]], name="voice_ds_cnn_v2")


def member_path(path) -> tuple[Path, int | None]:
    """``FILE.tflite#I`` names network I of an averaged float file: (file, I); any other path: (path, None)."""
    path = Path(path)
    name, hash_, index = path.name.rpartition("#")
    if not hash_ or not index.isdigit():
        return path, None
    return path.with_name(name), int(index)


def _file_order(head) -> int:
    """A rebuilt head's place in the file (Keras lists layers by depth, not in the order they were made)."""
    return int(head.name[len(HEAD):]) if head.name.startswith(HEAD) and head.name[len(HEAD):].isdigit() else 0


def member_networks(model) -> list:
    """The networks a rebuilt average is made of, in the file's order; one network: itself.

    Each member ends in its own sigmoid Dense layer (its normalisation comes with it), so
    a member is the rebuilt graph from the input to that layer's output. A network called on
    each half of the window (the two-scale graph's half network) is None: it has no 1 s window
    to stand alone on.
    """
    from voicestudio.model.train import _tf

    tf = _tf()
    heads = sorted((layer for layer in model.layers if isinstance(layer, tf.keras.layers.Dense)
                    and layer.get_config().get("activation") == "sigmoid"), key=_file_order)
    if len(heads) <= 1:
        return [model]
    return [None if len(head._inbound_nodes) > 1 else
            tf.keras.Model(model.inputs, head.output, name=f"voice_ds_cnn_v2_member_{i}")
            for i, head in enumerate(heads)]


def keras_probabilities(model, images: np.ndarray) -> np.ndarray:
    """P(human) per ``(frames, coeffs)`` image, dropout off."""
    images = np.asarray(images, np.float32)
    out = model(images[..., None], training=False) if len(images) <= 256 else \
        model.predict(images[..., None], batch_size=256, verbose=0)
    return np.asarray(out, np.float32).reshape(len(images), -1)[:, -1]


def rebuild_from_tflite(path, images: np.ndarray, *, tflite_probabilities: np.ndarray | None = None):
    """``rebuild_keras(path)``, checked: its output equals the ``.tflite``'s on ``images``.

    ``tflite_probabilities`` are the ``.tflite``'s outputs on ``images`` (computed here with
    ``Detector`` when not given). Raises ModelError (one line) when the two differ by more
    than ``MAX_ABS_DIFF`` anywhere.
    """
    path = Path(path)
    if len(images) == 0:
        raise ValueError("the check needs at least one feature image")
    model = rebuild_keras(path)
    if tflite_probabilities is None:
        from voicestudio.model.detector import Detector

        tflite_probabilities = Detector(path, threads=1).invoke_images(images)
    diff = float(np.max(np.abs(keras_probabilities(model, images) - np.asarray(tflite_probabilities))))
    if not diff <= MAX_ABS_DIFF:
        raise _refuse(path, f"the network rebuilt from it differs from it by {diff:.2g} (more than {MAX_ABS_DIFF:g})")
    return model


