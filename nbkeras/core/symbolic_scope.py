"""SymbolicScope, as `keras.SymbolicScope`: marks symbolic tracing. nbkeras enters one while
a layer is called on KerasTensors (shapes and dtypes only), so code in `call` can ask
`in_symbolic_scope()`. Scopes nest, per thread."""
from __future__ import annotations

import threading


class _State(threading.local):
    scope = None


_state = _State()


def get_symbolic_scope() -> "SymbolicScope | None":
    """The innermost SymbolicScope entered in this thread, or None."""
    return _state.scope


def in_symbolic_scope() -> bool:
    return get_symbolic_scope() is not None


class SymbolicScope:
    """`with SymbolicScope(): ...` marks the block as symbolic tracing."""

    def __enter__(self) -> "SymbolicScope":
        self.original_scope = get_symbolic_scope()
        _state.scope = self
        return self

    def __exit__(self, *exc) -> None:
        _state.scope = self.original_scope
