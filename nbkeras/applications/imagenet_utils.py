"""What the ImageNet applications share, as keras.applications.imagenet_utils: the three
`preprocess_input` modes, `decode_predictions`, the input-shape rule, and the pieces every
constructor repeats (the input, the pooled or classifier top, the weights).

nbkeras does not download. Files Keras would fetch into ~/.keras/models are looked for in
$NBKERAS_HOME/models (default ~/.nbkeras/models); a missing one raises an error naming the
file, its URL and where to put it.
"""
from __future__ import annotations

import json
import os

import numpy as np

from .. import activations, config, layers
from ..core.keras_tensor import KerasTensor

CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_PATH = ("https://storage.googleapis.com/download.tensorflow.org/"
                    "data/imagenet_class_index.json")
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)
_class_index: dict | None = None


def models_path(fname: str) -> str:
    """Where nbkeras looks for a file Keras keeps in ~/.keras/models:
    $NBKERAS_HOME/models/fname (default ~/.nbkeras/models/fname)."""
    home = os.path.expanduser(os.environ.get("NBKERAS_HOME", os.path.join("~", ".nbkeras")))
    return os.path.join(home, "models", fname)


def preprocess_input(x, data_format=None, mode="caffe"):
    """A batch (N, H, W, 3) or one image (H, W, 3) of values in [0, 255], as Keras prepares
    it: mode "caffe" RGB -> BGR then minus the ImageNet BGR means; "tf" scaled to [-1, 1];
    "torch" scaled to [0, 1] then standardized per channel with ImageNet's mean and std.
    A float numpy array is changed in place (as in Keras); other inputs give a new array
    (an integer array becomes floatx); an nbkeras tensor gives a tensor."""
    if mode not in ("caffe", "tf", "torch"):
        raise ValueError("preprocess_input: expected mode to be one of `caffe`, `tf` or "
                         f"`torch`. Received: mode={mode}")
    data_format = _data_format(data_format)
    channel_axis = -1 if data_format == "channels_last" else (0 if np.ndim(x) == 3 else 1)
    if not isinstance(x, np.ndarray):
        return _preprocess_tensor(x, channel_axis, mode)
    if not issubclass(x.dtype.type, np.floating):
        x = x.astype(config.floatx(), copy=False)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    shape = [1] * x.ndim
    shape[channel_axis] = 3
    if mode == "torch":
        x /= 255.0
        x -= np.reshape(_TORCH_MEAN, shape).astype(x.dtype)
        x /= np.reshape(_TORCH_STD, shape).astype(x.dtype)
        return x
    x = np.flip(x, axis=channel_axis)   # a view, as Keras's x[..., ::-1]
    x -= np.reshape(_CAFFE_MEAN_BGR, shape).astype(x.dtype)
    return x


def _preprocess_tensor(x, channel_axis: int, mode: str):
    from .. import ops

    x = ops.cast(ops.convert_to_tensor(x), config.floatx()) if not isinstance(
        x, KerasTensor) else x
    if mode == "tf":
        return x / 127.5 - 1.0
    shape = [1] * len(x.shape)
    shape[channel_axis] = 3
    if mode == "torch":
        mean = np.reshape(_TORCH_MEAN, shape).astype(x.dtype)
        return (x / 255.0 - mean) / np.reshape(_TORCH_STD, shape).astype(x.dtype)
    bgr = ops.take(x, np.array([2, 1, 0]), axis=channel_axis)
    return bgr - np.reshape(_CAFFE_MEAN_BGR, shape).astype(x.dtype)


def _data_format(data_format):
    if data_format is None:
        return config.image_data_format()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError("preprocess_input: expected data_format to be one of "
                         f"`channels_first` or `channels_last`. Received: "
                         f"data_format={data_format}")
    return data_format


def decode_predictions(preds, top=5, *, class_index_path=None):
    """For each row of `preds` (N, 1000), the `top` classes as (wordnet id, name, score),
    best first. The class names come from Keras's imagenet_class_index.json, read from
    `class_index_path`, else from $NBKERAS_HOME/models (nbkeras does not download it)."""
    global _class_index

    preds = np.asarray(preds.numpy() if hasattr(preds, "numpy") else preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D "
                         f"array of shape (samples, 1000)). Received array with shape: "
                         f"{preds.shape}")
    if class_index_path is not None:
        index = _read_class_index(os.fspath(class_index_path))
    else:
        if _class_index is None:
            _class_index = _read_class_index(models_path(CLASS_INDEX_FILE))
        index = _class_index
    results = []
    for pred in preds:
        best = pred.argsort()[-top:][::-1]
        results.append(sorted((tuple(index[str(i)]) + (pred[i],) for i in best),
                              key=lambda entry: entry[2], reverse=True))
    return results


def _read_class_index(path: str) -> dict:
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"decode_predictions: {path} does not exist, and nbkeras does not download. "
            f"Fetch {CLASS_INDEX_PATH} and put it at {path} (or pass its location as "
            "class_index_path=...).")
    with open(path) as handle:
        return json.load(handle)


def obtain_input_shape(input_shape, default_size: int, min_size: int, data_format: str,
                       require_flatten: bool, weights=None) -> tuple:
    """The model's input shape (H, W, C): `input_shape` checked (3 integers, at least
    min_size x min_size, 3 channels for ImageNet weights), or the default
    (default_size, default_size, 3) when a classifier top needs a fixed size, else
    (None, None, 3). As Keras's rule; nbkeras's applications are channels_last."""
    if weights == "imagenet" and require_flatten:
        default = (default_size, default_size, 3)
        if input_shape is not None and tuple(input_shape) != default:
            raise ValueError("When setting `include_top=True` and loading `imagenet` weights, "
                             f"`input_shape` should be {default}.  Received: "
                             f"input_shape={input_shape}")
        return default
    if input_shape:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError("`input_shape` must be a tuple of three integers.")
        if input_shape[-1] != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received "
                             f"`input_shape={input_shape}`")
        if any(side is not None and side < min_size for side in input_shape[:2]):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    elif require_flatten:
        input_shape = (default_size, default_size, 3)
    else:
        input_shape = (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static "
                         f"`input_shape`. Received: input_shape={input_shape}")
    return input_shape


def correct_pad(inputs: KerasTensor, kernel_size) -> tuple:
    """((top, bottom), (left, right)) zero padding that makes a stride-2 'valid'
    convolution of `kernel_size` centre its windows as TensorFlow's 'same' does."""
    kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    rows, cols = inputs.shape[1:3]
    adjust = (1, 1) if rows is None else (1 - rows % 2, 1 - cols % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def validate_activation(classifier_activation, weights) -> None:
    """Pretrained weights allow only a softmax or linear classifier (as Keras)."""
    if weights is None:
        return
    if activations.get(classifier_activation) not in (activations.softmax, activations.linear):
        raise ValueError("Only `None` and `softmax` activations are allowed for the "
                         "`classifier_activation` argument when using pretrained weights, "
                         "with `include_top=True`; Received: "
                         f"classifier_activation={classifier_activation}")


def check_arguments(model: str, weights, include_top: bool, classes: int) -> None:
    """The checks every constructor makes before building (Keras's messages)."""
    if config.image_data_format() != "channels_last":
        raise ValueError(f"{model}: nbkeras builds the applications channels_last; "
                         "call nk.config.set_image_data_format('channels_last')")
    if not (weights in ("imagenet", None) or
            (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights))):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), 'imagenet' (pre-training on ImageNet), or the "
                         f"path to the weights file to be loaded.  Received: weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("If using `weights='imagenet'` with `include_top=True`, `classes` "
                         f"should be 1000.  Received classes={classes}")


def image_input(input_tensor, input_shape: tuple) -> KerasTensor:
    """The symbolic image the model starts from: `input_tensor` (an nbkeras symbolic tensor,
    such as another model's output or an `nk.Input`) or a new `Input(input_shape)`."""
    if input_tensor is None:
        return layers.Input(shape=input_shape)
    if not isinstance(input_tensor, KerasTensor):
        raise ValueError("input_tensor must be a symbolic tensor (from nk.Input or a layer "
                         f"applied to one); received {type(input_tensor).__name__}")
    return input_tensor


def model_inputs(input_tensor, img_input: KerasTensor):
    """The inputs of the functional model: the sources of `input_tensor`'s graph, if any."""
    if input_tensor is None:
        return img_input
    from ..utils.source_inputs import get_source_inputs

    return get_source_inputs(input_tensor)


def pool(x: KerasTensor, pooling, names=(None, None)) -> KerasTensor:
    """The feature map `x` (N, H, W, C) reduced by `pooling`: "avg" or "max" give (N, C)
    (layers named `names`), None keeps it."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=names[0])(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=names[1])(x)
    return x


def load_weights(model, weights, fname: str, origin: str, file_hash: str | None = None
                 ) -> None:
    """Load `weights` into the freshly built `model`: None keeps the initial values, a path
    loads that file, "imagenet" loads the published weights from $NBKERAS_HOME/models.

    Keras publishes the ImageNet weights as `fname` at `origin`, in Keras 2's legacy HDF5
    layout, which `model.load_weights` reads (by topology, as Keras's applications load
    it); "imagenet" looks for `fname` in $NBKERAS_HOME/models (where Keras's cache keeps
    it in ~/.keras/models), then for a copy converted to Keras 3's `<stem>.weights.h5`."""
    if weights is None:
        return
    if weights != "imagenet":
        model.load_weights(os.fspath(weights))
        return
    published = models_path(fname)
    converted = models_path(fname[:-len(".h5")] + ".weights.h5")
    found = [path for path in (published, converted) if os.path.exists(path)]
    if not found:
        raise FileNotFoundError(
            f"{model.name}: weights='imagenet' needs {published} (or a copy converted to "
            f"{converted}), which does not exist, and nbkeras does not download. Fetch "
            f"{fname} from {origin}" + (f" (md5 {file_hash})" if file_hash else "") +
            f" and put it at {published}.")
    model.load_weights(found[0])
