"""One ``.npz`` archive of plain arrays: written atomically, read without pickle.

Model files (:mod:`skdec._persist`) and ``memory=`` entries
(:mod:`skdec._memory`) are both such archives, their metadata JSON in a
byte array.
"""

import contextlib
import os
import tempfile
import zipfile
import zlib

import numpy as np

# Errors that numpy and zipfile raise on files that are not valid archives.
READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)


def json_default(value):
    """Numpy scalars and arrays inside fitted values, as plain Python."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _file_mode():
    """Permission bits of a newly created file under the current umask.

    ``tempfile.mkstemp`` creates files readable by their owner only; the
    saved model should get the same permissions as any other new file. The
    umask is read from ``/proc`` where possible because ``os.umask`` can only
    be read by setting it, which races with other threads.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    return 0o644


def write_archive(path, arrays):
    """Write ``arrays`` to ``path`` as an ``.npz`` archive, atomically.

    The archive is written to a temporary file in the destination folder,
    flushed to disk, then renamed onto ``path``: a reader sees the previous
    file or the new one, never part of one, and an interrupted write leaves
    no temporary file behind.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(
        dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
    )
    try:
        with os.fdopen(fd, "wb") as file:
            # A file object, not a name: np.savez would append ".npz" to a name.
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp_path, _file_mode())
        os.replace(tmp_path, path)
    except BaseException:
        # Also on KeyboardInterrupt: never leave a temporary file behind.
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp_path)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder):
    """Make the rename durable; not possible (nor needed) on every platform."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.fsync(fd)
    os.close(fd)


def read_error_reason(exc):
    """Why numpy could not read a file, in words that never advise unpickling.

    numpy answers a file holding Python objects with advice to pass
    ``allow_pickle=True`` or to call ``pickle.load``: either runs code stored
    in the file, so that advice must not reach the user.
    """
    text = str(exc)
    if "pickle" in text.lower() or "python objects" in text.lower():
        return "it holds Python objects, not plain arrays"
    return text or type(exc).__name__
