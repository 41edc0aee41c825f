"""The IDX format of the original MNIST distribution.

:func:`read_idx` reads one IDX file, gzip-compressed or not; the private
helpers also check the magic number a loader expects and find a file under
the usual variants of its name.
"""

import gzip
import zlib
from pathlib import Path

import numpy as np

# IDX type codes (third byte of the magic number) -> big-endian NumPy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
_IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions


def _read_bytes(path):
    """Bytes of ``path``, decompressed when they start with the gzip magic."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: '{path}'.")
    data = path.read_bytes()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(
                f"'{path}' starts with the gzip magic bytes but could not be "
                f"decompressed (corrupted or truncated file): {exc}"
            ) from exc
    return data


def _parse_idx(data, path):
    """``(magic, array)`` from the raw bytes of an IDX file."""
    if len(data) < 4:
        raise ValueError(
            f"'{path}' is not an IDX file: it holds {len(data)} bytes, fewer "
            "than the 4 bytes of the magic number."
        )
    magic = int.from_bytes(data[:4], "big")
    type_code, ndim = data[2], data[3]
    if data[:2] != b"\x00\x00" or type_code not in _IDX_DTYPES or ndim == 0:
        raise ValueError(
            f"'{path}' is not an IDX file: invalid magic number 0x{magic:08X} "
            "(expected 0x0000TTNN with a known type code TT and NN >= 1 "
            "dimensions, e.g. 0x00000803 for images, 0x00000801 for labels)."
        )
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise ValueError(
            f"'{path}' is truncated: the header announces {ndim} dimensions "
            f"({header_len} header bytes) but the file holds {len(data)} bytes."
        )
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = header_len + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "corrupted"
        raise ValueError(
            f"'{path}' is {problem}: its header announces shape {shape} of "
            f"{dtype.name} ({expected} bytes in all) but it holds {len(data)} "
            "bytes."
        )
    array = np.frombuffer(data, dtype, offset=header_len).reshape(shape)
    # A writable copy in native byte order.
    return magic, array.astype(dtype.newbyteorder("="))


def read_idx(path):
    """Read an IDX file, the format of the original MNIST distribution.

    The file may be gzip-compressed: compression is detected from its first
    two bytes (``1f 8b``), whatever its name.

    Parameters
    ----------
    path : str or path-like
        The IDX file. Its magic number (``0x0000TTNN``) gives the element type
        ``TT`` and the number of dimensions ``NN``; the ``NN`` big-endian
        32-bit sizes follow, then the data.

    Returns
    -------
    array : ndarray
        The data, of the shape and type given by the header, in native byte
        order.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not an existing file.
    ValueError
        If the file is not a valid IDX file: wrong magic number, truncated or
        corrupted data, or a byte length that does not match the header.

    Examples
    --------
    >>> import os, struct, tempfile
    >>> import numpy as np
    >>> from skdec.datasets import read_idx
    >>> labels = np.array([5, 0, 4], dtype=np.uint8)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "labels-idx1-ubyte")
    ...     with open(path, "wb") as f:
    ...         _ = f.write(struct.pack(">II", 0x00000801, 3) + labels.tobytes())
    ...     read_idx(path)
    array([5, 0, 4], dtype=uint8)
    """
    return _parse_idx(_read_bytes(path), path)[1]


def _read_idx_expecting(path, magic):
    """Read an IDX file whose magic number must be ``magic``."""
    found, array = _parse_idx(_read_bytes(path), path)
    if found != magic:
        kind = "images" if magic == _IDX_IMAGES_MAGIC else "labels"
        raise ValueError(
            f"'{path}' has magic number 0x{found:08X}, expected 0x{magic:08X} "
            f"for MNIST {kind}."
        )
    return array


def _find_idx_file(directory, name, *, dataset="MNIST", hint=""):
    """Path of the IDX file ``name`` in ``directory``, under its usual variants.

    ``hint`` ends the error message when no variant is found.
    """
    stems = [name, name.replace("-idx", ".idx")]
    candidates = [stem + suffix for stem in stems for suffix in ("", ".gz")]
    for candidate in candidates:
        path = directory / candidate
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{dataset} file '{name}' not found in '{directory}' (looked for "
        f"{', '.join(repr(c) for c in candidates)}).{hint}"
    )
