"""Training data that is read in batches rather than held whole.

Inputs that do not fit in memory (``np.load(path, mmap_mode="r")``, h5py or
zarr datasets) and sparse matrices are never converted to one dense array:
:func:`validate_streamed` checks them chunk by chunk, and :class:`RowSource`
hands the training loops float32 tensors one batch of rows at a time. It
looks enough like a tensor (``len``, ``shape``, ``device``, slicing and
indexing by an index tensor) that the loops of :mod:`skdec._train` need no
second code path. Errors about the input (NaN, infinity, text) name the first
bad row or column and say what to do (:func:`clearer_input_error`).
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
            bad = first_nonfinite(rows)
            if bad is not None:
                row, column = bad
                raise nonfinite_error(
                    rows[row, column], start + row, f"column {column}"
                )
    return X


def _check_finite_sparse(X):
    """NaN/infinity among the stored values of CSR ``X``, naming the first one."""
    finite = np.isfinite(X.data)
    if not finite.all():
        position = int(np.argmin(finite))
        row = int(np.searchsorted(X.indptr, position, side="right")) - 1
        column = f"column {X.indices[position]}"
        raise nonfinite_error(X.data[position], row, column)


# ---------------------------------------------------------------------------
# Messages that name the bad column and the fix

# What to do about a non-finite value: the command line fills in a file, the
# estimators' users can impute in a Pipeline.
MISSING_FIX = "fill in or drop the missing values first"
IMPUTE_FIX = (
    "drop the rows that hold missing values, or impute them first (for "
    "example with sklearn.impute.SimpleImputer in a Pipeline)"
)
INFINITE_FIX = "replace or drop the rows with infinite values first"


def nonfinite_fix(value):
    """The command line's advice on the non-finite ``value`` of a file."""
    return MISSING_FIX if np.isnan(value) else INFINITE_FIX


def first_nonfinite(X):
    """``(row, column)`` of the first NaN or infinity of 2-D ``X``, or None.

    By blocks of rows, so that a memory-mapped file is never read whole.
    """
    if np.dtype(X.dtype).kind not in "fc":
        return None
    step = max(1, CHUNK_BYTES // max(1, X.shape[1] * X.dtype.itemsize))
    for start in range(0, len(X), step):
        bad = ~np.isfinite(X[start : start + step])
        if bad.any():
            row, column = np.argwhere(bad)[0]
            return start + int(row), int(column)
    return None


def nonfinite_error(value, row, column):
    """The ValueError for the NaN or infinite ``value`` at ``row``, ``column``.

    It starts as scikit-learn's does ("Input X contains NaN"), which its
    estimator checks match.
    """
    if np.isnan(value):
        kind, fix = "NaN", IMPUTE_FIX
    else:
        kind, fix = "infinity", INFINITE_FIX
    return ValueError(f"Input X contains {kind} (first in row {row}, {column}); {fix}.")


def _column_name(X, j):
    """Column ``j`` as the user knows it: by name in a data frame."""
    columns = getattr(X, "columns", None)
    return f"column {columns[j]!r}" if columns is not None else f"column {j}"


def _columns(X):
    """The columns of an in-memory ``X`` (pandas Series for a data frame), or
    None if ``X`` is not 2-D."""
    if hasattr(X, "iloc"):
        return [X.iloc[:, j] for j in range(X.shape[1])]
    try:
        array = np.asarray(X, dtype=object)
    except ValueError:  # ragged lists
        return None
    return list(array.T) if array.ndim == 2 else None


def _floats(column):
    """``column`` as float64 with missing values (None, pandas' NA) as NaN."""
    if hasattr(column, "to_numpy"):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(column, dtype=np.float64)


def _locate_nonfinite(X):
    """``(value, row, column name)`` of the first NaN or infinity, or None."""
    if hasattr(X, "iloc"):
        # Column by column: pandas' NA becomes NaN.
        for j, column in enumerate(_columns(X)):
            try:
                values = _floats(column)
            except (TypeError, ValueError):
                continue
            bad = np.flatnonzero(~np.isfinite(values))
            if len(bad):
                return values[bad[0]], int(bad[0]), _column_name(X, j)
        return None
    values = np.asarray(X)
    if values.dtype.kind not in "fc":
        values = values.astype(np.float64)  # None becomes NaN
    bad = first_nonfinite(values) if values.ndim == 2 else None
    if bad is None:
        return None
    row, column = bad
    return values[row, column], row, f"column {column}"


def _locate_text(X):
    """The name of the first column of ``X`` that does not convert to numbers."""
    for j, column in enumerate(_columns(X) or []):
        try:
            _floats(column)
        except (TypeError, ValueError):
            return _column_name(X, j)
    return None


def clearer_input_error(X, error):
    """scikit-learn's or numpy's ``error`` on in-memory ``X``, made clearer.

    NaN, infinity and values that are not numbers are located, and the
    message names the column (by name in a data frame) and the fix; its
    first words stay scikit-learn's and numpy's, which scikit-learn's
    estimator checks match. None when there is nothing to add.
    """
    message = str(error)
    if message.startswith(("Input X contains NaN", "Input X contains infinity")):
        # Located only after validation failed: a clean fit pays nothing.
        bad = _locate_nonfinite(X)
        return None if bad is None else nonfinite_error(*bad)
    if message.startswith(("could not convert", "float() argument must be")):
        column = _locate_text(X)
        if column is None:
            return None
        return type(error)(
            f"{message} ({column}); X must hold numbers: encode this column "
            "first (for example with sklearn.preprocessing.OneHotEncoder or "
            "OrdinalEncoder in a ColumnTransformer), or drop it."
        )
    return None


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
