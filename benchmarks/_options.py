"""Command-line pieces shared by the benchmark scripts."""

import argparse
import ast
import re
import time
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# Values that are plain words (``pretrain=end_to_end``, ``device=cuda:0``) are
# taken as strings so the shell needs no nested quotes; anything else must be
# a Python literal, so a typo like ``hidden_dims=(16,`` fails loudly.
_BARE_WORD = re.compile(r"[A-Za-z_][\w.:-]*")

# Set per data set and per seed by the benchmark itself, never by --set.
_RESERVED = {"n_clusters": "the number of classes", "random_state": "--seeds"}


def parse_assignment(text):
    """Parse one ``--set KEY=VALUE`` argument into ``(key, value)``.

    The value is read with :func:`ast.literal_eval`, so numbers, tuples,
    ``None`` and quoted strings keep their type; a bare word is a string.

    Parameters
    ----------
    text : str
        ``"KEY=VALUE"``.

    Returns
    -------
    key : str
        Parameter name.
    value : object
        Parsed value.

    Examples
    --------
    >>> parse_assignment("hidden_dims=(500, 500, 2000)")
    ('hidden_dims', (500, 500, 2000))
    >>> parse_assignment("pretrain=end_to_end")
    ('pretrain', 'end_to_end')
    >>> parse_assignment("pretrain=None")
    ('pretrain', None)
    """
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE with KEY a parameter name, got {text!r}."
        )
    if key in _RESERVED:
        raise argparse.ArgumentTypeError(
            f"{key} cannot be set: the benchmark takes it from {_RESERVED[key]}."
        )
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        if not _BARE_WORD.fullmatch(raw):
            raise argparse.ArgumentTypeError(
                f"cannot parse the value of {text!r}: use a Python literal, e.g. "
                "max_iter=500, hidden_dims=(16,), tol=1e-3 or pretrain='layerwise'."
            ) from None
        value = raw
    return key, value


def comma_list(choices=None, item=str):
    """An argparse ``type`` reading ``"a,b,c"`` into a list of ``item``.

    Items must be among ``choices`` when it is given.
    """

    def parse(text):
        try:
            values = [item(part.strip()) for part in text.split(",") if part.strip()]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"invalid list {text!r}: {exc}") from None
        if not values:
            raise argparse.ArgumentTypeError("expected a non-empty list.")
        unknown = [v for v in values if choices is not None and v not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(map(repr, unknown))}; choose from "
                f"{', '.join(choices)}."
            )
        return list(dict.fromkeys(values))  # drop repeats, keep the order

    return parse


def add_set_argument(parser, flag="--set", help_extra=""):
    parser.add_argument(
        flag,
        dest=flag.lstrip("-").replace("-", "_"),
        metavar="KEY=VALUE",
        type=parse_assignment,
        action="append",
        default=[],
        help="override a parameter (repeatable; the value is a "
        "Python literal, e.g. --set pretrain_epochs=50 --set 'hidden_dims=(16,)')"
        + help_extra,
    )


def check_overrides(parser, flag, make_estimator, overrides):
    """Build an estimator with ``overrides`` and validate its parameters.

    Turns a bad name or value into ``parser.error`` before any run starts,
    rather than in the middle of a long benchmark.
    """
    try:
        estimator = make_estimator(overrides)
        # Estimators that declare constraints can check values before fit.
        if hasattr(estimator, "_parameter_constraints"):
            estimator._validate_params()
    except (TypeError, ValueError) as exc:
        parser.error(f"{flag} {overrides}: {exc}")
    return estimator


def default_output(prefix=""):
    """``benchmarks/results/<prefix><date-time>``, a new folder per run."""
    return RESULTS_DIR / f"{prefix}{time.strftime('%Y%m%d-%H%M%S')}"


def check_fashion_path(parser, args):
    """Exit with a usage error if Fashion-MNIST is selected but not on disk.

    ``args`` needs ``datasets`` and ``fashion`` (the --fashion PATH or None);
    the benchmarks never download data.
    """
    from skdec.datasets import _FASHION_MNIST_DIR, _FASHION_MNIST_PACKAGE

    fashion = Path(args.fashion or _FASHION_MNIST_DIR)
    if "fashion" in args.datasets and not fashion.exists():
        parser.error(
            f"--datasets fashion: '{fashion}' does not exist; install the Debian "
            f"package {_FASHION_MNIST_PACKAGE} (apt-get install "
            f"{_FASHION_MNIST_PACKAGE}) or give --fashion PATH; the benchmark "
            "never downloads data."
        )
