"""Interactive logging, as `keras.utils.enable_interactive_logging` and friends: when it is
on (the default) progress bars and epoch lines go to stdout; when it is off they go to the
`logging` logger "nbkeras" at INFO level, with no bars redrawn (for servers and batch jobs).
"""
from __future__ import annotations

import logging
import sys

_settings = {"interactive_logging": True}


def enable_interactive_logging() -> None:
    """Show progress on stdout (bars where stdout can redraw them)."""
    _settings["interactive_logging"] = True


def disable_interactive_logging() -> None:
    """Send progress lines to `logging.getLogger("nbkeras")` instead of stdout."""
    _settings["interactive_logging"] = False


def is_interactive_logging_enabled() -> bool:
    return _settings["interactive_logging"]


def print_msg(message: str) -> None:
    """One line of progress: printed to stdout, or logged when interactive logging is off."""
    if is_interactive_logging_enabled():
        sys.stdout.write(f"{message}\n")
        sys.stdout.flush()
    else:
        logging.getLogger("nbkeras").info(message)
