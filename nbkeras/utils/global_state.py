"""clear_session, as `keras.utils.clear_session`: forget the process's naming and logging
state, so the next Dense is 'dense' again."""
from __future__ import annotations

import gc


def clear_session(free_memory: bool = True) -> None:
    """Reset the layer-name counters, close any open name scopes, turn interactive logging
    back on (Keras's default), and run the garbage collector when `free_memory`."""
    from ..layers.layer import _name_counters
    from ..name_scope import close_all_scopes
    from .io_utils import enable_interactive_logging

    _name_counters.clear()
    close_all_scopes()
    enable_interactive_logging()
    if free_memory:
        gc.collect()
