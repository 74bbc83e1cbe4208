"""Writes the Keras tables that tests/applications/test_applications.py checks nbkeras's
applications against, so the tests run without Keras:

    KERAS_BACKEND=jax python tests/applications/make_architecture_tables.py

For each case below, data/<case>.json holds what keras.applications builds with
weights=None (Keras 3.15): the parameter count and every layer's (name, class name, output
shape), in `model.layers` order. Keras's name counters are reset before each model, as the
test resets nbkeras's, so unnamed layers get the same numbered names.

For each of WEIGHTS_CASES (small models, built by keras.src.applications.<module>), it also
writes data/<case>.weights.h5 (Keras's `save_weights`, BatchNormalization statistics made
random first) and data/<case>.npz (an input x, Keras's output y, and `spec`: the JSON of
module, constructor and keyword arguments), which nbkeras must load and reproduce.
"""
import json
import os

import importlib

import keras
import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

# case name -> (keras.applications constructor, keyword arguments); the test builds the same.
CASES = {
    "vgg16": ("VGG16", {}),
    "vgg16_notop_64_max": ("VGG16", dict(include_top=False, input_shape=(64, 64, 3),
                                         pooling="max")),
    "vgg19": ("VGG19", {}),
    "resnet50": ("ResNet50", {}),
    "resnet50_notop_avg": ("ResNet50", dict(include_top=False, pooling="avg")),
    "resnet50v2": ("ResNet50V2", {}),
    "resnet50v2_notop_max": ("ResNet50V2", dict(include_top=False, pooling="max",
                                                input_shape=(96, 96, 3))),
    "mobilenetv2": ("MobileNetV2", {}),
    "mobilenetv2_035_notop_97": ("MobileNetV2", dict(alpha=0.35, include_top=False,
                                                     input_shape=(97, 97, 3))),
    "mobilenetv2_130_10": ("MobileNetV2", dict(alpha=1.3, classes=10,
                                               input_shape=(160, 160, 3))),
    "efficientnetb0": ("EfficientNetB0", {}),
    "efficientnetb0_notop_avg": ("EfficientNetB0", dict(include_top=False, pooling="avg",
                                                        input_shape=(75, 75, 3))),
}

# case name -> (module, constructor, keyword arguments), each file under ~2 MB
WEIGHTS_CASES = {
    "mobilenetv2_035_32": ("mobilenet_v2", "MobileNetV2",
                           dict(alpha=0.35, input_shape=(32, 32, 3), classes=5)),
    "efficientnet_small_32": ("efficientnet", "EfficientNet",
                              dict(width_coefficient=0.25, depth_coefficient=0.5,
                                   default_size=32, include_top=False, pooling="avg")),
}


def randomize_batch_statistics(model, seed: int) -> None:
    """Random gamma, beta, moving mean and moving variance in every BatchNormalization,
    so a loader that swaps or skips them is caught."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape) if i in (0, 3) else
                               rng.normal(0.0, 0.1, w.shape)
                               for i, w in enumerate(layer.get_weights())])


def write_weights_case(case: str, module: str, constructor: str, kwargs: dict) -> None:
    keras.utils.set_random_seed(7)
    build = getattr(importlib.import_module(f"keras.src.applications.{module}"), constructor)
    model = build(weights=None, **kwargs)
    randomize_batch_statistics(model, seed=8)
    model.save_weights(os.path.join(HERE, f"{case}.weights.h5"))
    x = np.random.default_rng(9).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    spec = json.dumps({"module": module, "constructor": constructor, "kwargs": kwargs})
    np.savez(os.path.join(HERE, f"{case}.npz"), x=x, y=np.asarray(model(x, training=False)),
             spec=np.array(spec))


def table(model) -> dict:
    return {"params": model.count_params(),
            "layers": [[layer.name, type(layer).__name__, list(layer.output.shape)]
                       for layer in model.layers]}


def dumps(record: dict) -> str:
    """JSON with one layer per line (readable diffs when Keras changes)."""
    head = {key: value for key, value in record.items() if key != "layers"}
    rows = ",\n".join(json.dumps(row) for row in record["layers"])
    return json.dumps(head)[:-1] + ', "layers": [\n' + rows + "\n]}\n"


def main() -> None:
    os.makedirs(HERE, exist_ok=True)
    for case, (constructor, kwargs) in CASES.items():
        keras.backend.clear_session()
        model = getattr(keras.applications, constructor)(weights=None, **kwargs)
        with open(os.path.join(HERE, f"{case}.json"), "w") as handle:
            handle.write(dumps({"constructor": constructor, "kwargs": kwargs, **table(model)}))
        print(case, model.count_params())
    for case, (module, constructor, kwargs) in WEIGHTS_CASES.items():
        keras.backend.clear_session()
        write_weights_case(case, module, constructor, kwargs)
        print(case, "weights")


if __name__ == "__main__":
    main()
