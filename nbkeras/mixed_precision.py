"""`keras.mixed_precision`, as far as nbkeras goes: the LossScaleOptimizer, and the global
dtype policy. nbkeras computes in float32 or float64, so the global policy is `floatx`:
`set_global_policy("float64")` is `nk.config.set_floatx("float64")`, and the mixed policies
("mixed_float16", "mixed_bfloat16") raise a ValueError saying they are not supported."""
from __future__ import annotations

from . import config
from .dtype_policies import DTypePolicy, get as _get_policy
from .optimizers.loss_scale_optimizer import LossScaleOptimizer

Policy = DTypePolicy


def dtype_policy() -> DTypePolicy:
    """The policy layers made now get by default: that of `nk.config.floatx()`."""
    return DTypePolicy(config.floatx())


def set_dtype_policy(policy) -> None:
    """Make `policy` (a name, a DTypePolicy or its serialized dict) the default of the layers
    made from now on."""
    config.set_floatx(_get_policy(policy).name)


global_policy = dtype_policy
set_global_policy = set_dtype_policy

__all__ = ["DTypePolicy", "LossScaleOptimizer", "Policy", "dtype_policy", "global_policy",
           "set_dtype_policy", "set_global_policy"]
