"""A trainable Keras model rebuilt from a float ``.tflite`` of the built-in detector's family.

The built-in model ships only as ``.tflite``; fine-tuning it needs its weights back in
Keras. The file is read with ``voicestudio.model.flatbuffer`` (no interpreter: a delegate
would hide the weights) and must be this graph (once, or several times on the same input
with the outputs averaged by ADD and MUL by a constant):

- MEAN over frames, SUB, MUL by a constant: the coefficient normalisation
  (``robust.normalisation_layer``);
- CONV_2D and DEPTHWISE_CONV_2D with fused RELU6/RELU, batch norm folded into their
  bias (the rebuilt convolutions keep that bias and have no BatchNormalization: the
  network is the trained one, layer for layer);
- MEAN over frames and coefficients (global average pooling), FULLY_CONNECTED, LOGISTIC.

TFLite stores convolution kernels OHWI and depthwise kernels 1HWC; Keras wants HWIO and
HWC1. ``rebuild_from_tflite`` checks its work: the Keras model's output must equal the
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


def rebuild_keras(path):
    """The Keras model equal to the float ``.tflite`` at ``path`` (unchecked: see ``rebuild_from_tflite``).

    Operators are rebuilt in the file's order, each from tensors rebuilt before it, so several
    networks on the same input come back as they are: the built-in pair is two networks whose
    outputs an ADD and a MUL by 0.5 average (the converter shares their MEAN and SUB).
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
    if not flat.ops or flat.ops[0].name != "MEAN":
        raise _refuse(path, "it does not start with the MEAN, SUB, MUL normalisation of the built-in family "
                      f"(it starts {', '.join(op.name for op in flat.ops[:3])})")
    source = flat.inputs[0]
    frames, coeffs, channels = flat.shape(source)[1:]
    inputs = layers.Input((frames, coeffs, channels), name="features")
    values: dict = {}  # tensor index -> the Keras tensor rebuilt for it
    frame_means, centred = set(), set()  # tensors of the normalisation's MEAN and SUB
    consumers = {t: op for op in flat.ops for t in op.inputs}
    with_sigmoid = set()  # FULLY_CONNECTED outputs whose LOGISTIC is folded into the Dense layer
    fronts = 0
    for i, op in enumerate(flat.ops):
        where = f"operator {i} ({op.name})"
        weights = [None if t < 0 else flat.constant(t) for t in op.inputs[1:]]
        first, out = op.inputs[0], op.outputs[0]
        if op.name == "MEAN" and first == source:  # the normalisation: x - mean over frames, times constants
            if weights[0] is None or weights[0].ravel().tolist() != [1]:
                raise _refuse(path, NORMALISATION)
            frame_means.add(out)
            continue
        if op.name == "SUB":
            if first != source or op.inputs[1] not in frame_means:
                raise _refuse(path, NORMALISATION)
            centred.add(out)
            continue
        if op.name == "MUL" and first in centred:
            if weights[0] is None:
                raise _refuse(path, "its normalisation scale is not a constant")
            fronts += 1
            name = "normalise" if fronts == 1 else f"normalise_{fronts}"
            values[out] = normalisation_layer()(weights[0].reshape(-1), name=name)(inputs)
            continue
        if first not in values:
            raise _refuse(path, f"{where} takes a tensor no rebuilt operator gives")
        x = values[first]
        if op.name == "CONV_2D":
            o = _options(op, CONV_FIELDS)
            kernel, bias = weights[0], weights[1] if len(weights) > 1 else None
            conv = layers.Conv2D(kernel.shape[0], kernel.shape[1:3], strides=(o["stride_h"], o["stride_w"]),
                                 padding=PADDINGS[o["padding"]], dilation_rate=(o["dilation_h"], o["dilation_w"]))
            x = conv(x)
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
            x = conv(x)
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
            if logistic:
                with_sigmoid.add(out)
            dense = layers.Dense(kernel.shape[0], activation="sigmoid" if logistic else None)
            x = dense(x)
            dense.set_weights([kernel.T, np.zeros(kernel.shape[0], np.float32) if bias is None else bias])
            activation = _activation_layer(layers, _options(op, DENSE_FIELDS)["activation"], path, where)
        elif op.name == "LOGISTIC" and first in with_sigmoid:
            activation = None  # folded into its Dense layer
        elif op.name == "ADD" and op.inputs[1] in values:  # the pair's average: ADD, then MUL by 0.5
            x = layers.Add()([x, values[op.inputs[1]]])
            activation = _activation_layer(layers, _options(op, ADD_FIELDS)["activation"], path, where)
        elif op.name == "MUL" and weights[0] is not None and weights[0].size == 1:
            x = layers.Rescaling(float(weights[0].ravel()[0]))(x)
            activation = _activation_layer(layers, _options(op, MUL_FIELDS)["activation"], path, where)
        else:
            raise _refuse(path, f"{where} is not one this family uses (CONV_2D, DEPTHWISE_CONV_2D, MEAN, "
                          "FULLY_CONNECTED, LOGISTIC; ADD and MUL by a constant to average networks)")
        values[out] = x if activation is None else activation(x)
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


def member_networks(model) -> list:
    """The networks a rebuilt average is made of, in the file's order; one network: itself.

    Each member ends in its own sigmoid Dense layer (its normalisation comes with it), so
    a member is the rebuilt graph from the input to that layer's output.
    """
    from voicestudio.model.train import _tf

    tf = _tf()
    heads = [layer.output for layer in model.layers
             if isinstance(layer, tf.keras.layers.Dense) and layer.get_config().get("activation") == "sigmoid"]
    if len(heads) <= 1:
        return [model]
    return [tf.keras.Model(model.inputs, head, name=f"voice_ds_cnn_v2_member_{i}") for i, head in enumerate(heads)]


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


