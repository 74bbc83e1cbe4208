"""Fuzzing `nk.models.load_model` with damaged `.keras` files.

Hypothesis mutates a valid archive of a tiny compiled model: flips bytes of the zip, cuts it
short, drops, replaces or adds members (unsafe names among them), edits config.json at a
random place of its JSON tree, flips bytes inside model.weights.h5 (re-zipped, so the zip
checksums hold and h5py parses the damage), or edits the HDF5 structure (datasets removed,
re-declared with other shapes, dtypes or terabyte sizes, added). Loading must either succeed
or raise the documented InvalidArchiveError (a ValueError naming the file and the entry),
within a time limit, writing nothing outside its temporary directory (a load may warn, as
Keras does when it skips an optimizer state that does not fit). Run with `-s` to see the
figures (inputs tried, outcomes by mutation, errors by cause):

    python -m pytest -s -p no:cacheprovider tests/saving/test_keras_archive_fuzz.py
"""
import io
import json
import os
import signal
import tempfile
import warnings
import zipfile
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbkeras as nk
from nbkeras import layers
from nbkeras.saving import InvalidArchiveError

h5py = pytest.importorskip("h5py")
EXAMPLES = 1000                 # CI runs every one of them (explicit, whatever the profile)
SECONDS_PER_LOAD = 20           # a load that takes longer counts as a hang
UNSAFE_NAMES = ["../escape", "/etc/evil", "a/../../up", "C:/x", "..\\back"]


def _valid_archive() -> dict[str, bytes]:
    """The members of a `.keras` file of a tiny model, compiled and trained one step."""
    nk.config.set_random_seed(0)
    model = nk.Sequential([nk.Input((3,)), layers.Dense(2, activation="relu"),
                           nk.Sequential([layers.Dense(1)], name="inner")])
    model.compile(optimizer=nk.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    model.train_on_batch(np.ones((2, 3), "float32"), np.ones((2, 1), "float32"))
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "m.keras")
        model.save(path)
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}


MEMBERS = _valid_archive()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


VALID = _zip(MEMBERS)


# ---- mutations: each strategy gives (kind, archive bytes) ------------------------------------
@st.composite
def flipped_bytes(draw, data: bytes = VALID):
    """Some bytes of `data` XORed with non-zero values."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(out) - 1))
        out[position] ^= draw(st.integers(1, 255))
    return bytes(out)


@st.composite
def zip_flips(draw):
    return "flip zip bytes", draw(flipped_bytes())


@st.composite
def truncations(draw):
    return "truncate", VALID[:draw(st.integers(0, len(VALID) - 1))]


@st.composite
def member_changes(draw):
    name = draw(st.sampled_from(sorted(MEMBERS) + UNSAFE_NAMES + ["assets/x", "extra.bin"]))
    action = draw(st.sampled_from(["drop", "replace"]) if name in MEMBERS else st.just("add"))
    members = dict(MEMBERS)
    if action == "drop":
        del members[name]
    else:
        members[name] = draw(st.binary(max_size=64))
    return f"{action} member", _zip(members)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
    | st.text(max_size=8) | st.sampled_from(["Dense", "keras.layers", "__lambda__", "function",
                                             "__keras_tensor__", "Sequential", "builtins"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["class_name", "config", "module", "name", "units",
                                       "layers", "value"]), children, max_size=3),
    max_leaves=6)


@st.composite
def json_edits(draw):
    """config.json with one value (somewhere in its tree) replaced or deleted."""
    config = json.loads(MEMBERS["config.json"])
    parent, key = None, None
    node = config
    while isinstance(node, (dict, list)) and node and draw(st.integers(0, 9)) > 1:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        parent, key = node, draw(st.sampled_from(keys))
        node = parent[key]
    if parent is None:
        config = draw(JSON_VALUES)
    elif draw(st.booleans()) and isinstance(parent, dict):
        del parent[key]
    else:
        parent[key] = draw(JSON_VALUES)
    return "edit config.json", _zip({**MEMBERS, "config.json": json.dumps(config).encode()})


@st.composite
def weights_flips(draw):
    weights = draw(flipped_bytes(MEMBERS["model.weights.h5"]))
    return "flip h5 bytes", _zip({**MEMBERS, "model.weights.h5": weights})


def _datasets(f) -> list[str]:
    found = []
    f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return found


@st.composite
def weights_edits(draw):
    """model.weights.h5 with a dataset removed, re-declared or added."""
    buffer = io.BytesIO(MEMBERS["model.weights.h5"])
    with h5py.File(buffer, "r+") as f:
        names = _datasets(f)
        target = draw(st.sampled_from(names + ["layers/dense/vars/9", "layers/extra/vars/0",
                                               "optimizer/vars/7"]))
        action = draw(st.sampled_from(["delete", "redeclare"]) if target in names
                      else st.just("redeclare"))
        if target in names:
            del f[target]
        if action == "redeclare":
            shape = draw(st.lists(st.sampled_from([0, 1, 2, 3, 2**20, 2**40]), max_size=3))
            dtype = draw(st.sampled_from(["float32", "float64", "int8", "bool", "complex64",
                                          "S3"]))
            if max(shape, default=0) >= 2**20:   # declared only: chunked, none written
                f.create_dataset(target, shape=tuple(max(n, 1) for n in shape), dtype=dtype,
                                 chunks=(1,) * len(shape))
            else:
                f.create_dataset(target, data=np.zeros(shape, dtype))
    return f"{action} h5 dataset", _zip({**MEMBERS, "model.weights.h5": buffer.getvalue()})


MUTATIONS = st.one_of(zip_flips(), truncations(), member_changes(), json_edits(),
                      weights_flips(), weights_edits())


# ---- the property -------------------------------------------------------------------------------
class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang(f"load_model took more than {SECONDS_PER_LOAD} s")


def _cause(error: BaseException) -> str:
    cause = error.__cause__
    return type(cause).__name__ if cause is not None else "checked"


def test_mutated_archives_load_or_raise_the_documented_error(tmp_path, monkeypatch):
    sandbox, work = tmp_path / "tmp", tmp_path / "work"
    sandbox.mkdir()
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(sandbox))   # where loading may write
    monkeypatch.chdir(work)
    outcomes, causes = Counter(), Counter()
    previous = signal.signal(signal.SIGALRM, _alarm)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(mutation=MUTATIONS)
    def load(mutation):
        kind, data = mutation
        path = work / "m.keras"
        path.write_bytes(data)
        signal.alarm(SECONDS_PER_LOAD)
        try:
            with warnings.catch_warnings(record=True) as caught:   # e.g. optimizer state skipped
                warnings.simplefilter("always")
                nk.models.load_model(path)
            outcomes[kind, "loaded, warned" if caught else "loaded"] += 1
        except InvalidArchiveError as error:
            assert repr(str(path)) in str(error)
            outcomes[kind, "InvalidArchiveError"] += 1
            causes[_cause(error)] += 1
        finally:
            signal.alarm(0)
        assert sorted(os.listdir(work)) == ["m.keras"] and os.listdir(sandbox) == []

    try:
        load()
    finally:
        signal.signal(signal.SIGALRM, previous)
    tried = sum(outcomes.values())
    print(f"\nfuzzed .keras loads: {tried} inputs; no hang, crash, stray file or "
          "undocumented error")
    for (kind, outcome), count in sorted(outcomes.items()):
        print(f"  {kind:22s} {outcome:20s} {count:5d}")
    print("  InvalidArchiveError causes: " + ", ".join(
        f"{name} {count}" for name, count in causes.most_common()))
    assert tried >= EXAMPLES
