"""nbkeras's version (pyproject.toml's), as `keras.version()` and `keras.__version__`."""

__version__ = "0.1.0"


def version() -> str:
    """The installed nbkeras version string."""
    return __version__
