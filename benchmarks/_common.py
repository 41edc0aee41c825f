"""What the benchmark commands share: options, data, scores, the machine,
memory and time of a fit."""

import argparse
import ast
import datetime
import functools
import os
import platform
import re
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch

from benchmarks import _data
from skdec.metrics import (
    adjusted_rand_score,
    cluster_accuracy,
    normalized_mutual_info_score,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# A plain word (``pretrain=end_to_end``, ``device=cuda:0``) is a string, so the
# shell needs no nested quotes; anything else must be a Python literal.
_BARE_WORD = re.compile(r"[A-Za-z_][\w.:-]*")
_RESERVED = {"n_clusters": "the number of classes", "random_state": "--seeds"}


def parse_assignment(text):
    """``(key, value)`` of one ``--set KEY=VALUE``; the value a Python literal.

    >>> parse_assignment("hidden_dims=(500, 500, 2000)")
    ('hidden_dims', (500, 500, 2000))
    >>> parse_assignment("pretrain=end_to_end"), parse_assignment("pretrain=None")
    (('pretrain', 'end_to_end'), ('pretrain', None))
    """
    key, sep, raw = (part.strip() for part in text.partition("="))
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE with KEY a parameter name, got {text!r}."
        )
    if key in _RESERVED:
        raise argparse.ArgumentTypeError(
            f"{key} cannot be set: the benchmark takes it from {_RESERVED[key]}."
        )
    try:
        return key, ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        if not _BARE_WORD.fullmatch(raw):
            raise argparse.ArgumentTypeError(
                f"cannot parse the value of {text!r}: use a Python literal, e.g. "
                "max_iter=500, hidden_dims=(16,), tol=1e-3 or pretrain='layerwise'."
            ) from None
        return key, raw


def comma_list(choices=None, item=str):
    """An argparse ``type`` reading ``"a,b,c"`` into a list of ``item``."""

    def parse(text):
        try:
            values = [item(part.strip()) for part in text.split(",") if part.strip()]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"invalid list {text!r}: {exc}") from None
        unknown = [v for v in values if choices is not None and v not in choices]
        if unknown or not values:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(map(repr, unknown))}; choose from "
                f"{', '.join(choices or ())}."
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
        help="override a parameter (repeatable; a Python literal, e.g. "
        "--set 'hidden_dims=(16,)')" + help_extra,
    )


def check_overrides(parser, flag, make_estimator, overrides):
    """Usage error for an unknown name or invalid value, before any run."""
    try:
        estimator = make_estimator(overrides)
        if hasattr(estimator, "_parameter_constraints"):
            estimator._validate_params()
    except (TypeError, ValueError) as exc:
        parser.error(f"{flag} {overrides}: {exc}")
    return estimator


def default_output(prefix=""):
    """``benchmarks/results/<prefix><date-time>``, a new folder per run."""
    return RESULTS_DIR / f"{prefix}{time.strftime('%Y%m%d-%H%M%S')}"


def add_data_arguments(parser, choices, default, seeds=(0, 1, 2)):
    """--datasets, --seeds, --mnist, --fashion, --fashion-subset, --output."""
    parser.add_argument(
        "--datasets",
        type=comma_list(choices),
        default=list(default),
        help=f"from {', '.join(choices)} (default: {','.join(default)})",
    )
    parser.add_argument(
        "--seeds",
        type=comma_list(item=int),
        default=list(seeds),
        help=f"random_state values (default: {','.join(map(str, seeds))})",
    )
    parser.add_argument("--mnist", metavar="PATH", help="MNIST's IDX folder or .npz")
    parser.add_argument(
        "--fashion", metavar="PATH", help="Fashion-MNIST's IDX folder or .npz"
    )
    parser.add_argument(
        "--fashion-subset", choices=("test", "train", "all"), default="test"
    )
    parser.add_argument("--output", type=Path, help="output folder")
    # Subsample every data set (stratified) to N rows: for smoke runs.
    parser.add_argument("--max-samples", type=int, help=argparse.SUPPRESS)


def check_data_arguments(parser, args):
    """Usage errors for data that is not on disk; nothing is downloaded."""
    if "mnist" in args.datasets and args.mnist is None:
        parser.error(
            "--datasets mnist needs --mnist PATH (the folder of the MNIST IDX "
            "files or an .npz); the benchmarks never download data."
        )
    missing = "fashion" in args.datasets and _data.fashion_missing(args.fashion)
    if missing:
        parser.error(f"--datasets fashion: {missing}")
    if args.max_samples is not None and args.max_samples < 1:
        parser.error("--max-samples must be a positive integer.")


def load_datasets(args):
    """``{name: (X, y)}`` of ``args.datasets``, subsampled to --max-samples."""
    datasets = {}
    for name in args.datasets:
        options = dict(mnist=args.mnist, fashion=args.fashion)
        options["fashion_subset"] = args.fashion_subset
        for key, (X, y) in _data.load(name, **options).items():
            if args.max_samples:
                X, y = _data.subsample(X, y, args.max_samples)
            datasets[key] = X, y
    return datasets


def scores(y, labels):
    """ACC, NMI, ARI and the number of clusters found of ``labels``."""
    labels = np.asarray(labels)
    return {
        "acc": cluster_accuracy(y, labels),
        "nmi": float(normalized_mutual_info_score(y, labels)),
        "ari": float(adjusted_rand_score(y, labels)),
        "n_clusters_found": len(np.unique(labels)),
    }


# ---------------------------------------------------------------------------
# The machine


def _git(*args):
    try:
        done = subprocess.run(
            ["git", "--no-optional-locks", *args],
            cwd=RESULTS_DIR.parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def machine_info():
    """Platform, CPU, thread settings, library versions, date and commit."""
    cpu = platform.processor() or None
    if Path("/proc/cpuinfo").exists():
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in lines
                if line.startswith("model name")
            ),
            cpu,
        )
    status = _git("status", "--porcelain", "--untracked-files=no")
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(" ", "seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "n_cores": os.cpu_count(),
        "n_cores_usable": os.cpu_count() if usable is None else len(usable),
        "torch_threads": torch.get_num_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS"),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": None if status is None else bool(status),
    }


def machine_summary(info):
    """One line naming the machine, for the markdown reports."""
    gpu = f", GPU {info['gpu']}" if info["gpu"] else ", no GPU"
    dirty = " + uncommitted changes" if info["uncommitted_changes"] else ""
    return (
        f"{info['cpu']} ({info['n_cores_usable']} of {info['n_cores']} cores usable, "
        f"torch threads {info['torch_threads']}){gpu}; {info['platform']}; "
        f"Python {info['python']}, torch {info['torch']}, scikit-learn "
        f"{info['sklearn']}, numpy {info['numpy']}; commit {info['commit']}{dirty}; "
        f"{info['date']}"
    )


# ---------------------------------------------------------------------------
# Memory and time of this process's fits


def status_mb(field):
    """A field of /proc/self/status (``VmRSS``, ``VmHWM``, ``RssAnon``) in MB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # the kernel writes kB
    except OSError:
        return None


def reset_peak_rss():
    """Restart the peak-RSS count (``VmHWM``) now; whether that worked (Linux)."""
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def peak_gpu_mb():
    """Peak memory torch allocated on the GPU, in MB (None without CUDA)."""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return None


STAGES = ("pretraining", "kmeans", "clustering")
# Stage of a history record -> the stage it is reported under.
_REPORTED_STAGE = {"init": "kmeans", "overcluster": "training", "main": "training"}


def stage_seconds(estimator):
    """Seconds per stage of a fitted estimator: sums over its ``history_``."""
    seconds = {}
    for record in getattr(estimator, "history_", []):
        stage = record["stage"]
        stage = "pretraining" if stage.startswith("pretrain") else stage
        stage = _REPORTED_STAGE.get(stage, stage)
        seconds[stage] = seconds.get(stage, 0.0) + record["seconds"]
    return seconds


def synchronize():
    """Wait for queued CUDA kernels, so time is charged where the work was asked."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


@functools.cache
def warm_up(device="auto"):
    """Fit a tiny DECClusterer once per process, so one-time costs (imports,
    kernels, thread pools, a CUDA context) land outside any timing."""
    from skdec import DECClusterer

    X = np.random.default_rng(0).random((64, 4), dtype=np.float32)
    tiny = DECClusterer(2, hidden_dims=(4,), latent_dim=2, pretrain_epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tiny.set_params(max_iter=2, n_init=1, device=device).fit(X)
