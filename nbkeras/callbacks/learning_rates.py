"""The optimizers whose learning rates the callbacks read and set, as Keras's callbacks do:
each inner optimizer of a MultiOptimizer (logged as `learning_rate_<name>`), the inner
optimizer of a LossScaleOptimizer, else the optimizer itself (logged as `learning_rate`)."""
from __future__ import annotations


def rate_holders(optimizer) -> list[tuple[str, object]]:
    """[(log key, optimizer)] for every optimizer that owns a learning rate."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    if hasattr(optimizer, "optimizers"):
        return [(f"learning_rate_{inner.name}", inner) for inner in optimizer.optimizers]
    return [("learning_rate", optimizer)]


def log_learning_rates(optimizer, logs: dict) -> dict:
    """`logs` with each rate holder's current learning rate added."""
    for key, holder in rate_holders(optimizer):
        logs[key] = float(holder.learning_rate)
    return logs
