"""Models and layers made without names in a fresh process get the names Keras 3.15 gives
the same calls in the same order (a Sequential's build takes a "functional" name in Keras,
which builds a Functional of the chain), so the names in saved files agree."""
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("keras")

SCRIPT = """
import json, os, sys, warnings
os.environ["KERAS_BACKEND"] = "jax"
warnings.simplefilter("ignore")
import numpy as np
lib = __import__(sys.argv[1])
L, path = lib.layers, sys.argv[2]
names = []

def functional():
    x = lib.Input((3,))
    model = lib.Model(x, L.Dense(1)(x))
    names.extend([model.name] + [layer.name for layer in model.layers])

a = lib.Sequential([lib.Input((3,)), L.Dense(2)])
b = lib.Sequential([L.Dense(2)])
b(np.ones((2, 3), "float32"))
functional()
c = lib.Sequential([L.Dense(2)])
c.build((None, 3))
d = lib.Sequential([lib.Input((3,))])
d.add(L.Dense(2))
d.add(L.Dense(3))
d.pop()
functional()
d.save(path)
loaded = lib.models.load_model(path)
functional()
clone = lib.models.clone_model(a)
e = lib.Sequential([L.Dense(2)])
e.compile("sgd", "mse")
e.fit(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"), verbose=0)
functional()
names += [m.name for m in (a, b, c, d, loaded, clone, e)]
names += [layer.name for m in (a, b, c, d, loaded, clone, e) for layer in m.layers]
print(json.dumps(names))
"""


def names_made_by(library: str, tmp_path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, library, str(tmp_path / f"{library}.keras")],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "KERAS_BACKEND": "jax"}, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_default_names_in_a_fresh_process_are_keras_s(tmp_path):
    ours = names_made_by("nbkeras", tmp_path)
    assert ours == names_made_by("keras", tmp_path)
    assert "functional_2" in ours   # the two Sequential builds before it took two names
