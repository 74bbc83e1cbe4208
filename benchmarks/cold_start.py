"""Cold start: a fresh process's way to its first training step, and where its time goes.

    python benchmarks/cold_start.py [--threads 2] [--model convnet|mnist1d]

First the rows that `run.py` also shows: "fresh process -> first training step done" for the
Simple MNIST convnet (batch 128) and the README demo's MNIST-1D CNN (batch 100), timed from
the moment the process is launched (interpreter start and imports included) to the end of one
`train_on_batch`, and the seconds the `nk.utils.warmup` call itself took in the cold run
through it. nbkeras runs with an empty Numba cache, through `nk.utils.warmup` and as a
plain first `train_on_batch` (both compile on every core), then compiling in its own process
only (NBKERAS_COMPILE_WORKERS=1: one kernel after another), then with the cache warm, then
installed from its wheel as `pip install .` installs it, with the cache the wheel ships; PyTorch
(eager) and Keras 3 on JAX (its XLA compile included) next to it. Then, from a cold run in one
process, where each kernel's compile went: Numba's type inference (which compiles the kernels
it calls), lowering with LLVM, and the disk-cache write, per kernel called from Python.
"""
from __future__ import annotations

import argparse
import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))

_DATA = """\
import time, sys
launched = float(sys.argv[1])
sys.path.insert(0, {bench!r})
import numpy as np
rng = np.random.default_rng(0)
if {model!r} == "convnet":
    x = rng.random(({batch}, 28, 28, 1), dtype=np.float32)
else:
    x = rng.random(({batch}, 40, 1), dtype=np.float32)
labels = rng.integers(0, 10, {batch})
"""

_NBKERAS_MODEL = _DATA + """\
import nbkeras as nk
nk.config.set_num_threads({threads})
if {model!r} == "convnet":
    from mnist_convnet import nbkeras_model
    model, y = nbkeras_model(), nk.utils.to_categorical(labels, 10)
else:
    from nbkeras.demo import paper_cnn
    model, y = paper_cnn(), labels
    model.compile(optimizer=nk.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
"""

_NBKERAS = _NBKERAS_MODEL + """\
if {warmup}:
    print("warmup call", nk.utils.warmup(model, x[:2], y[:2]))
model.train_on_batch(x, y)
print(time.time() - launched)
"""

_TORCH = _DATA + """\
import torch
torch.set_num_threads({threads})
nn = torch.nn                       # the models of mnist_convnet.py and cases.py, written
if {model!r} == "convnet":          # out so that no nbkeras import is timed here
    net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5),
                        nn.Linear(1600, 10))
    tx = torch.tensor(x.transpose(0, 3, 1, 2).copy())
else:
    net = nn.Sequential(*[m for c_in in (1, 25, 25) for m in (
        nn.Conv1d(c_in, 25, 5, stride=2, padding=2), nn.ReLU())], nn.Flatten(), nn.Linear(125, 10))
    tx = torch.tensor(x.transpose(0, 2, 1).copy())
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
optimizer.zero_grad()
torch.nn.functional.cross_entropy(net(tx), torch.tensor(labels)).backward()
optimizer.step()
print(time.time() - launched)
"""

_KERAS = _DATA + """\
import os
os.environ["KERAS_BACKEND"] = "jax"
import keras
L = keras.layers
if {model!r} == "convnet":
    model = keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"),
                              L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu"),
                              L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5),
                              L.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    y = keras.utils.to_categorical(labels, 10)
else:
    model = keras.Sequential([keras.Input((40, 1))] + [
        L.Conv1D(25, 5, strides=2, padding="same", activation="relu") for _ in range(3)]
        + [L.Flatten(), L.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    y = labels
model.train_on_batch(x, y)
print(time.time() - launched)
"""

MODELS = {"convnet": ("Simple MNIST convnet", 128), "mnist1d": ("README demo MNIST-1D CNN", 100)}


def fresh_process_output(script: str, env: dict | None = None,
                         cwd: str | None = None) -> list[str]:
    """The lines a fresh Python on `script` (in the folder `cwd`) prints; the last is the
    seconds from its launch to that print (its first training step done)."""
    launched = time.time()
    done = subprocess.run([sys.executable, "-c", script, repr(launched)], capture_output=True,
                          text=True, env=env, cwd=cwd)
    if done.returncode != 0:
        raise RuntimeError(f"cold-start script failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()


def fresh_process_seconds(script: str, env: dict | None = None, cwd: str | None = None) -> float:
    """Seconds from launching a fresh Python on `script` (in the folder `cwd`) to the time it
    prints (its first training step done)."""
    return float(fresh_process_output(script, env, cwd)[-1])


@functools.cache
def installed_package() -> str:
    """A folder where nbkeras is installed from its wheel, built from this checkout as `pip
    install .` builds it (setup.py fills the wheel's Numba cache for this machine)."""
    folder = tempfile.mkdtemp(prefix="nbkeras-installed-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    env = {name: value for name, value in os.environ.items() if name != "NUMBA_CACHE_DIR"}
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    os.path.join(folder, "site"), os.path.dirname(BENCH)], env=env, check=True,
                   capture_output=True)
    return folder


def nbkeras_first_steps(model: str, threads: int) -> dict[str, float]:
    """Seconds to the first training step done in fresh processes: {"cold, warmup": ...,
    "cold, plain": ..., "cold, one process": ..., "warm": ..., "pip-installed": ...}, and
    "warmup call": the seconds `nk.utils.warmup` itself took in the "cold, warmup" run; each
    cold run gets its own empty Numba cache; "pip-installed" runs the package installed from
    its wheel (installed_package) with the cache it ships."""
    batch = MODELS[model][1]
    seconds = {}
    installed = installed_package()
    env = {name: value for name, value in os.environ.items() if name != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = os.path.join(installed, "site")
    seconds["pip-installed"] = fresh_process_seconds(
        _NBKERAS.format(bench=BENCH, model=model, batch=batch, threads=threads, warmup=False),
        env, cwd=installed)
    for state, warmup, workers in (("cold, one process", False, "1"),
                                   ("cold, plain", False, ""), ("cold, warmup", True, "")):
        with tempfile.TemporaryDirectory(prefix="nbkeras-numba-cache-") as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, NBKERAS_COMPILE_WORKERS=workers)
            script = _NBKERAS.format(bench=BENCH, model=model, batch=batch, threads=threads,
                                     warmup=warmup)
            lines = fresh_process_output(script, env)
            seconds[state] = float(lines[-1])
            if warmup:
                seconds["warmup call"] = float(lines[0].split()[-1])
                seconds["warm"] = fresh_process_seconds(script, env)
    return seconds


def peer_first_step(peer: str, model: str, threads: int) -> float | None:
    """Seconds to the first training step done in a fresh process for "pytorch" or
    "keras-jax", or None when that framework is not installed."""
    modules, template = {"pytorch": ("torch", _TORCH), "keras-jax": ("jax, keras", _KERAS)}[peer]
    if subprocess.run([sys.executable, "-c", f"import {modules}"], capture_output=True,
                      env=dict(os.environ, KERAS_BACKEND="jax")).returncode != 0:
        return None
    return fresh_process_seconds(template.format(bench=BENCH, model=model,
                                                 batch=MODELS[model][1], threads=threads))


_BREAKDOWN = _NBKERAS_MODEL + """\
import gc, json
from numba.core import caching
from numba.core.registry import CPUDispatcher
save_seconds = {{}}        # qualname -> seconds in Numba's cache saves
save = caching.Cache.save_overload            # object code emitted, then written
def timed_save(cache, signature, data):
    start = time.perf_counter()
    save(cache, signature, data)
    name = cache._py_func.__qualname__
    save_seconds[name] = save_seconds.get(name, 0.0) + time.perf_counter() - start
caching.Cache.save_overload = timed_save
model.train_on_batch(x, y)
rows = []
for kernel in [o for o in gc.get_objects() if isinstance(o, CPUDispatcher)]:
    for result in kernel.overloads.values():
        passes = result.metadata["pipeline_times"]["nopython"]
        def seconds(*names):
            return sum(t.init + t.run + t.finalize for k, t in passes.items()
                       if any(n in k for n in names))
        timers = result.metadata.get("timers", {{}})
        rows.append(dict(
            kernel=kernel.py_func.__module__.rsplit(".", 1)[-1] + "."
            + kernel.py_func.__qualname__, total=seconds(""),
            typing=seconds("type_inference"), lowering=seconds("lowering"),
            llvm=timers.get("llvm_lock", 0.0),
            save=save_seconds.get(kernel.py_func.__qualname__, 0.0)))
print(json.dumps(rows))
"""


def compile_breakdown(model: str, threads: int) -> list[dict]:
    """Per kernel signature compiled by a cold first training step in one process: seconds
    in all of Numba's passes ("total", nested compiles of the kernels it calls included, in
    type inference), type inference,
    lowering (LLVM included), LLVM alone and the cache write."""
    with tempfile.TemporaryDirectory(prefix="nbkeras-numba-cache-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, NBKERAS_COMPILE_WORKERS="1")
        script = _BREAKDOWN.format(bench=BENCH, model=model, batch=MODELS[model][1],
                                   threads=threads)
        done = subprocess.run([sys.executable, "-c", script, repr(time.time())],
                              capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"compile breakdown script failed:\n{done.stderr[-2000:]}")
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    return sorted(rows, key=lambda r: -r["total"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", choices=sorted(MODELS), default="convnet",
                        help="the model whose compile is broken down per kernel")
    args = parser.parse_args(argv)
    print(f"Fresh process -> first training step done, seconds ({args.threads} threads, "
          f"load average {os.getloadavg()[0]:.2f})")
    print(f"  {'model':26s} {'nbkeras cold+warmup':>20s} {'(warmup call)':>14s} "
          f"{'cold plain':>11s} {'cold 1 process':>15s} {'warm':>6s} {'pip-installed':>14s} "
          f"{'pytorch':>8s} {'keras-jax':>10s}")
    for model, (title, _) in MODELS.items():
        ours = nbkeras_first_steps(model, args.threads)
        peers = [peer_first_step(p, model, args.threads) for p in ("pytorch", "keras-jax")]
        cells = [f"{v:.2f}" if v is not None else "-" for v in peers]
        print(f"  {title:26s} {ours['cold, warmup']:20.2f} {ours['warmup call']:14.2f} "
              f"{ours['cold, plain']:11.2f} "
              f"{ours['cold, one process']:15.2f} {ours['warm']:6.2f} "
              f"{ours['pip-installed']:14.2f} {cells[0]:>8s} "
              f"{cells[1]:>10s}")
    rows = compile_breakdown(args.model, args.threads)
    print(f"\nCold compile in one process of the {MODELS[args.model][0]}'s first training "
          f"step, per kernel signature (s; 'total' includes the kernels it calls; top 15 of "
          f"{len(rows)})")
    print(f"  {'kernel':42s} {'total':>6s} {'typing':>6s} {'lower':>6s} {'llvm':>6s} "
          f"{'save':>5s}")
    for r in rows[:15]:
        print(f"  {r['kernel'][:42]:42s} {r['total']:6.2f} {r['typing']:6.2f} "
              f"{r['lowering']:6.2f} {r['llvm']:6.2f} {r['save']:5.2f}")


if __name__ == "__main__":
    main()
