"""Reading the data files of the command line, and writing its results.

:func:`read_data` reads a numeric matrix from a .csv, .tsv, .npy, .npz or
.parquet file: it detects the delimiter and header of text files, checks that
a binary file is of the format its suffix promises, memory-maps .npy files
and reports the first bad cell or row with 1-based positions. Every message
names the file.
"""

import contextlib
import csv
import io
import itertools
import re
import sys
import warnings
from pathlib import Path

import numpy as np

from ._archive import read_error_reason
from ._data import first_nonfinite, nonfinite_fix

# First bytes of the binary formats (.npz files are zip archives).
_MAGIC = {".npy": b"\x93NUMPY", ".npz": b"PK\x03\x04", ".parquet": b"PAR1"}
# Delimited text files; None: the delimiter is read from the file.
_TEXT_DELIMITERS = {".csv": None, ".tsv": "\t"}
# Enough of a text file to tell its delimiter and header: 20 MNIST rows.
_SAMPLE_CHARS = 1 << 16
# The extra that installs what reading Parquet needs (pandas and pyarrow).
_PARQUET_INSTALL = 'pip install "skdec[parquet]"'

# ---------------------------------------------------------------------------
# Text files


def _open_text(path, **kwargs):
    # "utf-8-sig" drops the byte order mark Excel writes before "CSV UTF-8".
    # Numbers are ASCII: a header name in another encoding is replaced, not
    # fatal, since names are never used.
    return open(path, encoding="utf-8-sig", errors="replace", **kwargs)


def _sniff_dialect(path, delimiter):
    """The delimiter and quote character of a text file, read from its start.

    A tab or a semicolon never occurs in a number but a comma does, as the
    decimal separator of files that Excel writes with semicolons; the
    candidates are therefore tried in that order, each by ``csv.Sniffer``,
    which also checks that the delimiter splits every line alike.
    """
    with _open_text(path, newline="") as file:
        sample = file.read(_SAMPLE_CHARS)
    if len(sample) == _SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    sniffer = csv.Sniffer()
    for candidate in ("\t", ";", ",") if delimiter is None else (delimiter,):
        with contextlib.suppress(csv.Error):
            dialect = sniffer.sniff(sample, delimiters=candidate)
            return dialect, sample
    # One column, or no data: no delimiter to find.
    dialect = csv.excel_tab if delimiter == "\t" else csv.excel
    return dialect, sample


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_row(sample, dialect):
    """The first non-empty row of ``sample`` and its last line (1-based)."""
    reader = csv.reader(io.StringIO(sample), dialect)
    with contextlib.suppress(csv.Error):
        for row in reader:
            if row:
                return row, reader.line_num
    return [], 0


def _is_header(row):
    """Whether the first row holds names: a cell with a letter, not a number.

    ``csv.Sniffer.has_header`` votes column by column and reads a name such
    as "1990" as data; for numeric files this rule is simpler and exact.
    Neither an empty cell ("1,,3": a data row with a missing value, which
    is reported rather than dropped) nor a decimal comma ("2,5") makes a
    header.
    """
    return any(
        not _is_number(cell) and any(char.isalpha() for char in cell) for cell in row
    )


def _warn_if_column_numbers(path, row):
    """pandas writes the names 0, 1, ... for unnamed columns: numbers, but a header."""
    if len(row) > 1 and [cell.strip() for cell in row] == list(
        map(str, range(len(row)))
    ):
        warnings.warn(
            f"{path}: the first line holds the numbers 0 to {len(row) - 1}, like "
            "pandas' default column names; it is read as data. Pass --header to "
            "skip it, or --no-header to silence this warning.",
            UserWarning,
        )


def _data_lines(path, dialect, skiprows):
    """``(line, row)`` of each data row, ``line`` 1-based and counting the header."""
    with _open_text(path, newline="") as file:
        reader = csv.reader(file, dialect)
        for row in reader:
            if row and reader.line_num > skiprows:
                yield reader.line_num, row


def _locate_csv_error(path, dialect, skiprows):
    """Describe the first bad cell or row of a CSV file with 1-based positions.

    Only run once ``np.loadtxt`` has failed: it is slow, but numpy's own
    messages count rows from 0 and ignore the header.
    """
    n_columns = None
    for line, row in _data_lines(path, dialect, skiprows):
        if n_columns is not None and len(row) != n_columns:
            return (
                f"{path}, line {line}: {len(row)} columns where the rows above "
                f"have {n_columns}."
            )
        n_columns = len(row)
        for column, cell in enumerate(row, start=1):
            if not cell.strip():
                return (
                    f"{path}, line {line}, column {column} is empty: fill in or "
                    "drop the missing values first."
                )
            if not _is_number(cell):
                hint = ""
                if re.fullmatch(r"\s*[+-]?\d+,\d+\s*", cell):
                    hint = " (write numbers with a decimal point, not a comma)"
                return (
                    f"{path}, line {line}, column {column}: {cell!r} is not a "
                    f"number{hint}."
                )
    if n_columns is None:
        return f"{path} holds no data rows."
    return None


def _ignore(text):
    """Converter of the row-label column, which is dropped: any text goes."""
    return 0.0


def _read_delimited(path, header, delimiter):
    """Numbers of a CSV or TSV file, with its header and row labels dropped."""
    dialect, sample = _sniff_dialect(path, delimiter)
    first, first_line = _first_row(sample, dialect)
    if header is None:
        header = _is_header(first)
        if not header:
            _warn_if_column_numbers(path, first)
    skiprows = first_line if header else 0
    # An unnamed first column under a header holds row labels: pandas'
    # to_csv and R's write.csv write one by default.
    labels = bool(header and len(first) > 1 and not first[0].strip())
    try:
        with _open_text(path) as file, warnings.catch_warnings():
            warnings.simplefilter("error")  # "input contained no data"
            X = np.loadtxt(
                file,
                delimiter=dialect.delimiter,
                quotechar=dialect.quotechar,
                skiprows=skiprows,
                converters={0: _ignore} if labels else None,
                ndmin=2,
                comments=None,
                dtype=np.float64,
            )
    except (ValueError, UserWarning) as exc:
        message = _locate_csv_error(path, dialect, skiprows) or str(exc)
        raise ValueError(message) from None
    X = X[:, 1:] if labels else X
    bad = first_nonfinite(X)
    if bad is not None:
        row, column = bad
        line, _ = next(
            itertools.islice(_data_lines(path, dialect, skiprows), row, None)
        )
        raise ValueError(
            f"{path}, line {line}, column {column + 1 + labels}: {X[row, column]} "
            f"is not a finite number; {nonfinite_fix(X[row, column])}."
        )
    return X


# ---------------------------------------------------------------------------
# Binary files


def _read_npz(path):
    """The array names of an .npz file, and its single array or the one named X."""
    with np.load(path, allow_pickle=False) as archive:
        names = list(archive.keys())
        if len(names) == 1:
            return names, archive[names[0]]
        return names, archive["X"] if "X" in names else None


def _read_parquet(path):
    """A Parquet table as numbers; pandas and pyarrow are optional packages."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            f"reading {path} needs pandas and pyarrow: "
            f"{_PARQUET_INSTALL} (or pip install pandas pyarrow)"
        ) from None
    try:
        frame = pd.read_parquet(path)
    except ImportError:  # pandas found no Parquet engine
        raise ImportError(
            f"reading {path} needs pyarrow: {_PARQUET_INSTALL} (or pip install pyarrow)"
        ) from None
    for name, dtype in frame.dtypes.items():
        if not pd.api.types.is_numeric_dtype(dtype):
            raise ValueError(
                f"{path}: column {name!r} holds {dtype} values; expected numbers."
            )
    single = all(dtype == np.float32 for dtype in frame.dtypes)
    return frame.to_numpy(dtype=np.float32 if single else np.float64, na_value=np.nan)


def _read_binary(path, suffix):
    with open(path, "rb") as file:
        # np.load guesses the format from the content: check it is the one
        # the suffix promises.
        if file.read(len(_MAGIC[suffix])) != _MAGIC[suffix]:
            kind = "Parquet" if suffix == ".parquet" else f"NumPy {suffix}"
            raise ValueError(f"{path} is not a {kind} file.")
    if suffix == ".parquet":
        return _read_parquet(path)
    try:
        if suffix == ".npy":
            # Memory-mapped: rows are read from disk as training uses them.
            return np.load(path, mmap_mode="r", allow_pickle=False)
        names, X = _read_npz(path)
    except Exception as exc:  # truncated files raise many exception types
        raise ValueError(
            f"{path} is not a readable NumPy {suffix} file ({read_error_reason(exc)})."
        ) from None
    if X is None:
        raise ValueError(
            f"{path} holds the arrays {names}; it must hold a single array or "
            "one named 'X'."
        )
    return X


# ---------------------------------------------------------------------------
# Reading data and writing results


def read_data(path, *, header=None):
    r"""Read a numeric data matrix from a .csv, .tsv, .npy, .npz or .parquet file.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` file (numbers separated by commas, semicolons or tabs,
        quoted or not, one sample per line), a ``.tsv`` file, a ``.npy``
        file (memory-mapped), a ``.npz`` file holding a single array or an
        array named ``X``, or a ``.parquet`` file (needs pandas and pyarrow).
        Arrays with more than two dimensions (images) are flattened to one
        row per sample.

    header : bool or None, default=None
        Whether the first line of a text file holds column names. None
        detects it: the first line is a header when one of its cells holds
        a letter and is not a number (as "nan" or "1e-3" are). Under a
        header, an unnamed first column (pandas' index, R's row names) is
        dropped.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The data.

    Raises
    ------
    ValueError
        For an unreadable file, a cell that is not a number, or a missing,
        NaN or infinite value; the message names the file and the first bad
        line (text files) or row.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skdec._io import read_data
    >>> path = os.path.join(tempfile.mkdtemp(), "data.csv")
    >>> with open(path, "w") as file:
    ...     _ = file.write('x;y\n"1.5";2\n3;4\n')
    >>> read_data(path)
    array([[1.5, 2. ],
           [3. , 4. ]])
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    suffix = path.suffix.lower()
    if suffix in _TEXT_DELIMITERS:
        return _read_delimited(path, header, _TEXT_DELIMITERS[suffix])
    if suffix not in _MAGIC:
        raise ValueError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; use .csv, "
            ".tsv, .npy, .npz or .parquet."
        )
    X = _read_binary(path, suffix)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{path} holds {X.dtype} values; expected numbers.")
    if X.ndim < 2:
        raise ValueError(
            f"{path} holds an array of shape {X.shape}; expected one row per "
            "sample (n_samples, n_features)."
        )
    X = X.reshape(len(X), -1)
    bad = first_nonfinite(X)
    if bad is not None:
        row, column = bad
        raise ValueError(
            f"{path}, row {row + 1}, column {column + 1}: {X[row, column]} is not "
            f"a finite number; {nonfinite_fix(X[row, column])}."
        )
    return X


def check_writable(path):
    """Fail before training rather than after it when ``path`` cannot be written."""
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {folder} does not exist.")


def write_rows(array, output, fmt):
    """Write ``array`` to ``output`` (a path) or to stdout when it is None."""
    np.savetxt(sys.stdout if output is None else output, array, fmt=fmt, delimiter=",")
