"""How the start limits DEC. Per data set and seed, one pretrained autoencoder
(cached by :class:`~benchmarks._callbacks.PretrainCache`); partitions of its
embedding (DEC's k-means start, the k-means optimum, Lloyd from the class
means and the nearest class mean, both oracles, and N2D's UMAP + Gaussian
mixture with umap-learn); and clustering stages with ``max_iter=--steps``,
``tol=0`` (where ``tol`` would stop is read off the refreshes) from the
k-means, Lloyd (oracle) and manifold starts.
"""

import argparse
import importlib.util
import shlex
import warnings

import numpy as np
from sklearn.cluster import KMeans

from benchmarks._callbacks import PretrainCache, Refreshes, StartPartition
from benchmarks._common import (
    add_cache_argument,
    add_data_arguments,
    add_set_argument,
    check_data_arguments,
    check_overrides,
    default_output,
    load_datasets,
    machine_info,
    scores,
)
from benchmarks.tables import starts_markdown, write_results
from skdec import DECClusterer
from skdec._starts import START_TARGET_REFRESHES

RECORD_EVERY = 10  # trajectory points: every this many refreshes, and the last
_FIXED = ("max_iter", "tol", "init", "callbacks")


def _score(y, labels, Z=None):
    result = {key: scores(y, labels)[key] for key in ("acc", "nmi")}
    if Z is not None:
        Z = np.asarray(Z, dtype=np.float64)
        parts = [Z[labels == j] for j in set(labels)]
        result["inertia"] = float(sum(((p - p.mean(0)) ** 2).sum() for p in parts))
    return result


def _stage(estimator, refreshes, y, hold):
    """Trajectory, final point and where ``tol`` would have stopped a stage."""
    tol = DECClusterer().tol
    points = [
        {"step": step, **_score(y, labels), "changed": changed}
        for i, (step, labels, changed) in enumerate(refreshes.points)
        if i % RECORD_EVERY == 0 or i == len(refreshes.points) - 1
    ]
    stop = next(
        (
            {"step": step, **_score(y, labels)}
            for step, labels, changed in refreshes.points
            if changed is not None and step > hold and changed < tol
        ),
        None,
    )
    final = {"step": int(estimator.n_iter_), **_score(y, estimator.labels_)}
    return {"trajectory": points, "tol_stop": stop, "final": final}


def study(X, y, dataset, seed, args, overrides, manifold):
    """Partitions and stages of one data set and seed."""
    classes = np.unique(y)
    params = {**overrides, "max_iter": args.steps, "tol": 0.0, "random_state": seed}
    cache = PretrainCache(args.cache, f"{dataset}-seed{seed}")

    def fit(init, *extra):
        refreshes = Refreshes()
        estimator = DECClusterer(len(classes), init=init, **params)
        estimator.set_params(callbacks=[cache, refreshes, *extra])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tol=0: every stage hits max_iter
            estimator.fit(X)
        manifold_start = isinstance(init, str) and init == "manifold"
        hold = START_TARGET_REFRESHES * estimator.update_interval * manifold_start
        return _stage(estimator, refreshes, y, hold)

    start = StartPartition()
    stages = {"kmeans": fit("kmeans", start)}
    Z = start.embedding
    class_means = np.stack([Z[y == c].mean(axis=0) for c in classes])
    lloyd = KMeans(len(classes), init=class_means, n_init=1).fit(Z)
    optimum = KMeans(len(classes), n_init=20, random_state=seed).fit(Z)
    nearest = ((Z[:, None] - class_means[None]) ** 2).sum(-1).argmin(axis=1)
    partitions = {
        "AE+KM (DEC's k-means start)": _score(y, start.labels, Z),
        "k-means optimum (n_init=20)": _score(y, optimum.labels_, Z),
        "Lloyd from the class means (oracle)": _score(y, lloyd.labels_, Z),
        "nearest class mean (oracle)": _score(y, nearest, Z),
    }
    stages["Lloyd from the class means (oracle)"] = fit(lloyd.cluster_centers_)
    if manifold:
        mixture = StartPartition()
        stages["manifold"] = fit("manifold", mixture)
        labels = mixture.posterior.argmax(axis=1)
        partitions["UMAP + Gaussian mixture"] = _score(y, labels, Z)
    return {
        "dataset": dataset,
        "seed": seed,
        "model": str(cache.path(DECClusterer(len(classes), **params))),
        "partitions": partitions,
        "stages": stages,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks starts")
    add_data_arguments(parser, ("digits", "fashion"), ["digits", "fashion"], seeds=(0,))
    parser.add_argument("--steps", type=int, default=3000, help="clustering steps")
    add_cache_argument(parser, "starts")
    parser.add_argument("--no-manifold", action="store_true", help="skip UMAP")
    add_set_argument(parser, help_extra="; of DECClusterer (not max_iter, tol or init)")
    args = parser.parse_args(argv)
    overrides = dict(args.set)
    check_overrides(parser, lambda o: DECClusterer(**o), overrides, fixed=_FIXED)
    check_data_arguments(parser, args)
    if args.steps < 1:
        parser.error("--steps must be a positive integer.")
    manifold = not args.no_manifold and importlib.util.find_spec("umap") is not None
    results = {
        "machine": machine_info(),
        "command": "python -m benchmarks starts " + shlex.join(argv),
        "steps": args.steps,
        "overrides": overrides,
        "manifold": manifold,
        "runs": [],
    }
    output = (args.output or default_output("starts-")) / "starts.json"
    for name, (X, y) in load_datasets(args).items():
        for seed in args.seeds:
            results["runs"].append(study(X, y, name, seed, args, overrides, manifold))
    write_results(output, results, starts_markdown)
    return 0
