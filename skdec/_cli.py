"""The ``skdec`` command line (also ``python -m skdec``).

Subcommands: ``demo`` (DEC against k-means on the digits), ``fit`` and
``predict``; the benchmark suite of a source checkout is not part of the
package (``python -m benchmarks`` runs it there). The options of ``fit`` are
generated from the signature and the ``_parameter_constraints`` of
:class:`~skdec.DECClusterer`, and ``--module-*`` from the signatures of its
built-in networks (:mod:`skdec.networks`), so a new parameter becomes an
option without touching this file; reading the data files is
:mod:`skdec._io`'s.
User mistakes (bad or missing files, non-numeric cells, wrong shapes, invalid
parameters) end with a one-line message on stderr and exit status 2, never a
traceback.
"""

import argparse
import contextlib
import functools
import inspect
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
from ._io import check_writable, read_data, write_rows
from ._persist import load_estimator
from .callbacks import ProgressBar
from .networks import ConvAutoencoder, StackedAutoencoder

# Exceptions that report a user's mistake rather than a bug in skdec; an
# ImportError is a missing optional package (pyarrow for Parquet files).
_USER_ERRORS = (OSError, ValueError, TypeError, ImportError)
_EXIT_USAGE = 2
_EXIT_FAILURE = 1
_EXIT_INTERRUPTED = 130

# Network used by the hidden ``demo --fast`` (tests): seconds instead of minutes.
_FAST_DEMO = dict(
    module__hidden_dims=(32,),
    module__latent_dim=5,
    pretrain_optimizer="adam",
    pretrain_epochs=2,
    max_iter=30,
)
# The demo runs the defaults (the paper's d-500-500-2000-10 network): minutes
# for DEC on a CPU (the README gives a measured run).
DEMO_PARAMS = {}
# ``demo --quick``: the README's small network, seconds on one CPU thread. All
# 1797 digits: a subset would save little and lower every score.
QUICK_DEMO_PARAMS = dict(
    module__hidden_dims=(256, 64),
    pretrain_optimizer="adam",
    pretrain_epochs=40,
    tol=5e-3,
)

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


def _parse_n_clusters(text):
    """``"10"`` -> 10, ``"auto"``, ``"2-20"`` -> ``range(2, 21)`` (both ends
    included), ``"5,10,15"`` -> ``(5, 10, 15)``."""
    if text == "auto":
        return text
    if re.fullmatch(r"\d+", text):
        return int(text)
    bounds = re.fullmatch(r"(\d+)-(\d+)", text)
    if bounds:
        return range(int(bounds[1]), int(bounds[2]) + 1)
    candidates = _parse_numbers(text)
    if len(candidates) < 2 or not all(isinstance(k, int) for k in candidates):
        raise ValueError(text)
    return candidates


# The networks ``--module`` names: DEC's built-in classes.
_NETWORKS = {cls.__name__: cls for cls in (StackedAutoencoder, ConvAutoencoder)}


def _parse_network(text):
    """``"ConvAutoencoder"`` -> the class of :mod:`skdec.networks`."""
    try:
        return _NETWORKS[text]
    except KeyError:
        raise ValueError(text) from None


# Parameters whose value the constraints describe too loosely.
_OPTION_FORMS = {
    "n_clusters": (_parse_n_clusters, "INT|auto|LOW-HIGH|K,K,..."),
    "module": (_parse_network, "|".join(_NETWORKS)),
    # A folder; a joblib.Memory is for Python code.
    "memory": (str, "PATH"),
}

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
        elif constraint in ("random_state", Integral) or (
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


# Parameters that take Python objects (code), which a command line cannot
# give: they are left at their defaults. (``module`` takes the name of a
# built-in network.)
_CODE_PARAMETERS = {"callbacks"}


def _network_option_type(parameter):
    """An argparse ``type`` and metavar for a network's parameter, from its
    default: widths and shapes (and parameters without default) are
    sequences, an int default an int, a None default a float or none."""
    default = parameter.default
    if default is parameter.empty or isinstance(default, tuple):
        return _checked(_parse_numbers, "N,N,..."), "N,N,..."
    if isinstance(default, int):
        return _checked(int, "INT"), "INT"

    def parse(text):
        return _parse_none(text) if text.lower() == "none" else float(text)

    return _checked(parse, "FLOAT|none"), "FLOAT|none"


def _add_network_options(parser):
    """One ``--module-<name>`` per parameter of the built-in networks."""
    group = parser.add_argument_group(
        "network parameters (module__<name>)",
        "Parameters of the network --module names (StackedAutoencoder by "
        "default); see help(skdec.networks).",
    )
    seen = {}
    for cls in _NETWORKS.values():
        helps = _parameter_help(cls)
        for name, param in inspect.signature(cls).parameters.items():
            if name in ("n_features", "generator"):
                continue
            seen.setdefault(name, []).append((cls, param, helps.get(name, "")))
    for name, owners in seen.items():
        parse, metavar = _network_option_type(owners[0][1])
        notes = []
        for cls, param, _ in owners:
            default = param.default
            if default is param.empty:
                notes.append(f"{cls.__name__}: required")
            else:
                shown = (
                    ",".join(map(str, default))
                    if isinstance(default, tuple)
                    else default
                )
                notes.append(f"{cls.__name__}: {'none' if shown is None else shown}")
        group.add_argument(
            "--module-" + name.replace("_", "-"),
            dest=f"param_module__{name}",
            type=parse,
            metavar=metavar,
            default=argparse.SUPPRESS,
            help=(owners[0][2] + f" [{'; '.join(notes)}]").replace("%", "%%"),
        )


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
        if name == "self" or name in _CODE_PARAMETERS:
            continue
        if param.kind is param.VAR_KEYWORD:
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
        if name == "module":
            shown = "StackedAutoencoder"
        help_text = helps.get(name, "")
        if name == "module":
            help_text = (
                "The network: a built-in one, its parameters given as --module-<name>."
            )
        if name in _CLI_DEFAULTS:
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


def _progress(args):
    """Progress bars when stderr is a terminal and --quiet is not given."""
    return not args.quiet and sys.stderr.isatty()


def _say(args, message):
    if not args.quiet:
        print(message, file=sys.stderr)


# ---------------------------------------------------------------------------
# Subcommands


def run_demo(*, quick=False, fast=False, progress=False, file=None):
    """Compare DEC with k-means on scikit-learn's digits and print a table.

    This is the README's quick start (``python -m skdec demo --quick``): both
    methods cluster the 1797 8x8 digit images, scaled to [0, 1], into 10
    clusters and are scored against the true digits.

    Parameters
    ----------
    quick : bool, default=False
        Train a small network (``QUICK_DEMO_PARAMS``) for seconds instead of
        the default network for minutes; DEC's scores are lower.

    fast : bool, default=False
        Use a tiny network and few iterations (for tests); the scores are then
        meaningless. Overrides ``quick``.

    progress : bool, default=False
        Show progress bars (:class:`~skdec.callbacks.ProgressBar`).

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
    dec_params = dict(n_clusters=10, random_state=0)
    dec_params.update(
        _FAST_DEMO if fast else QUICK_DEMO_PARAMS if quick else DEMO_PARAMS
    )
    settings = ", ".join(f"{k}={v!r}" for k, v in dec_params.items())
    print(f"DEC: DECClusterer({settings}), other parameters at defaults.\n", file=file)
    callbacks = [ProgressBar()] if progress else None
    methods = {
        "KMeans (n_init=20)": KMeans(n_clusters=10, n_init=20, random_state=0),
        "DEC": DECClusterer(**dec_params, callbacks=callbacks),
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
        duration = "seconds" if args.quick or args.fast else "minutes"
        print(f"Fitting k-means, then DEC ({duration} on a CPU).", file=sys.stderr)
    run_demo(quick=args.quick, fast=args.fast, progress=_progress(args))
    return 0


def _fit(args):
    X = read_data(args.data, header=args.header)
    check_writable(args.model)
    if args.output is not None:
        check_writable(args.output)
    params = _estimator_params(args)
    if _progress(args):
        params["callbacks"] = [ProgressBar()]
    estimator = DECClusterer(**params)
    start = time.perf_counter()
    labels = estimator.fit_predict(X)
    seconds = time.perf_counter() - start
    estimator.save(args.model)
    write_rows(labels, args.output, "%d")
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
    # The estimator's own message says "X", not which file.
    n_features = getattr(estimator, "n_features_in_", X.shape[1])
    if X.shape[1] != n_features:
        raise ValueError(
            f"{args.data}: {X.shape[1]} features (columns) per sample, but the "
            f"model {args.model} was fitted on {n_features}."
        )
    if args.output is not None:
        check_writable(args.output)
    if args.proba:
        write_rows(estimator.predict_proba(X), args.output, "%.7g")
    else:
        write_rows(estimator.predict(X), args.output, "%d")
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
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bars or messages (progress bars are shown when "
        "stderr is a terminal).",
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
    demo.add_argument(
        "--quick",
        action="store_true",
        help="train a small network (256-64, 40 epochs of Adam pretraining): "
        "seconds instead of minutes, at a lower accuracy.",
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
    _add_network_options(fit)
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
