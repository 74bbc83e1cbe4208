"""Crash-safe file writing shared by the dataset cache and weight saving."""
from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator


@contextlib.contextmanager
def atomic_write_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a fresh temporary path in the directory of `path`; write the file there.

    When the block finishes, the temporary file is flushed to disk and moved onto `path`
    with `os.replace` (atomic on POSIX and Windows within one directory), so readers see
    either the old file or the complete new one, never a half-written file. If the block
    raises, the temporary file is removed and `path` is left as it was.
    """
    target = os.path.abspath(os.fspath(path))
    directory, base = os.path.split(target)
    temp = _create_temp(directory, base)
    try:
        yield temp
        _fsync(temp, os.O_RDWR)   # RDWR: Windows cannot fsync a read-only handle
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise
    with contextlib.suppress(OSError):   # make the rename itself durable, where supported
        _fsync(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


def _create_temp(directory: str, base: str) -> str:
    """Create an empty, uniquely named hidden file beside the target (mode 0o666 less the
    umask, as a plain `open` would give, unlike `tempfile.mkstemp`'s 0o600)."""
    for _ in range(100):
        temp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {base!r} in {directory!r}")


def _fsync(path: str, flags: int) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
