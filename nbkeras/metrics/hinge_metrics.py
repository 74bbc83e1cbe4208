"""Hinge metrics, as in Keras 3: means of the per-sample hinge losses (the module is not
named hinge.py, which would shadow the function `metrics.hinge`)."""
from __future__ import annotations

from .. import losses
from .reduction import SameShapeWrapper


class Hinge(SameShapeWrapper):
    """The mean of hinge (0/1 labels mapped to -1/1) over the samples seen."""

    def __init__(self, name="hinge", dtype=None):
        super().__init__(losses.hinge, name=name, dtype=dtype)


class SquaredHinge(SameShapeWrapper):
    """The mean of squared_hinge over the samples seen."""

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(losses.squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(SameShapeWrapper):
    """The mean of categorical_hinge over the samples seen."""

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(losses.categorical_hinge, name=name, dtype=dtype)
