"""The benchmark cases behind `benchmarks/run.py`: each returns `Row`s of nbkeras next to its
peers (PyTorch on the CPU; Keras 3 on JAX where installed), measured in this process unless
the case needs a fresh one. Sizes and repeats are arguments, so tests can run them tiny.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import nbkeras as nk
from nbkeras import layers, ops

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dense import best_time  # noqa: E402
from mnist_convnet import nbkeras_model, rates, torch_steps  # noqa: E402

PEERS = ("pytorch", "keras-jax")


@dataclass
class Row:
    """One measured quantity: `values` maps "nbkeras" and each peer to a number (None when
    that framework was not measured); `compile_s` is nbkeras's first call (the warm-up: Numba
    compile or cache load), not included in the values."""
    name: str
    unit: str
    higher_is_better: bool
    values: dict[str, float | None] = field(default_factory=dict)
    compile_s: float | None = None

    def ratio(self, peer: str) -> float | None:
        """nbkeras / peer as a speed: > 1 means nbkeras is faster."""
        ours, theirs = self.values.get("nbkeras"), self.values.get(peer)
        if ours is None or theirs is None or not (math.isfinite(ours) and math.isfinite(theirs)):
            return None
        return ours / theirs if self.higher_is_better else theirs / ours


def load_torch(threads: int):
    """The `torch` module set to `threads` threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def load_keras_jax():
    """The `keras` module on the JAX backend, or None when Keras 3 or JAX is not installed.
    Call it before anything imports keras: the backend is read at import."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import jax  # noqa: F401
        import keras
    except ImportError:
        return None
    return keras if keras.backend.backend() == "jax" else None


def _timed(fn: Callable[[], object]) -> float:
    """Wall seconds of one call of fn()."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ---- Simple MNIST convnet: samples/s ----------------------------------------------------------
def convnet_rows(batch: int = 128, steps: int = 20, torch=None, keras=None) -> list[Row]:
    """Training and inference samples/s of the Simple MNIST convnet on one random batch of
    MNIST's shape (speed does not depend on the pixel values), every framework's calls timed
    in turn in each round (mnist_convnet.rates)."""
    rng = np.random.default_rng(0)
    x = rng.random((batch, 28, 28, 1), dtype=np.float32)
    y = nk.utils.to_categorical(rng.integers(0, 10, batch), 10)
    train = Row(f"MNIST convnet training, batch {batch}", "samples/s", True)
    infer = Row(f"MNIST convnet inference, batch {batch}", "samples/s", True)
    model = nbkeras_model()
    train.compile_s = _timed(lambda: model.train_on_batch(x, y))
    infer.compile_s = _timed(lambda: model.predict_on_batch(x))
    calls = {("nbkeras", "train"): lambda: model.train_on_batch(x, y),
             ("nbkeras", "infer"): lambda: model.predict_on_batch(x)}
    if torch is not None:
        calls[("pytorch", "train")], calls[("pytorch", "infer")] = torch_steps(torch, x, y)
    if keras is not None:
        peer = nbkeras_model(keras)
        calls[("keras-jax", "train")] = lambda: peer.train_on_batch(x, y)
        calls[("keras-jax", "infer")] = lambda: peer.predict_on_batch(x)
    rows = {"train": train, "infer": infer}
    for (name, kind), value in rates(calls, batch, steps).items():
        rows[kind].values[name] = value
    return [train, infer]


# ---- MNIST-1D paper CNN: time to a test accuracy ---------------------------------------------
def _torch_paper_cnn(torch):
    """The MNIST-1D paper CNN in PyTorch, (N, 1, 40) -> (N, 10) logits. "same" with stride 2
    pads 2 on both sides here (Keras pads 1 left, 2 right); the output lengths agree."""
    nn = torch.nn
    convs = [m for c_in in (1, 25, 25)
             for m in (nn.Conv1d(c_in, 25, 5, stride=2, padding=2), nn.ReLU())]
    return nn.Sequential(*convs, nn.Flatten(), nn.Linear(25 * 5, 10))


def _nbkeras_epochs(data, batch: int) -> tuple[Callable[[], None], Callable[[], float]]:
    """(train one epoch, test accuracy) of a fresh nbkeras paper CNN with Adam 1e-2."""
    from nbkeras.demo import paper_cnn

    (x_train, y_train), (x_test, y_test) = data
    model = paper_cnn(x_train.shape[1])
    model.compile(optimizer=nk.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return (lambda: model.fit(x_train[..., None], y_train, batch_size=batch, epochs=1,
                              verbose=0),
            lambda: model.evaluate(x_test[..., None], y_test, batch_size=1000, verbose=0)[1])


def _torch_epochs(torch, data, batch: int) -> tuple[Callable[[], None], Callable[[], float]]:
    """(train one epoch, test accuracy) of a fresh PyTorch paper CNN with Adam 1e-2."""
    (x_train, y_train), (x_test, y_test) = data
    net = _torch_paper_cnn(torch)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    tx, ty = torch.tensor(x_train[:, None]), torch.tensor(y_train)
    vx, vy = torch.tensor(x_test[:, None]), torch.tensor(y_test)

    def train() -> None:
        net.train()
        for index in torch.randperm(len(tx)).split(batch):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(tx[index]), ty[index]).backward()
            optimizer.step()

    def accuracy() -> float:
        net.eval()
        with torch.no_grad():
            return (net(vx).argmax(1) == vy).float().mean().item()

    return train, accuracy


def time_to_accuracy(epochs: tuple[Callable[[], None], Callable[[], float]], target: float,
                     max_epochs: int) -> tuple[float, int]:
    """(wall seconds of training plus the per-epoch test evaluations, epochs) until the test
    accuracy reaches `target`; (inf, max_epochs) if it never does."""
    train, accuracy = epochs
    seconds = 0.0
    for epoch in range(1, max_epochs + 1):
        start = time.perf_counter()
        train()
        reached = accuracy() >= target
        seconds += time.perf_counter() - start
        if reached:
            return seconds, epoch
    return math.inf, max_epochs


def mnist1d_rows(target: float = 0.9, max_epochs: int = 60, batch: int = 100,
                 n_train: int | None = None, torch=None) -> list[Row]:
    """Seconds for the MNIST-1D paper CNN to reach `target` test accuracy (Adam 1e-2,
    evaluated after each epoch, at most `max_epochs`); `n_train` trims the training set.
    nbkeras compiles on a throw-away model first; that time is the row's compile time."""
    (x_train, y_train), test = nk.datasets.mnist1d.load_data()
    data = ((x_train[:n_train], y_train[:n_train]), test)
    nk.config.set_random_seed(0)
    row = Row(f"MNIST-1D CNN, time to {target:.0%} test acc.", "s", False)
    row.compile_s = time_to_accuracy(_nbkeras_epochs(data, batch), 0.0, 1)[0]
    seconds, epochs = time_to_accuracy(_nbkeras_epochs(data, batch), target, max_epochs)
    row.values["nbkeras"] = seconds
    row.name += f" (nbkeras {epochs} ep."
    if torch is not None:
        torch.manual_seed(0)
        seconds, epochs = time_to_accuracy(_torch_epochs(torch, data, batch), target, max_epochs)
        row.values["pytorch"] = seconds
        row.name += f", torch {epochs} ep."
    row.name += ")"
    return [row]


# ---- one layer, forward + backward ------------------------------------------------------------
def _nbkeras_fwd_bwd(layer, x: np.ndarray, dy: np.ndarray) -> Callable[[], None]:
    """A step: the layer's training-mode forward, then gradients of sum(y * dy) by x and
    every trainable weight under `nk.GradientTape`."""
    tensor = nk.Tensor(x)

    def step() -> None:
        with nk.GradientTape() as tape:
            tape.watch(tensor)
            loss = ops.sum(ops.multiply(layer(tensor, training=True), dy))
        tape.gradient(loss, [tensor, *layer.trainable_weights])

    return step


def _torch_fwd_bwd(torch, module, x: np.ndarray, dy: np.ndarray) -> Callable[[], None]:
    """The same step for a torch module; 4-D arrays go from NHWC to torch's NCHW."""
    def nchw(a: np.ndarray) -> np.ndarray:
        return a.transpose(0, 3, 1, 2).copy() if a.ndim == 4 else a

    tx = torch.tensor(nchw(x), requires_grad=True)
    tdy = torch.tensor(nchw(dy))
    module.train()

    def step() -> None:
        tx.grad = None
        module.zero_grad()
        (module(tx) * tdy).sum().backward()

    return step


def op_rows(batch: int = 128, repeats: int = 20, torch=None) -> list[Row]:
    """Milliseconds of forward + backward for single layers at the sizes they have inside
    the MNIST convnet (batch `batch`)."""
    nn = torch.nn if torch is not None else None
    cases = [  # name, nbkeras layer, torch module factory, input shape (NHWC)
        ("Conv2D 3x3, 26x26x32 -> 64", layers.Conv2D(64, 3), lambda: nn.Conv2d(32, 64, 3),
         (batch, 26, 26, 32)),
        ("MaxPooling2D 2x2, 24x24x64", layers.MaxPooling2D(2), lambda: nn.MaxPool2d(2),
         (batch, 24, 24, 64)),
        ("BatchNormalization, 24x24x64", layers.BatchNormalization(),
         lambda: nn.BatchNorm2d(64, eps=1e-3, momentum=0.01), (batch, 24, 24, 64)),
        ("Dense 1600 -> 128", layers.Dense(128), lambda: nn.Linear(1600, 128), (batch, 1600)),
    ]
    rng = np.random.default_rng(0)
    rows = []
    for name, layer, module, shape in cases:
        x = rng.standard_normal(shape).astype("float32")
        dy = rng.standard_normal(layer.compute_output_shape(shape)).astype("float32")
        row = Row(f"{name}, batch {batch}, fwd+bwd", "ms", False)
        step = _nbkeras_fwd_bwd(layer, x, dy)
        row.compile_s = _timed(step)
        row.values["nbkeras"] = best_time(step, repeats) * 1e3
        if torch is not None:
            row.values["pytorch"] = best_time(_torch_fwd_bwd(torch, module(), x, dy),
                                              repeats) * 1e3
        rows.append(row)
    return rows


# ---- per-layer dispatch: batch 1 --------------------------------------------------------------
def dispatch_rows(depth: int = 20, repeats: int = 20, torch=None, keras=None) -> list[Row]:
    """Microseconds per layer of an inference call at batch 1, where the arithmetic is
    nothing and the framework's own work per layer is all: a model of `depth` + 1 Dense(8)
    layers minus a model of one, over `depth`."""
    x = np.random.default_rng(0).standard_normal((1, 8)).astype("float32")
    row = Row("layer dispatch, inference at batch 1, per Dense(8) layer", "us", False)

    def per_layer(call_model: Callable[[int], Callable[[], object]]) -> float:
        one, deep = call_model(1), call_model(depth + 1)
        return (best_time(lambda: [deep() for _ in range(100)], repeats)
                - best_time(lambda: [one() for _ in range(100)], repeats)) / depth * 1e4

    def stack(api, n: int):
        return api.Sequential([api.Input((8,))] + [api.layers.Dense(8) for _ in range(n)])

    tensor = nk.ops.convert_to_tensor(x)
    row.values["nbkeras"] = per_layer(lambda n: (lambda m: lambda: m(tensor))(stack(nk, n)))
    if torch is not None:
        def torch_model(n: int):
            net = torch.nn.Sequential(*[torch.nn.Linear(8, 8) for _ in range(n)]).eval()
            tx = torch.from_numpy(x)

            def call():
                with torch.no_grad():
                    return net(tx)
            return call
        row.values["pytorch"] = per_layer(torch_model)
    if keras is not None:
        row.values["keras-jax"] = per_layer(
            lambda n: (lambda m: lambda: m(x, training=False))(stack(keras, n)))
    return [row]


# ---- fresh processes: import time, first training step ----------------------------------------
def import_seconds(module: str, repeats: int = 3) -> float:
    """Best wall seconds of `import module` in a fresh Python process, over `repeats`."""
    probe = f"import time; t = time.perf_counter(); import {module}; " \
            "print(time.perf_counter() - t)"
    return min(float(subprocess.run([sys.executable, "-c", probe], capture_output=True,
                                    text=True, check=True).stdout) for _ in range(repeats))


def import_rows(repeats: int = 3, torch=None) -> list[Row]:
    """`import nbkeras` against `import torch`, in ms, each in fresh processes."""
    row = Row(f"import time, fresh process (best of {repeats})", "ms", False)
    row.values["nbkeras"] = import_seconds("nbkeras", repeats) * 1e3
    if torch is not None:
        row.values["pytorch"] = import_seconds("torch", repeats) * 1e3
    return [row]


def first_step_rows(threads: int = 2) -> list[Row]:
    """Fresh process -> first training step done (cold_start.py), per model: nbkeras with an
    empty Numba cache through `nk.utils.warmup`, next to PyTorch and Keras on JAX, and the
    seconds of that run's warmup call; then nbkeras's plain cold first step, its cold one
    compiling in one process, its warm one and the one after `pip install` (the cache the
    wheel ships), next to the peers again."""
    from cold_start import MODELS, nbkeras_first_steps, peer_first_step
    rows = []
    for model, (title, batch) in MODELS.items():
        ours = nbkeras_first_steps(model, threads)
        for state in ("cold, warmup", "cold, plain", "cold, one process", "warm",
                      "pip-installed"):
            row = Row(f"{title}, fresh process -> first train step done, batch {batch}, "
                      f"nbkeras {state} Numba cache", "s", False)
            row.values["nbkeras"] = ours[state]
            if state in ("cold, warmup", "pip-installed"):
                for peer in PEERS:
                    row.values[peer] = peer_first_step(peer, model, threads)
            rows.append(row)
            if state == "cold, warmup":
                row = Row(f"{title}, the nk.utils.warmup call of that run, nbkeras cold Numba "
                          f"cache", "s", False)
                row.values["nbkeras"] = ours["warmup call"]
                rows.append(row)
    return rows
