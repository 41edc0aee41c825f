"""The benchmark suite: ACC, NMI, ARI, fit time and peak memory per method.

Every method runs on the same data sets, seeds and machine. Each fit runs in
a fresh process (``spawn``) by default, so its peak memory is its own.
Results go to ``results.json`` (machine, parameters, every run, aggregates),
``results.md`` (a table) and ``results.png`` (ACC bar chart).

Run ``python -m benchmarks --help``; ``benchmarks/README.md`` has the full
commands.
"""

import argparse
import importlib.util
import inspect
import math
import multiprocessing
import shlex
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

if __package__ in (None, ""):  # run as ``python benchmarks/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import pairwise_distances_argmin  # noqa: E402
from sklearn.utils import resample  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from benchmarks._machine import (  # noqa: E402
    machine_info,
    peak_gpu_mb,
    peak_rss_mb,
    reset_peak_rss,
    rss_mb,
)
from benchmarks._options import (  # noqa: E402
    add_set_argument,
    check_fashion_path,
    check_overrides,
    comma_list,
    default_output,
)
from benchmarks._report import (  # noqa: E402
    aggregate,
    markdown,
    plot_accuracy,
    to_jsonable,
    write_json,
)
from benchmarks._stages import stage_seconds, warm_up  # noqa: E402
from skdec import DECClusterer, IDECClusterer, IICClusterer  # noqa: E402
from skdec._train import map_batches, map_batches_numpy  # noqa: E402
from skdec.datasets import (  # noqa: E402
    _FASHION_MNIST_DIR,
    _FASHION_MNIST_PACKAGE,
)
from skdec.metrics import (  # noqa: E402
    adjusted_rand_score,
    cluster_accuracy,
    normalized_mutual_info_score,
)

# ---------------------------------------------------------------------------
# Data sets: name -> loader(args) -> {data set name: (X, y)}.
# Each is drawn once with DATA_SEED, so all methods and seeds see the same data.
# IMAGE_DATASETS are those whose rows are square images (flattened row-major);
# the rest are plain features, whatever their width (synthetic784 is 784 wide).

DATA_SEED = 0
IMBALANCE_R_MIN = (0.1, 0.3, 0.5, 0.7)


def _digits(args):
    from skdec.datasets import load_digits_scaled

    return {"digits": load_digits_scaled()}


def _synthetic(args):
    from skdec.datasets import make_nonlinear_blobs

    return {"synthetic": make_nonlinear_blobs(random_state=DATA_SEED)}


def _synthetic_784(args):
    # MNIST's width and number of classes at another size: checks that the
    # defaults are not tuned to 64 pixels and 2000 rows.
    from skdec.datasets import make_nonlinear_blobs

    return {
        "synthetic784": make_nonlinear_blobs(
            n_samples=5000, n_clusters=10, n_features=784, random_state=DATA_SEED
        )
    }


def _imbalanced(args):
    # The DEC paper's imbalance experiment: class c kept with a probability
    # falling linearly from 1 to r_min.
    from skdec.datasets import load_digits_scaled, subsample_imbalanced

    X, y = load_digits_scaled()
    return {
        f"digits_imbalanced_r{r_min}": subsample_imbalanced(
            X, y, r_min=r_min, random_state=DATA_SEED
        )
        for r_min in IMBALANCE_R_MIN
    }


def _standardised(load):
    """A scikit-learn tabular data set, each feature scaled to mean 0, std 1."""
    from sklearn.preprocessing import StandardScaler

    X, y = load(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


def _wine(args):
    from sklearn.datasets import load_wine

    return {"wine": _standardised(load_wine)}


def _breast_cancer(args):
    from sklearn.datasets import load_breast_cancer

    return {"breast_cancer": _standardised(load_breast_cancer)}


def _mnist(args):
    from skdec.datasets import load_mnist

    return {"mnist": load_mnist(args.mnist)}


def _fashion(args):
    # The split is in the name: published Fashion-MNIST figures are on all 70k.
    from skdec.datasets import load_fashion_mnist

    subset = args.fashion_subset
    return {f"fashion_{subset}": load_fashion_mnist(args.fashion, subset=subset)}


DATASETS = {
    "digits": _digits,
    "synthetic": _synthetic,
    "synthetic784": _synthetic_784,
    "imbalanced": _imbalanced,
    "wine": _wine,
    "breast_cancer": _breast_cancer,
    "mnist": _mnist,
    "fashion": _fashion,
}
IMAGE_DATASETS = {"digits", "imbalanced", "mnist", "fashion"}

# ---------------------------------------------------------------------------
# Methods: name -> factory(n_clusters, seed, overrides) -> unfitted estimator.
# ``overrides`` are the --set parameters; each DEC-family method takes those
# it has, so that "ae_kmeans" and "dec" share one network and pretraining.


def _dec_like(cls, **fixed):
    """Factory for a DECClusterer-like class: the overrides it has, then ``fixed``."""

    def make(n_clusters, seed, overrides):
        names = cls._get_param_names()
        kwargs = {key: value for key, value in overrides.items() if key in names}
        return cls(n_clusters, random_state=seed, **{**kwargs, **fixed})

    return make


def _prefixed(cls, prefix):
    """Factory taking only the overrides named ``prefix + parameter`` (and device).

    IIC shares parameter names with DEC (``hidden_dims``, ``learning_rate``,
    ``batch_size``) that mean other things, so its overrides are namespaced.
    """

    def make(n_clusters, seed, overrides):
        names = cls._get_param_names()
        kwargs = {
            key.removeprefix(prefix): value
            for key, value in overrides.items()
            if key.startswith(prefix) and key.removeprefix(prefix) in names
        }
        if "device" in overrides:
            kwargs["device"] = overrides["device"]
        return cls(n_clusters, random_state=seed, **kwargs)

    make.prefix = prefix
    return make


def _clustpy_dec(n_clusters, seed, overrides):
    from clustpy.deep import DEC

    # ClustPy's default network is ours (d-500-500-2000-10); pass on the few
    # settings both implementations name, under ClustPy's names.
    same = {
        "latent_dim": "embedding_size",
        "batch_size": "batch_size",
        "pretrain_epochs": "pretrain_epochs",
        "alpha": "alpha",
    }
    accepted = inspect.signature(DEC).parameters
    kwargs = {
        theirs: overrides[ours]
        for ours, theirs in same.items()
        if ours in overrides and theirs in accepted
    }
    return DEC(n_clusters=n_clusters, random_state=seed, **kwargs)


METHODS = {
    "kmeans": lambda k, seed, overrides: KMeans(
        n_clusters=k, n_init=20, random_state=seed
    ),
    # With "dec" selected too, read off the dec fits (see _capture_start).
    "ae_kmeans": _dec_like(DECClusterer, max_iter=0),
    "dec": _dec_like(DECClusterer),
    "idec": _dec_like(IDECClusterer),
    # N2D's start: UMAP of the embedding and a Gaussian mixture, not k-means.
    "dec_manifold": _dec_like(DECClusterer, init="manifold"),
    "idec_manifold": _dec_like(IDECClusterer, init="manifold"),
    # Image methods, given image_shape per data set (_image_shape). DCEC's
    # convolutional autoencoder (conv_channels); DEC-DA's fully connected one
    # trained on shifted and rotated images; both together.
    "dec_conv": _dec_like(DECClusterer),
    "dec_da": _dec_like(DECClusterer, augment=True, conv_channels=None),
    "dec_conv_da": _dec_like(DECClusterer, augment=True),
    # IIC's own defaults, plus the --set values prefixed "iic_"; image data
    # sets are given as images, other data as plain features.
    "iic": _prefixed(IICClusterer, "iic_"),
    "clustpy_dec": _clustpy_dec,
}
DEFAULT_METHODS = ("kmeans", "ae_kmeans", "dec")
# Methods given image_shape=(side, side) on IMAGE_DATASETS; those in
# IMAGE_ONLY_METHODS are not run on other data at all.
IMAGE_METHODS = {"dec_conv", "dec_da", "dec_conv_da", "iic"}
IMAGE_ONLY_METHODS = {"dec_conv", "dec_da", "dec_conv_da"}
# Methods that need a package skdec does not depend on: method -> module.
OPTIONAL_PACKAGES = {
    "clustpy_dec": "clustpy",
    "dec_manifold": "umap",
    "idec_manifold": "umap",
}
# Modules installed under another name: module -> name for pip.
_PIP_NAMES = {"umap": "umap-learn"}


# ---------------------------------------------------------------------------
# One run


def _image_shape(n_features, images):
    """``(side, side)`` for rows that are square images, else None.

    ``images`` says whether the data set holds images at all: a square width
    alone does not make rows images (synthetic784 is 784 plain features).
    """
    side = math.isqrt(n_features)
    return (side, side) if images and side * side == n_features else None


def _run_one(task):
    """Fit one method on one data set with one seed; return its result rows.

    One row, or two for a dec fit that also gives ae_kmeans's row
    (``task["derive_ae_kmeans"]``, see :func:`_capture_start`), which comes
    first. Runs in a fresh process unless --no-subprocess. Peak memory is
    measured from the start of ``fit`` (the count is reset after loading the
    data), and ``fit_rss_increase_mb`` is how far it rose above the memory
    held before.
    """
    with np.load(task["data"]) as data:
        X, y = data["X"], data["y"]
    estimator = METHODS[task["method"]](
        task["n_clusters"], task["seed"], task["overrides"]
    )
    if task["method"] in IMAGE_METHODS and task["image_shape"] is not None:
        estimator.set_params(image_shape=tuple(task["image_shape"]))
    captured = _capture_start(estimator) if task["derive_ae_kmeans"] else None
    warm_up(task["overrides"].get("device", "auto"))
    peak_was_reset = reset_peak_rss()
    rss_before = rss_mb()
    with warnings.catch_warnings(record=True) as caught:
        start = time.perf_counter()
        estimator.fit(X)
        fit_seconds = time.perf_counter() - start
    stages = stage_seconds(estimator)
    peak = peak_rss_mb()
    n_iter = getattr(estimator, "n_iter_", None)
    module = getattr(estimator, "module_", None)  # torch methods
    row = {
        **_task_key(task),
        **_scores(y, estimator.labels_),
        "fit_seconds": fit_seconds,
        "stage_seconds": dict(stages) or None,
        "n_iter": None if n_iter is None else int(n_iter),
        "rss_before_fit_mb": rss_before,
        "peak_rss_mb": peak,
        "fit_rss_increase_mb": peak - rss_before
        if peak_was_reset and None not in (peak, rss_before)
        else None,
        "peak_gpu_mb": peak_gpu_mb(),
        "device": "cpu" if module is None else str(next(module.parameters()).device),
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
        "params": to_jsonable(estimator.get_params(deep=False)),
        "head_acc": _head_accuracies(estimator, X, y),
    }
    if captured is None:
        return [row]
    return [_ae_kmeans_row(row, captured, y, start), row]


def _scores(y, labels):
    """ACC, NMI, ARI and the number of clusters found of ``labels``."""
    labels = np.asarray(labels)
    return {
        "acc": cluster_accuracy(y, labels),
        "nmi": float(normalized_mutual_info_score(y, labels)),
        "ari": float(adjusted_rand_score(y, labels)),
        "n_clusters_found": len(np.unique(labels)),
    }


def _capture_start(estimator):
    """Make a dec fit record the partition its clustering stage starts from.

    A benchmark-only hook on the private ``_cluster(autoencoder, centers, X,
    setup, **kwargs)``, which runs the clustering stage from the k-means
    centroids: before it runs, every row is assigned to its nearest centroid
    in the embedding. That is the result of ``DECClusterer(max_iter=0)`` with
    the same seed and overrides (the same pretraining and k-means start;
    DEC's soft assignment peaks at the nearest centroid), so one fit gives
    both ae_kmeans and dec. Valid for ``init="kmeans"`` and an int
    ``n_clusters`` only, where ``_cluster`` runs once. Returns the dict the
    hook fills: ``labels``, and ``time``, the ``time.perf_counter()`` at which
    they were known.
    """
    captured = {}
    cluster = estimator._cluster

    def capturing(autoencoder, centers, X, setup, **kwargs):
        z = map_batches(autoencoder.encode, X, device=setup.device).cpu().numpy()
        captured["labels"] = pairwise_distances_argmin(z, centers)
        captured["time"] = time.perf_counter()
        return cluster(autoencoder, centers, X, setup, **kwargs)

    estimator._cluster = capturing
    return captured


def _ae_kmeans_row(dec_row, captured, y, start):
    """ae_kmeans's row, read off the dec fit that started at ``start``.

    Its fit time runs from the start of ``fit`` to the capture, when the
    labels were known; memory is not measured apart from the dec fit, so the
    memory fields are None.
    """
    key = {**_task_key(dec_row), "method": "ae_kmeans"}
    if "labels" not in captured:
        return {
            **key,
            "error": "RuntimeError: the dec fit never started its clustering "
            "stage, so it gave no ae_kmeans result.",
        }
    stages = {
        stage: seconds
        for stage, seconds in (dec_row["stage_seconds"] or {}).items()
        if stage != "clustering"
    }
    return {
        **key,
        **_scores(y, captured["labels"]),
        "fit_seconds": captured["time"] - start,
        "stage_seconds": stages or None,
        "n_iter": 0,
        "rss_before_fit_mb": None,
        "peak_rss_mb": None,
        "fit_rss_increase_mb": None,
        "peak_gpu_mb": None,
        "device": dec_row["device"],
        "warnings": [],
        "params": {**dec_row["params"], "max_iter": 0},
        "head_acc": None,
        "derived_from": "dec",
    }


def _head_accuracies(estimator, X, y):
    """ACC of every main head of a multi-head (IIC) fit; None for other methods.

    The heads differ only by their initialisation, so their spread shows how
    much a fit depends on luck; the chosen head is picked without labels.
    """
    if not hasattr(estimator, "chosen_head_"):
        return None
    module = estimator.module_.eval()
    accuracies = []
    for head in range(estimator.n_heads):
        log_proba = map_batches_numpy(
            lambda x, head=head: module(x, head),
            np.asarray(X, dtype=np.float32),
            device=next(module.parameters()).device,
            out_dim=estimator.n_clusters,
        )
        accuracies.append(cluster_accuracy(y, log_proba.argmax(axis=1)))
    return accuracies


def _task_key(task):
    return {key: task[key] for key in ("dataset", "method", "seed")}


def _row_keys(task):
    """Data set, method and seed of each row a task gives, in order."""
    keys = [_task_key(task)]
    if task["derive_ae_kmeans"]:
        keys.insert(0, {**keys[0], "method": "ae_kmeans"})
    return keys


def _run_tasks(tasks, *, subprocess):
    """Yield the result rows of each task, showing progress; failures become rows."""
    context = multiprocessing.get_context("spawn")
    bar = tqdm(tasks, desc="benchmark", unit="run", dynamic_ncols=True)
    for task in bar:
        bar.set_description(f"{task['dataset']} {task['method']} seed={task['seed']}")
        try:
            if subprocess:
                # One process per fit, so no run inherits another's memory.
                with ProcessPoolExecutor(1, mp_context=context) as pool:
                    rows = pool.submit(_run_one, task).result()
            else:
                rows = _run_one(task)
        except Exception as exc:  # a failed run is reported, not fatal
            error = f"{type(exc).__name__}: {exc}"
            rows = [{**key, "error": error} for key in _row_keys(task)]
            tqdm.write(
                f"FAILED {task['dataset']} {task['method']} seed="
                f"{task['seed']}: {error}"
            )
        else:
            row = rows[-1]
            bar.set_postfix(acc=f"{row['acc']:.3f}", s=f"{row['fit_seconds']:.1f}")
        yield from rows


# ---------------------------------------------------------------------------
# Command line


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Compare clustering methods on the same data, seeds and "
        "machine: ACC, NMI, ARI, fit seconds and peak memory. "
        "'python -m benchmarks speed --help' for the speed benchmark.",
    )
    parser.add_argument(
        "--datasets",
        type=comma_list(DATASETS),
        default=["digits", "synthetic"],
        help=f"comma-separated, from {', '.join(DATASETS)} (default: "
        "digits,synthetic); wine and breast_cancer are scikit-learn's tabular "
        "sets, standardised; mnist needs --mnist; fashion reads --fashion",
    )
    parser.add_argument(
        "--methods",
        type=comma_list(METHODS),
        default=list(DEFAULT_METHODS),
        help=f"comma-separated, from {', '.join(METHODS)} (default: "
        f"{','.join(DEFAULT_METHODS)}); {', '.join(sorted(IMAGE_ONLY_METHODS))} "
        "run on image data sets only",
    )
    parser.add_argument(
        "--seeds",
        type=comma_list(item=int),
        default=[0, 1, 2],
        help="comma-separated random_state values (default: 0,1,2)",
    )
    parser.add_argument(
        "--mnist",
        metavar="PATH",
        help="local MNIST: the folder of the four IDX files (gzipped or not) or "
        "an .npz; never downloaded",
    )
    parser.add_argument(
        "--fashion",
        metavar="PATH",
        help="local Fashion-MNIST: the folder of its four IDX files or an .npz "
        f"(default: {_FASHION_MNIST_DIR}, from the Debian package "
        f"{_FASHION_MNIST_PACKAGE}); never downloaded",
    )
    parser.add_argument(
        "--fashion-subset",
        choices=("test", "train", "all"),
        default="test",
        help="Fashion-MNIST split: test (10000 images, the default), train "
        "(60000) or all (70000, as in published results)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="output folder (default: benchmarks/results/<date-time>)",
    )
    add_set_argument(parser, help_extra="; every DEC-family method takes those it has")
    parser.add_argument(
        "--no-subprocess",
        dest="subprocess",
        action="store_false",
        help="fit in this process (faster to start; peak memory then includes "
        "earlier runs)",
    )
    # Subsample every data set (stratified) to N rows: for smoke tests.
    parser.add_argument("--max-samples", type=int, help=argparse.SUPPRESS)
    return parser


def _available_methods(methods):
    """Selected methods whose optional package is installed; the rest, why not."""
    missing = {
        method: OPTIONAL_PACKAGES[method]
        for method in methods
        if method in OPTIONAL_PACKAGES
        and importlib.util.find_spec(OPTIONAL_PACKAGES[method]) is None
    }
    skipped = {
        method: f"{module} is not installed "
        f"(pip install {_PIP_NAMES.get(module, module)})"
        for method, module in missing.items()
    }
    return [m for m in methods if m not in skipped], skipped


def _load_datasets(names, args):
    """``{name: (X, y, image_shape)}`` for the selected data sets.

    Subsampled if asked; ``image_shape`` is None unless rows are images.
    """
    datasets = {}
    for name in names:
        for loaded, (X, y) in DATASETS[name](args).items():
            if args.max_samples:
                X, y = resample(
                    X,
                    y,
                    n_samples=min(args.max_samples, len(X)),
                    replace=False,
                    stratify=y,
                    random_state=DATA_SEED,
                )
            image_shape = _image_shape(X.shape[1], name in IMAGE_DATASETS)
            datasets[loaded] = X, y, image_shape
    return datasets


def _derives_ae_kmeans(methods, overrides):
    """Whether ae_kmeans's rows are read off the dec fits rather than fitted.

    ``DECClusterer(max_iter=0)`` repeats a dec fit with the same seed and
    overrides up to its clustering stage, so a separate fit would only
    double the cost (see :func:`_capture_start`). That needs dec's k-means
    start; ``n_clusters`` is always an int here (the number of classes).
    """
    if not {"ae_kmeans", "dec"} <= set(methods):
        return False
    init = METHODS["dec"](2, 0, overrides).init
    return isinstance(init, str) and init == "kmeans"


def _in_requested_order(runs, datasets, methods):
    """``runs`` by data set, then method, as they were asked for (stable)."""
    dataset_rank = {name: i for i, name in enumerate(datasets)}
    method_rank = {name: i for i, name in enumerate(methods)}
    return sorted(
        runs,
        key=lambda row: (
            dataset_rank.get(row["dataset"], len(dataset_rank)),
            method_rank.get(row["method"], len(method_rank)),
        ),
    )


def _check_arguments(parser, args, overrides):
    """The methods that can run and those skipped; usage errors before any run."""
    methods, skipped = _available_methods(args.methods)
    for method, reason in skipped.items():
        print(f"Skipping {method}: {reason}.", file=sys.stderr)
    if not methods:
        parser.error("none of the selected methods can run here.")
    if set(methods) <= IMAGE_ONLY_METHODS and not IMAGE_DATASETS & set(args.datasets):
        images = [name for name in DATASETS if name in IMAGE_DATASETS]
        parser.error(
            f"{', '.join(methods)} run on image data only ({', '.join(images)}); "
            "none is selected."
        )
    known = set()
    for method in methods:
        estimator = check_overrides(
            parser, "--set", lambda o, m=method: METHODS[m](2, 0, o), overrides
        )
        prefix = getattr(METHODS[method], "prefix", "")
        known |= {prefix + name for name in estimator.get_params(deep=False)}
        if prefix:
            known.add("device")
    unknown = [key for key in overrides if key not in known]
    if unknown:
        parser.error(
            f"--set {', '.join(unknown)}: no selected method has such a parameter."
        )
    if "mnist" in args.datasets and args.mnist is None:
        parser.error(
            "--datasets mnist needs --mnist PATH (the folder of the MNIST IDX "
            "files or an .npz); the benchmark never downloads data."
        )
    check_fashion_path(parser, args)
    if args.max_samples is not None and args.max_samples < 1:
        parser.error("--max-samples must be a positive integer.")
    return methods, skipped


def main(argv=None):
    """Run the benchmark suite; return 0, or 1 if some run failed.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        Exit status.
    """
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
        for name, (X, y, image_shape) in _load_datasets(args.datasets, args).items():
            # Saved once, loaded by each run's process.
            data = Path(tmp) / f"{name}.npz"
            np.savez(data, X=X, y=y)
            n_clusters = len(np.unique(y))
            results["datasets"][name] = {
                "n_samples": X.shape[0],
                "n_features": X.shape[1],
                "n_clusters": n_clusters,
                "dtype": str(X.dtype),
            }
            for method in methods:
                if image_shape is None and method in IMAGE_ONLY_METHODS:
                    results["not_applicable"].setdefault(method, []).append(name)
                elif not (derive and method == "ae_kmeans"):
                    tasks += [
                        {
                            "dataset": name,
                            "method": method,
                            "seed": seed,
                            "n_clusters": n_clusters,
                            "overrides": overrides,
                            "data": str(data),
                            "image_shape": image_shape,
                            "derive_ae_kmeans": derive and method == "dec",
                        }
                        for seed in args.seeds
                    ]
        for row in _run_tasks(tasks, subprocess=args.subprocess):
            results["runs"].append(row)
            write_json(output / "results.json", results)  # survives a crash

    results["complete"] = True
    results["aggregates"] = aggregate(
        _in_requested_order(results["runs"], results["datasets"], methods)
    )
    write_json(output / "results.json", results)
    table = markdown(results)
    (output / "results.md").write_text(table)
    plot_accuracy(results, output / "results.png")
    print(table)
    print(f"Wrote results.json, results.md and results.png to {output}")
    return int(any("error" in row for row in results["runs"]))


if __name__ == "__main__":
    sys.exit(main())
