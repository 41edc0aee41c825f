"""The benchmark suite: ACC, NMI, ARI, fit time and peak memory per method.

Every method runs on the same data sets, seeds and machine; each fit in a
fresh process (``spawn``) by default, so its peak memory is its own. Writes
``results.json`` and ``results.md`` (:mod:`benchmarks.tables`).
"""

import argparse
import functools
import importlib.util
import multiprocessing
import shlex
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from sklearn.cluster import KMeans
from tqdm.auto import tqdm

from benchmarks import _data
from benchmarks._callbacks import StartPartition
from benchmarks._common import (
    PeakMemory,
    add_data_arguments,
    add_set_argument,
    check_data_arguments,
    check_overrides,
    comma_list,
    default_output,
    history_seconds,
    load_datasets,
    machine_info,
    scores,
    warm_up,
)
from benchmarks._peers import N2D, UmapGmm
from benchmarks.tables import (
    suite_aggregates,
    suite_markdown,
    to_jsonable,
    write_json,
    write_results,
)
from skdec import DECClusterer, IDECClusterer, IICClusterer
from skdec.metrics import cluster_accuracy


def _dec_like(cls, **fixed):
    """Factory for a DECClusterer-like class: the overrides it has, then ``fixed``."""

    def make(n_clusters, seed, overrides):
        names = cls._get_param_names()
        kwargs = {key: value for key, value in overrides.items() if key in names}
        return cls(n_clusters, random_state=seed, **{**kwargs, **fixed})

    return make


def _prefixed(cls, prefix):
    """:func:`_dec_like` of the overrides named ``prefix + parameter`` (and device):
    IIC's ``hidden_dims``, ``learning_rate`` and ``batch_size`` are not DEC's."""

    def make(n_clusters, seed, overrides):
        kwargs = {
            key.removeprefix(prefix): value
            for key, value in overrides.items()
            if key.startswith(prefix)
        }
        if "device" in overrides:
            kwargs["device"] = overrides["device"]
        return _dec_like(cls)(n_clusters, seed, kwargs)

    make.prefix = prefix
    return make


# Methods: name -> factory(n_clusters, seed, overrides) -> unfitted estimator;
# each DEC-family method takes the --set overrides it has.
METHODS = {
    "kmeans": lambda k, seed, _: KMeans(n_clusters=k, n_init=20, random_state=seed),
    # With "dec" selected too, read off the dec fits (see StartPartition).
    "ae_kmeans": _dec_like(DECClusterer, max_iter=0),
    "dec": _dec_like(DECClusterer),
    # The defaults before issue 22: DEC-keras' pretraining, 200 epochs of 256
    # rows (the baseline of the time-to-quality study).
    "dec_pretrain200": _dec_like(
        DECClusterer, pretrain_epochs=200, pretrain_batch_size=256
    ),
    "idec": _dec_like(IDECClusterer),
    # N2D's start: UMAP of the embedding and a Gaussian mixture, not k-means.
    "dec_manifold": _dec_like(DECClusterer, init="manifold"),
    "idec_manifold": _dec_like(IDECClusterer, init="manifold"),
    # Spectral clustering of the embedding's nearest-neighbour graph.
    "dec_spectral": _dec_like(DECClusterer, init="spectral"),
    # Image methods, given image_shape per data set (_data.image_shape). DCEC's
    # convolutional autoencoder (conv_channels); DEC-DA's fully connected one
    # trained on shifted and rotated images; both together.
    "dec_conv": _dec_like(DECClusterer),
    "dec_da": _dec_like(DECClusterer, augment=True, conv_channels=None),
    "dec_conv_da": _dec_like(DECClusterer, augment=True),
    # The peers (issue 23): UMAP of the input + a Gaussian mixture, and N2D
    # (the pretrained embedding + UMAP + the mixture) with the --set values.
    "umap_gmm": lambda k, seed, _: UmapGmm(k, random_state=seed),
    "n2d": _dec_like(N2D),
    # IIC's own defaults, plus the --set values prefixed "iic_"; image data
    # sets are given as images, other data as plain features.
    "iic": _prefixed(IICClusterer, "iic_"),
}
DEFAULT_METHODS = ("kmeans", "ae_kmeans", "dec")
# Methods given image_shape=(side, side) on IMAGE_DATASETS; those in
# IMAGE_ONLY_METHODS are not run on other data at all.
IMAGE_ONLY_METHODS = {"dec_conv", "dec_da", "dec_conv_da"}
IMAGE_METHODS = IMAGE_ONLY_METHODS | {"iic"}
# Methods that need a package skdec does not depend on: method -> module.
OPTIONAL_PACKAGES = {
    **{"dec_manifold": "umap", "idec_manifold": "umap"},
    **{"umap_gmm": "umap", "n2d": "umap"},
}
# Modules installed under another name: module -> name for pip.
_PIP_NAMES = {"umap": "umap-learn"}


def _run_one(task):
    """Fit one method on one data set with one seed; return its result rows:
    one, or two for a dec fit that also gives ae_kmeans's row, which comes
    first (``task["derive_ae_kmeans"]``, see :class:`StartPartition`)."""
    X, y = _data.load_task_data(task["data"])
    make = METHODS[task["method"]]
    estimator = make(task["n_clusters"], task["seed"], task["overrides"])
    if task["method"] in IMAGE_METHODS and task["image_shape"] is not None:
        estimator.set_params(image_shape=tuple(task["image_shape"]))
    start_partition = StartPartition()
    if task["derive_ae_kmeans"]:
        estimator.set_params(callbacks=[start_partition])
    warm_up(task["overrides"].get("device", "auto"))
    with warnings.catch_warnings(record=True) as caught, PeakMemory() as memory:
        start = time.perf_counter()
        estimator.fit(X)
        fit_seconds = time.perf_counter() - start
    n_iter = getattr(estimator, "n_iter_", None)
    module = getattr(estimator, "module_", None)  # torch methods
    params = to_jsonable(estimator.get_params(deep=False))
    params.pop("callbacks", None)
    peak, before = memory.peak_mb, memory.before_mb
    row = {
        **_task_key(task),
        **scores(y, estimator.labels_),
        "fit_seconds": fit_seconds,
        "stage_seconds": history_seconds(estimator)["stage_seconds"] or None,
        "n_iter": None if n_iter is None else int(n_iter),
        "rss_before_fit_mb": before,
        "peak_rss_mb": peak,
        "fit_rss_increase_mb": None if peak is None else peak - before,
        "peak_gpu_mb": memory.gpu_mb,
        "device": "cpu" if module is None else str(next(module.parameters()).device),
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
        "params": params,
        "head_acc": _head_accuracies(estimator, X, y),
    }
    if not task["derive_ae_kmeans"]:
        return [row]
    key = {**_task_key(task), "method": "ae_kmeans"}
    if start_partition.labels is None:
        error = "RuntimeError: the dec fit gave no start, so no ae_kmeans result."
        return [{**key, "error": error}, row]
    stages = {k: v for k, v in row["stage_seconds"].items() if k != "clustering"}
    derived = {k: None for k in row if k.endswith("_mb") or k == "head_acc"}
    derived.update(key, **scores(y, start_partition.labels), n_iter=0, warnings=[])
    derived.update(fit_seconds=start_partition.time - start, stage_seconds=stages)
    derived.update(device=row["device"], params={**params, "max_iter": 0})
    return [{**derived, "derived_from": "dec"}, row]


def _head_accuracies(estimator, X, y):
    """ACC of every main head of a multi-head (IIC) fit; None for other methods.
    The heads differ only by their initialisation: their spread is luck."""
    if not hasattr(estimator, "chosen_head_"):
        return None
    module = estimator.module_.eval()
    device = next(module.parameters()).device
    batches = torch.as_tensor(np.asarray(X, dtype=np.float32)).split(4096)
    with torch.no_grad():
        heads = [
            torch.cat([module(b.to(device), h).argmax(1).cpu() for b in batches])
            for h in range(estimator.n_heads)
        ]
    return [cluster_accuracy(y, labels) for labels in heads]


def _task_key(task):
    return {key: task[key] for key in ("dataset", "method", "seed")}


def _run_tasks(tasks, *, subprocess):
    """Yield the result rows of each task, showing progress; failures become rows."""
    context = multiprocessing.get_context("spawn")
    bar = tqdm(tasks, desc="benchmark", unit="run", dynamic_ncols=True)
    for task in bar:
        name = f"{task['dataset']} {task['method']} seed={task['seed']}"
        bar.set_description(name)
        try:
            if subprocess:
                # One process per fit, so no run inherits another's memory.
                with ProcessPoolExecutor(1, mp_context=context) as pool:
                    rows = pool.submit(_run_one, task).result()
            else:
                rows = _run_one(task)
        except Exception as exc:  # a failed run is reported, not fatal
            error = f"{type(exc).__name__}: {exc}"
            methods = ["ae_kmeans"] * task["derive_ae_kmeans"] + [task["method"]]
            rows = [{**_task_key(task), "method": m, "error": error} for m in methods]
            tqdm.write(f"FAILED {name}: {error}")
        else:
            row = rows[-1]
            bar.set_postfix(acc=f"{row['acc']:.3f}", s=f"{row['fit_seconds']:.1f}")
        yield from rows


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Compare clustering methods on the same data, seeds and "
        "machine: ACC, NMI, ARI, fit seconds and peak memory.",
    )
    add_data_arguments(parser, _data.SUITE_DATASETS, ["digits", "synthetic"])
    text = f"comma-separated, from {', '.join(METHODS)} (default: "
    text += f"{','.join(DEFAULT_METHODS)}); {', '.join(sorted(IMAGE_ONLY_METHODS))} "
    text += "run on image data sets only"
    add = parser.add_argument
    add("--methods", type=comma_list(METHODS), default=[*DEFAULT_METHODS], help=text)
    add_set_argument(parser, help_extra="; every DEC-family method takes those it has")
    text = "fit in this process (faster to start; peak memory includes earlier runs)"
    add("--no-subprocess", dest="subprocess", action="store_false", help=text)
    return parser


def _available_methods(methods):
    """Selected methods whose optional package is installed; the rest, why not."""
    skipped = {}
    for method in methods:
        module = OPTIONAL_PACKAGES.get(method)
        if module and importlib.util.find_spec(module) is None:
            pip = _PIP_NAMES.get(module, module)
            skipped[method] = f"{module} is not installed (pip install {pip})"
    return [m for m in methods if m not in skipped], skipped


def _derives_ae_kmeans(methods, overrides):
    """Whether ae_kmeans's rows are read off the dec fits rather than fitted:
    with dec's k-means start, ``DECClusterer(max_iter=0)`` repeats a dec fit
    up to its clustering stage (see :class:`StartPartition`)."""
    if not {"ae_kmeans", "dec"} <= set(methods):
        return False
    init = METHODS["dec"](2, 0, overrides).init
    return isinstance(init, str) and init == "kmeans"


def _check_arguments(parser, args, overrides):
    """The methods that can run and those skipped; usage errors before any run."""
    methods, skipped = _available_methods(args.methods)
    for method, reason in skipped.items():
        print(f"Skipping {method}: {reason}.", file=sys.stderr)
    if not methods:
        parser.error("none of the selected methods can run here.")
    no_images = not _data.IMAGE_DATASETS.intersection(args.datasets)
    if set(methods) <= IMAGE_ONLY_METHODS and no_images:
        images = ", ".join(sorted(_data.IMAGE_DATASETS))
        parser.error(f"{', '.join(methods)} run on image data only ({images}).")
    known = set()
    for method in methods:
        make = functools.partial(METHODS[method], 2, 0)
        prefix = getattr(METHODS[method], "prefix", "")
        estimator = check_overrides(parser, make, overrides)
        known |= {prefix + name for name in estimator.get_params(deep=False)}
        known |= {"device"} if prefix else set()
    if unknown := ", ".join(key for key in overrides if key not in known):
        parser.error(f"--set {unknown}: no selected method has such a parameter.")
    check_data_arguments(parser, args)
    return methods, skipped


def main(argv=None):
    """Run the benchmark suite; return 0, or 1 if some run failed."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    args = parser.parse_args(argv)
    overrides = dict(args.set)

    methods, skipped = _check_arguments(parser, args, overrides)
    output = args.output or default_output()
    output.mkdir(parents=True, exist_ok=True)

    results = {
        "machine": machine_info(),
        "command": "python -m benchmarks " + shlex.join(argv),
        "seeds": args.seeds,
        "methods": methods,
        "skipped_methods": skipped,
        "overrides": overrides,
        "subprocess": args.subprocess,
        "max_samples": args.max_samples,
        "datasets": {},
        # Image methods left out on data whose rows are not images.
        "not_applicable": {},
        "complete": False,
        "runs": [],
        "aggregates": [],
    }
    derive = _derives_ae_kmeans(methods, overrides)
    with tempfile.TemporaryDirectory(prefix="skdec-benchmark-") as tmp:
        tasks = []
        for name, (X, y) in load_datasets(args).items():
            data = _data.save_task_data(Path(tmp) / name, X, y)  # loaded by each run
            n_samples, n_features = X.shape
            n_clusters = len(np.unique(y))
            info = dict(n_samples=n_samples, n_features=n_features)
            info.update(n_clusters=n_clusters, dtype=str(X.dtype))
            results["datasets"][name] = info
            image_shape = _data.image_shape(name, n_features)
            task = dict(dataset=name, n_clusters=n_clusters, overrides=overrides)
            task.update(data=str(data), image_shape=image_shape)
            for method in methods:
                if image_shape is None and method in IMAGE_ONLY_METHODS:
                    results["not_applicable"].setdefault(method, []).append(name)
                elif not (derive and method == "ae_kmeans"):
                    derives = derive and method == "dec"
                    task.update(method=method, derive_ae_kmeans=derives)
                    tasks += [{**task, "seed": seed} for seed in args.seeds]
        for row in _run_tasks(tasks, subprocess=args.subprocess):
            results["runs"].append(row)
            write_json(output / "results.json", results)  # survives a crash

    results["complete"] = True
    results["aggregates"] = suite_aggregates(results)
    write_results(output / "results.json", results, suite_markdown)
    return int(any("error" in row for row in results["runs"]))
