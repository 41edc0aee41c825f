"""What the benchmark commands share: options, scores, the machine, memory
and time of a fit, and writing results as JSON and markdown tables."""

import argparse
import ast
import datetime
import functools
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch

from skdec.metrics import (
    adjusted_rand_score,
    cluster_accuracy,
    normalized_mutual_info_score,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# A plain word (``pretrain_optimizer=adam``, ``device=cuda:0``) is a string, so the
# shell needs no nested quotes; anything else must be a Python literal.
_BARE_WORD = re.compile(r"[A-Za-z_][\w.:-]*")
_RESERVED = {"n_clusters": "the number of classes", "random_state": "--seeds"}


def parse_assignment(text):
    """``(key, value)`` of one ``--set KEY=VALUE``; the value a Python literal.

    >>> parse_assignment("module__hidden_dims=(500, 500, 2000)")
    ('module__hidden_dims', (500, 500, 2000))
    >>> parse_assignment("pretrain_optimizer=adam"), parse_assignment("augment=None")
    (('pretrain_optimizer', 'adam'), ('augment', None))
    """
    key, sep, raw = (part.strip() for part in text.partition("="))
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}.")
    if key in _RESERVED:
        raise argparse.ArgumentTypeError(f"{key} is taken from {_RESERVED[key]}.")
    try:
        return key, ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        if not _BARE_WORD.fullmatch(raw):
            message = f"cannot parse {text!r}: use a Python literal, e.g. tol=1e-3."
            raise argparse.ArgumentTypeError(message) from None
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
            message = f"unknown {', '.join(map(repr, unknown))}; choose from "
            raise argparse.ArgumentTypeError(message + f"{', '.join(choices or ())}.")
        return list(dict.fromkeys(values))  # drop repeats, keep the order

    return parse


def add_set_argument(parser, help_extra=""):
    text = "override a parameter (repeatable; a Python literal, e.g. "
    text += "--set 'module__hidden_dims=(16,)')" + help_extra
    kwargs = dict(metavar="KEY=VALUE", type=parse_assignment, action="append")
    parser.add_argument("--set", default=[], help=text, **kwargs)


def default_output(prefix=""):
    """``benchmarks/results/<prefix><date-time>``, a new folder per run."""
    return RESULTS_DIR / f"{prefix}{time.strftime('%Y%m%d-%H%M%S')}"


def to_jsonable(value):
    """``value`` with tuples, numpy scalars and arrays made JSON-able; anything
    else JSON cannot hold (a class, a callback) becomes its repr."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def write_json(path, results):
    """Write ``results`` as indented JSON, replacing the file in one step."""
    tmp = Path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(to_jsonable(results), indent=1) + "\n")
    tmp.replace(path)


def write_results(path, results, markdown):
    """Write ``results`` as JSON at ``path`` and ``markdown(results)`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, results)
    text = markdown(results)
    path.with_suffix(".md").write_text(text)
    print(text + f"\nWrote {path} and {path.with_suffix('.md').name}")


def table(header, rows):
    """Markdown table lines: the header, its rule, one line per row."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(map(str, row)) + " |" for row in rows]


def scores(y, labels):
    """ACC, NMI, ARI and the number of clusters found of ``labels``."""
    labels = np.asarray(labels)
    return {
        "acc": cluster_accuracy(y, labels),
        "nmi": float(normalized_mutual_info_score(y, labels)),
        "ari": float(adjusted_rand_score(y, labels)),
        "n_clusters_found": len(np.unique(labels)),
    }


def _git(*args):
    options = dict(cwd=RESULTS_DIR.parent, capture_output=True, text=True, timeout=10)
    try:
        done = subprocess.run(["git", "--no-optional-locks", *args], **options)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def machine_info():
    """Platform, CPU, thread settings, library versions, date and commit."""
    cpuinfo = Path("/proc/cpuinfo")
    text = cpuinfo.read_text() if cpuinfo.exists() else ""
    names = re.findall(r"^model name\s*:\s*(.*)$", text, re.M)
    status = _git("status", "--porcelain", "--untracked-files=no")
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(" ", "seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": names[0].strip() if names else platform.processor() or None,
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
    text = (
        "{cpu} ({n_cores_usable} of {n_cores} cores usable, torch threads "
        "{torch_threads}){gpu}; {platform}; Python {python}, torch {torch}, "
        "scikit-learn {sklearn}, numpy {numpy}; commit {commit}{dirty}; {date}"
    )
    gpu = f", GPU {info['gpu']}" if info["gpu"] else ", no GPU"
    dirty = " + uncommitted changes" if info["uncommitted_changes"] else ""
    return text.format_map({**info, "gpu": gpu, "dirty": dirty})


def status_mb(field):
    """A field of /proc/self/status (``VmRSS``, ``RssAnon``) in MB; None off Linux."""
    try:
        with open("/proc/self/status") as status:
            line = next((x for x in status if x.startswith(field + ":")), None)
    except OSError:
        return None
    return None if line is None else int(line.split()[1]) / 1024  # kB


class PeakMemory:
    """The peak of a /proc/self/status field during a ``with`` block, in MB,
    read by a thread every ``interval`` seconds: ``"VmRSS"``, or ``"RssAnon"``
    to leave out a memory map's file-backed pages. ``before_mb`` is the value
    on entry, ``peak_mb`` the largest read; ``peak`` says when it came (seconds
    after entry), in which ``phase`` (set by the caller) and in which skdec
    functions of the main thread. ``gpu_mb``: torch's peak GPU memory, or None.
    """

    def __init__(self, field="VmRSS", interval=0.02):
        self.field, self.interval, self.phase = field, interval, None
        self.peak_mb, self.peak, self.gpu_mb = None, {}, None
        self._main, self._stop = threading.main_thread().ident, threading.Event()

    def _sample(self):
        value = status_mb(self.field)
        if value is None or (self.peak_mb is not None and value <= self.peak_mb):
            return
        frame = sys._current_frames().get(self._main)
        stack = traceback.extract_stack(frame) if frame is not None else []
        names = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in stack]
        where = [
            name
            for name, f in zip(names, stack, strict=True)
            if "skdec" in f.filename or "sklearn" in f.filename
        ][-6:]
        where += [f"(innermost {names[-1]})"] if stack else []
        seconds = time.perf_counter() - self._start
        self.peak_mb = value
        self.peak = {"seconds": seconds, "phase": self.phase, "where": where}

    def _run(self):
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self):
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self._start = time.perf_counter()
        self.before_mb = status_mb(self.field)
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()
        if torch.cuda.is_available():
            self.gpu_mb = torch.cuda.max_memory_allocated() / 2**20


# Stage of a history record -> the stage it is reported under.
_REPORTED_STAGE = {"init": "kmeans", "overcluster": "training", "main": "training"}


def history_seconds(estimator):
    """Seconds from a fitted estimator's ``history_``: sums per stage
    (pretraining, kmeans, clustering; IIC's training); the mean pretraining
    epoch, the k-means start, the refresh of P (the first clustering record
    holds the refresh at step 0 alone) and a clustering step (the later records
    less one refresh each; None when that is lost in the refreshes' variation).
    """
    history = getattr(estimator, "history_", [])
    stages = {}
    for record in history:
        stage = record["stage"]
        stage = "pretraining" if stage.startswith("pretrain") else stage
        stage = _REPORTED_STAGE.get(stage, stage)
        stages[stage] = stages.get(stage, 0.0) + record["seconds"]
    epochs = [r["seconds"] for r in history if r["stage"].startswith("pretrain")]
    clustering = [r for r in history if r["stage"] == "clustering"]
    refresh = clustering[0]["seconds"] if clustering else None
    iterations = [r["iteration"] for r in clustering]
    steps = iterations[-1] - iterations[0] if clustering else 0
    step_time = sum(r["seconds"] - refresh for r in clustering[1:])
    return {
        "stage_seconds": stages,
        "pretrain_epoch_seconds": float(np.mean(epochs)) if epochs else None,
        "kmeans_seconds": stages.get("kmeans"),
        "n_refreshes": len(clustering),
        "refresh_seconds": refresh,
        "step_seconds": step_time / steps if steps and step_time > 0 else None,
    }


@functools.cache
def warm_up(device="auto"):
    """Fit a tiny DECClusterer once per process, so one-time costs (imports,
    kernels, thread pools, a CUDA context) land outside any timing."""
    from skdec import DECClusterer

    X = np.random.default_rng(0).random((64, 4), dtype=np.float32)
    network = {"module__hidden_dims": (4,), "module__latent_dim": 2}
    tiny = DECClusterer(2, pretrain_epochs=1, **network)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tiny.set_params(max_iter=2, n_init=1, device=device).fit(X)
