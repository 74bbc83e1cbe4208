"""Shared by the dataset loaders: the cache folder and the optional-dependency error."""
from __future__ import annotations

import os


def cache_path(path: str | os.PathLike) -> str:
    """`path` inside `$NBKERAS_HOME/datasets` (default `~/.nbkeras/datasets`), as Keras puts
    `path` inside `~/.keras/datasets`; an absolute path (or `~/...`) is used as it is."""
    home = os.path.expanduser(os.environ.get("NBKERAS_HOME", os.path.join("~", ".nbkeras")))
    return os.path.join(home, "datasets", os.path.expanduser(os.fspath(path)))


def missing_dependency(dataset: str, package: str, error: ImportError) -> ImportError:
    return ImportError(f"nbkeras.datasets.{dataset} needs the optional package {package!r}, "
                       f"which could not be imported ({error}). Install it with: "
                       f'pip install "nbkeras[datasets]"')
