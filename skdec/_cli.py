"""The ``skdec`` command line (also ``python -m skdec``).

Subcommands: ``demo`` (DEC against k-means on the digits), ``fit`` and
``predict``; the benchmark suite of a source checkout is not part of the
package (``python -m benchmarks`` runs it there). The options of ``fit`` are
generated from the signature and the ``_parameter_constraints`` of
:class:`~skdec.DECClusterer`, so a new estimator parameter becomes an option
without touching this file. User mistakes (bad or
missing files, non-numeric cells, wrong shapes, invalid parameters) end with
a one-line message on stderr and exit status 2, never a traceback.
"""

import argparse
import contextlib
import csv
import functools
import inspect
import io
import itertools
import os
import re
import sys
import time
import warnings
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from . import DECClusterer, __version__
from ._persist import load_estimator, read_error_reason

# Exceptions that report a user's mistake rather than a bug in skdec; an
# ImportError is a missing optional package (pyarrow for Parquet files).
_USER_ERRORS = (OSError, ValueError, TypeError, ImportError)
_EXIT_USAGE = 2
_EXIT_FAILURE = 1
_EXIT_INTERRUPTED = 130

# First bytes of the binary formats (.npz files are zip archives).
_MAGIC = {".npy": b"\x93NUMPY", ".npz": b"PK\x03\x04", ".parquet": b"PAR1"}
# Delimited text files; None: the delimiter is read from the file.
_TEXT_DELIMITERS = {".csv": None, ".tsv": "\t"}
# Enough of a text file to tell its delimiter and header: 20 MNIST rows.
_SAMPLE_CHARS = 1 << 16
# Rows checked for NaN at a time: a memory-mapped file is never read whole.
_CHUNK_BYTES = 1 << 26

# Network used by the hidden ``demo --fast`` (tests): seconds instead of minutes.
_FAST_DEMO = dict(
    hidden_dims=(32,),
    latent_dim=5,
    pretrain_optimizer="adam",
    pretrain_epochs=2,
    max_iter=30,
)
# The demo runs the defaults (the paper's d-500-500-2000-10 network): about
# 70 s for DEC on two CPU cores.
DEMO_PARAMS = {}

# ---------------------------------------------------------------------------
# Reading data and writing results


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
    bad = _first_nonfinite(X)
    if bad is not None:
        row, column = bad
        line, _ = next(
            itertools.islice(_data_lines(path, dialect, skiprows), row, None)
        )
        raise ValueError(
            f"{path}, line {line}, column {column + 1 + labels}: {X[row, column]} "
            "is not a finite number; fill in or drop the missing values first."
        )
    return X


def _first_nonfinite(X):
    """``(row, column)`` of the first NaN or infinity of 2-D ``X``, or None.

    By blocks of rows, so that a memory-mapped file is never read whole.
    """
    if X.dtype.kind not in "fc":
        return None
    step = max(1, _CHUNK_BYTES // max(1, X.shape[1] * X.dtype.itemsize))
    for start in range(0, len(X), step):
        bad = ~np.isfinite(X[start : start + step])
        if bad.any():
            row, column = np.argwhere(bad)[0]
            return start + int(row), int(column)
    return None


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
            f"reading {path} needs pandas and pyarrow: pip install pandas pyarrow"
        ) from None
    try:
        frame = pd.read_parquet(path)
    except ImportError:  # pandas found no Parquet engine
        raise ImportError(
            f"reading {path} needs pyarrow: pip install pyarrow"
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
    >>> from skdec._cli import read_data
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
    bad = _first_nonfinite(X)
    if bad is not None:
        row, column = bad
        raise ValueError(
            f"{path}, row {row + 1}, column {column + 1}: {X[row, column]} is not "
            "a finite number; fill in or drop the missing values first."
        )
    return X


def _check_writable(path):
    """Fail before training rather than after it when ``path`` cannot be written."""
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {folder} does not exist.")


def _write_rows(array, output, fmt):
    """Write ``array`` to ``output`` (a path) or to stdout when it is None."""
    np.savetxt(sys.stdout if output is None else output, array, fmt=fmt, delimiter=",")


# ---------------------------------------------------------------------------
# Estimator options from the signature and the parameter constraints


def _parameter_help(cls):
    """First sentence of each parameter's description in ``cls``'s docstring."""
    doc = inspect.getdoc(cls) or ""
    section = re.search(
        r"^Parameters\n-+\n(.*?)(?:^\S[^\n]*\n-+\n|\Z)", doc, re.M | re.S
    )
    helps = {}
    if section:
        entries = re.split(r"^(\w+) :[^\n]*\n", section.group(1), flags=re.M)
        for name, text in zip(entries[1::2], entries[2::2], strict=True):
            text = " ".join(text.replace("``", "").split())
            helps[name] = re.split(r"(?<=\.)\s", text, maxsplit=1)[0]
    return helps


def _parse_bool(text):
    lowered = text.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise ValueError(text)


def _parse_none(text):
    if text.lower() != "none":
        raise ValueError(text)
    return None


def _parse_choice(text, options):
    if text not in options:
        raise ValueError(text)
    return text


def _parse_numbers(text):
    """``"500,500,2000"`` -> ``(500, 500, 2000)``; ``""`` -> ``()``."""
    if not text.strip():
        return ()
    return tuple(
        int(item) if re.fullmatch(r"[+-]?\d+", item.strip()) else float(item)
        for item in text.split(",")
    )


def _parse_range(text):
    """``"2,20"`` -> ``(2, 20)``: the smallest and largest value of a range."""
    low, high = text.split(",")  # anything but two items: ValueError
    return int(low), int(high)


# Parameters whose value the constraints describe too loosely.
_OPTION_FORMS = {"n_clusters_range": (_parse_range, "LOW,HIGH")}

# Defaults of the command line that differ from the estimator's: a command
# line run twice gives the same labels.
_CLI_DEFAULTS = {"random_state": 0}
_CLI_DEFAULT_HELP = {
    "random_state": " [0, not the estimator's None: a command gives the same "
    "labels every time; none draws a new seed each run]",
}


def _checked(parser, metavar):
    """``parser`` with argparse's message for a malformed value."""

    def parse(text):
        try:
            return parser(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {metavar}, got {text!r}"
            ) from None

    return parse


def _option_type(constraints):
    """An argparse ``type`` and a metavar for a parameter's constraints.

    Only the form of the value is checked here; its range is validated by
    the estimator, whose message the command line reports.
    """
    parsers, forms = [], []
    for constraint in constraints:
        if isinstance(constraint, StrOptions):
            options = sorted(constraint.options)
            parsers.append(functools.partial(_parse_choice, options=options))
            forms += options
        elif constraint in ("random_state", "verbose", Integral) or (
            isinstance(constraint, Interval) and constraint.type is Integral
        ):
            parsers.append(int)
            forms.append("INT")
        elif constraint is Real or isinstance(constraint, Interval):
            parsers.append(float)
            forms.append("FLOAT")
        elif constraint in ("boolean", bool):
            parsers.append(_parse_bool)
            forms.append("BOOL")
        elif constraint == "array-like":
            parsers.append(_parse_numbers)
            forms.append("N,N,...")
        elif constraint is str:
            parsers.append(str)
            forms.append("TEXT")
    if not parsers:  # constraints the command line cannot express: pass text
        parsers.append(str)
    if None in constraints or "random_state" in constraints:
        parsers.insert(0, _parse_none)
        forms.append("none")
    metavar = "|".join(dict.fromkeys(forms)) or "VALUE"

    def parse(text):
        for parser in parsers:
            with contextlib.suppress(ValueError):
                return parser(text)
        raise ValueError(text)

    return _checked(parse, metavar), metavar


def _add_estimator_options(parser, cls, *, required=("n_clusters",)):
    """One ``--option`` per parameter of ``cls.__init__``."""
    helps = _parameter_help(cls)
    group = parser.add_argument_group(
        f"{cls.__name__} parameters",
        "Default: the estimator's default, shown in brackets, but a fixed "
        "random state (0). See "
        f"help(skdec.{cls.__name__}) for details.",
    )
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self":
            continue
        if name in _OPTION_FORMS:
            parser_, metavar = _OPTION_FORMS[name]
            parse = _checked(parser_, metavar)
        else:
            parse, metavar = _option_type(cls._parameter_constraints.get(name, [str]))
        default = param.default
        if isinstance(default, tuple):
            shown = ",".join(map(str, default))
        else:
            shown = "none" if default is None else default
        help_text = helps.get(name, "")
        if name == "verbose":
            help_text += " Default: 1 (progress bars) when stderr is a terminal."
        elif name in _CLI_DEFAULTS:
            help_text += _CLI_DEFAULT_HELP[name]
        elif name not in required:
            help_text += f" [{shown}]"
        group.add_argument(
            "--" + name.replace("_", "-"),
            dest=f"param_{name}",
            type=parse,
            metavar=metavar,
            required=name in required,
            default=_CLI_DEFAULTS.get(name, argparse.SUPPRESS),
            help=help_text.replace("%", "%%"),
        )


def _estimator_params(args):
    return {
        key.removeprefix("param_"): value
        for key, value in vars(args).items()
        if key.startswith("param_")
    }


def _progress_verbosity(args):
    """1 (progress bars) when stderr is a terminal and --quiet is not given."""
    return int(not args.quiet and sys.stderr.isatty())


def _say(args, message):
    if not args.quiet:
        print(message, file=sys.stderr)


# ---------------------------------------------------------------------------
# Subcommands


def run_demo(*, fast=False, verbose=0, file=None):
    """Compare DEC with k-means on scikit-learn's digits and print a table.

    This is the README's quick start (``python -m skdec demo``): both methods
    cluster the 1797 8x8 digit images, scaled to [0, 1], into 10 clusters
    and are scored against the true digits.

    Parameters
    ----------
    fast : bool, default=False
        Use a tiny network and few iterations (for tests); the scores are then
        meaningless.

    verbose : int, default=0
        Passed to :class:`~skdec.DECClusterer` (1 shows progress bars).

    file : file-like, default=None
        Where to print the table; None prints to ``sys.stdout``.

    Returns
    -------
    results : list of dict
        One record per method with keys ``method``, ``ACC``, ``NMI``, ``ARI``
        and ``seconds``.
    """
    from sklearn.cluster import KMeans

    from .datasets import load_digits_scaled
    from .metrics import (
        adjusted_rand_score,
        cluster_accuracy,
        normalized_mutual_info_score,
    )

    file = sys.stdout if file is None else file
    X, y = load_digits_scaled()
    print(
        f"Digits (bundled with scikit-learn): {X.shape[0]} samples, {X.shape[1]} "
        f"features, {len(np.unique(y))} classes, scaled to [0, 1].\n",
        file=file,
    )
    dec_params = dict(n_clusters=10, random_state=0, verbose=verbose)
    dec_params.update(_FAST_DEMO if fast else DEMO_PARAMS)
    settings = ", ".join(f"{k}={v!r}" for k, v in dec_params.items() if k != "verbose")
    print(f"DEC: DECClusterer({settings}), other parameters at defaults.\n", file=file)
    methods = {
        "KMeans (n_init=20)": KMeans(n_clusters=10, n_init=20, random_state=0),
        "DEC": DECClusterer(**dec_params),
    }
    results = []
    for name, model in methods.items():
        start = time.perf_counter()
        labels = model.fit_predict(X)
        results.append(
            {
                "method": name,
                "ACC": cluster_accuracy(y, labels),
                "NMI": normalized_mutual_info_score(y, labels),
                "ARI": adjusted_rand_score(y, labels),
                "seconds": time.perf_counter() - start,
            }
        )
    width = max(len(row["method"]) for row in results)
    print(
        f"{'method':<{width}}  {'ACC':>5}  {'NMI':>5}  {'ARI':>5}  {'seconds':>7}",
        file=file,
    )
    for row in results:
        print(
            f"{row['method']:<{width}}  {row['ACC']:5.3f}  {row['NMI']:5.3f}  "
            f"{row['ARI']:5.3f}  {row['seconds']:7.1f}",
            file=file,
        )
    return results


def _demo(args):
    if not args.quiet:
        print("Fitting k-means, then DEC (minutes on a CPU).", file=sys.stderr)
    run_demo(fast=args.fast, verbose=_progress_verbosity(args))
    return 0


def _fit(args):
    X = read_data(args.data, header=args.header)
    _check_writable(args.model)
    if args.output is not None:
        _check_writable(args.output)
    params = {"verbose": _progress_verbosity(args), **_estimator_params(args)}
    estimator = DECClusterer(**params)
    start = time.perf_counter()
    labels = estimator.fit_predict(X)
    seconds = time.perf_counter() - start
    estimator.save(args.model)
    _write_rows(labels, args.output, "%d")
    _say(
        args,
        f"skdec: fitted {X.shape[0]} samples x {X.shape[1]} features into "
        f"{len(np.unique(labels))} non-empty clusters in {seconds:.1f} s "
        f"({estimator.n_iter_} clustering iterations); model saved to {args.model}.",
    )
    return 0


def _load_model(path):
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    # Any skdec estimator: the file names its class.
    return load_estimator(path)


def _predict(args):
    estimator = _load_model(args.model)
    X = read_data(args.data, header=args.header)
    if args.output is not None:
        _check_writable(args.output)
    if args.proba:
        _write_rows(estimator.predict_proba(X), args.output, "%.7g")
    else:
        _write_rows(estimator.predict(X), args.output, "%d")
    return 0


# ---------------------------------------------------------------------------
# Parser and entry point


def _data_arguments(parser):
    parser.add_argument(
        "data",
        metavar="DATA",
        help="samples, one per row: .csv or .tsv (numbers separated by commas, "
        "semicolons or tabs), .npy, .npz (its single array or the array named "
        "X), or .parquet (needs pandas and pyarrow).",
    )
    header = parser.add_mutually_exclusive_group()
    header.add_argument(
        "--header",
        dest="header",
        action="store_const",
        const=True,
        help="the first line of a text file holds column names. Default: "
        "detected, as a first line with a cell that has a letter and is not a "
        "number.",
    )
    header.add_argument(
        "--no-header",
        dest="header",
        action="store_const",
        const=False,
        help="the first line of a text file is data.",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the result there (CSV) instead of to stdout.",
    )


def _quiet_argument(parser):
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars or messages."
    )


class _Parser(argparse.ArgumentParser):
    """Report usage errors in one line, pointing to ``--help``."""

    def error(self, message):
        self.exit(_EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def build_parser():
    """The argument parser of the ``skdec`` command."""
    parser = _Parser(
        prog="skdec",
        description="Deep Embedded Clustering (DEC) from the command line.",
        epilog="Errors in the input end with a one-line message and exit status 2.",
    )
    parser.add_argument("--version", action="version", version=f"skdec {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="compare DEC with k-means on scikit-learn's digits.",
        description="Cluster scikit-learn's 8x8 digits with k-means and with DEC "
        "(default parameters, random_state=0) and print accuracy, NMI, ARI "
        "and time.",
    )
    demo.add_argument("--fast", action="store_true", help=argparse.SUPPRESS)
    _quiet_argument(demo)
    demo.set_defaults(handler=_demo)

    fit = commands.add_parser(
        "fit",
        help="fit DEC to DATA, save the model and write the labels.",
        description="Fit DECClusterer to DATA, save it to MODEL (a file that "
        "loading never executes) and write the cluster of each sample, one "
        "per line.",
    )
    _data_arguments(fit)
    fit.add_argument(
        "-m",
        "--model",
        metavar="MODEL",
        required=True,
        help="file to save the fitted model to (e.g. model.skdec).",
    )
    _quiet_argument(fit)
    _add_estimator_options(fit, DECClusterer)
    fit.set_defaults(handler=_fit)

    predict = commands.add_parser(
        "predict",
        help="cluster DATA with a saved model.",
        description="Load MODEL (written by `skdec fit` or by the save method "
        "of any skdec estimator) and write the cluster of each sample of DATA, "
        "one per line, or with --proba the soft assignments, one row per "
        "sample.",
    )
    predict.add_argument(
        "model",
        metavar="MODEL",
        help="model file, e.g. model.skdec, written by skdec fit or by save().",
    )
    _data_arguments(predict)
    predict.add_argument(
        "--proba",
        action="store_true",
        help="write the soft assignment to each cluster instead of the labels.",
    )
    predict.set_defaults(handler=_predict)
    return parser


@contextlib.contextmanager
def _one_line_warnings():
    """Show warnings as ``skdec: warning: ...`` rather than file and source."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"skdec: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _silence_stdout():
    """Point stdout at devnull once its reader has gone.

    Python flushes stdout again at exit, which would raise a second
    ``BrokenPipeError`` and print a traceback (the recipe of the Python
    documentation, "Note on SIGPIPE").
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv=None):
    """Run the ``skdec`` command line; return the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 2 for a usage or input error, 1 when training failed
        or the reader of the output left early (``| head``), 130 when
        interrupted.
    """
    args = build_parser().parse_args(argv)
    try:
        with _one_line_warnings():
            status = args.handler(args)
            # Here, not at exit: a reader that left (``| head``) is seen now.
            sys.stdout.flush()
            return status
    except BrokenPipeError:
        _silence_stdout()
        return _EXIT_FAILURE
    except KeyboardInterrupt:
        print("skdec: interrupted.", file=sys.stderr)
        return _EXIT_INTERRUPTED
    except FloatingPointError as exc:
        print(f"skdec: error: {exc}", file=sys.stderr)
        return _EXIT_FAILURE
    except _USER_ERRORS as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"skdec: error: {message}", file=sys.stderr)
        return _EXIT_USAGE
