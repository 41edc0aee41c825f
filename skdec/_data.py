"""Training data that is read in batches rather than held whole.

Inputs that do not fit in memory (``np.load(path, mmap_mode="r")``, h5py or
zarr datasets) and sparse matrices are never converted to one dense array:
:func:`validate_streamed` checks them chunk by chunk, and :class:`RowSource`
hands the training loops float32 tensors one batch of rows at a time. It
looks enough like a tensor (``len``, ``shape``, ``device``, slicing and
indexing by an index tensor) that the loops of :mod:`skdec._train` need no
second code path.
"""

import numbers

import numpy as np
import scipy.sparse as sp
import torch

# Rows per chunk when a whole-data pass reads from the source (validation,
# statistics): bounded memory whatever the number of rows, and whatever the
# width: a chunk holds at most CHUNK_BYTES of float32 (a 20,000-word TF-IDF
# matrix is read 409 rows at a time).
CHUNK_ROWS = 8192
CHUNK_BYTES = 32 * 2**20


def rows_per_chunk(n_features):
    """Rows of a chunk of ``n_features`` float32 columns within the budgets."""
    return int(max(1, min(CHUNK_ROWS, CHUNK_BYTES // (4 * max(n_features, 1)))))


def is_streamed(X):
    """Whether ``X`` is used in place and read in batches.

    True for sparse matrices and arrays, memory maps, and 2-D array-likes
    that are not NumPy arrays but slice by rows (h5py, zarr); False for
    in-memory NumPy arrays, lists and data frames, which are validated and
    copied as usual.
    """
    if sp.issparse(X) or isinstance(X, np.memmap):
        return True
    if isinstance(X, np.ndarray | torch.Tensor) or not hasattr(X, "__getitem__"):
        return False
    shape, dtype = getattr(X, "shape", None), getattr(X, "dtype", None)
    # pandas objects have both but are small enough to validate as usual.
    return (
        shape is not None
        and dtype is not None
        and not hasattr(X, "iloc")
        and not hasattr(X, "__array_namespace__")
    )


def _dense(rows):
    # Sparse rows are made float32 before densifying: half the memory.
    if sp.issparse(rows):
        return rows.astype(np.float32).toarray()
    return np.asarray(rows)


def read_rows(X, start, stop):
    """Rows ``start:stop`` of ``X`` as a new, writable dense float32 array."""
    return np.array(_dense(X[start:stop]), dtype=np.float32)


def chunks(X, chunk_rows=None):
    """Yield ``(start, dense float32 rows)`` over the whole of ``X``."""
    chunk_rows = chunk_rows or rows_per_chunk(X.shape[1])
    for start in range(0, X.shape[0], chunk_rows):
        yield start, read_rows(X, start, start + chunk_rows)


def validate_streamed(X):
    """Check a streamed input without materialising it; returns it as used.

    Sparse input is converted to CSR (row slicing); everything else is used
    as it is. Raises ``TypeError`` for non-numeric data and ``ValueError``
    for a wrong number of dimensions, no rows or features, or NaN/infinity
    (naming the first bad row), before any training starts.
    """
    if sp.issparse(X):
        X = X.tocsr()
        X.sort_indices()
    if len(X.shape) != 2:
        raise ValueError(
            f"Expected a 2-D array, got an array of shape {tuple(X.shape)}; "
            "reshape your data to (n_samples, n_features)."
        )
    dtype = np.dtype(X.dtype)
    if dtype.kind not in "biuf":
        raise TypeError(f"X must hold numbers, got an array of dtype {dtype}.")
    n_samples, n_features = X.shape
    if n_samples < 1 or n_features < 1:
        raise ValueError(
            f"Found array with {n_samples} sample(s) and {n_features} feature(s) "
            "while a minimum of 1 is required."
        )
    if dtype.kind == "f" and sp.issparse(X):
        _check_finite_sparse(X)
    elif dtype.kind == "f":
        for start, rows in chunks(X):
            finite = np.isfinite(rows).all(axis=1)
            if not finite.all():
                row = start + int(np.argmin(finite))
                bad = "NaN" if np.isnan(rows[row - start]).any() else "infinity"
                raise ValueError(
                    f"Input X contains {bad} (first in row {row}); remove or "
                    "impute it before fitting."
                )
    return X


def _check_finite_sparse(X):
    """NaN/infinity among the stored values of CSR ``X``, naming the first row."""
    finite = np.isfinite(X.data)
    if not finite.all():
        position = int(np.argmin(finite))
        row = int(np.searchsorted(X.indptr, position, side="right")) - 1
        bad = "NaN" if np.isnan(X.data[position]) else "infinity"
        raise ValueError(
            f"Input X contains {bad} (first in row {row}); remove or impute it "
            "before fitting."
        )


def max_abs(X):
    """Largest magnitude in ``X``, read chunk by chunk for streamed inputs."""
    if not is_streamed(X):
        X = np.asarray(X)
        return 0.0 if X.size == 0 else max(abs(float(X.max())), abs(float(X.min())))
    if sp.issparse(X):
        # Stored values only (the others are 0); no copy of the matrix.
        data = X.data
        return max(abs(float(data.max())), abs(float(data.min()))) if X.nnz else 0.0
    return max((float(np.abs(rows).max()) for _, rows in chunks(X)), default=0.0)


def mean_square(X):
    """Mean of ``X ** 2`` over all entries; tensors, arrays and sources alike."""
    if isinstance(X, torch.Tensor):
        return float(X.pow(2).mean())
    source = X.source if isinstance(X, RowSource) else X
    scale = X.scale if isinstance(X, RowSource) else 1.0
    if sp.issparse(source):
        data = source.data.astype(np.float64, copy=False)
        total = float(data @ data)
    else:
        total = sum(
            float(np.square(rows, dtype=np.float64).sum()) for _, rows in chunks(source)
        )
    return scale**2 * total / (source.shape[0] * source.shape[1])


class RowSource:
    """Rows of a streamed input, served as float32 tensors on the host.

    ``source[key]`` takes a slice (whole-data passes) or an index tensor (a
    mini-batch); indices are sorted for the read, as h5py requires and as a
    memory map reads fastest, then put back in the order asked for. Each
    batch is multiplied by ``scale`` (the input scaling of sparse data).
    With ``pin`` (CUDA training), batches are returned in pinned memory so
    the copy to the device does not block.
    """

    device = torch.device("cpu")

    def __init__(self, source, *, scale=1.0, pin=False):
        self.source = source
        self.scale = float(scale)
        self.pin = pin
        self.shape = tuple(source.shape)

    def __len__(self):
        return self.shape[0]

    def _tensor(self, rows):
        tensor = torch.from_numpy(np.asarray(rows, dtype=np.float32))
        if self.scale != 1.0:
            tensor = tensor.mul_(self.scale)
        return tensor.pin_memory() if self.pin else tensor

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(self.shape[0])
            if step != 1:
                raise ValueError("RowSource slices must be contiguous.")
            return self._tensor(read_rows(self.source, start, stop))
        if isinstance(key, numbers.Integral):
            return self[key : key + 1][0]
        idx = key.cpu().numpy() if isinstance(key, torch.Tensor) else np.asarray(key)
        order = np.argsort(idx, kind="stable")
        sorted_idx = idx[order]
        unique, inverse = np.unique(sorted_idx, return_inverse=True)
        # zarr arrays select rows through ``oindex``; the others index directly.
        reader = getattr(self.source, "oindex", self.source)
        rows = _dense(reader[unique])[inverse]
        out = np.empty_like(rows, dtype=np.float32)
        out[order] = rows
        return self._tensor(out)
