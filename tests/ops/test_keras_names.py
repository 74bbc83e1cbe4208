"""Every public name of keras.ops 3.15 (with its numpy, nn, linalg and image submodules) and
of keras.random exists in nbkeras, with Keras's parameters: names, order, kinds and defaults.

The lists and signatures in data/keras_ops_names.json were recorded from Keras 3.15.1
(`inspect.signature` of each function); nbkeras may add parameters after Keras's, keyword-only
or with defaults (the fused `bias=` of `conv`, say), never before or between them."""
from __future__ import annotations

import inspect
import json
import pathlib

import pytest

import nbkeras as nk

DATA = json.loads((pathlib.Path(__file__).parent / "data" / "keras_ops_names.json").read_text())
NAMESPACES = {"ops": nk.ops, "ops.numpy": nk.ops.numpy, "ops.nn": nk.ops.nn,
              "ops.linalg": nk.ops.linalg, "ops.image": nk.ops.image, "random": nk.random}

# Names still to come, each with its reason (issue 11 stays open while this is not empty).
PENDING = {
}


def test_the_recorded_names_are_keras_3_15():
    assert DATA["keras_version"].startswith("3.15")
    assert len(DATA["ops"]) == 337 and len(DATA["random"]) == 11


@pytest.mark.parametrize("namespace", sorted(NAMESPACES))
def test_every_keras_name_exists(namespace):
    module = NAMESPACES[namespace]
    missing = {f"{namespace}.{name}" for name in DATA[namespace] if not hasattr(module, name)}
    pending = {name for name in PENDING if name.rsplit(".", 1)[0] == namespace}
    assert missing == pending, (f"missing and not pending: {sorted(missing - pending)}; "
                                f"pending but present: {sorted(pending - missing)}")


@pytest.mark.parametrize("namespace", ["ops.numpy", "ops.nn", "ops.linalg", "ops.image"])
def test_submodules_hold_the_same_functions_as_nk_ops(namespace):
    module = NAMESPACES[namespace]
    for name in DATA[namespace]:
        if hasattr(module, name):
            assert getattr(module, name) is getattr(nk.ops, name), f"{namespace}.{name}"


SIGNATURES = sorted(key for key in DATA["signatures"] if key not in PENDING)


@pytest.mark.parametrize("key", SIGNATURES)
def test_parameters_match_keras(key):
    namespace, name = key.rsplit(".", 1)
    function = getattr(NAMESPACES[namespace], name)
    ours = list(inspect.signature(function).parameters.values())
    theirs = [tuple(p) for p in DATA["signatures"][key] if p[1] != "VAR_KEYWORD"]
    head = [(p.name, p.kind.name, repr(p.default) if p.default is not p.empty else None)
            for p in ours[:len(theirs)]]
    assert head == theirs, f"{key}: nbkeras {head} != Keras {theirs}"
    for extra in ours[len(theirs):]:
        assert (extra.kind in (extra.KEYWORD_ONLY, extra.VAR_KEYWORD)
                or extra.default is not extra.empty), f"{key}: extra parameter {extra.name}"
