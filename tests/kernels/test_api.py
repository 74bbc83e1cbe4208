"""Each device's kernel module exports exactly the kernel API (nbkeras/kernels/api.py), with
the declared signatures; the ops call no kernel outside it."""
import importlib
import inspect
import pathlib
import re

import pytest

import nbkeras
from nbkeras.core.device import cuda_unavailable_reason
from nbkeras.kernels import api

DEVICES = ["cpu"] + (["cuda"] if cuda_unavailable_reason() is None else [])


def _exports(module) -> dict:
    return {name: value for name, value in vars(module).items()
            if not name.startswith("_") and callable(value) and not inspect.ismodule(value)}


@pytest.mark.parametrize("device", DEVICES)
def test_device_module_exports_exactly_the_api(device):
    module = importlib.import_module(f"nbkeras.kernels.{device}")
    exports = _exports(module)
    assert sorted(set(exports) - api.names()) == [], "exported but not in the API"
    assert sorted(api.names() - set(exports)) == [], "in the API but not exported"
    for kernel in api.API:
        assert str(inspect.signature(exports[kernel.name])) == kernel.parameters, kernel.name


def test_api_names_are_unique_and_documented():
    assert len(api.names()) == len(api.API)
    assert all(kernel.contract for kernel in api.API)


def test_ops_call_only_api_kernels_by_explicit_attribute():
    """`k.<name>` in the ops is always an API name, and no op builds a kernel name from a
    string (getattr on a kernel module)."""
    root = pathlib.Path(nbkeras.__file__).parent
    for path in [*root.glob("ops/*.py"), *root.glob("optimizers/*.py")]:
        text = path.read_text()
        called = set(re.findall(r"\bk\.([a-z_0-9]+)\(", text))
        assert called <= api.names(), (path.name, sorted(called - api.names()))
        assert not re.search(r"getattr\(k\b", text), f"{path.name} picks kernels by string"
