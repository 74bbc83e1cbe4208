"""name_scope, as `keras.name_scope`: a context manager that opens a sub-namespace "a/b".

nbkeras keeps the stack of open scopes (`current_path()` reads it) for code that names
things by it; a Variable's `path` is set by the layer that owns it ("dense/kernel"), so,
unlike Keras, a scope does not prefix the paths of variables made inside it.
"""
from __future__ import annotations

_stack: list["name_scope"] = []


class name_scope:
    """`with nk.name_scope("block"):` opens the scope "block" (nested: "outer/block").
    `caller` and `deduplicate` as Keras: re-entering the innermost scope's name from the same
    caller does not open a second one; `override_parent` replaces the enclosing path."""

    def __init__(self, name: str, caller=None, deduplicate: bool = True,
                 override_parent: str | None = None):
        if not isinstance(name, str) or "/" in name:
            raise ValueError("Argument `name` must be a string and cannot contain character "
                             f"`/`. Received: name={name!r}")
        self.name = name
        self.caller = caller
        self.deduplicate = deduplicate
        self.override_parent = override_parent
        self._pop_on_exit = False

    def __enter__(self) -> "name_scope":
        if self.deduplicate and _stack and self.caller is not None and \
                _stack[-1].caller is self.caller and _stack[-1].name == self.name:
            return self
        _stack.append(self)
        self._pop_on_exit = True
        return self

    def __exit__(self, *exc) -> None:
        if self._pop_on_exit and _stack and _stack[-1] is self:
            _stack.pop()
        self._pop_on_exit = False


def current_path() -> str:
    """The open scopes joined by "/" ("" outside any scope)."""
    parts: list[str] = []
    for scope in _stack:
        if scope.override_parent is not None:
            parts = [scope.override_parent] if scope.override_parent else []
        parts.append(scope.name)
    return "/".join(p for p in parts if p)


def close_all_scopes() -> None:
    """Forget every open scope (`clear_session`)."""
    _stack.clear()
