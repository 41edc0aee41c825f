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
from skdec._train import map_batches_numpy  # noqa: E402
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
    "mnist": _mnist,
    "fashion": _fashion,
}

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
    "ae_kmeans": _dec_like(DECClusterer, max_iter=0),
    "dec": _dec_like(DECClusterer),
    "idec": _dec_like(IDECClusterer),
    # IIC's own defaults, plus the --set values prefixed "iic_"; square inputs
    # (digits, MNIST) are treated as images.
    "iic": _prefixed(IICClusterer, "iic_"),
    "clustpy_dec": _clustpy_dec,
}
DEFAULT_METHODS = ("kmeans", "ae_kmeans", "dec")
# Methods that need a package skdec does not depend on: method -> module.
OPTIONAL_PACKAGES = {"clustpy_dec": "clustpy"}


# ---------------------------------------------------------------------------
# One run


def _run_one(task):
    """Fit one method on one data set with one seed; return its result row.

    Runs in a fresh process unless --no-subprocess. Peak memory is measured
    from the start of ``fit`` (the count is reset after loading the data), and
    ``fit_rss_increase_mb`` is how far it rose above the memory held before.
    """
    with np.load(task["data"]) as data:
        X, y = data["X"], data["y"]
    estimator = METHODS[task["method"]](
        task["n_clusters"], task["seed"], task["overrides"]
    )
    side = int(np.sqrt(X.shape[1]))
    if task["method"] == "iic" and side * side == X.shape[1]:
        estimator.set_params(image_shape=(side, side))
    warm_up(task["overrides"].get("device", "auto"))
    peak_was_reset = reset_peak_rss()
    rss_before = rss_mb()
    with warnings.catch_warnings(record=True) as caught:
        start = time.perf_counter()
        estimator.fit(X)
        fit_seconds = time.perf_counter() - start
    stages = stage_seconds(estimator)
    peak = peak_rss_mb()
    labels = np.asarray(estimator.labels_)
    n_iter = getattr(estimator, "n_iter_", None)
    module = getattr(estimator, "module_", None)  # torch methods
    return {
        **_task_key(task),
        "acc": cluster_accuracy(y, labels),
        "nmi": float(normalized_mutual_info_score(y, labels)),
        "ari": float(adjusted_rand_score(y, labels)),
        "fit_seconds": fit_seconds,
        "stage_seconds": dict(stages) or None,
        "n_iter": None if n_iter is None else int(n_iter),
        "n_clusters_found": len(np.unique(labels)),
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


def _run_tasks(tasks, *, subprocess):
    """Yield the result row of each task, showing progress; failures become rows."""
    context = multiprocessing.get_context("spawn")
    bar = tqdm(tasks, desc="benchmark", unit="run", dynamic_ncols=True)
    for task in bar:
        bar.set_description(f"{task['dataset']} {task['method']} seed={task['seed']}")
        try:
            if subprocess:
                # One process per fit, so no run inherits another's memory.
                with ProcessPoolExecutor(1, mp_context=context) as pool:
                    row = pool.submit(_run_one, task).result()
            else:
                row = _run_one(task)
        except Exception as exc:  # a failed run is reported, not fatal
            row = {**_task_key(task), "error": f"{type(exc).__name__}: {exc}"}
            tqdm.write(
                f"FAILED {task['dataset']} {task['method']} seed="
                f"{task['seed']}: {row['error']}"
            )
        else:
            bar.set_postfix(acc=f"{row['acc']:.3f}", s=f"{row['fit_seconds']:.1f}")
        yield row


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
        "digits,synthetic); mnist needs --mnist; fashion reads --fashion",
    )
    parser.add_argument(
        "--methods",
        type=comma_list(METHODS),
        default=list(DEFAULT_METHODS),
        help=f"comma-separated, from {', '.join(METHODS)} (default: "
        f"{','.join(DEFAULT_METHODS)})",
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
    skipped = {
        method: f"{OPTIONAL_PACKAGES[method]} is not installed "
        f"(pip install {OPTIONAL_PACKAGES[method]})"
        for method in methods
        if method in OPTIONAL_PACKAGES
        and importlib.util.find_spec(OPTIONAL_PACKAGES[method]) is None
    }
    return [m for m in methods if m not in skipped], skipped


def _load_datasets(names, args):
    """``{name: (X, y)}`` for the selected data sets, subsampled if asked."""
    datasets = {}
    for name in names:
        datasets.update(DATASETS[name](args))
    if args.max_samples:
        datasets = {
            name: resample(
                X,
                y,
                n_samples=min(args.max_samples, len(X)),
                replace=False,
                stratify=y,
                random_state=DATA_SEED,
            )
            for name, (X, y) in datasets.items()
        }
    return datasets


def _check_arguments(parser, args, overrides):
    """The methods that can run and those skipped; usage errors before any run."""
    methods, skipped = _available_methods(args.methods)
    for method, reason in skipped.items():
        print(f"Skipping {method}: {reason}.", file=sys.stderr)
    if not methods:
        parser.error("none of the selected methods can run here.")
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
    fashion = Path(args.fashion or _FASHION_MNIST_DIR)
    if "fashion" in args.datasets and not fashion.exists():
        parser.error(
            f"--datasets fashion: '{fashion}' does not exist; install the Debian "
            f"package {_FASHION_MNIST_PACKAGE} (apt-get install "
            f"{_FASHION_MNIST_PACKAGE}) or give --fashion PATH; the benchmark "
            "never downloads data."
        )
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
        "complete": False,
        "runs": [],
        "aggregates": [],
    }
    with tempfile.TemporaryDirectory(prefix="skdec-benchmark-") as tmp:
        tasks = []
        for name, (X, y) in _load_datasets(args.datasets, args).items():
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
            tasks += [
                {
                    "dataset": name,
                    "method": method,
                    "seed": seed,
                    "n_clusters": n_clusters,
                    "overrides": overrides,
                    "data": str(data),
                }
                for method in methods
                for seed in args.seeds
            ]
        for row in _run_tasks(tasks, subprocess=args.subprocess):
            results["runs"].append(row)
            write_json(output / "results.json", results)  # survives a crash

    results["complete"] = True
    results["aggregates"] = aggregate(results["runs"])
    write_json(output / "results.json", results)
    table = markdown(results)
    (output / "results.md").write_text(table)
    plot_accuracy(results, output / "results.png")
    print(table)
    print(f"Wrote results.json, results.md and results.png to {output}")
    return int(any("error" in row for row in results["runs"]))


if __name__ == "__main__":
    sys.exit(main())
