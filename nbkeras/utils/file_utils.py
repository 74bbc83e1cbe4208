"""Crash-safe file writing shared by the dataset cache and weight saving, and `get_file`
(offline: a cached or local file, never a download)."""
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


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, force_download=False):
    """The path of `fname` (default: the last part of `origin`) in
    cache_dir/cache_subdir (cache_dir: $KERAS_HOME or ~/.keras), checked against file_hash
    (or md5_hash) when given; with `extract` (or `untar`) the archive is unpacked once into
    <path>_extracted, which is returned. nbkeras
    does not download: a missing file raises an error naming the URL and where to put the
    file. An absolute cache_subdir is used as it is."""
    import hashlib
    import shutil

    if fname is None and origin is None:
        raise ValueError("get_file: give fname or origin")
    fname = os.fspath(fname) if fname is not None else origin.rstrip("/").split("/")[-1]
    home = cache_dir or os.environ.get("KERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".keras")
    directory = cache_subdir if os.path.isabs(cache_subdir) else os.path.join(home,
                                                                            cache_subdir)
    path = fname if os.path.isabs(fname) else os.path.join(directory, fname)
    if force_download or not os.path.exists(path):
        raise FileNotFoundError(
            f"get_file: {path} is not there and nbkeras does not download; fetch "
            f"{origin or fname} yourself and put it at {path}")
    expected = file_hash or md5_hash
    if expected:
        algorithm = (hash_algorithm if hash_algorithm not in ("auto", None)
                     else "sha256" if len(expected) == 64 else "md5")
        digest = hashlib.new(algorithm)
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != expected:
            raise ValueError(f"get_file: {path} does not match its {algorithm} hash "
                             f"{expected}; replace it with the file from {origin}")
    if extract or untar:                       # unpacked once, next to the archive
        target = path + "_extracted"
        if not os.path.isdir(target):
            shutil.unpack_archive(path, target,
                                  None if archive_format in ("auto", None) else archive_format)
        return target
    return path
